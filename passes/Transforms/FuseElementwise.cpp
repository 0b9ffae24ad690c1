//===- FuseElementwise.cpp - elementwise producers into their consumers ---===//
//
// Upstream's elementwise fusion, restricted to fusions that compute nothing
// twice. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace dync {
#define GEN_PASS_DEF_DYNFUSEELEMENTWISE
#include "dync/Passes/Passes.h.inc"
} // namespace dync

using namespace mlir;

/// Whether `op`'s body only converts its one input to another float type.
static bool isConversion(linalg::GenericOp op) {
  Block *body = op.getBody();
  return op.getNumDpsInputs() == 1 && body->getOperations().size() == 2 &&
         isa<arith::ExtFOp>(body->front()) &&
         body->front().getOperand(0) == body->getArgument(0);
}

/// Fuses the producer of `fused` into its consumer when the consumer reads
/// each of the producer's elements once (its indexing map for the operand
/// is a permutation of its loops), so that nothing is recomputed, or when
/// the producer only widens floats (half-precision weights), which is
/// cheaper redone than stored.
static bool shouldFuse(OpOperand *fused) {
  auto producer = fused->get().getDefiningOp<linalg::GenericOp>();
  auto consumer = dyn_cast<linalg::GenericOp>(fused->getOwner());
  if (!producer || !consumer || !producer->hasOneUse())
    return false;
  return consumer.getMatchingIndexingMap(fused).isPermutation() || isConversion(producer);
}

namespace {
struct FuseElementwisePass : dync::impl::DynFuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(patterns, shouldFuse);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
