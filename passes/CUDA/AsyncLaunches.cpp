//===- AsyncLaunches.cpp - launches on a stream, waits where needed -------===//
//
// Launches chained per block, a blocking wait before the first host op that
// may touch memory. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/CUDA/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace dync {
#define GEN_PASS_DEF_DYNASYNCLAUNCHES
#include "dync/Passes/CUDA/Passes.h.inc"
} // namespace dync

using namespace mlir;

namespace {

/// Host ops that may run while kernels are in flight: they touch no buffer.
bool touchesNoBuffer(Operation *op) {
  if (isa<memref::AllocOp>(op))
    return true;
  if (auto call = dyn_cast<func::CallOp>(op))
    return call.getCallee() == "dync_workspace" || call.getCallee() == "dync_clock_ns";
  return op->getNumRegions() == 0 && !op->hasTrait<OpTrait::IsTerminator>() &&
         isMemoryEffectFree(op);
}

/// The op that made the memory `v` is a view of.
Operation *memoryOrigin(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def)) {
      v = view.getViewSource();
      continue;
    }
    if (auto cast = dyn_cast<memref::CastOp>(def)) {
      v = cast.getSource();
      continue;
    }
    return def;
  }
  return nullptr;
}

struct DynAsyncLaunchesPass : dync::impl::DynAsyncLaunchesBase<DynAsyncLaunchesPass> {
  void runOnOperation() override {
    bool failed = false;
    getOperation().walk([&](gpu::LaunchFuncOp launch) {
      for (Value operand : launch.getKernelOperands())
        if (Operation *origin = memoryOrigin(operand);
            origin && isa<memref::AllocaOp, memref::GetGlobalOp>(origin)) {
          launch.emitError("a kernel is given host memory (")
              << origin->getName() << "), which a GPU cannot address";
          failed = true;
        }
    });
    if (failed)
      return signalPassFailure();
    for (auto fn : getOperation().getOps<func::FuncOp>())
      for (Block &block : fn.getBody())
        chain(block);
  }

  void chain(Block &block) {
    Type token = gpu::AsyncTokenType::get(&getContext());
    Value pending;
    for (Operation &op : llvm::make_early_inc_range(block)) {
      for (Region &region : op.getRegions())
        for (Block &inner : region)
          chain(inner);
      auto launch = dyn_cast<gpu::LaunchFuncOp>(op);
      if (launch && !launch.getAsyncToken()) {
        OpBuilder b(launch);
        if (!pending)
          pending = gpu::WaitOp::create(b, launch.getLoc(), token, ValueRange{}).getAsyncToken();
        auto async = gpu::LaunchFuncOp::create(
            b, launch.getLoc(), launch.getKernel(), launch.getGridSizeOperandValues(),
            launch.getBlockSizeOperandValues(), launch.getDynamicSharedMemorySize(),
            launch.getKernelOperands(), token, ValueRange{pending});
        async->setDiscardableAttrs(launch->getDiscardableAttrDictionary());
        pending = async.getAsyncToken();
        launch.erase();
        continue;
      }
      if (pending && !touchesNoBuffer(&op)) {
        OpBuilder b(&op);
        gpu::WaitOp::create(b, op.getLoc(), Type(), ValueRange{pending});
        pending = nullptr;
      }
    }
  }
};

} // namespace
