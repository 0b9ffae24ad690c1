//===- Pipeline.cpp - the CPU target's pass pipelines ---------------------===//
//
// Partitioned IR to the LLVM dialect in two phases, each an `--emit` stage:
// code generation (weights and params threaded into the entry, run
// statistics, the dyn ops spelled with upstream ops, the manifest), then
// lowering (bufferization with a memory plan, micro-kernels, vectorization,
// threads, LLVM dialect).
//
//===----------------------------------------------------------------------===//

#include "dync/Target/CPU/CPUTarget.h"

#include "dync/Passes/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;

namespace dync {

void buildCpuCodegenPipeline(OpPassManager &pm, StringRef target,
                             const ConvertDynToLinalgOptions &toLinalg, bool packWeights) {
  if (packWeights)
    pm.addNestedPass<func::FuncOp>(createDynPackWeights());
  pm.addPass(createDynThreadExternals());
  pm.addPass(createDynTimeSubgraphs());
  pm.addPass(createDynMergeSubgraphs());
  pm.addPass(createConvertDynToLinalg(toLinalg));
  pm.addPass(createDynLowerStatistics());
  pm.addPass(createDynCheckCpuSupport());
  DynEmitManifestOptions manifest;
  manifest.target = target.str();
  pm.addPass(createDynEmitManifest(manifest));
  pm.addPass(createDynPrepareEntry());
}

/// The matmul micro-kernel's shape for the target: its vector width and as
/// many accumulators as its vector registers allow.
DynVectorizeMatmulsOptions matmulKernelFor(const CpuOptions &options) {
  DynVectorizeMatmulsOptions kernel; // 8 lanes, 3 x 4: AVX
  std::string error;
  std::unique_ptr<llvm::TargetMachine> tm(makeTargetMachine(options, error));
  if (!tm)
    return kernel; // the translation reports the bad target
  const llvm::MCSubtargetInfo *sti = tm->getMCSubtargetInfo();
  if (sti->checkFeatures("+avx512f")) {
    kernel.lanes = 16;
    kernel.rows = 6;
    kernel.outerRows = 12;
  } else if (!sti->checkFeatures("+avx")) {
    kernel.lanes = 4;
  }
  return kernel;
}

void buildBufferizationPipeline(OpPassManager &pm, int64_t memoryBudget, bool shareLeafSlots) {
  // Elementwise arith on whole tensors (masks, comparisons) becomes linalg,
  // which bufferizes.
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  // Chains of elementwise ops become one loop nest (no intermediate buffers).
  pm.addNestedPass<func::FuncOp>(createDynFuseElementwise());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  // Loops carrying state that each iteration recomputes (the online softmax
  // of block-sparse attention) yield fresh buffers.
  bufferize.allowReturnAllocsFromLoops = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // An op whose result is inserted into a slice of a larger tensor (a MoE
  // expert's output into its rows) computes into that slice: bufferized,
  // it stores there instead of into a temporary that is then copied.
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // Temporaries share per-thread workspace slots instead of malloc per op.
  DynPlanBuffersOptions plan;
  plan.shareLeafSlots = shareLeafSlots;
  pm.addPass(createDynPlanBuffers(plan));
  if (memoryBudget > 0) {
    DynCheckMemoryBudgetOptions budget;
    budget.maxBytes = memoryBudget;
    pm.addPass(createDynCheckMemoryBudget(budget));
  }
}

void buildCpuLoweringPipeline(OpPassManager &pm, const CpuOptions &options) {
  // CPU subgraphs run on the calling thread, one at a time: their
  // temporaries share the workspace.
  buildBufferizationPipeline(pm, options.memoryBudget, /*shareLeafSlots=*/true);
  // Loops over independent blocks (block-sparse attention's query blocks)
  // go to the thread pool like any parallel loop.
  pm.addPass(createForallToParallelLoopPass());
  // Dot-product matmuls become a vector micro-kernel; other reductions are
  // put in a form that LLVM's loop vectorizer takes.
  pm.addNestedPass<func::FuncOp>(createDynVectorizeMatmuls(matmulKernelFor(options)));
  pm.addNestedPass<func::FuncOp>(createDynPrepareVectorization());
  // exp, tanh, erf... in arith ops, so that their loops vectorize.
  pm.addNestedPass<func::FuncOp>(createDynApproximateMath());
  // x86 has no bf16 arithmetic (before AVX-512 BF16): compute it in f32,
  // rounding each result to bf16, and spell the conversions as integer ops.
  arith::ArithEmulateUnsupportedFloatsOptions bf16InF32;
  bf16InF32.sourceTypeStrs = {"bf16"};
  pm.addNestedPass<func::FuncOp>(arith::createArithEmulateUnsupportedFloats(bf16InF32));
  pm.addNestedPass<func::FuncOp>(createDynExpandBF16());
  // Parallel dimensions become scf.parallel; the outermost parallel loops
  // go to the runtime's thread pool, split along one dimension that holds
  // the leading ones (a batch of 1 is not all the threads get).
  pm.addPass(createConvertLinalgToParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createDynCollapseParallelLoops());
  pm.addPass(createDynOutlineParallelLoops());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  buildHostToLLVMPipeline(pm);
}

void buildHostToLLVMPipeline(OpPassManager &pm,
                             llvm::function_ref<void(OpPassManager &)> beforeFunc) {
  // LLVM intrinsics first (sqrt, rsqrt, exp, log...), libm for the rest
  // (tanh, erf), which has no intrinsic.
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // Allocations go through libdyncrt (_mlir_memref_to_llvm_alloc...), which
  // turns a failed one into an out-of-memory status of the run.
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  if (beforeFunc)
    beforeFunc(pm);
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

} // namespace dync
