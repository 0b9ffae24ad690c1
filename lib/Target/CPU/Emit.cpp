//===- Emit.cpp - objects and shared libraries ----------------------------===//
//
// Machine code from an in-process TargetMachine (no shelling out to llc),
// and the model library linked by the system's C compiler driver.
//
//===----------------------------------------------------------------------===//

#include "dync/Target/CPU/CPUTarget.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Program.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;

namespace dync {

LogicalResult emitNative(llvm::Module &llvmModule, const CpuOptions &options,
                         bool assembly, llvm::raw_pwrite_stream &os,
                         std::string &error) {
  std::unique_ptr<llvm::TargetMachine> tm(makeTargetMachine(options, error));
  if (!tm)
    return failure();
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr,
                              assembly ? llvm::CodeGenFileType::AssemblyFile
                                       : llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit this file type";
    return failure();
  }
  pm.run(llvmModule);
  return success();
}

LogicalResult linkSharedLibrary(StringRef object, StringRef output,
                                std::string &error) {
  auto cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    error = "no system linker driver 'cc' on PATH (install gcc or clang)";
    return failure();
  }
  SmallVector<StringRef> args{*cc, "-shared", "-o", output, object, "-lm"};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0) {
    error = "linking '" + output.str() + "' failed" +
            (message.empty() ? "" : ": " + message);
    return failure();
  }
  return success();
}

} // namespace dync
