//===- TargetMachine.cpp - the CPU dync compiles for ----------------------===//
//
// The host's CPU and features unless the user names others (--cpu, --mattr):
// detected, never assumed, since machines differ (AVX-512 on some, AVX2 on
// others). Kernel sizing, translation and emission all use this one target.
//
//===----------------------------------------------------------------------===//

#include "dync/Target/CPU/CPUTarget.h"

#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <mutex>

namespace dync {

/// The host's CPU and its features, as LLVM names them.
std::pair<std::string, std::string> hostTarget() {
  std::string features;
  for (auto &f : llvm::sys::getHostCPUFeatures())
    features += (features.empty() ? "" : ",") +
                std::string(f.second ? "+" : "-") + f.first().str();
  return {llvm::sys::getHostCPUName().str(), features};
}

llvm::TargetMachine *makeTargetMachine(const CpuOptions &options, std::string &error) {
  // Once: code generation makes target machines on several threads, and
  // registering the target writes LLVM's registry.
  static std::once_flag initialized;
  std::call_once(initialized, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  llvm::Triple triple(llvm::sys::getProcessTriple());
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  auto [hostCpu, hostFeatures] = hostTarget();
  std::string cpu = options.cpu.empty() ? hostCpu : options.cpu;
  std::string features = options.cpu.empty() && options.features.empty()
                             ? hostFeatures
                             : options.features;
  llvm::CodeGenOptLevel level = options.optLevel == 0   ? llvm::CodeGenOptLevel::None
                                : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                : options.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                                        : llvm::CodeGenOptLevel::Aggressive;
  return target->createTargetMachine(triple, cpu, features, llvm::TargetOptions(),
                                     llvm::Reloc::PIC_, std::nullopt, level);
}

std::vector<std::string> checkedCpuFeatures(const llvm::TargetMachine &tm) {
  // The x86 features libdyncrt can test on the running CPU (its table in
  // runtime/src/Manifest.cpp names the same ones).
  static const char *const kChecked[] = {
      "sse4.1",   "sse4.2",   "popcnt",     "avx",        "avx2",       "fma",
      "f16c",     "bmi",      "bmi2",       "avx512f",    "avx512bw",   "avx512dq",
      "avx512vl", "avx512cd", "avx512vnni", "avx512bf16", "avx512fp16", "avx512vbmi",
      "avx512ifma"};
  std::vector<std::string> used;
  if (!tm.getTargetTriple().isX86())
    return used;
  const llvm::MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  for (const char *f : kChecked)
    if (sti->checkFeatures(std::string("+") + f))
      used.push_back(f);
  return used;
}

} // namespace dync
