//===- Phases.h - the phases of one compile and their times ------*- C++ -*-===//
//
// dync reports its phases (import, passes, LLVM IR, machine code, link) two
// ways: as progress lines on a terminal once a compile has run for a second
// (`-q` turns them off; a compile into a pipe or a file stays silent), and as
// a table with `--timing`. MLIR's per-pass breakdown is `--mlir-timing`.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_TOOLS_DYNC_PHASES_H
#define DYNC_TOOLS_DYNC_PHASES_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <string>
#include <vector>

namespace dync {

class PhaseLog {
public:
  /// `progress`: print phases as they end, once `after` seconds have passed.
  PhaseLog(bool progress, double after);

  /// Ends the phase running since the previous call (or since the start);
  /// `note` is printed after its time (how the phase ran).
  void done(llvm::StringRef phase, llvm::StringRef note = "");

  /// Every phase with its time, and the total.
  void printTable(llvm::raw_ostream &os) const;

private:
  struct Phase {
    std::string name;
    double seconds;
    std::string note;
  };
  using Clock = std::chrono::steady_clock;
  double since(Clock::time_point t) const;

  bool progress;
  double after;
  Clock::time_point start, last;
  std::vector<Phase> phases;
  size_t printed = 0;
};

} // namespace dync

#endif // DYNC_TOOLS_DYNC_PHASES_H
