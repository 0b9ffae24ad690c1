//===- Pipelines.cpp - dync pass pipelines --------------------------------===//

#include "dync/Passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void dync::buildPartitionPipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createDynLowerControl());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createDynOutlineSubgraphs());
  pm.addPass(createDynInferBounds());
  pm.addPass(createDynCheckSubgraphs());
}

void dync::registerPipelines() {
  PassPipelineRegistration<>(
      "dyn-partition",
      "dyn-level IR to static subgraphs and a host program that holds all "
      "data-dependent control",
      [](OpPassManager &pm) { buildPartitionPipeline(pm); });
}
