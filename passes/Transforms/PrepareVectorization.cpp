//===- PrepareVectorization.cpp - reductions LLVM can vectorize -----------===//
//
// linalg.generic ops whose innermost loop is a reduction either get a
// stride-1 parallel loop innermost, or permission to reassociate their
// accumulation. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace dync {
#define GEN_PASS_DEF_DYNPREPAREVECTORIZATION
#include "dync/Passes/Passes.h.inc"
} // namespace dync

using namespace mlir;

/// The loop dimension `map`'s last result walks, if it is a plain dimension.
static std::optional<unsigned> lastDim(AffineMap map) {
  if (map.getNumResults() == 0)
    return std::nullopt;
  if (auto d = dyn_cast<AffineDimExpr>(map.getResults().back()))
    return d.getPosition();
  return std::nullopt;
}

/// For `op`, whose innermost loop is a reduction: the loop order that puts a
/// contiguous parallel loop innermost (interchange vector: new position ->
/// old loop), or nothing when there is none.
static std::optional<SmallVector<unsigned>> contiguousOrder(linalg::GenericOp op) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  std::optional<unsigned> inner =
      lastDim(op.getMatchingIndexingMap(op.getDpsInitOperand(0)));
  if (!inner || iterators[*inner] != utils::IteratorType::parallel)
    return std::nullopt;
  bool walkedByInput = llvm::any_of(op.getDpsInputOperands(), [&](OpOperand *in) {
    return lastDim(op.getMatchingIndexingMap(in)) == inner;
  });
  if (!walkedByInput)
    return std::nullopt;
  SmallVector<unsigned> order;
  for (unsigned d = 0; d < numLoops; ++d)
    if (d != *inner)
      order.push_back(d);
  order.push_back(*inner);
  return order;
}

/// Lets LLVM reassociate (and fuse into FMA) the additions that accumulate
/// into `op`'s output.
static void allowReassociation(linalg::GenericOp op) {
  Block *body = op.getBody();
  Value acc = body->getArgument(body->getNumArguments() - 1);
  for (Operation *user : acc.getUsers())
    if (auto add = dyn_cast<arith::AddFOp>(user))
      add.setFastmath(arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
}

namespace {
struct PrepareVectorizationPass
    : dync::impl::DynPrepareVectorizationBase<PrepareVectorizationPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.getNumLoops() > 0 && op.getNumDpsInits() == 1 &&
          op.getIteratorTypesArray().back() == utils::IteratorType::reduction)
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops) {
      std::optional<SmallVector<unsigned>> order = contiguousOrder(op);
      if (!order) {
        allowReassociation(op);
        continue;
      }
      rewriter.setInsertionPoint(op);
      if (failed(linalg::interchangeGenericOp(rewriter, op, *order)))
        return signalPassFailure();
    }
  }
};
} // namespace
