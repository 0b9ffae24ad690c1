//===- CheckSubgraphs.cpp - subgraphs hold no data-dependent control ------===//

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Passes/Partition/Passes.h"

namespace dync {
#define GEN_PASS_DEF_DYNCHECKSUBGRAPHS
#include "dync/Passes/Partition/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

/// Static tensor computation: what a subgraph may contain.
bool isStatic(Operation *op) {
  if (isa<func::ReturnOp>(op))
    return isa<func::FuncOp>(op->getParentOp());
  // Run statistics record work without changing what is computed.
  if (isa<dyn::WeightOp, dyn::ParamReadOp, dyn::MoeRouteOp, dyn::TopKOp,
          dyn::ScatterAddOp, dyn::AttentionOp, dyn::BsaSelectOp, dyn::RtCountOp>(op))
    return true;
  StringRef dialect = op->getDialect() ? op->getDialect()->getNamespace() : "";
  return dialect == "linalg" || dialect == "tensor" || dialect == "arith" ||
         dialect == "math";
}

struct CheckSubgraphsPass
    : dync::impl::DynCheckSubgraphsBase<CheckSubgraphsPass> {
  void runOnOperation() override {
    bool ok = true;
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (!fn->hasAttr(kSubgraphAttr))
        continue;
      fn.walk<WalkOrder::PreOrder>([&](Operation *op) {
        if (op == fn.getOperation() || isStatic(op))
          return WalkResult::advance();
        op->emitError() << "subgraph '@" << fn.getSymName()
                        << "' must be free of data-dependent control, but "
                           "contains '"
                        << op->getName() << "'";
        ok = false;
        // One message per offending op, not one per op nested inside it.
        return WalkResult::skip();
      });
      auto check = [&](Type t, DenseI64ArrayAttr bounds, StringRef what,
                       unsigned i) {
        auto type = dyn_cast<RankedTensorType>(t);
        if (!type || type.hasStaticShape())
          return;
        if (!bounds || bounds.size() != type.getRank()) {
          fn.emitError() << "subgraph '@" << fn.getSymName() << "': " << what
                         << " #" << i << " (" << t
                         << ") has a dynamic dimension without a bound";
          ok = false;
        }
      };
      for (unsigned i = 0; i < fn.getNumArguments(); ++i)
        check(fn.getArgumentTypes()[i],
              fn.getArgAttrOfType<DenseI64ArrayAttr>(i, kBoundsAttr), "argument", i);
      for (unsigned i = 0; i < fn.getNumResults(); ++i)
        check(fn.getResultTypes()[i],
              fn.getResultAttrOfType<DenseI64ArrayAttr>(i, kBoundsAttr), "result", i);
    }
    if (!ok)
      signalPassFailure();
  }
};

} // namespace
