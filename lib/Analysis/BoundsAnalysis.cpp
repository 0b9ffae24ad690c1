//===- BoundsAnalysis.cpp - upper bounds of dynamic dimensions ------------===//

#include "dync/Analysis/BoundsAnalysis.h"
#include "dync/Dialect/Dyn/DynAttrNames.h"
#include "dync/Dialect/Dyn/DynOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace dync;
using Bound = BoundsAnalysis::Bound;

namespace {

Bound maxOf(Bound a, Bound b) {
  if (!a || !b)
    return std::nullopt;
  return std::max(*a, *b);
}
// Bounds saturate rather than overflow (a byte count of huge dims).
Bound mulOf(Bound a, Bound b) {
  if (!a || !b)
    return std::nullopt;
  int64_t r;
  return __builtin_mul_overflow(*a, *b, &r) ? INT64_MAX : r;
}
Bound addOf(Bound a, Bound b) {
  if (!a || !b)
    return std::nullopt;
  int64_t r;
  return __builtin_add_overflow(*a, *b, &r) ? INT64_MAX : r;
}

/// Dimension `i` of a `dyn.bounds` attribute (InferBounds puts one on every
/// dynamic argument and result of a subgraph; it survives bufferization).
Bound fromBoundsAttr(DictionaryAttr attrs, int64_t i) {
  auto bounds = attrs ? attrs.getAs<DenseI64ArrayAttr>(mlir::dyn::attrs::kBounds) : nullptr;
  if (!bounds || i >= bounds.size() || bounds[i] < 0)
    return std::nullopt;
  return bounds[i];
}

} // namespace

BoundsAnalysis::BoundsAnalysis(ModuleOp module) {
    module.walk([&](func::CallOp call) {
      if (auto fn = module.lookupSymbol<func::FuncOp>(call.getCallee()))
        callers[fn].push_back(call);
    });
  }

Bound BoundsAnalysis::dim(Value v, int64_t i) {
    auto type = cast<ShapedType>(v.getType());
    if (!type.isDynamicDim(i))
      return type.getDimSize(i);
    auto key = std::make_pair(v.getAsOpaquePointer(), i);
    if (auto it = memo.find(key); it != memo.end())
      return it->second;
    // A cycle (through recursion, or a loop-carried value, see loopCarried)
    // has no bound.
    memo[key] = std::nullopt;
    inProgress.insert(key);
    Bound b = computeDim(v, i);
    inProgress.erase(key);
    memo[key] = b;
    return b;
  }

Bound BoundsAnalysis::scalar(Value v) {
    auto key = std::make_pair(v.getAsOpaquePointer(), int64_t(-1));
    if (auto it = memo.find(key); it != memo.end())
      return it->second;
    memo[key] = std::nullopt;
    Bound b = computeScalar(v);
    memo[key] = b;
    return b;
  }

Bound BoundsAnalysis::fromCallers(BlockArgument arg, function_ref<Bound(Value)> of) {
    auto fn = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
    if (!fn || arg.getOwner() != &fn.getBody().front())
      return std::nullopt;
    auto it = callers.find(fn);
    if (it == callers.end() || it->second.empty())
      return std::nullopt;
    Bound b = 0;
    for (func::CallOp call : it->second)
      b = maxOf(b, of(call.getOperand(arg.getArgNumber())));
    return b;
  }

Bound BoundsAnalysis::fromReturns(func::CallOp call, unsigned index,
                                  function_ref<Bound(Value)> of) {
    auto fn = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
        call, call.getCalleeAttr());
    if (!fn || fn.isExternal())
      return std::nullopt;
    Bound b = 0;
    fn.walk([&](func::ReturnOp ret) { b = maxOf(b, of(ret.getOperand(index))); });
    return b;
  }

Bound BoundsAnalysis::fromMixed(OpFoldResult size) {
    if (auto attr = dyn_cast<Attribute>(size))
      return cast<IntegerAttr>(attr).getInt();
    return scalar(cast<Value>(size));
  }

Bound BoundsAnalysis::loopCarried(Value v, int64_t i, Value init, Value yielded) {
    // The bound on entry holds in every iteration if, assuming it for the
    // carried value, the value yielded to the next iteration keeps within it.
    Bound entry = dim(init, i);
    if (!entry)
      return std::nullopt;
    auto saved = memo;
    // The values being computed that led here (a subgraph's argument the
    // loop passes `v` to) are computed again under the assumption.
    for (const auto &key : inProgress)
      memo.erase(key);
    memo[std::make_pair(v.getAsOpaquePointer(), i)] = entry;
    Bound next = dim(yielded, i);
    if (next && *next <= *entry)
      return entry;
    // It may grow: what was derived from the assumption does not hold.
    memo = std::move(saved);
    return std::nullopt;
  }

Bound BoundsAnalysis::computeDim(Value v, int64_t i) {
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      // A loop-carried value: its init's size, kept by every iteration.
      Operation *parent = arg.getOwner()->getParentOp();
      if (auto forOp = dyn_cast<scf::ForOp>(parent)) {
        if (arg.getArgNumber() < forOp.getNumInductionVars())
          return std::nullopt;
        unsigned k = arg.getArgNumber() - forOp.getNumInductionVars();
        return loopCarried(v, i, forOp.getInitArgs()[k],
                           forOp.getBody()->getTerminator()->getOperand(k));
      }
      if (auto whileOp = dyn_cast<scf::WhileOp>(parent)) {
        unsigned k = arg.getArgNumber();
        if (arg.getOwner() == whileOp.getAfterBody())
          return dim(whileOp.getConditionOp().getArgs()[k], i);
        return loopCarried(v, i, whileOp.getInits()[k], whileOp.getYieldOp().getOperand(k));
      }
      auto fn = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
      if (fn && arg.getOwner() == &fn.getBody().front())
        if (Bound b = fromBoundsAttr(fn.getArgAttrDict(arg.getArgNumber()), i))
          return b;
      if (fn && fn.isPublic())
        return fromModelDims(fn, arg.getArgNumber(), i);
      return fromCallers(arg, [&](Value o) { return dim(o, i); });
    }
    auto result = cast<OpResult>(v);
    Operation *op = result.getOwner();
    unsigned n = result.getResultNumber();
    return TypeSwitch<Operation *, Bound>(op)
        .Case([&](func::CallOp call) -> Bound {
          auto fn = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, call.getCalleeAttr());
          if (fn)
            if (Bound b = fromBoundsAttr(fn.getResultAttrDict(n), i))
              return b;
          return fromReturns(call, n, [&](Value o) { return dim(o, i); });
        })
        .Case([&](scf::IfOp ifOp) {
          return maxOf(dim(ifOp.thenYield().getOperand(n), i),
                       dim(ifOp.elseYield().getOperand(n), i));
        })
        .Case([&](scf::ForOp forOp) { return dim(forOp.getRegionIterArgs()[n], i); })
        .Case([&](scf::WhileOp whileOp) {
          return dim(whileOp.getConditionOp().getArgs()[n], i);
        })
        // Sizes multiplied together (not affine): the product of bounds.
        .Case([&](tensor::CollapseShapeOp c) {
          Bound b = 1;
          // getReassociationIndices() returns by value: keep it alive while
          // ranging over one of its groups.
          SmallVector<ReassociationIndices> groups = c.getReassociationIndices();
          for (int64_t j : groups[i])
            b = mulOf(b, dim(c.getSrc(), j));
          return b;
        })
        .Case([&](memref::CollapseShapeOp c) {
          Bound b = 1;
          SmallVector<ReassociationIndices> groups = c.getReassociationIndices();
          for (int64_t j : groups[i])
            b = mulOf(b, dim(c.getSrc(), j));
          return b;
        })
        // Buffers (after bufferization): the sizes they are allocated with.
        .Case<memref::AllocOp, memref::AllocaOp>([&](Operation *alloc) {
          auto type = cast<MemRefType>(v.getType());
          return scalar(alloc->getOperand(type.getDynamicDimIndex(i)));
        })
        .Case([&](memref::ViewOp view) {
          return scalar(view.getSizes()[view.getType().getDynamicDimIndex(i)]);
        })
        // A bufferized tensor.reshape: its sizes are stored in a buffer.
        .Case([&](memref::ReshapeOp r) { return fromShapeBuffer(r.getShape(), {i}); })
        .Case([&](tensor::ReshapeOp r) { return shapeElement(r.getShape(), i); })
        .Case([&](tensor::SplatOp s) -> Bound {
          // Dynamic sizes are listed in the order of the dynamic dims.
          auto type = s.getType();
          unsigned k = 0;
          for (int64_t j = 0; j < i; ++j)
            k += type.isDynamicDim(j);
          return scalar(s.getDynamicSizes()[k]);
        })
        .Case([&](tensor::ConcatOp c) {
          if (static_cast<int64_t>(c.getDim()) != i)
            return dim(c.getInputs()[0], i);
          Bound b = 0;
          for (Value in : c.getInputs())
            b = addOf(b, dim(in, i));
          return b;
        })
        // A destination-style op's results have its inits' shapes.
        .Case([&](DestinationStyleOpInterface d) {
          return dim(d.getDpsInitOperand(n)->get(), i);
        })
        .Default([&](Operation *other) -> Bound {
          // What the op says of its dims (tensor and dyn ops...).
          if (Bound b = fromValueBounds(v, i))
            return b;
          // Elementwise ops on tensors keep their operands' shape.
          if (other->hasTrait<OpTrait::Elementwise>() && other->getNumOperands() > 0)
            return dim(other->getOperand(0), i);
          return std::nullopt;
        });
  }

namespace {
/// An upper bound of `e` given upper bounds of its dims and symbols, for
/// expressions that grow with them (sizes are never negative): sums,
/// products, and quotients by positive constants.
Bound upperOf(AffineExpr e, ArrayRef<Bound> operands, unsigned numDims) {
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return c.getValue();
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return operands[d.getPosition()];
  if (auto s = dyn_cast<AffineSymbolExpr>(e))
    return operands[numDims + s.getPosition()];
  auto bin = cast<AffineBinaryOpExpr>(e);
  auto constRhs = dyn_cast<AffineConstantExpr>(bin.getRHS());
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return addOf(upperOf(bin.getLHS(), operands, numDims), upperOf(bin.getRHS(), operands, numDims));
  case AffineExprKind::Mul:
    if (constRhs && constRhs.getValue() < 0)
      return std::nullopt;
    return mulOf(upperOf(bin.getLHS(), operands, numDims), upperOf(bin.getRHS(), operands, numDims));
  case AffineExprKind::FloorDiv:
  case AffineExprKind::CeilDiv: {
    if (!constRhs || constRhs.getValue() <= 0)
      return std::nullopt;
    Bound l = upperOf(bin.getLHS(), operands, numDims);
    if (!l)
      return std::nullopt;
    int64_t c = constRhs.getValue();
    return e.getKind() == AffineExprKind::FloorDiv ? *l / c : (*l + c - 1) / c;
  }
  case AffineExprKind::Mod:
    if (!constRhs || constRhs.getValue() <= 0)
      return std::nullopt;
    return constRhs.getValue() - 1;
  default:
    return std::nullopt;
  }
}
} // namespace

Bound BoundsAnalysis::fromValueBounds(Value v, std::optional<int64_t> d) {
  Operation *op = v.getDefiningOp();
  if (!op || !isa<ValueBoundsOpInterface>(op))
    return std::nullopt;
  // One step: the bound in terms of the op's operands, whose bounds this
  // analysis finds (through calls and branches, which the interface does not
  // follow).
  AffineMap map;
  ValueDimList operands;
  auto stop = [&](Value other, std::optional<int64_t>, ValueBoundsConstraintSet &) {
    return other != v;
  };
  ValueBoundsConstraintSet::Variable var =
      d ? ValueBoundsConstraintSet::Variable(v, *d) : ValueBoundsConstraintSet::Variable(v);
  if (failed(ValueBoundsConstraintSet::computeBound(map, operands, presburger::BoundType::UB,
                                                    var, stop, /*closedUB=*/true)) ||
      map.getNumResults() != 1)
    return std::nullopt;
  SmallVector<Bound> bounds;
  for (auto &[value, operandDim] : operands)
    bounds.push_back(operandDim ? dim(value, *operandDim) : scalar(value));
  return upperOf(map.getResult(0), bounds, map.getNumDims());
}

  /// `@forward`'s arguments carry their model shape (`dyn.shape`) and the
  /// function the bounds of every model dim (`dyn.dims`).
Bound BoundsAnalysis::fromModelDims(func::FuncOp fn, unsigned argNo, int64_t i) {
    auto shape = fn.getArgAttrOfType<ArrayAttr>(argNo, mlir::dyn::attrs::kShape);
    auto dims = fn->getAttrOfType<DictionaryAttr>(mlir::dyn::attrs::kDims);
    if (!shape || !dims || i >= static_cast<int64_t>(shape.size()))
      return std::nullopt;
    auto name = dyn_cast<StringAttr>(shape[i]);
    if (!name)
      return std::nullopt;
    auto bounds = dims.getAs<DenseI64ArrayAttr>(name);
    if (!bounds || bounds.size() != 2)
      return std::nullopt;
    return bounds[1];
  }

Bound BoundsAnalysis::computeScalar(Value v) {
    APInt value;
    if (matchPattern(v, m_ConstantInt(&value)))
      return value.getSExtValue();
    if (auto arg = dyn_cast<BlockArgument>(v))
      return fromCallers(arg, [&](Value o) { return scalar(o); });
    Operation *op = v.getDefiningOp();
    unsigned n = cast<OpResult>(v).getResultNumber();
    return TypeSwitch<Operation *, Bound>(op)
        .Case<tensor::DimOp, memref::DimOp>([&](Operation *op) -> Bound {
          auto d = cast<ShapedDimOpInterface>(op);
          std::optional<int64_t> index = getConstantIntValue(d.getDimension());
          if (!index)
            return std::nullopt;
          return dim(d.getShapedValue(), *index);
        })
        .Case([&](func::CallOp call) {
          return fromReturns(call, n, [&](Value o) { return scalar(o); });
        })
        .Case([&](arith::MulIOp m) { return mulOf(scalar(m.getLhs()), scalar(m.getRhs())); })
        .Case([&](arith::AddIOp a) { return addOf(scalar(a.getLhs()), scalar(a.getRhs())); })
        // Sizes are never negative, so a difference is at most its minuend.
        .Case([&](arith::SubIOp s) { return scalar(s.getLhs()); })
        .Case([&](arith::MaxSIOp m) { return maxOf(scalar(m.getLhs()), scalar(m.getRhs())); })
        .Case([&](arith::MinSIOp m) -> Bound {
          Bound a = scalar(m.getLhs()), b = scalar(m.getRhs());
          if (a && b)
            return std::min(*a, *b);
          return a ? a : b;
        })
        // Quotients of sizes by a positive constant (a strided slice's length).
        .Case<arith::CeilDivSIOp, arith::CeilDivUIOp, arith::DivSIOp, arith::DivUIOp>(
            [&](Operation *d) -> Bound {
              Bound num = scalar(d->getOperand(0)), den = scalar(d->getOperand(1));
              APInt c;
              if (!num || !matchPattern(d->getOperand(1), m_ConstantInt(&c)) || *den <= 0)
                return std::nullopt;
              return (*num + *den - 1) / *den;
            })
        .Case<arith::IndexCastOp, arith::ExtSIOp, arith::ExtUIOp>(
            [&](Operation *c) { return scalar(c->getOperand(0)); })
        .Case([&](memref::LoadOp load) { return fromShapeBuffer(load); })
        .Default([&](Operation *) -> Bound {
          if (!v.getType().isIndex())
            return std::nullopt;
          return fromValueBounds(v, std::nullopt);
        });
  }


namespace {
/// The indices as constants, if they all are.
std::optional<SmallVector<int64_t>> constIndices(ValueRange indices) {
  SmallVector<int64_t> out;
  for (Value i : indices) {
    std::optional<int64_t> c = getConstantIntValue(i);
    if (!c)
      return std::nullopt;
    out.push_back(*c);
  }
  return out;
}

/// Users of a shape buffer that do not write it: readers, and the buffer's
/// own lifetime (freeing, the pointer compared by ownership-based
/// deallocation).
bool onlyReads(Operation *user) {
  return isa<memref::LoadOp, memref::ReshapeOp, memref::DeallocOp,
             memref::ExtractAlignedPointerAsIndexOp>(user);
}
} // namespace

/// A size read back from a small buffer that only holds sizes (the shape
/// operand of a bufferized `tensor.reshape`): the largest value stored at
/// the same constant position. A user that may write it otherwise (a copy,
/// a call whose callee does more than read it) leaves no bound.
Bound BoundsAnalysis::fromShapeBuffer(memref::LoadOp load) {
  std::optional<SmallVector<int64_t>> at = constIndices(load.getIndices());
  if (!at)
    return std::nullopt;
  return fromShapeBuffer(load.getMemRef(), *at);
}

Bound BoundsAnalysis::fromShapeBuffer(Value buffer, ArrayRef<int64_t> at) {
  Bound b;
  for (Operation *user : buffer.getUsers()) {
    if (onlyReads(user))
      continue;
    // Passed to a function (a subgraph reshaping with it) that only reads it.
    if (auto call = dyn_cast<func::CallOp>(user)) {
      auto fn = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, call.getCalleeAttr());
      if (fn && !fn.isExternal() &&
          llvm::all_of(llvm::enumerate(call.getOperands()), [&](auto operand) {
            return operand.value() != buffer ||
                   llvm::all_of(fn.getArgument(unsigned(operand.index())).getUsers(), onlyReads);
          }))
        continue;
      return std::nullopt;
    }
    auto store = dyn_cast<memref::StoreOp>(user);
    if (!store || store.getMemRef() != buffer)
      return std::nullopt;
    std::optional<SmallVector<int64_t>> where = constIndices(store.getIndices());
    if (!where)
      return std::nullopt;
    if (ArrayRef<int64_t>(*where) != at)
      continue;
    b = b ? maxOf(b, scalar(store.getValueToStore())) : scalar(store.getValueToStore());
    if (!b)
      return std::nullopt;
  }
  // A shape buffer the function is given (and does not write): the
  // callers' values.
  if (!b)
    if (auto arg = dyn_cast<BlockArgument>(buffer))
      return fromCallers(arg, [&](Value o) { return fromShapeBuffer(o, at); });
  return b;
}

/// Element `i` of a shape tensor: built with tensor.from_elements, here or
/// in the callers of the function it is an argument of (a subgraph that
/// reshapes with its caller's shape).
Bound BoundsAnalysis::shapeElement(Value shape, int64_t i) {
  if (auto elems = shape.getDefiningOp<tensor::FromElementsOp>()) {
    if (i >= static_cast<int64_t>(elems.getElements().size()))
      return std::nullopt;
    return scalar(elems.getElements()[i]);
  }
  if (auto arg = dyn_cast<BlockArgument>(shape))
    return fromCallers(arg, [&](Value o) { return shapeElement(o, i); });
  return std::nullopt;
}
