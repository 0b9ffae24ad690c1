//===- Pipeline.cpp - the CUDA target's pass pipelines --------------------===//
//
// The code generation stage to kernels in PTX, then to the LLVM dialect with
// a fatbin. Bufferization and the memory plan are the CPU's; what differs is
// where the parallel loops go: each becomes a `gpu.launch` over blocks of
// threads, outlined into one kernel module. Host code (the control of the
// partitioned program, the scans that compute decisions) stays on the CPU.
//
//===----------------------------------------------------------------------===//

#include "dync/Target/CUDA/CUDATarget.h"

#include "dync/Passes/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace dync {

/// The toolkit root that holds `tool` (bin/<tool>), or empty.
static std::string toolkitRoot(StringRef toolkit) {
  std::string error;
  std::string ptxas = findCudaTool("ptxas", toolkit, error);
  if (ptxas.empty())
    return "";
  return llvm::sys::path::parent_path(llvm::sys::path::parent_path(ptxas)).str();
}

/// The code generation stage to kernels as `gpu.launch` ops: shared by the
/// CUDA target and its CPU emulation.
static void buildGpuLaunchPipeline(OpPassManager &pm, const CudaOptions &options) {
  // The plan's workspace slots come from libdyncrt, which gives a CUDA
  // model's run memory that host and device both address.
  buildBufferizationPipeline(pm, options.host.memoryBudget);
  // Block-sparse attention by rows becomes one kernel's threads; any other
  // loop over independent blocks stays a host loop around kernels.
  pm.addNestedPass<func::FuncOp>(createDynLowerForalls());
  // Polynomials in arith ops: kernels need no libdevice for exp, tanh, erf.
  pm.addNestedPass<func::FuncOp>(createDynApproximateMath());
  arith::ArithEmulateUnsupportedFloatsOptions bf16InF32;
  bf16InF32.sourceTypeStrs = {"bf16"};
  pm.addNestedPass<func::FuncOp>(arith::createArithEmulateUnsupportedFloats(bf16InF32));
  pm.addNestedPass<func::FuncOp>(createDynExpandBF16());
  if (options.gemm == "cublas")
    pm.addPass(createDynOutlineGemms());
  pm.addPass(createConvertLinalgToParallelLoopsPass());
  DynMapParallelLoopsToGpuOptions map;
  map.threads = static_cast<unsigned>(options.threadsPerBlock);
  pm.addNestedPass<func::FuncOp>(createDynMapParallelLoopsToGpu(map));
  pm.addPass(createConvertParallelLoopToGpuPass());
  // Subviews and tile arithmetic as plain index math, in kernels and host.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
}

void buildCudaKernelPipeline(OpPassManager &pm, const CudaOptions &options) {
  buildGpuLaunchPipeline(pm, options);
  // Constants and index math into the launch bodies before outlining: a
  // constant left outside becomes a kernel argument, unknown to LLVM and
  // ptxas (block-sparse attention by rows then kept one address register
  // per unrolled column, and spilled).
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createDynGatherKernels());
  // One synchronization per run of back-to-back kernels, not per kernel.
  pm.addPass(createDynAsyncLaunches());

  GpuNVVMAttachTargetOptions target;
  target.chip = options.archs.empty() ? "sm_80" : options.archs.front();
  target.features = "+ptx80";
  target.optLevel = 3;
  target.moduleMatcher = "dync_kernels";
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa"; // PTX; createAssembleKernelsPass makes the fatbin
  binary.toolkitPath = toolkitRoot(options.toolkit);
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void buildCudaEmulationPipeline(OpPassManager &pm, const CudaOptions &options) {
  buildGpuLaunchPipeline(pm, options);
  pm.addNestedPass<func::FuncOp>(createDynEmulateGpuLaunches());
  // The CPU target's tail: the thread pool, then LLVM.
  pm.addPass(createDynOutlineParallelLoops());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  buildHostToLLVMPipeline(pm);
}

void buildCudaLoweringPipeline(OpPassManager &pm, const CudaOptions &options) {
  buildCudaKernelPipeline(pm, options);
  pm.addPass(createAssembleKernelsPass(options));
  pm.addPass(createSCFToControlFlowPass());
  // Launches become mgpuLaunchKernel / mgpuStreamSynchronize... calls into
  // libdyncrt (at translation, for the gpu.launch_func ops it leaves).
  buildHostToLLVMPipeline(pm, [](OpPassManager &p) { p.addPass(createGpuToLLVMConversionPass()); });
}

} // namespace dync
