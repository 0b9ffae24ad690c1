//===- CollapseParallelLoops.cpp - one dimension for the thread pool ------===//
//
// The thread pool splits an outermost scf.parallel along its first
// dimension; this pass folds the leading dimensions into it, so that a batch
// of 1 does not leave a loop on one thread. See the pass description in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/CPU/Passes.h"

#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

namespace dync {
#define GEN_PASS_DEF_DYNCOLLAPSEPARALLELLOOPS
#include "dync/Passes/CPU/Passes.h.inc"
} // namespace dync

using namespace mlir;

namespace {

/// Whether the body of `loop` holds a loop (work per iteration worth a
/// division), rather than straight-line elementwise code.
bool bodyHoldsLoop(scf::ParallelOp loop) {
  return loop.getBody()
      ->walk([](LoopLikeOpInterface) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

struct CollapseParallelLoopsPass
    : dync::impl::DynCollapseParallelLoopsBase<CollapseParallelLoopsPass> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp p) {
      if (p.getNumResults() == 0 && !p->getParentOfType<scf::ParallelOp>())
        loops.push_back(p);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp loop : loops) {
      unsigned rank = loop.getNumLoops();
      unsigned combined = bodyHoldsLoop(loop) ? rank : rank - 1;
      if (combined < 2)
        continue;
      std::vector<unsigned> first;
      for (unsigned d = 0; d < combined; ++d)
        first.push_back(d);
      SmallVector<std::vector<unsigned>> dims{first};
      for (unsigned d = combined; d < rank; ++d)
        dims.push_back({d});
      rewriter.setInsertionPoint(loop);
      collapseParallelLoops(rewriter, loop, dims);
    }
  }
};

} // namespace
