//===- OutlineParallelLoops.cpp - parallel loops for the thread pool ------===//
//
// Outermost scf.parallel loops become outlined functions over a range of
// their first dimension, called through a launch function that the CPU
// backend defines. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

namespace dync {
#define GEN_PASS_DEF_DYNOUTLINEPARALLELLOOPS
#include "dync/Passes/Passes.h.inc"
} // namespace dync

using namespace mlir;

/// Trip count assumed for an inner loop whose bounds are not constants.
static constexpr int64_t kUnknownTripCount = 16;

/// A loop's trip count if its bounds are constants.
static std::optional<int64_t> constantTripCount(Value lb, Value ub, Value step) {
  std::optional<int64_t> l = getConstantIntValue(lb), u = getConstantIntValue(ub),
                         s = getConstantIntValue(step);
  if (!l || !u || !s || *s <= 0)
    return std::nullopt;
  return std::max<int64_t>(0, llvm::divideCeil(*u - *l, *s));
}

/// A static estimate of the operations one execution of `block` performs:
/// each op counts 1, loops multiply their body by their trip count.
static int64_t estimateWork(Block &block) {
  int64_t total = 0;
  auto trips = [](ValueRange lbs, ValueRange ubs, ValueRange steps) {
    int64_t n = 1;
    for (auto [l, u, s] : llvm::zip_equal(lbs, ubs, steps))
      n *= constantTripCount(l, u, s).value_or(kUnknownTripCount);
    return n;
  };
  for (Operation &op : block) {
    int64_t inner = 0;
    for (Region &r : op.getRegions())
      for (Block &b : r)
        inner = std::max(inner, estimateWork(b));
    if (auto f = dyn_cast<scf::ForOp>(op))
      total += trips(f.getLowerBound(), f.getUpperBound(), f.getStep()) * inner;
    else if (auto p = dyn_cast<scf::ParallelOp>(op))
      total += trips(p.getLowerBound(), p.getUpperBound(), p.getStep()) * inner;
    else
      total += 1 + inner;
  }
  return total;
}

/// Whether `loop` may run on another thread: nothing in it reads a
/// thread-local global (the run statistics) or calls a function.
static bool mayRunElsewhere(scf::ParallelOp loop) {
  WalkResult r = loop.walk([](Operation *op) {
    if (isa<LLVM::AddressOfOp, func::CallOp, LLVM::CallOp>(op))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return !r.wasInterrupted();
}

/// Replaces `loop` (in `parent`) by a launch of an outlined body.
static void outline(scf::ParallelOp loop, func::FuncOp parent, unsigned index) {
  MLIRContext *ctx = loop.getContext();
  Location loc = loop.getLoc();
  Type indexType = IndexType::get(ctx);

  // Values the loop uses from above: constants are cloned into the body,
  // the rest become arguments.
  llvm::SetVector<Value> used;
  getUsedValuesDefinedAbove(loop.getRegion(), used);
  for (Value v : loop->getOperands())
    used.insert(v);
  SmallVector<Value> captured, constants;
  for (Value v : used) {
    Operation *def = v.getDefiningOp();
    (def && def->hasTrait<OpTrait::ConstantLike>() ? constants : captured).push_back(v);
  }
  SmallVector<Type> capturedTypes;
  for (Value v : captured)
    capturedTypes.push_back(v.getType());

  std::string suffix = (parent.getSymName() + "." + Twine(index)).str();
  OpBuilder mb(ctx);
  mb.setInsertionPointAfter(parent);
  SmallVector<Type> bodyArgs{indexType, indexType};
  bodyArgs.append(capturedTypes);
  auto body = func::FuncOp::create(mb, loc, (dync::kParallelBodyPrefix + suffix).str(),
                                   FunctionType::get(ctx, bodyArgs, {}));
  body.setPrivate();
  auto launch = func::FuncOp::create(mb, loc, (dync::kParallelLaunchPrefix + suffix).str(),
                                     FunctionType::get(ctx, bodyArgs, {}));
  launch.setPrivate();

  // The body: iterations [lo, hi) of the first dimension.
  Block *entry = body.addEntryBlock();
  OpBuilder b = OpBuilder::atBlockBegin(entry);
  IRMapping map;
  for (Value c : constants)
    map.map(c, b.clone(*c.getDefiningOp())->getResult(0));
  for (auto [v, arg] : llvm::zip_equal(captured, entry->getArguments().drop_front(2)))
    map.map(v, arg);
  Value lb = map.lookup(loop.getLowerBound()[0]);
  Value ub = map.lookup(loop.getUpperBound()[0]);
  Value step = map.lookup(loop.getStep()[0]);
  Value from = arith::AddIOp::create(b, loc, lb,
                                     arith::MulIOp::create(b, loc, entry->getArgument(0), step));
  Value to = arith::MinSIOp::create(
      b, loc, ub,
      arith::AddIOp::create(b, loc, lb,
                            arith::MulIOp::create(b, loc, entry->getArgument(1), step)));
  auto clone = cast<scf::ParallelOp>(b.clone(*loop, map));
  unsigned rank = loop.getNumLoops();
  clone->setOperand(0, from);
  clone->setOperand(rank, to);
  func::ReturnOp::create(b, loc);

  // The call site: trip count of the first dimension and the work estimate.
  OpBuilder cb(loop);
  auto ceilDivTrips = [&](Value l, Value u, Value s) -> Value {
    return arith::MaxSIOp::create(
        cb, loc, arith::ConstantIndexOp::create(cb, loc, 0),
        arith::CeilDivSIOp::create(cb, loc, arith::SubIOp::create(cb, loc, u, l), s));
  };
  Value n = ceilDivTrips(loop.getLowerBound()[0], loop.getUpperBound()[0], loop.getStep()[0]);
  Value work = arith::MulIOp::create(
      cb, loc, n,
      arith::ConstantIndexOp::create(cb, loc, std::max<int64_t>(1, estimateWork(*loop.getBody()))));
  for (unsigned d = 1; d < rank; ++d)
    work = arith::MulIOp::create(
        cb, loc, work,
        ceilDivTrips(loop.getLowerBound()[d], loop.getUpperBound()[d], loop.getStep()[d]));
  SmallVector<Value> args{n, work};
  args.append(captured);
  func::CallOp::create(cb, loc, launch, args);
  loop.erase();
}

namespace {
struct OutlineParallelLoopsPass
    : dync::impl::DynOutlineParallelLoopsBase<OutlineParallelLoopsPass> {
  void runOnOperation() override {
    SmallVector<func::FuncOp> funcs(getOperation().getOps<func::FuncOp>());
    for (func::FuncOp f : funcs) {
      if (f.isDeclaration())
        continue;
      SmallVector<scf::ParallelOp> loops;
      f.walk([&](scf::ParallelOp p) {
        if (p.getNumResults() == 0 && !p->getParentOfType<scf::ParallelOp>() &&
            mayRunElsewhere(p))
          loops.push_back(p);
      });
      unsigned index = 0;
      for (scf::ParallelOp p : loops)
        outline(p, f, index++);
    }
  }
};
} // namespace
