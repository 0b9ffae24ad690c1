//===- InferBounds.cpp - attach upper bounds to subgraph signatures -------===//

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Analysis/BoundsAnalysis.h"
#include "dync/Passes/Partition/Passes.h"

#include "mlir/IR/SymbolTable.h"

#include <optional>

namespace dync {
#define GEN_PASS_DEF_DYNINFERBOUNDS
#include "dync/Passes/Partition/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

struct InferBoundsPass : dync::impl::DynInferBoundsBase<InferBoundsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    BoundsAnalysis analysis(module);
    bool ok = true;
    Builder b(module.getContext());
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (!fn->hasAttr(kSubgraphAttr))
        continue;
      auto boundsOf = [&](Value v, StringRef what, unsigned index) -> Attribute {
        auto type = dyn_cast<RankedTensorType>(v.getType());
        if (!type || type.hasStaticShape())
          return {};
        SmallVector<int64_t> bounds;
        for (int64_t i = 0; i < type.getRank(); ++i) {
          BoundsAnalysis::Bound bd = analysis.dim(v, i);
          if (!bd) {
            fn.emitError() << "cannot bound dimension " << i << " of " << what
                           << " #" << index << " (" << type << ") of subgraph '@"
                           << fn.getSymName()
                           << "': it does not derive from a model dim with a "
                              "declared maximum";
            ok = false;
            return {};
          }
          bounds.push_back(*bd);
        }
        return b.getDenseI64ArrayAttr(bounds);
      };
      for (BlockArgument arg : fn.getArguments())
        if (Attribute a = boundsOf(arg, "argument", arg.getArgNumber()))
          fn.setArgAttr(arg.getArgNumber(), kBoundsAttr, a);
      auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
      for (auto [i, v] : llvm::enumerate(ret.getOperands()))
        if (Attribute a = boundsOf(v, "result", i))
          fn.setResultAttr(i, kBoundsAttr, a);
    }
    if (!ok)
      signalPassFailure();
  }
};

} // namespace
