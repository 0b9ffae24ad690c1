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
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

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
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
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

} // namespace dync
