//===- OutlineParallelLoops.cpp - parallel loops for the thread pool ------===//
//
// Outermost scf.parallel loops become outlined functions over a range of
// their first dimension, called through a launch function that the CPU
// backend defines. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/CPU/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

namespace dync {
#define GEN_PASS_DEF_DYNOUTLINEPARALLELLOOPS
#include "dync/Passes/CPU/Passes.h.inc"
} // namespace dync

using namespace mlir;

/// Trip count assumed for an inner loop whose bounds are not constants.
static constexpr int64_t kUnknownTripCount = 16;

namespace {
/// Builds, before a parallel loop, an estimate of the operations its body
/// performs: each op counts 1, loops multiply their body by their trip
/// count. A trip count is computed at run time when its bounds are known
/// before the loop (constants, values defined above it), else assumed.
/// Constant parts are folded here; only run-time parts become IR.
class WorkEstimate {
public:
  WorkEstimate(Operation *root, ImplicitLocOpBuilder &b) : root(root), b(b) {}

  /// A count: a constant, or a value computed before the loop.
  struct Count {
    int64_t constant = 0;
    Value value;
  };

  Value materialize(Count c) {
    return c.value ? c.value : arith::ConstantIndexOp::create(b, c.constant).getResult();
  }

  Count of(Block &block) {
    Count total{0, {}};
    for (Operation &op : block) {
      Count inner{0, {}};
      for (Region &r : op.getRegions())
        for (Block &nested : r)
          inner = combine<arith::MaxSIOp>(inner, of(nested),
                                          [](int64_t x, int64_t y) { return std::max(x, y); });
      if (auto f = dyn_cast<scf::ForOp>(op))
        inner = mul(inner, trips(f.getLowerBound(), f.getUpperBound(), f.getStep()));
      else if (auto p = dyn_cast<scf::ParallelOp>(op))
        for (auto [l, u, s] : llvm::zip_equal(p.getLowerBound(), p.getUpperBound(), p.getStep()))
          inner = mul(inner, trips(l, u, s));
      else
        inner = add(inner, Count{1, {}});
      total = add(total, inner);
    }
    return total;
  }

  /// ceil((u - l) / s), at least 0.
  Count trips(Value l, Value u, Value s) {
    std::optional<int64_t> cl = getConstantIntValue(l), cu = getConstantIntValue(u),
                           cs = getConstantIntValue(s);
    if (cl && cu && cs && *cs > 0)
      return {std::max<int64_t>(0, llvm::divideCeil(*cu - *cl, *cs)), {}};
    if (!available(l) || !available(u) || !available(s))
      return {kUnknownTripCount, {}};
    Value n = b.createOrFold<arith::CeilDivSIOp>(b.createOrFold<arith::SubIOp>(u, l), s);
    return {0, b.createOrFold<arith::MaxSIOp>(n, materialize(Count{0, {}}))};
  }

  Count mul(Count x, Count y) {
    return combine<arith::MulIOp>(x, y, [](int64_t p, int64_t q) { return p * q; });
  }
  Count add(Count x, Count y) {
    return combine<arith::AddIOp>(x, y, [](int64_t p, int64_t q) { return p + q; });
  }

private:
  template <typename OpTy>
  Count combine(Count x, Count y, function_ref<int64_t(int64_t, int64_t)> fold) {
    if (!x.value && !y.value)
      return {fold(x.constant, y.constant), {}};
    return {0, b.createOrFold<OpTy>(materialize(x), materialize(y))};
  }

  /// Whether `v` is defined outside the loop (so known before it).
  bool available(Value v) {
    Operation *def = v.getDefiningOp();
    if (!def)
      def = v.getParentBlock()->getParentOp();
    return !root->isAncestor(def);
  }

  Operation *root;
  ImplicitLocOpBuilder &b;
};
} // namespace

/// Whether `root` may run on another thread: nothing in it reads a
/// thread-local global (whose value is the calling thread's) or calls a
/// function other than one the module defines that may run elsewhere too
/// (bufferization's `dealloc_helper`). The runtime's functions (the
/// workspace, the clock) are declarations: they keep a loop in place.
/// `known` holds the functions already looked at (a recursive one counts as
/// fine while it is being looked at).
static bool mayRunElsewhere(Operation *root, llvm::DenseMap<Operation *, bool> &known) {
  WalkResult r = root->walk([&](Operation *op) {
    if (isa<LLVM::CallOp>(op))
      return WalkResult::interrupt();
    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(op, call.getCalleeAttr());
      if (!callee || callee.isDeclaration())
        return WalkResult::interrupt();
      if (known.try_emplace(callee, true).second)
        known[callee] = mayRunElsewhere(callee, known);
      if (!known.lookup(callee))
        return WalkResult::interrupt();
    }
    if (auto address = dyn_cast<LLVM::AddressOfOp>(op)) {
      auto global = SymbolTable::lookupNearestSymbolFrom<LLVM::GlobalOp>(
          op, address.getGlobalNameAttr());
      // An unknown symbol may be thread-local too.
      if (!global || global.getThreadLocal_())
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return !r.wasInterrupted();
}

static bool mayRunElsewhere(scf::ParallelOp loop) {
  llvm::DenseMap<Operation *, bool> known;
  return mayRunElsewhere(loop, known);
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
  ImplicitLocOpBuilder cb(loc, loop);
  WorkEstimate estimate(loop, cb);
  WorkEstimate::Count n =
      estimate.trips(loop.getLowerBound()[0], loop.getUpperBound()[0], loop.getStep()[0]);
  WorkEstimate::Count work = estimate.mul(n, estimate.of(*loop.getBody()));
  for (unsigned d = 1; d < rank; ++d)
    work = estimate.mul(work, estimate.trips(loop.getLowerBound()[d], loop.getUpperBound()[d],
                                             loop.getStep()[d]));
  SmallVector<Value> args{estimate.materialize(n), estimate.materialize(work)};
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
