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
  buildCpuCodegenPipeline(pm);
  if (stop == Stage::Codegen)
    return;
  buildCpuLoweringPipeline(pm, options);
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
  PassPipelineRegistration<CpuPipelineOptions>(
      "dync-cpu",
      "imported IR to the LLVM dialect for a CPU: every stage of `dync -o model.so` "
      "before translation",
      [](OpPassManager &pm, const CpuPipelineOptions &o) {
        buildCpuPipeline(pm, Stage::Lowered, o.toCpuOptions());
      });
}

} // namespace dync
