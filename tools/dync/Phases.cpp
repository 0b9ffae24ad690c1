//===- Phases.cpp - the phases of one compile and their times -------------===//

#include "Phases.h"

#include "llvm/Support/Format.h"

namespace dync {

PhaseLog::PhaseLog(bool progress, double after)
    : progress(progress), after(after), start(Clock::now()), last(start) {}

double PhaseLog::since(Clock::time_point t) const {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void PhaseLog::done(llvm::StringRef phase, llvm::StringRef note) {
  phases.push_back({phase.str(), since(last), note.empty() ? "" : "  (" + note.str() + ")"});
  last = Clock::now();
  if (!progress || since(start) < after)
    return;
  // The phases that ended before the first second are printed with the
  // first one after it.
  for (; printed < phases.size(); ++printed)
    llvm::errs() << llvm::format("dync: %-13s %7.2f s%s\n", (phases[printed].name + ":").c_str(),
                                 phases[printed].seconds, phases[printed].note.c_str());
}

void PhaseLog::printTable(llvm::raw_ostream &os) const {
  os << "dync: timing (seconds):\n";
  double total = 0;
  for (const Phase &p : phases) {
    os << llvm::format("  %-13s %8.3f%s\n", p.name.c_str(), p.seconds, p.note.c_str());
    total += p.seconds;
  }
  os << llvm::format("  %-13s %8.3f\n", "total", total);
}

} // namespace dync
