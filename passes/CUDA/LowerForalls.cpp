//===- LowerForalls.cpp - foralls as kernels or as host loops -------------===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/CUDA/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace dync {
#define GEN_PASS_DEF_DYNLOWERFORALLS
#include "dync/Passes/CUDA/Passes.h.inc"
} // namespace dync

using namespace mlir;

namespace {

/// Whether every dimension of `op` is mapped to GPU threads.
bool mappedToThreads(scf::ForallOp op) {
  std::optional<ArrayAttr> mapping = op.getMapping();
  return mapping && !mapping->empty() &&
         llvm::all_of(*mapping, [](Attribute a) { return isa<gpu::GPUThreadMappingAttr>(a); });
}

struct DynLowerForallsPass : dync::impl::DynLowerForallsBase<DynLowerForallsPass> {
  void runOnOperation() override {
    SmallVector<scf::ForallOp> foralls;
    // Outermost first, so that a forall nested in a host loop is still
    // found where it ends up.
    getOperation().walk<WalkOrder::PreOrder>([&](scf::ForallOp op) { foralls.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (scf::ForallOp op : foralls) {
      // Both rewrites need buffers: a forall on tensors has results.
      if (op.getNumResults() != 0) {
        op.emitError("dyn-lower-foralls: a forall with results (on tensors) cannot be "
                     "lowered; run after bufferization");
        return signalPassFailure();
      }
      rewriter.setInsertionPoint(op);
      if (failed(mappedToThreads(op) ? scf::forallToParallelLoop(rewriter, op)
                                     : scf::forallToForLoop(rewriter, op)))
        return signalPassFailure();
    }
  }
};

} // namespace
