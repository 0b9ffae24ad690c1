//===- MatmulFusion.cpp - a matmul's fill and elementwise epilogue --------===//

#include "MatmulFusion.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;
using namespace dync;

namespace {

/// The buffer `v` is a view of.
Value rootBuffer(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

/// The slot of a `dync_workspace(slot, bytes)` call (dyn-plan-buffers), if
/// `v` is one's result.
std::optional<int64_t> workspaceSlot(Value v) {
  auto call = v.getDefiningOp<func::CallOp>();
  if (!call || call.getCallee() != "dync_workspace" || call.getNumOperands() != 2)
    return std::nullopt;
  return getConstantIntValue(call.getOperand(0));
}

/// The op before (or after) `op` in its block past the ops without memory
/// effects (views, dims, index arithmetic) and, after it, past the
/// workspace calls of dyn-plan-buffers, collected in `calls`: the caller
/// checks that they are only the epilogue's output's (a call may grow its
/// slot's buffer, which a buffer the kernel reads must not be in).
Operation *neighbourWithEffects(Operation *op, bool after,
                                SmallVectorImpl<Operation *> *calls = nullptr) {
  Operation *p = after ? op->getNextNode() : op->getPrevNode();
  while (p) {
    if (calls && p->getNumResults() == 1 && workspaceSlot(p->getResult(0)))
      calls->push_back(p);
    else if (!isMemoryEffectFree(p))
      break;
    p = after ? p->getNextNode() : p->getPrevNode();
  }
  return p;
}

/// Where a buffer comes from, as far as aliasing goes.
enum class Origin { Alloc, Slot, Argument, Unknown };

Origin originOf(Value root) {
  if (root.getDefiningOp<memref::AllocOp>())
    return Origin::Alloc;
  if (workspaceSlot(root))
    return Origin::Slot;
  // A function's argument; a block argument of a loop may carry any
  // buffer, as may a loop's or a call's result.
  if (auto arg = dyn_cast<BlockArgument>(root);
      arg && isa<FunctionOpInterface>(arg.getOwner()->getParentOp()))
    return Origin::Argument;
  return Origin::Unknown;
}

/// Whether buffers `x` and `y` cannot overlap: two allocations, an
/// allocation and a workspace slot or memory given to the function,
/// different workspace slots (each slot is a buffer of its own), a slot
/// and memory given to the function. Anything else may be the other (a
/// loop's block argument may carry an allocation; two arguments may be one
/// buffer).
bool distinctBuffers(Value x, Value y) {
  Value rx = rootBuffer(x), ry = rootBuffer(y);
  if (rx == ry)
    return false;
  Origin ox = originOf(rx), oy = originOf(ry);
  if (ox == Origin::Unknown || oy == Origin::Unknown)
    return false;
  if (ox == Origin::Slot && oy == Origin::Slot)
    return *workspaceSlot(rx) != *workspaceSlot(ry);
  return !(ox == Origin::Argument && oy == Origin::Argument);
}

bool isF32Buffer(Value v) {
  auto t = dyn_cast<MemRefType>(v.getType());
  return t && t.getElementType().isF32();
}

/// Whether `g` is an epilogue of `mm` that the outer-product kernel can
/// apply to its accumulators; sets `fusion.outInput` and `fusion.target`.
bool isEpilogue(Matmul mm, linalg::GenericOp g, MatmulFusion &fusion, unsigned nDim) {
  Value out = mm.op.getDpsInits()[0];
  auto outType = cast<MemRefType>(out.getType());
  unsigned rank = outType.getRank();
  if (!g.hasPureBufferSemantics() || g.getNumDpsInits() != 1 || g.getNumLoops() != rank ||
      g.getNumReductionLoops() != 0 || !g.getIndexingMapsArray().back().isIdentity())
    return false;
  // The epilogue's output: the matmul's, updated in place, or another
  // buffer that the kernel writes instead of out. Then out must have no
  // other reader, and the target must not be memory the kernel still reads
  // (a, b) or that other tiles read (an input at other elements).
  Value target = g.getDpsInits()[0];
  Block &body = g.getRegion().front();
  if (target != out) {
    auto targetType = dyn_cast<MemRefType>(target.getType());
    if (!isF32Buffer(target) || !unitInnerStride(targetType) ||
        !body.getArgument(g.getNumDpsInputs()).use_empty() ||
        !distinctBuffers(target, mm.op.getDpsInputs()[0]) ||
        !distinctBuffers(target, mm.op.getDpsInputs()[1]))
      return false;
    // out is a buffer of its own (an allocation or a workspace slot's
    // view), without views, read by no op after the epilogue.
    bool own = out.getDefiningOp<memref::AllocOp>() ||
               (out.getDefiningOp<memref::ViewOp>() &&
                workspaceSlot(out.getDefiningOp<memref::ViewOp>().getSource()));
    if (!own)
      return false;
    for (Operation *user : out.getUsers()) {
      if (user == mm.op || user == g || isa<memref::DeallocOp>(user))
        continue;
      if (isa<ViewLikeOpInterface>(user) || user->getBlock() != mm.op->getBlock() ||
          !user->isBeforeInBlock(mm.op))
        return false;
    }
  }
  std::optional<unsigned> outInput;
  for (OpOperand *in : g.getDpsInputOperands()) {
    AffineMap map = g.getMatchingIndexingMap(in);
    Value v = in->get();
    if (!isF32Buffer(v))
      return false;
    if (v == out) {
      if (outInput || !map.isIdentity())
        return false;
      outInput = in->getOperandNumber();
      continue;
    }
    if (!distinctBuffers(v, out) ||
        (target != out && !map.isIdentity() && !distinctBuffers(v, target)))
      return false;
    // Read as vectors along n (n the innermost index, unit stride) or as
    // one element broadcast (no n).
    for (auto [pos, e] : llvm::enumerate(map.getResults())) {
      if (isa<AffineConstantExpr>(e))
        continue;
      auto d = dyn_cast<AffineDimExpr>(e);
      if (!d)
        return false;
      if (d.getPosition() == nDim &&
          (pos + 1 != map.getNumResults() || !unitInnerStride(cast<MemRefType>(v.getType()))))
        return false;
    }
  }
  if (!outInput)
    return false;
  for (Operation &op : body.without_terminator()) {
    if (op.getNumRegions() != 0)
      return false;
    if (op.hasTrait<OpTrait::ConstantLike>())
      continue;
    if (!OpTrait::hasElementwiseMappableTraits(&op) ||
        !llvm::all_of(op.getResultTypes(), [](Type t) { return t.isIntOrFloat(); }))
      return false;
  }
  fusion.outInput = *outInput;
  fusion.target = target;
  return true;
}

} // namespace

MatmulFusion dync::matchMatmulFusion(Matmul mm) {
  MatmulFusion fusion;
  Value out = mm.op.getDpsInits()[0];
  if (!isF32Buffer(out))
    return fusion;
  if (auto fill = dyn_cast_or_null<linalg::FillOp>(neighbourWithEffects(mm.op, false));
      fill && fill.hasPureBufferSemantics() && fill.getDpsInits()[0] == out &&
      fill.getInputs()[0].getType().isF32()) {
    fusion.fill = fill;
    fusion.fillValue = fill.getInputs()[0];
  }
  if (!mm.outer)
    return fusion;
  // n's position among the output's indices, which is also its dim in the
  // epilogue's loops (whose map of the output is the identity).
  AffineMap outMap = mm.op.getIndexingMapsArray()[2];
  std::optional<unsigned> nDim;
  for (auto [pos, e] : llvm::enumerate(outMap.getResults()))
    if (auto d = dyn_cast<AffineDimExpr>(e); d && d.getPosition() == mm.n)
      nDim = pos;
  SmallVector<Operation *> calls;
  auto g = dyn_cast_or_null<linalg::GenericOp>(neighbourWithEffects(mm.op, true, &calls));
  if (nDim && g && isEpilogue(mm, g, fusion, *nDim) && llvm::all_of(calls, [&](Operation *call) {
        return rootBuffer(fusion.target) == call->getResult(0);
      })) {
    fusion.epilogue = g;
    fusion.nDim = *nDim;
  }
  return fusion;
}

Value dync::applyEpilogue(ImplicitLocOpBuilder &b, const MatmulFusion &fusion, Value acc,
                          ValueRange outIndices) {
  linalg::GenericOp g = fusion.epilogue;
  auto vecType = dyn_cast<VectorType>(acc.getType());
  auto widen = [&](Value v) -> Value {
    if (!vecType || isa<VectorType>(v.getType()))
      return v;
    return vector::BroadcastOp::create(b, VectorType::get(vecType.getShape(), v.getType()), v);
  };
  Block &body = g.getRegion().front();
  IRMapping map;
  unsigned nDim = fusion.nDim;
  for (OpOperand *in : g.getDpsInputOperands()) {
    BlockArgument arg = body.getArgument(in->getOperandNumber());
    if (in->getOperandNumber() == fusion.outInput) {
      map.map(arg, acc);
      continue;
    }
    AffineMap m = g.getMatchingIndexingMap(in);
    SmallVector<Value> at;
    bool alongN = false;
    for (AffineExpr e : m.getResults()) {
      if (auto c = dyn_cast<AffineConstantExpr>(e)) {
        at.push_back(arith::ConstantIndexOp::create(b, c.getValue()));
        continue;
      }
      unsigned d = cast<AffineDimExpr>(e).getPosition();
      alongN |= d == nDim;
      at.push_back(outIndices[d]);
    }
    Value v = vecType && alongN ? Value(vector::LoadOp::create(b, vecType, in->get(), at))
                                : Value(memref::LoadOp::create(b, in->get(), at));
    map.map(arg, widen(v));
  }
  // The output's own value, read only when the output is the matmul's
  // (updated in place): the matmul's result.
  map.map(body.getArgument(g.getNumDpsInputs()), acc);
  for (Operation &op : body.without_terminator()) {
    if (op.hasTrait<OpTrait::ConstantLike>()) {
      b.clone(op, map);
      continue;
    }
    IRMapping operands = map;
    for (Value v : op.getOperands())
      operands.map(v, widen(map.lookupOrDefault(v)));
    Operation *c = b.clone(op, operands);
    for (auto [r, mine] : llvm::zip(c->getResults(), op.getResults())) {
      if (vecType)
        r.setType(VectorType::get(vecType.getShape(), r.getType()));
      map.map(mine, r);
    }
  }
  return widen(map.lookupOrDefault(body.getTerminator()->getOperand(0)));
}
