//===- Pipelines.cpp - dync's compilation, stage by stage -----------------===//

#include "dync/Pipelines/Pipelines.h"

#include "dync/Passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace dync {

CpuOptions CpuPipelineOptions::toCpuOptions() const {
  CpuOptions options;
  options.cpu = cpu;
  options.features = mattr;
  options.optLevel = optLevel;
  options.packWeights = packWeights;
  return options;
}

CudaOptions CudaPipelineOptions::toCudaOptions() const {
  CudaOptions options;
  if (!archs.empty())
    options.archs.assign(archs.begin(), archs.end());
  options.toolkit = toolkit;
  options.threadsPerBlock = threads;
  options.gemm = gemm;
  return options;
}

void buildCanonicalizePipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void buildPartitionPipeline(OpPassManager &pm) {
  buildCanonicalizePipeline(pm);
  pm.addPass(createDynLowerControl());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createDynOutlineSubgraphs());
  pm.addPass(createDynInferBounds());
  pm.addPass(createDynCheckSubgraphs());
}

void buildCpuPipeline(OpPassManager &pm, Stage stop, const CpuOptions &options) {
  if (stop == Stage::Imported)
    return;
  if (stop == Stage::Canonical)
    return buildCanonicalizePipeline(pm);
  buildPartitionPipeline(pm);
  if (stop == Stage::Partitioned)
    return;
  buildCpuCodegenPipeline(pm, "cpu", {}, options.packWeights);
  if (stop == Stage::Codegen)
    return;
  buildCpuLoweringPipeline(pm, options);
}

void buildCudaPipeline(OpPassManager &pm, Stage stop, const CudaOptions &options,
                       bool emulate) {
  if (stop == Stage::Imported)
    return;
  if (stop == Stage::Canonical)
    return buildCanonicalizePipeline(pm);
  buildPartitionPipeline(pm);
  if (stop == Stage::Partitioned)
    return;
  // An emulated model runs on the CPU runtime. Attention and MoE take the
  // forms that decide on the device (the host reads neither a layout nor a
  // routing): attention by query rows, one kernel each, rather than by
  // blocks, which would launch kernels per block from the host; dense
  // attention keeps its whole-sequence form when cuBLAS runs the products.
  ConvertDynToLinalgOptions toLinalg;
  toLinalg.attentionByBlocks = false;
  toLinalg.attentionByRows = options.gemm != "cublas";
  toLinalg.bsaByRows = true;
  toLinalg.moeOnDevice = true;
  buildCpuCodegenPipeline(pm, emulate ? "cpu" : "cuda", toLinalg, /*packWeights=*/false);
  if (stop == Stage::Codegen)
    return;
  if (emulate)
    return buildCudaEmulationPipeline(pm, options);
  if (stop == Stage::Kernels)
    return buildCudaKernelPipeline(pm, options);
  buildCudaLoweringPipeline(pm, options);
}

void registerPipelines() {
  PassPipelineRegistration<>(
      "dync-canonicalize", "imported IR to dyn-level IR, canonicalized (--emit=mlir)",
      [](OpPassManager &pm) { buildCanonicalizePipeline(pm); });
  PassPipelineRegistration<>(
      "dyn-partition",
      "dyn-level IR to static subgraphs and a host program that holds all "
      "data-dependent control (--emit=partitioned)",
      [](OpPassManager &pm) { buildPartitionPipeline(pm); });
  PassPipelineRegistration<>(
      "dync-cpu-codegen",
      "partitioned IR to the CPU target's code generation stage: dyn ops "
      "spelled with upstream ops, the entry readied and described (--emit=codegen)",
      [](OpPassManager &pm) { buildCpuCodegenPipeline(pm); });
  PassPipelineRegistration<CpuPipelineOptions>(
      "dync-cpu-lower",
      "the code generation stage to the LLVM dialect for a CPU (--emit=lowered)",
      [](OpPassManager &pm, const CpuPipelineOptions &o) {
        buildCpuLoweringPipeline(pm, o.toCpuOptions());
      });
  PassPipelineRegistration<CudaPipelineOptions>(
      "dync-cuda-kernels",
      "the code generation stage to GPU kernels in PTX, the host program on memrefs "
      "(--target=cuda --emit=ptx)",
      [](OpPassManager &pm, const CudaPipelineOptions &o) {
        buildCudaKernelPipeline(pm, o.toCudaOptions());
      });
  PassPipelineRegistration<CudaPipelineOptions>(
      "dync-cuda-lower",
      "the code generation stage to the LLVM dialect for CUDA: a fatbin and a host "
      "program that launches it (--target=cuda --emit=lowered)",
      [](OpPassManager &pm, const CudaPipelineOptions &o) {
        buildCudaLoweringPipeline(pm, o.toCudaOptions());
      });
  PassPipelineRegistration<CudaPipelineOptions>(
      "dync-cuda",
      "imported IR to the LLVM dialect for CUDA: every stage of `dync --target=cuda -o "
      "model.so` before translation",
      [](OpPassManager &pm, const CudaPipelineOptions &o) {
        buildCudaPipeline(pm, Stage::Lowered, o.toCudaOptions());
      });
  PassPipelineRegistration<CpuPipelineOptions>(
      "dync-cpu",
      "imported IR to the LLVM dialect for a CPU: every stage of `dync -o model.so` "
      "before translation",
      [](OpPassManager &pm, const CpuPipelineOptions &o) {
        buildCpuPipeline(pm, Stage::Lowered, o.toCpuOptions());
      });
}

} // namespace dync
