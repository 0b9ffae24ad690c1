//===- CPUTarget.h - the CPU target: pipelines to a model library -*- C++ -*-===//
//
// What the CPU target adds after partitioning: its pass pipelines (code
// generation, then lowering to the LLVM dialect), the translation to an LLVM
// module with the runtime's glue, machine code, the model library, and the C
// header of a statically linked model.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_TARGET_CPU_CPUTARGET_H
#define DYNC_TARGET_CPU_CPUTARGET_H

#include "dync/Passes/CPU/Passes.h"
#include "dync/Passes/Conversion/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
class raw_ostream;
class raw_pwrite_stream;
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
  /// Reject the model if its memory plan may need more bytes than this
  /// (--memory-budget); 0: no limit.
  int64_t memoryBudget = 0;
  /// Read Linear layers' and experts' weights in the matmul kernel's panels,
  /// packed by the runtime at load (dyn-pack-weights; --pack-weights).
  bool packWeights = true;
};

/// The host's CPU name and its features (`+avx2,-avx512f,...`).
std::pair<std::string, std::string> hostTarget();

/// A TargetMachine for `options` (the host's CPU and features by default);
/// null with `error` set if the target is unknown.
llvm::TargetMachine *makeTargetMachine(const CpuOptions &options, std::string &error);

/// The CPU features of `tm` that libdyncrt checks before it runs a model
/// (x86 only; elsewhere none), recorded in the manifest as `cpu_features`.
std::vector<std::string> checkedCpuFeatures(const llvm::TargetMachine &tm);

/// The matmul micro-kernel's vector width and register tile for the target.
DynVectorizeMatmulsOptions matmulKernelFor(const CpuOptions &options);

/// Partitioned IR to the `codegen` stage: weights and params threaded into
/// the entry, subgraphs timed, dyn ops spelled with upstream ops (run
/// statistics allocated), CPU support checked, the manifest recorded
/// (`dyn.manifest`, which names `target` unless it is the CPU), and the
/// entry readied for a C interface; with `packWeights`, first the weights
/// of Linear layers read in the panels of the CPU's matmul kernel
/// (dyn-pack-weights). The CUDA target shares this stage, with its own forms
/// of attention and MoE (`toLinalg`, convert-dyn-to-linalg's options) and
/// weights as stored.
void buildCpuCodegenPipeline(mlir::OpPassManager &pm, llvm::StringRef target = "cpu",
                             const ConvertDynToLinalgOptions &toLinalg = {},
                             bool packWeights = true);

/// The `codegen` stage to buffers, shared by the targets: elementwise ops as
/// fused linalg, one-shot bufferization with function boundaries,
/// deallocation, and a static memory plan (workspace slots), checked against
/// `memoryBudget` bytes if it is positive. With `shareLeafSlots`, the
/// subgraphs' temporaries share slots (dyn-plan-buffers).
void buildBufferizationPipeline(mlir::OpPassManager &pm, int64_t memoryBudget,
                                bool shareLeafSlots = false);

/// The `codegen` stage to the LLVM dialect: bufferization with function
/// boundaries and a static memory plan, micro-kernels and vectorization,
/// parallel loops handed to the runtime, and the conversions to LLVM. The
/// kernels' vector width and register tile follow `options`' target.
void buildCpuLoweringPipeline(mlir::OpPassManager &pm, const CpuOptions &options);

/// Host code, its control flow already in `cf`, to the LLVM dialect: vector,
/// math (intrinsics, then libm), memref (allocation through libdyncrt),
/// arith, cf, func and index conversions. `beforeFunc` adds passes before
/// func-to-llvm (the CUDA target's gpu-to-llvm).
void buildHostToLLVMPipeline(
    mlir::OpPassManager &pm,
    llvm::function_ref<void(mlir::OpPassManager &)> beforeFunc = nullptr);

/// LLVM dialect to an LLVM module with the packed entry point
/// `void dync_entry(void **args, void *results)`, the manifest string
/// `dync_manifest` (from the module's `dyn.manifest`), the statistics
/// accessor, the parallel launches, and embedded weights if any; optimized
/// for `options`' target.
std::unique_ptr<llvm::Module> translateToLLVM(mlir::ModuleOp module,
                                              llvm::LLVMContext &context,
                                              const CpuOptions &options,
                                              std::string &error);

/// Emits `llvmModule` as assembly or an object file with an in-process
/// TargetMachine.
mlir::LogicalResult emitNative(llvm::Module &llvmModule,
                               const CpuOptions &options, bool assembly,
                               llvm::raw_pwrite_stream &os, std::string &error);

/// How many parts a model library's machine code is generated in at once:
/// the cores this process may use, at most 8.
unsigned codegenJobs();

/// Generates the machine code of `llvmModule` in `jobs` parts on as many
/// threads, into temporary object files whose paths it appends to `objects`
/// (also on failure: the caller removes them).
mlir::LogicalResult emitObjects(std::unique_ptr<llvm::Module> llvmModule,
                                const CpuOptions &options, unsigned jobs,
                                llvm::SmallVectorImpl<std::string> &objects,
                                std::string &error);

/// Links objects into a shared library with the system's C compiler driver.
mlir::LogicalResult linkSharedLibrary(llvm::ArrayRef<std::string> objects,
                                      llvm::StringRef output, std::string &error);

/// Writes the C header of a statically linked model (`--emit=header`) for a
/// module at the `codegen` stage or later: declarations of the object's
/// symbols and an inline loader.
void writeStaticHeader(llvm::raw_ostream &os, mlir::ModuleOp module, bool embedded);

} // namespace dync

#endif // DYNC_TARGET_CPU_CPUTARGET_H
