//===- FuseElementwise.cpp - elementwise producers into their consumers ---===//
//
// Upstream's elementwise fusion, restricted to fusions that compute nothing
// twice. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/Codegen/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace dync {
#define GEN_PASS_DEF_DYNFUSEELEMENTWISE
#include "dync/Passes/Codegen/Passes.h.inc"
} // namespace dync

using namespace mlir;

/// Whether `op`'s body only converts its one input to another float type.
static bool isConversion(linalg::GenericOp op) {
  Block *body = op.getBody();
  return op.getNumDpsInputs() == 1 && body->getOperations().size() == 2 &&
         isa<arith::ExtFOp>(body->front()) &&
         body->front().getOperand(0) == body->getArgument(0);
}

/// Whether every use of `v` is an input of a linalg.generic that reads each
/// of its elements once (the consumer's indexing map for it is a
/// permutation of the consumer's loops).
static bool readOnceByEveryUser(Value v) {
  return llvm::all_of(v.getUses(), [](OpOperand &use) {
    auto consumer = dyn_cast<linalg::GenericOp>(use.getOwner());
    return consumer && consumer.isDpsInput(&use) &&
           consumer.getMatchingIndexingMap(&use).isPermutation();
  });
}

/// Fuses the producer of `fused` into its consumer when every user of the
/// producer reads each of its elements once: fused into all of them, the
/// producer's tensor is never stored, and each element is computed once per
/// user (a softmax's exp(x - max), used by the sum and by the quotient,
/// twice) — cheaper than a store and a reload. A producer that only widens
/// floats (half-precision weights) is fused into its one user whatever the
/// user's reads: cheaper redone than stored.
static bool shouldFuse(OpOperand *fused) {
  auto producer = fused->get().getDefiningOp<linalg::GenericOp>();
  auto consumer = dyn_cast<linalg::GenericOp>(fused->getOwner());
  if (!producer || !consumer || producer->getNumResults() != 1)
    return false;
  if (isConversion(producer))
    return producer->hasOneUse();
  return readOnceByEveryUser(producer->getResult(0));
}

namespace {
struct FuseElementwisePass : dync::impl::DynFuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    // First a tensor.dim of a linalg op's result becomes the dim of its
    // init (the same size): a dim is a use that would otherwise keep a
    // producer from fusing, and have it computed for that dim alone. Not
    // upstream's resolve-ranked-shaped-type-result-dims patterns, which
    // rewrite every op's result dims in terms of its operands and lose
    // the bounds the memory budget reads (the dims of subgraph results).
    getOperation().walk([](tensor::DimOp dim) {
      auto result = dyn_cast<OpResult>(dim.getSource());
      auto producer = result ? dyn_cast<linalg::LinalgOp>(result.getOwner()) : nullptr;
      if (producer && producer.hasPureTensorSemantics())
        dim.getSourceMutable().assign(producer.getDpsInits()[result.getResultNumber()]);
    });
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(patterns, shouldFuse);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
