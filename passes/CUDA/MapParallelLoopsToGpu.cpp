//===- MapParallelLoopsToGpu.cpp - parallel loops as blocks of threads ----===//
//
// Outermost scf.parallel loops tiled into blocks of threads, with the
// mapping convert-parallel-loops-to-gpu reads. See the pass description in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/CUDA/Passes.h"

#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"

namespace dync {
#define GEN_PASS_DEF_DYNMAPPARALLELLOOPSTOGPU
#include "dync/Passes/CUDA/Passes.h.inc"
} // namespace dync

using namespace mlir;

namespace {

/// Threads a warp has: the innermost dimension's share of a 2-D tile.
constexpr int64_t kWarp = 32;

/// The static trip count of dimension `d` of `op`, or nullopt.
std::optional<int64_t> staticTripCount(scf::ParallelOp op, unsigned d) {
  std::optional<int64_t> lb = getConstantIntValue(op.getLowerBound()[d]);
  std::optional<int64_t> ub = getConstantIntValue(op.getUpperBound()[d]);
  std::optional<int64_t> step = getConstantIntValue(op.getStep()[d]);
  if (!lb || !ub || !step || *step <= 0)
    return std::nullopt;
  return (*ub - *lb + *step - 1) / *step;
}

/// The mapping of `op`'s dims, innermost first, onto `procs` (then
/// sequential).
void mapDims(scf::ParallelOp op, ArrayRef<gpu::Processor> procs) {
  MLIRContext *ctx = op.getContext();
  unsigned rank = op.getNumLoops();
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping;
  for (unsigned d = 0; d < rank; ++d) {
    unsigned fromInner = rank - 1 - d;
    gpu::Processor p =
        fromInner < procs.size() ? procs[fromInner] : gpu::Processor::Sequential;
    mapping.push_back(gpu::ParallelLoopDimMappingAttr::get(ctx, p, id, id));
  }
  (void)gpu::setMappingAttr(op, mapping);
}

struct DynMapParallelLoopsToGpuPass
    : dync::impl::DynMapParallelLoopsToGpuBase<DynMapParallelLoopsToGpuPass> {
  using Base::Base;

  void runOnOperation() override {
    if (threads < kWarp || threads % kWarp != 0 || threads > 1024) {
      getOperation().emitError("dyn-map-parallel-loops-to-gpu: threads must be a multiple of 32 "
                               "from 32 to 1024, got ")
          << static_cast<int64_t>(threads);
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> roots;
    getOperation().walk([&](scf::ParallelOp op) {
      if (!op->getParentOfType<scf::ParallelOp>() && op.getInitVals().empty())
        roots.push_back(op);
    });
    for (scf::ParallelOp op : roots) {
      unsigned rank = op.getNumLoops();
      SmallVector<int64_t> tiles(rank, 1);
      tiles[rank - 1] = rank == 1 ? int64_t(threads) : kWarp;
      if (rank >= 2)
        tiles[rank - 2] = int64_t(threads) / kWarp;
      for (unsigned d = 0; d < rank; ++d)
        if (std::optional<int64_t> n = staticTripCount(op, d))
          tiles[d] = std::max<int64_t>(1, std::min(tiles[d], *n));
      auto [outer, inner] = scf::tileParallelLoop(op, tiles, /*noMinMaxBounds=*/true);
      mapDims(outer, {gpu::Processor::BlockX, gpu::Processor::BlockY, gpu::Processor::BlockZ});
      mapDims(inner, {gpu::Processor::ThreadX, gpu::Processor::ThreadY});
    }
  }
};

} // namespace
