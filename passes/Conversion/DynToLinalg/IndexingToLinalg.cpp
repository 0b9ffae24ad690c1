//===- IndexingToLinalg.cpp - top-k and scatter_add -------------------------===//

#include "DynToLinalgPatterns.h"

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace dync;
using namespace dync::dyn_to_linalg;

/// The k largest entries along the last axis of `x`, in descending order:
/// k rounds of "take the first maximum, mask it out". Ties go to the lower
/// index; NaN never wins over a number (PyTorch ranks NaN first). Returns
/// values and i64 indices, shaped like `x` with k on the last axis.
std::pair<Value, Value> dync::dyn_to_linalg::topkLastAxis(ImplicitLocOpBuilder &b, Value x,
                                                         int64_t k) {
  TensorBuilder tb(b);
  auto xt = rankedType(x);
  int64_t rank = xt.getRank();
  Type elt = xt.getElementType();
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> sizes, colSizes;
  SmallVector<int64_t> shape, colShape;
  for (int64_t d = 0; d + 1 < rank; ++d) {
    sizes.push_back(tb.size(x, d));
    shape.push_back(xt.getDimSize(d));
  }
  colSizes = sizes;
  colSizes.push_back(b.getIndexAttr(1));
  colShape = shape;
  colShape.push_back(1);
  sizes.push_back(b.getIndexAttr(k));
  Value values = tb.empty(sizes, elt);
  Value indices = tb.empty(sizes, b.getI64Type());
  // [..., n] -> [..., 1] for the per-row results of a round.
  SmallVector<ReassociationIndices> groups;
  for (int64_t d = 0; d + 1 < rank; ++d)
    groups.push_back({d});
  if (rank >= 2)
    groups.back().push_back(rank - 1);
  SmallVector<AffineExpr> rowExprs;
  for (int64_t d = 0; d + 1 < rank; ++d)
    rowExprs.push_back(getAffineDimExpr(d, ctx));
  auto id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  auto row = AffineMap::get(rank, 0, rowExprs, ctx);
  SmallVector<utils::IteratorType> par(rank, utils::IteratorType::parallel);
  Value remaining = x;
  for (int64_t j = 0; j < k; ++j) {
    Value best = tb.argmax(remaining, rank - 1);
    Value val = tb.reduce(remaining, {rank - 1}, ReduceKind::Max, false);
    Value v1 = tensor::ExpandShapeOp::create(b, RankedTensorType::get(colShape, elt), val,
                                             groups, colSizes);
    Value i1 = tensor::ExpandShapeOp::create(
        b, RankedTensorType::get(colShape, b.getI64Type()), best, groups, colSizes);
    SmallVector<OpFoldResult> off(rank, b.getIndexAttr(0)), one(rank, b.getIndexAttr(1));
    off.back() = b.getIndexAttr(j);
    values = tensor::InsertSliceOp::create(b, v1, values, off, colSizes, one);
    indices = tensor::InsertSliceOp::create(b, i1, indices, off, colSizes, one);
    if (j + 1 == k)
      break;
    SmallVector<OpFoldResult> all;
    for (int64_t d = 0; d < rank; ++d)
      all.push_back(tb.size(remaining, d));
    Value init = tb.empty(all, elt);
    remaining = linalg::GenericOp::create(
                    b, TypeRange{remaining.getType()}, ValueRange{remaining, best},
                    ValueRange{init}, ArrayRef<AffineMap>{id, row, id}, par,
                    [&](OpBuilder &nb, Location loc, ValueRange a) {
                      ImplicitLocOpBuilder ib(loc, nb);
                      Value e = arith::IndexCastOp::create(ib, ib.getI64Type(),
                                                           linalg::IndexOp::create(ib, rank - 1));
                      Value chosen = arith::CmpIOp::create(ib, arith::CmpIPredicate::eq, e, a[1]);
                      Value ninf = arith::ConstantOp::create(
                          ib, ib.getFloatAttr(elt, -std::numeric_limits<double>::infinity()));
                      linalg::YieldOp::create(ib, Value(arith::SelectOp::create(ib, chosen, ninf, a[0])));
                    })
                    .getResult(0);
  }
  return {values, indices};
}

namespace {

/// Top-k along any axis: move the axis last, take top-k, move it back.
struct LowerTopK : OpConversionPattern<dyn::TopKOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(dyn::TopKOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value x = adaptor.getInput();
    if (!isa<FloatType>(rankedType(x).getElementType()))
      return rw.notifyMatchFailure(op, "float input only");
    int64_t rank = rankedType(x).getRank(), axis = op.getAxis();
    SmallVector<int64_t> perm;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis)
        perm.push_back(d);
    perm.push_back(axis);
    SmallVector<int64_t> inverse(rank);
    for (int64_t d = 0; d < rank; ++d)
      inverse[perm[d]] = d;
    Value moved = axis == rank - 1 ? x : tb.transpose(x, perm);
    auto [values, indices] = topkLastAxis(b, moved, op.getK());
    if (axis != rank - 1) {
      values = tb.transpose(values, inverse);
      indices = tb.transpose(indices, inverse);
    }
    values = castTo(b, values, op.getValues().getType());
    indices = castTo(b, indices, op.getIndices().getType());
    rw.replaceOp(op, {values, indices});
    return success();
  }
};

/// A copy of the data; each slice of the updates added in turn at its index
/// (negative indices count from the end; out-of-range ones are clamped so
/// that no write leaves the tensor).
struct LowerScatterAdd : OpConversionPattern<dyn::ScatterAddOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(dyn::ScatterAddOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value data = adaptor.getData(), idx = adaptor.getIndices(), upd = adaptor.getUpdates();
    auto dt = rankedType(data);
    Type elt = dt.getElementType();
    int64_t rank = dt.getRank(), axis = op.getAxis();
    bool isFloat = isa<FloatType>(elt);
    Value zero = constIndex(b, 0), one = constIndex(b, 1);
    Value n = tensor::DimOp::create(b, idx, 0);
    Value axisSize = tb.sizeValue(data, axis);
    SmallVector<OpFoldResult> sizes;
    SmallVector<int64_t> sliceShape;
    for (int64_t d = 0; d < rank; ++d) {
      sizes.push_back(d == axis ? OpFoldResult(b.getIndexAttr(1)) : tb.size(data, d));
      sliceShape.push_back(d == axis ? 1 : dt.getDimSize(d));
    }
    auto sliceType = RankedTensorType::get(sliceShape, elt);
    SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
    auto loop = scf::ForOp::create(
        b, zero, n, one, ValueRange{data},
        [&](OpBuilder &nb, Location loc, Value i, ValueRange acc) {
          ImplicitLocOpBuilder ib(loc, nb);
          Value pos = arith::IndexCastOp::create(ib, ib.getIndexType(),
                                                 tensor::ExtractOp::create(ib, idx, ValueRange{i}));
          Value neg = arith::CmpIOp::create(ib, arith::CmpIPredicate::slt, pos, constIndex(ib, 0));
          pos = arith::SelectOp::create(ib, neg, arith::AddIOp::create(ib, pos, axisSize), pos);
          pos = arith::MaxSIOp::create(ib, pos, constIndex(ib, 0));
          pos = arith::MinSIOp::create(ib, pos, arith::SubIOp::create(ib, axisSize, constIndex(ib, 1)));
          SmallVector<OpFoldResult> src(rank, ib.getIndexAttr(0)), dst(rank, ib.getIndexAttr(0));
          src[axis] = i;
          dst[axis] = pos;
          Value u = tensor::ExtractSliceOp::create(ib, sliceType, upd, src, sizes, strides);
          Value cur = tensor::ExtractSliceOp::create(ib, sliceType, acc[0], dst, sizes, strides);
          TensorBuilder t(ib);
          Value sum = t.map({cur, u}, sliceType, [&](ImplicitLocOpBuilder &ab, ValueRange a) {
            return isFloat ? Value(arith::AddFOp::create(ab, a[0], a[1]))
                           : Value(arith::AddIOp::create(ab, a[0], a[1]));
          });
          scf::YieldOp::create(ib, Value(tensor::InsertSliceOp::create(ib, sum, acc[0], dst, sizes, strides)));
        });
    rw.replaceOp(op, loop.getResult(0));
    return success();
  }
};

} // namespace

void dync::dyn_to_linalg::populateIndexingPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerTopK, LowerScatterAdd>(patterns.getContext());
}
