//===- EmulateGpuLaunches.cpp - kernels as parallel loops on the CPU ------===//
//
// Each gpu.launch replaced by an scf.parallel over its blocks and threads,
// its body moved in unchanged. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/CUDA/Passes.h"

namespace dync {
#define GEN_PASS_DEF_DYNEMULATEGPULAUNCHES
#include "dync/Passes/CUDA/Passes.h.inc"
} // namespace dync

using namespace mlir;

namespace {

struct DynEmulateGpuLaunchesPass
    : dync::impl::DynEmulateGpuLaunchesBase<DynEmulateGpuLaunchesPass> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk([&](gpu::LaunchOp op) { launches.push_back(op); });
    for (gpu::LaunchOp launch : launches) {
      if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
          launch.getDynamicSharedMemorySize() || launch.getClusterSizeX() ||
          !launch.getBody().hasOneBlock()) {
        launch.emitError("dyn-emulate-gpu-launches: only synchronous launches of one-block "
                         "bodies without shared memory or clusters can be emulated");
        return signalPassFailure();
      }
      // Checked before anything changes: barriers (threads that are not
      // independent), and ids read through ops rather than the body's
      // arguments.
      bool barrier = false, idOps = false;
      launch.getBody().walk([&](Operation *op) {
        barrier |= isa<gpu::BarrierOp>(op);
        idOps |= isa<gpu::ThreadIdOp, gpu::BlockIdOp, gpu::BlockDimOp, gpu::GridDimOp>(op);
      });
      if (barrier || idOps) {
        launch.emitError(barrier ? "dyn-emulate-gpu-launches: a kernel with barriers cannot be "
                                   "emulated"
                                 : "dyn-emulate-gpu-launches: a kernel reads its ids through gpu ops");
        return signalPassFailure();
      }
      OpBuilder b(launch);
      Location loc = launch.getLoc();
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
      gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
      SmallVector<Value> upper{grid.z, grid.y, grid.x, block.z, block.y, block.x};
      auto loop = scf::ParallelOp::create(b, loc, SmallVector<Value>(6, zero), upper,
                                          SmallVector<Value>(6, one));
      SmallVector<Value> ivs(loop.getInductionVars());
      // The body's ids and sizes: the loop's and the launch's values.
      gpu::KernelDim3 blockIds = launch.getBlockIds(), threadIds = launch.getThreadIds();
      gpu::KernelDim3 gridArgs = launch.getGridSize(), blockArgs = launch.getBlockSize();
      auto replace = [](Value from, Value to) { from.replaceAllUsesWith(to); };
      replace(blockIds.z, ivs[0]);
      replace(blockIds.y, ivs[1]);
      replace(blockIds.x, ivs[2]);
      replace(threadIds.z, ivs[3]);
      replace(threadIds.y, ivs[4]);
      replace(threadIds.x, ivs[5]);
      replace(gridArgs.x, grid.x);
      replace(gridArgs.y, grid.y);
      replace(gridArgs.z, grid.z);
      replace(blockArgs.x, block.x);
      replace(blockArgs.y, block.y);
      replace(blockArgs.z, block.z);
      Block &body = launch.getBody().front();
      Block *dest = loop.getBody();
      // Everything but gpu.terminator, before the loop's scf.reduce.
      Operation *terminator = body.getTerminator();
      dest->getOperations().splice(dest->getTerminator()->getIterator(), body.getOperations(),
                                   body.begin(), terminator->getIterator());
      launch.erase();
    }
  }
};

} // namespace
