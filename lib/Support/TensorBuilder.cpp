//===- TensorBuilder.cpp - building blocks for static layers --------------===//

#include "dync/Support/TensorBuilder.h"

#include "dync/Dialect/Dyn/DynUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"

#include <cmath>
#include <limits>

using namespace mlir;
using mlir::dyn::rankedType;

namespace dync {


OpFoldResult TensorBuilder::size(Value v, int64_t i) {
  int64_t s = rankedType(v).getDimSize(i);
  if (!ShapedType::isDynamic(s))
    return b.getIndexAttr(s);
  return tensor::DimOp::create(b, v, i).getResult();
}

Value TensorBuilder::sizeValue(Value v, int64_t i) {
  int64_t s = rankedType(v).getDimSize(i);
  if (!ShapedType::isDynamic(s))
    return arith::ConstantIndexOp::create(b, s);
  return tensor::DimOp::create(b, v, i);
}

Value TensorBuilder::empty(ArrayRef<OpFoldResult> sizes, Type elt) {
  return tensor::EmptyOp::create(b, sizes, elt);
}

Value TensorBuilder::scalar(Type type, double value) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, b.getFloatAttr(ft, value));
  return arith::ConstantOp::create(
      b, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

Value TensorBuilder::filled(ArrayRef<OpFoldResult> sizes, Type elt,
                            TypedAttr value) {
  Value init = empty(sizes, elt);
  Value v = arith::ConstantOp::create(b, value);
  return linalg::FillOp::create(b, ValueRange{v}, ValueRange{init})
      .getResult(0);
}

/// The indexing maps of an elementwise op over `outType` reading `inputs`
/// with NumPy broadcasting, the output's (identity) last.
static SmallVector<AffineMap> broadcastMaps(ValueRange inputs, RankedTensorType outType) {
  int64_t rank = outType.getRank();
  MLIRContext *ctx = outType.getContext();
  SmallVector<AffineMap> maps;
  for (Value in : inputs) {
    auto type = rankedType(in);
    int64_t offset = rank - type.getRank();
    SmallVector<AffineExpr> exprs;
    for (int64_t j = 0; j < type.getRank(); ++j) {
      bool broadcast = type.getDimSize(j) == 1 && outType.getDimSize(j + offset) != 1;
      exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx)
                                : getAffineDimExpr(j + offset, ctx));
    }
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  return maps;
}

Value TensorBuilder::map(ValueRange inputs, RankedTensorType outType, const ScalarFn &fn) {
  int64_t rank = outType.getRank();
  SmallVector<AffineMap> maps = broadcastMaps(inputs, outType);

  SmallVector<OpFoldResult> sizes;
  for (int64_t k = 0; k < rank; ++k) {
    if (!outType.isDynamicDim(k)) {
      sizes.push_back(b.getIndexAttr(outType.getDimSize(k)));
      continue;
    }
    OpFoldResult found;
    for (Value in : inputs) {
      auto type = rankedType(in);
      int64_t j = k - (rank - type.getRank());
      if (j >= 0 && type.isDynamicDim(j)) {
        found = size(in, j);
        break;
      }
    }
    assert(found && "dynamic result dim with no dynamic operand dim");
    sizes.push_back(found);
  }
  Value init = empty(sizes, outType.getElementType());
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  Location loc = b.getLoc();
  auto generic = linalg::GenericOp::create(
      b, TypeRange{outType}, inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nested, Location, ValueRange args) {
        ImplicitLocOpBuilder ib(loc, nested);
        Value r = fn(ib, args.drop_back());
        linalg::YieldOp::create(ib, r);
      });
  return generic.getResult(0);
}

Value TensorBuilder::update(Value dest, ValueRange inputs, const ScalarFn &fn) {
  auto destType = rankedType(dest);
  SmallVector<utils::IteratorType> iters(destType.getRank(), utils::IteratorType::parallel);
  Location loc = b.getLoc();
  auto generic = linalg::GenericOp::create(b, TypeRange{destType}, inputs, ValueRange{dest},
                                           broadcastMaps(inputs, destType), iters,
                                           [&](OpBuilder &nested, Location, ValueRange args) {
                                             ImplicitLocOpBuilder ib(loc, nested);
                                             linalg::YieldOp::create(ib, fn(ib, args));
                                           });
  return generic.getResult(0);
}

Value TensorBuilder::convertScalar(Value v, Type elt) {
  Type from = v.getType();
  if (from == elt)
    return v;
  auto fromF = dyn_cast<FloatType>(from);
  auto toF = dyn_cast<FloatType>(elt);
  if (fromF && toF) {
    if (toF.getWidth() > fromF.getWidth())
      return arith::ExtFOp::create(b, elt, v);
    return arith::TruncFOp::create(b, elt, v);
  }
  if (!fromF && toF) {
    if (from.isInteger(1))
      return arith::UIToFPOp::create(b, elt, v);
    return arith::SIToFPOp::create(b, elt, v);
  }
  if (fromF && !toF) {
    if (elt.isInteger(1)) {
      Value zero = scalar(from, 0.0);
      return arith::CmpFOp::create(b, arith::CmpFPredicate::UNE, v, zero);
    }
    return arith::FPToSIOp::create(b, elt, v);
  }
  unsigned fromW = from.getIntOrFloatBitWidth(), toW = elt.getIntOrFloatBitWidth();
  if (toW == 1) {
    Value zero = scalar(from, 0.0);
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ne, v, zero);
  }
  if (fromW == 1)
    return arith::ExtUIOp::create(b, elt, v);
  if (toW > fromW)
    return arith::ExtSIOp::create(b, elt, v);
  return arith::TruncIOp::create(b, elt, v);
}

Value TensorBuilder::convert(Value v, Type elt) {
  auto type = rankedType(v);
  if (type.getElementType() == elt)
    return v;
  return map(v, type.clone(elt), [&](ImplicitLocOpBuilder &, ValueRange a) {
    return convertScalar(a[0], elt);
  });
}

/// Identity over the first `rank` loop dims with one extra loop dim (the
/// contraction index) appended.
Value TensorBuilder::linear(Value x, Value w, Value bias) {
  auto xType = rankedType(x);
  int64_t r = xType.getRank();
  auto wType = rankedType(w);
  int64_t n = wType.getDimSize(0);
  // In panels: [n / P, k, P], read at (n floordiv P, k, n mod P).
  int64_t panel = wType.getRank() == 3 ? wType.getDimSize(2) : 0;
  if (panel)
    n *= panel;
  MLIRContext *ctx = b.getContext();
  // Loops: batch dims (r-1), n, k.
  int64_t loops = r + 1;
  SmallVector<AffineExpr> xExprs, wExprs, oExprs;
  for (int64_t i = 0; i + 1 < r; ++i) {
    xExprs.push_back(getAffineDimExpr(i, ctx));
    oExprs.push_back(getAffineDimExpr(i, ctx));
  }
  AffineExpr nE = getAffineDimExpr(r - 1, ctx), kE = getAffineDimExpr(r, ctx);
  xExprs.push_back(kE);
  wExprs = {nE, kE};
  if (panel)
    wExprs = {nE.floorDiv(panel), kE, nE % panel};
  oExprs.push_back(nE);
  SmallVector<AffineMap> maps{AffineMap::get(loops, 0, xExprs, ctx),
                              AffineMap::get(loops, 0, wExprs, ctx),
                              AffineMap::get(loops, 0, oExprs, ctx)};
  SmallVector<OpFoldResult> sizes;
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i + 1 < r; ++i) {
    sizes.push_back(size(x, i));
    shape.push_back(xType.getDimSize(i));
  }
  sizes.push_back(b.getIndexAttr(n));
  shape.push_back(n);
  Type elt = xType.getElementType();
  auto outType = RankedTensorType::get(shape, elt);
  Value init = filled(sizes, elt, b.getZeroAttr(elt));
  SmallVector<utils::IteratorType> iters(loops, utils::IteratorType::parallel);
  iters.back() = utils::IteratorType::reduction;
  Location loc = b.getLoc();
  Value y = linalg::GenericOp::create(
                b, TypeRange{outType}, ValueRange{x, w}, ValueRange{init}, maps,
                iters,
                [&](OpBuilder &nested, Location, ValueRange a) {
                  ImplicitLocOpBuilder ib(loc, nested);
                  Value p = arith::MulFOp::create(ib, a[0], a[1]);
                  linalg::YieldOp::create(ib,
                                          Value(arith::AddFOp::create(ib, a[2], p)));
                })
                .getResult(0);
  if (!bias)
    return y;
  return map({y, bias}, outType, [](ImplicitLocOpBuilder &ib, ValueRange a) {
    return Value(arith::AddFOp::create(ib, a[0], a[1]));
  });
}

Value TensorBuilder::matmul(Value a, Value bv, RankedTensorType outType, bool transposeB,
                            bool transposeA) {
  auto aType = rankedType(a), bType = rankedType(bv);
  int64_t outRank = outType.getRank();
  int64_t loops = outRank + 1;
  MLIRContext *ctx = b.getContext();
  AffineExpr mE = getAffineDimExpr(outRank - 2, ctx);
  AffineExpr nE = getAffineDimExpr(outRank - 1, ctx);
  AffineExpr kE = getAffineDimExpr(outRank, ctx);
  auto batchExprs = [&](RankedTensorType t) {
    SmallVector<AffineExpr> exprs;
    int64_t batch = t.getRank() - 2;
    int64_t offset = (outRank - 2) - batch;
    for (int64_t j = 0; j < batch; ++j) {
      bool broadcast =
          t.getDimSize(j) == 1 && outType.getDimSize(j + offset) != 1;
      exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx)
                                : getAffineDimExpr(j + offset, ctx));
    }
    return exprs;
  };
  SmallVector<AffineExpr> aExprs = batchExprs(aType);
  if (transposeA)
    aExprs.append({kE, mE});
  else
    aExprs.append({mE, kE});
  SmallVector<AffineExpr> bExprs = batchExprs(bType);
  if (transposeB)
    bExprs.append({nE, kE});
  else
    bExprs.append({kE, nE});
  SmallVector<AffineExpr> oExprs;
  for (int64_t i = 0; i < outRank; ++i)
    oExprs.push_back(getAffineDimExpr(i, ctx));
  SmallVector<AffineMap> maps{AffineMap::get(loops, 0, aExprs, ctx),
                              AffineMap::get(loops, 0, bExprs, ctx),
                              AffineMap::get(loops, 0, oExprs, ctx)};

  SmallVector<OpFoldResult> sizes;
  for (int64_t k = 0; k < outRank; ++k) {
    if (!outType.isDynamicDim(k)) {
      sizes.push_back(b.getIndexAttr(outType.getDimSize(k)));
      continue;
    }
    if (k == outRank - 2) {
      sizes.push_back(size(a, aType.getRank() - (transposeA ? 1 : 2)));
      continue;
    }
    if (k == outRank - 1) {
      sizes.push_back(size(bv, bType.getRank() - (transposeB ? 2 : 1)));
      continue;
    }
    OpFoldResult found;
    for (Value v : {a, bv}) {
      auto t = rankedType(v);
      int64_t j = k - (outRank - t.getRank());
      if (j >= 0 && t.isDynamicDim(j)) {
        found = size(v, j);
        break;
      }
    }
    sizes.push_back(found);
  }
  Type elt = outType.getElementType();
  Value init = filled(sizes, elt, b.getZeroAttr(elt));
  SmallVector<utils::IteratorType> iters(loops, utils::IteratorType::parallel);
  iters.back() = utils::IteratorType::reduction;
  Location loc = b.getLoc();
  return linalg::GenericOp::create(
             b, TypeRange{outType}, ValueRange{a, bv}, ValueRange{init}, maps,
             iters,
             [&](OpBuilder &nested, Location, ValueRange args) {
               ImplicitLocOpBuilder ib(loc, nested);
               Value p = arith::MulFOp::create(ib, args[0], args[1]);
               linalg::YieldOp::create(
                   ib, Value(arith::AddFOp::create(ib, args[2], p)));
             })
      .getResult(0);
}

namespace {
/// The loops of a reduction of `x` over some of its dimensions: an iterator
/// type per dimension and, for the dimensions kept, the output's indexing
/// expressions, sizes and static shape.
struct ReductionLoops {
  SmallVector<utils::IteratorType> iters;
  SmallVector<AffineExpr> outExprs;
  SmallVector<OpFoldResult> sizes;
  SmallVector<int64_t> shape;
};
} // namespace

static ReductionLoops reductionLoops(TensorBuilder &tb, Value x,
                                     ArrayRef<int64_t> axes) {
  auto xType = rankedType(x);
  ReductionLoops loops;
  for (int64_t i = 0; i < xType.getRank(); ++i) {
    if (llvm::is_contained(axes, i)) {
      loops.iters.push_back(utils::IteratorType::reduction);
      continue;
    }
    loops.iters.push_back(utils::IteratorType::parallel);
    loops.outExprs.push_back(getAffineDimExpr(i, x.getContext()));
    loops.sizes.push_back(tb.size(x, i));
    loops.shape.push_back(xType.getDimSize(i));
  }
  return loops;
}

Value TensorBuilder::reduce(Value x, ArrayRef<int64_t> axes, ReduceKind kind,
                            bool keepDim) {
  auto xType = rankedType(x);
  int64_t rank = xType.getRank();
  MLIRContext *ctx = b.getContext();
  Type elt = xType.getElementType();
  bool isFloat = isa<FloatType>(elt);
  auto [iters, outExprs, sizes, shape] = reductionLoops(*this, x, axes);
  TypedAttr initAttr;
  bool isMax = kind == ReduceKind::Max || kind == ReduceKind::ShiftMax;
  if (isMax)
    initAttr = isFloat ? TypedAttr(b.getFloatAttr(
                             elt, -std::numeric_limits<double>::infinity()))
                       : TypedAttr(b.getIntegerAttr(
                             elt, APInt::getSignedMinValue(
                                      elt.getIntOrFloatBitWidth())));
  else
    initAttr = cast<TypedAttr>(b.getZeroAttr(elt));
  Value init = filled(sizes, elt, initAttr);
  auto outType = RankedTensorType::get(shape, elt);
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx),
                              AffineMap::get(rank, 0, outExprs, ctx)};
  Location loc = b.getLoc();
  Value r =
      linalg::GenericOp::create(
          b, TypeRange{outType}, ValueRange{x}, ValueRange{init}, maps, iters,
          [&](OpBuilder &nested, Location, ValueRange a) {
            ImplicitLocOpBuilder ib(loc, nested);
            Value v;
            if (kind == ReduceKind::ShiftMax && isFloat)
              v = arith::MaxNumFOp::create(ib, a[0], a[1]);
            else if (isMax)
              v = isFloat ? Value(arith::MaximumFOp::create(ib, a[0], a[1]))
                          : Value(arith::MaxSIOp::create(ib, a[0], a[1]));
            else
              v = isFloat ? Value(arith::AddFOp::create(ib, a[0], a[1]))
                          : Value(arith::AddIOp::create(ib, a[0], a[1]));
            linalg::YieldOp::create(ib, v);
          })
          .getResult(0);

  if (kind == ReduceKind::Mean) {
    Value count = arith::ConstantIndexOp::create(b, 1);
    for (int64_t axis : axes)
      count = arith::MulIOp::create(b, count, sizeValue(x, axis));
    Value countI = arith::IndexCastOp::create(b, b.getI64Type(), count);
    Value countF = arith::SIToFPOp::create(b, elt, countI);
    r = map({r}, outType, [&](ImplicitLocOpBuilder &ib, ValueRange a) {
      return Value(arith::DivFOp::create(ib, a[0], countF));
    });
  }
  if (!keepDim)
    return r;

  // Reinsert the reduced axes as size-1 dims. Each kept dim heads a group
  // holding the reduced dims after it; leading reduced dims join the first
  // group. A rank-0 result expands with no groups at all.
  SmallVector<ReassociationIndices> groups;
  SmallVector<int64_t> keptShape;
  SmallVector<OpFoldResult> keptSizes;
  ReassociationIndices leading;
  for (int64_t i = 0; i < rank; ++i) {
    bool reduced = llvm::is_contained(axes, i);
    keptShape.push_back(reduced ? 1 : xType.getDimSize(i));
    keptSizes.push_back(reduced ? OpFoldResult(b.getIndexAttr(1)) : size(x, i));
    if (shape.empty())
      continue;
    if (!reduced) {
      groups.push_back(groups.empty() ? leading : ReassociationIndices{});
      groups.back().push_back(i);
    } else if (groups.empty()) {
      leading.push_back(i);
    } else {
      groups.back().push_back(i);
    }
  }
  auto keptType = RankedTensorType::get(keptShape, elt);
  return tensor::ExpandShapeOp::create(b, keptType, r, groups, keptSizes);
}

Value TensorBuilder::argmax(Value x, int64_t axis) {
  auto xType = rankedType(x);
  int64_t rank = xType.getRank();
  MLIRContext *ctx = b.getContext();
  Type elt = xType.getElementType();
  auto [iters, outExprs, sizes, shape] = reductionLoops(*this, x, {axis});
  Value bestInit = filled(
      sizes, elt, b.getFloatAttr(elt, -std::numeric_limits<double>::infinity()));
  Value idxInit = filled(sizes, b.getI64Type(), b.getI64IntegerAttr(0));
  AffineMap outMap = AffineMap::get(rank, 0, outExprs, ctx);
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx),
                              outMap, outMap};
  Location loc = b.getLoc();
  auto generic = linalg::GenericOp::create(
      b,
      TypeRange{RankedTensorType::get(shape, elt),
                RankedTensorType::get(shape, b.getI64Type())},
      ValueRange{x}, ValueRange{bestInit, idxInit}, maps, iters,
      [&](OpBuilder &nested, Location, ValueRange a) {
        ImplicitLocOpBuilder ib(loc, nested);
        Value i = linalg::IndexOp::create(ib, axis);
        Value i64 = arith::IndexCastOp::create(ib, ib.getI64Type(), i);
        // Strictly greater: the first maximum wins ties.
        Value better =
            arith::CmpFOp::create(ib, arith::CmpFPredicate::OGT, a[0], a[1]);
        Value v = arith::SelectOp::create(ib, better, a[0], a[1]);
        Value idx = arith::SelectOp::create(ib, better, i64, a[2]);
        linalg::YieldOp::create(ib, ValueRange{v, idx});
      });
  return generic.getResult(1);
}

Value TensorBuilder::softmax(Value x, int64_t axis) {
  // exp(x - max) / sum(exp(x - max)), spelled with generics so that every
  // later stage (fusion, loops, vectorization) handles it like any map or
  // reduction.
  auto type = rankedType(x);
  Value max = reduce(x, {axis}, ReduceKind::Max, /*keepDim=*/true);
  Value e = map({x, max}, type, [](ImplicitLocOpBuilder &ib, ValueRange a) {
    Value d = arith::SubFOp::create(ib, a[0], a[1]);
    return Value(math::ExpOp::create(ib, d));
  });
  Value sum = reduce(e, {axis}, ReduceKind::Sum, /*keepDim=*/true);
  return map({e, sum}, type, [](ImplicitLocOpBuilder &ib, ValueRange a) {
    return Value(arith::DivFOp::create(ib, a[0], a[1]));
  });
}

Value TensorBuilder::transpose(Value x, ArrayRef<int64_t> perm) {
  auto type = rankedType(x);
  SmallVector<OpFoldResult> sizes;
  for (int64_t p : perm)
    sizes.push_back(size(x, p));
  Value init = empty(sizes, type.getElementType());
  return linalg::TransposeOp::create(b, x, init, perm).getResult()[0];
}

Value TensorBuilder::reshape(Value x, ArrayRef<OpFoldResult> sizes,
                             RankedTensorType outType) {
  if (rankedType(x) == outType)
    return x;
  SmallVector<Value> values;
  for (OpFoldResult s : sizes) {
    if (auto v = dyn_cast<Value>(s))
      values.push_back(v);
    else
      values.push_back(arith::ConstantIndexOp::create(
          b, cast<IntegerAttr>(cast<Attribute>(s)).getInt()));
  }
  Value shape = tensor::FromElementsOp::create(b, values);
  return tensor::ReshapeOp::create(b, outType, x, shape);
}

Value TensorBuilder::expand(Value x, RankedTensorType outType,
                            ArrayRef<ReassociationIndices> groups,
                            ArrayRef<OpFoldResult> sizes) {
  bool severalDynamic = llvm::any_of(groups, [&](const ReassociationIndices &g) {
    return llvm::count_if(g, [&](int64_t i) { return outType.isDynamicDim(i); }) > 1;
  });
  if (severalDynamic)
    return reshape(x, sizes, outType);
  return tensor::ExpandShapeOp::create(b, outType, x, groups, sizes);
}

Value TensorBuilder::padHW(Value x, int64_t padH, int64_t padW,
                           TypedAttr value) {
  if (padH == 0 && padW == 0)
    return x;
  auto type = rankedType(x);
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t i : {2, 3}) {
    int64_t p = i == 2 ? padH : padW;
    if (!ShapedType::isDynamic(shape[i]))
      shape[i] += 2 * p;
  }
  SmallVector<OpFoldResult> pads{b.getIndexAttr(0), b.getIndexAttr(0),
                                 b.getIndexAttr(padH), b.getIndexAttr(padW)};
  Value padValue = arith::ConstantOp::create(b, value);
  return tensor::PadOp::create(b, RankedTensorType::get(shape, type.getElementType()),
                               x, pads, pads, padValue);
}

Value TensorBuilder::take(Value data, Value indices, int64_t axis,
                          RankedTensorType outType) {
  auto dType = rankedType(data), iType = rankedType(indices);
  int64_t outRank = outType.getRank();
  int64_t idxRank = iType.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> idxExprs;
  for (int64_t j = 0; j < idxRank; ++j)
    idxExprs.push_back(getAffineDimExpr(axis + j, ctx));
  SmallVector<AffineMap> maps{AffineMap::get(outRank, 0, idxExprs, ctx),
                              AffineMap::getMultiDimIdentityMap(outRank, ctx)};
  SmallVector<OpFoldResult> sizes;
  for (int64_t k = 0; k < outRank; ++k) {
    if (k < axis)
      sizes.push_back(size(data, k));
    else if (k < axis + idxRank)
      sizes.push_back(size(indices, k - axis));
    else
      sizes.push_back(size(data, k - idxRank + 1));
  }
  Value init = empty(sizes, dType.getElementType());
  Value axisSize = sizeValue(data, axis);
  SmallVector<utils::IteratorType> iters(outRank, utils::IteratorType::parallel);
  Location loc = b.getLoc();
  return linalg::GenericOp::create(
             b, TypeRange{outType}, ValueRange{indices}, ValueRange{init},
             maps, iters,
             [&](OpBuilder &nested, Location, ValueRange a) {
               ImplicitLocOpBuilder ib(loc, nested);
               // Negative indices count from the end, as in numpy; indices
               // still out of range are clamped so that no read leaves the
               // tensor.
               Value idx = arith::IndexCastOp::create(ib, ib.getIndexType(), a[0]);
               Value zero = arith::ConstantIndexOp::create(ib, 0);
               Value one = arith::ConstantIndexOp::create(ib, 1);
               Value neg = arith::CmpIOp::create(ib, arith::CmpIPredicate::slt,
                                                 idx, zero);
               Value wrapped = arith::AddIOp::create(ib, idx, axisSize);
               idx = arith::SelectOp::create(ib, neg, wrapped, idx);
               idx = arith::MaxSIOp::create(ib, idx, zero);
               Value last = arith::SubIOp::create(ib, axisSize, one);
               idx = arith::MinSIOp::create(ib, idx, last);
               SmallVector<Value> coords;
               for (int64_t d = 0; d < dType.getRank(); ++d) {
                 if (d < axis)
                   coords.push_back(linalg::IndexOp::create(ib, d));
                 else if (d == axis)
                   coords.push_back(idx);
                 else
                   coords.push_back(linalg::IndexOp::create(ib, d + idxRank - 1));
               }
               Value v = tensor::ExtractOp::create(ib, data, coords);
               linalg::YieldOp::create(ib, v);
             })
      .getResult(0);
}

Value buildSigmoid(ImplicitLocOpBuilder &b, Value x) {
  Value one = arith::ConstantOp::create(b, b.getFloatAttr(x.getType(), 1.0));
  Value negX = arith::NegFOp::create(b, x);
  Value e = math::ExpOp::create(b, negX);
  Value den = arith::AddFOp::create(b, one, e);
  return arith::DivFOp::create(b, one, den);
}

Value buildGelu(ImplicitLocOpBuilder &b, Value x, bool tanhApprox) {
  Type t = x.getType();
  auto c = [&](double v) {
    return Value(arith::ConstantOp::create(b, b.getFloatAttr(t, v)));
  };
  Value half = c(0.5), one = c(1.0);
  Value inner;
  if (tanhApprox) {
    // 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))
    Value x3 = arith::MulFOp::create(b, x, arith::MulFOp::create(b, x, x));
    Value poly = arith::AddFOp::create(b, x, arith::MulFOp::create(b, c(0.044715), x3));
    Value arg = arith::MulFOp::create(b, c(std::sqrt(2.0 / M_PI)), poly);
    inner = math::TanhOp::create(b, arg);
  } else {
    // 0.5·x·(1 + erf(x/√2))
    Value arg = arith::MulFOp::create(b, x, c(M_SQRT1_2));
    inner = math::ErfOp::create(b, arg);
  }
  Value sum = arith::AddFOp::create(b, one, inner);
  return arith::MulFOp::create(b, arith::MulFOp::create(b, half, x), sum);
}

Value buildActivation(ImplicitLocOpBuilder &b, StringRef name, Value x) {
  if (name == "relu")
    return arith::MaximumFOp::create(
        b, x, arith::ConstantOp::create(b, b.getFloatAttr(x.getType(), 0.0)));
  if (name == "gelu" || name == "gelu_tanh")
    return buildGelu(b, x, name == "gelu_tanh");
  if (name == "silu")
    return arith::MulFOp::create(b, x, buildSigmoid(b, x));
  if (name == "sigmoid")
    return buildSigmoid(b, x);
  if (name == "tanh")
    return math::TanhOp::create(b, x);
  if (name == "log")
    return math::LogOp::create(b, x);
  if (name == "sqrt")
    return math::SqrtOp::create(b, x);
  if (name == "erf")
    return math::ErfOp::create(b, x);
  if (name == "neg")
    return arith::NegFOp::create(b, x);
  if (name == "abs")
    return math::AbsFOp::create(b, x);
  if (name == "reciprocal")
    return arith::DivFOp::create(
        b, arith::ConstantOp::create(b, b.getFloatAttr(x.getType(), 1.0)), x);
  assert(name == "exp" && "unknown activation");
  return math::ExpOp::create(b, x);
}

std::string dtypeName(Type t) {
  if (t.isF32()) return "f32";
  if (t.isF16()) return "f16";
  if (t.isBF16()) return "bf16";
  if (t.isInteger(1)) return "bool";
  if (t.isInteger(32)) return "i32";
  if (t.isInteger(64)) return "i64";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

} // namespace dync
