//===- BoundsAnalysis.cpp - upper bounds of dynamic dimensions ------------===//

#include "dync/Passes/Partition/BoundsAnalysis.h"
#include "dync/Dialect/Dyn/DynAttrNames.h"
#include "dync/Dialect/Dyn/DynOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
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
Bound mulOf(Bound a, Bound b) {
  if (!a || !b)
    return std::nullopt;
  return *a * *b;
}
Bound addOf(Bound a, Bound b) {
  if (!a || !b)
    return std::nullopt;
  return *a + *b;
}

} // namespace

BoundsAnalysis::BoundsAnalysis(ModuleOp module) {
    module.walk([&](func::CallOp call) {
      if (auto fn = module.lookupSymbol<func::FuncOp>(call.getCallee()))
        callers[fn].push_back(call);
    });
  }

Bound BoundsAnalysis::dim(Value v, int64_t i) {
    auto type = cast<RankedTensorType>(v.getType());
    if (!type.isDynamicDim(i))
      return type.getDimSize(i);
    auto key = std::make_pair(v.getAsOpaquePointer(), i);
    if (auto it = memo.find(key); it != memo.end())
      return it->second;
    // A cycle (only possible through recursion) has no bound.
    memo[key] = std::nullopt;
    Bound b = computeDim(v, i);
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

Bound BoundsAnalysis::computeDim(Value v, int64_t i) {
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      auto fn = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
      if (fn && fn.isPublic())
        return fromModelDims(fn, arg.getArgNumber(), i);
      return fromCallers(arg, [&](Value o) { return dim(o, i); });
    }
    auto result = cast<OpResult>(v);
    Operation *op = result.getOwner();
    unsigned n = result.getResultNumber();
    return TypeSwitch<Operation *, Bound>(op)
        .Case([&](func::CallOp call) {
          return fromReturns(call, n, [&](Value o) { return dim(o, i); });
        })
        .Case([&](scf::IfOp ifOp) {
          return maxOf(dim(ifOp.thenYield().getOperand(n), i),
                       dim(ifOp.elseYield().getOperand(n), i));
        })
        .Case([&](tensor::CastOp c) { return dim(c.getSource(), i); })
        .Case([&](tensor::EmptyOp e) { return fromMixed(e.getMixedSizes()[i]); })
        .Case([&](tensor::SplatOp s) -> Bound {
          // Dynamic sizes are listed in the order of the dynamic dims.
          auto type = s.getType();
          unsigned k = 0;
          for (int64_t j = 0; j < i; ++j)
            k += type.isDynamicDim(j);
          return scalar(s.getDynamicSizes()[k]);
        })
        .Case([&](tensor::ExtractSliceOp s) { return fromMixed(s.getMixedSizes()[i]); })
        .Case([&](tensor::ExpandShapeOp e) { return fromMixed(e.getMixedOutputShape()[i]); })
        .Case([&](tensor::CollapseShapeOp c) {
          Bound b = 1;
          // getReassociationIndices() returns by value: keep it alive while
          // ranging over one of its groups.
          SmallVector<ReassociationIndices> groups = c.getReassociationIndices();
          for (int64_t j : groups[i])
            b = mulOf(b, dim(c.getSrc(), j));
          return b;
        })
        .Case([&](tensor::ReshapeOp r) -> Bound {
          auto elems = r.getShape().getDefiningOp<tensor::FromElementsOp>();
          if (!elems)
            return std::nullopt;
          return scalar(elems.getElements()[i]);
        })
        .Case([&](tensor::ConcatOp c) {
          if (static_cast<int64_t>(c.getDim()) != i)
            return dim(c.getInputs()[0], i);
          Bound b = 0;
          for (Value in : c.getInputs())
            b = addOf(b, dim(in, i));
          return b;
        })
        .Case([&](tensor::PadOp p) -> Bound {
          auto lo = getConstantIntValue(p.getMixedLowPad()[i]);
          auto hi = getConstantIntValue(p.getMixedHighPad()[i]);
          if (!lo || !hi)
            return std::nullopt;
          return addOf(dim(p.getSource(), i), *lo + *hi);
        })
        .Case([&](dyn::RtIotaOp o) { return dim(o.getLike(), 0); })
        .Case([&](dyn::RtSelectOp o) { return dim(o.getMask(), 0); })
        .Case([&](dyn::RtGatherRowsOp o) {
          return i == 0 ? dim(o.getIndices(), 0) : dim(o.getSource(), i);
        })
        .Case([&](dyn::RtScatterRowsOp o) { return dim(o.getDest(), i); })
        .Case([&](dyn::MoeDispatchOp o) -> Bound {
          if (n == 0)
            return i == 0 ? mulOf(dim(o.getInput(), 0), dim(o.getIndices(), 1))
                          : dim(o.getInput(), i);
          return dim(o.getIndices(), i);
        })
        .Case([&](dyn::MoeExpertsOp o) { return dim(o.getRows(), i); })
        .Case([&](dyn::MoeCombineOp o) {
          return i == 0 ? dim(o.getSlots(), 0) : dim(o.getExpertRows(), i);
        })
        .Case([&](dyn::MoeRouteOp o) { return dim(o.getLogits(), i); })
        .Case([&](dyn::TopKOp o) { return dim(o.getInput(), i); })
        .Case([&](dyn::ScatterAddOp o) { return dim(o.getData(), i); })
        .Case([&](dyn::AttentionOp o) {
          return i == 3 ? dim(o.getValue(), 3) : dim(o.getQuery(), i);
        })
        .Case([&](dyn::BsaAttentionOp o) {
          return i == 3 ? dim(o.getValue(), 3) : dim(o.getQuery(), i);
        })
        .Case([&](dyn::BsaSelectOp o) -> Bound {
          return i < 2 ? dim(o.getQuery(), i) : std::nullopt;
        })
        .Case([&](DestinationStyleOpInterface d) {
          return dim(d.getDpsInitOperand(n)->get(), i);
        })
        .Default([&](Operation *other) -> Bound {
          // Elementwise ops on tensors keep their operands' shape.
          if (other->hasTrait<OpTrait::Elementwise>() && other->getNumOperands() > 0)
            return dim(other->getOperand(0), i);
          return std::nullopt;
        });
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
        .Case([&](tensor::DimOp d) -> Bound {
          auto index = d.getConstantIndex();
          if (!index)
            return std::nullopt;
          return dim(d.getSource(), *index);
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
        .Default([](Operation *) -> Bound { return std::nullopt; });
  }

