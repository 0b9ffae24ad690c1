//===- CpuBackend.h - partitioned IR to a native shared library -*- C++ -*-===//

#ifndef DYNC_CODEGEN_CPUBACKEND_H
#define DYNC_CODEGEN_CPUBACKEND_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace dync {

struct CpuOptions {
  /// Target CPU and features; empty means the host's (detected, not assumed).
  std::string cpu;
  std::string features;
  /// 0..3
  unsigned optLevel = 2;
  /// The weights file's bytes to embed in the model (--embed-weights), or
  /// empty: the runtime then maps the file.
  std::string embeddedWeights;
};

/// Describes the compiled entry point for the runtime (JSON): the model's
/// inputs, outputs, weights and params in argument order, and its dims.
/// Computed on partitioned IR after dyn-thread-externals.
std::string buildManifest(mlir::ModuleOp module);

/// Refuses, with a message naming the op and the node, what the CPU backend
/// cannot lower yet.
mlir::LogicalResult checkCpuSupport(mlir::ModuleOp module);

/// Readies the entry for lowering, once the manifest is built: drops the
/// `dyn.param.def`s (the code reads parameters as arguments), gives `@forward`
/// a C interface, and marks its tensor arguments read-only, since inputs
/// belong to the caller and weights are mapped read-only (bufferization then
/// copies instead of updating them in place).
void prepareEntry(mlir::ModuleOp module);

/// Partitioned IR (with weights and params threaded into the entry) to the
/// LLVM dialect: bufferization with function boundaries, buffer
/// deallocation, loops, and the conversions to LLVM. The matmul kernel's
/// vector width and register tile follow `options`' target.
void buildCpuLoweringPipeline(mlir::OpPassManager &pm, const CpuOptions &options);

/// LLVM dialect to an LLVM module with the packed entry point
/// `void dync_entry(void **args, void *results)` and the manifest string
/// `dync_manifest`, for `cpu`/`features` (the host's by default).
std::unique_ptr<llvm::Module> translateToLLVM(mlir::ModuleOp module,
                                              llvm::LLVMContext &context,
                                              const std::string &manifest,
                                              const CpuOptions &options,
                                              std::string &error);

/// Emits `llvmModule` as assembly or an object file with an in-process
/// TargetMachine.
mlir::LogicalResult emitNative(llvm::Module &llvmModule,
                               const CpuOptions &options, bool assembly,
                               llvm::raw_pwrite_stream &os, std::string &error);

/// Links an object into a shared library with the system's C compiler driver.
mlir::LogicalResult linkSharedLibrary(llvm::StringRef object,
                                      llvm::StringRef output,
                                      std::string &error);

} // namespace dync

#endif // DYNC_CODEGEN_CPUBACKEND_H
