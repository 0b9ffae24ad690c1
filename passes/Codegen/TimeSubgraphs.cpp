//===- TimeSubgraphs.cpp - per-subgraph time in the run statistics --------===//

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Passes/Codegen/Passes.h"

namespace dync {
#define GEN_PASS_DEF_DYNTIMESUBGRAPHS
#include "dync/Passes/Codegen/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {
struct TimeSubgraphsPass : dync::impl::DynTimeSubgraphsBase<TimeSubgraphsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      auto caller = call->getParentOfType<func::FuncOp>();
      if (callee && callee->hasAttr(kSubgraphAttr) && caller &&
          !caller->hasAttr(kSubgraphAttr))
        calls.push_back(call);
    });
    if (calls.empty())
      return;
    OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
    auto clock = module.lookupSymbol<func::FuncOp>("dync_clock_ns");
    if (!clock) {
      clock = func::FuncOp::create(mb, module.getLoc(), "dync_clock_ns",
                                   mb.getFunctionType({}, {mb.getI64Type()}));
      clock.setPrivate();
    }
    for (func::CallOp call : calls) {
      ImplicitLocOpBuilder b(call.getLoc(), call);
      Value t0 = func::CallOp::create(b, clock, ValueRange{}).getResult(0);
      b.setInsertionPointAfter(call);
      Value t1 = func::CallOp::create(b, clock, ValueRange{}).getResult(0);
      Value ns = arith::IndexCastOp::create(b, b.getIndexType(),
                                            arith::SubIOp::create(b, t1, t0));
      dyn::RtCountOp::create(b, ns, b.getStringAttr("time_ns." + call.getCallee()));
    }
  }
};
} // namespace
