//===- RowsToLinalg.cpp - the host's row movements: iota, select, gather, scatter ---===//

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

namespace {

/// [0, 1, ..., n-1] as i32, n the batch of the operand.
struct LowerIota : OpConversionPattern<dyn::RtIotaOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(dyn::RtIotaOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    auto type = op.getResult().getType();
    Value init = tb.empty({tb.size(adaptor.getLike(), 0)}, type.getElementType());
    MLIRContext *ctx = rw.getContext();
    auto generic = linalg::GenericOp::create(
        b, TypeRange{type}, ValueRange{}, ValueRange{init},
        ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(1, ctx)},
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
        [&](OpBuilder &nb, Location loc, ValueRange) {
          ImplicitLocOpBuilder ib(loc, nb);
          Value i = linalg::IndexOp::create(ib, 0);
          linalg::YieldOp::create(ib, Value(arith::IndexCastOp::create(ib, ib.getI32Type(), i)));
        });
    rw.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// Count the set entries, then insert their positions in order.
struct LowerSelect : OpConversionPattern<dyn::RtSelectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(dyn::RtSelectOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    Value mask = adaptor.getMask();
    Value zero = arith::ConstantIndexOp::create(b, 0);
    Value one = arith::ConstantIndexOp::create(b, 1);
    Value n = tensor::DimOp::create(b, mask, 0);
    auto count = scf::ForOp::create(
        b, zero, n, one, ValueRange{zero},
        [&](OpBuilder &nb, Location loc, Value i, ValueRange acc) {
          ImplicitLocOpBuilder ib(loc, nb);
          Value m = tensor::ExtractOp::create(ib, mask, i);
          Value inc = arith::AddIOp::create(ib, acc[0], one);
          scf::YieldOp::create(ib, Value(arith::SelectOp::create(ib, m, inc, acc[0])));
        });
    auto type = RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
    // The count never exceeds the mask's length; the clamp says so to the
    // bounds analysis (the memory budget needs a bound on every buffer).
    Value size = arith::MinSIOp::create(b, count.getResult(0), n);
    Value init = tensor::EmptyOp::create(b, type, ValueRange{size});
    auto fill = scf::ForOp::create(
        b, zero, n, one, ValueRange{init, zero},
        [&](OpBuilder &nb, Location loc, Value i, ValueRange acc) {
          ImplicitLocOpBuilder ib(loc, nb);
          Value m = tensor::ExtractOp::create(ib, mask, i);
          auto ifOp = scf::IfOp::create(
              ib, m,
              [&](OpBuilder &tb, Location l) {
                ImplicitLocOpBuilder t(l, tb);
                Value pos = arith::IndexCastOp::create(t, t.getI32Type(), i);
                Value ins = tensor::InsertOp::create(t, pos, acc[0], acc[1]);
                Value next = arith::AddIOp::create(t, acc[1], one);
                scf::YieldOp::create(t, ValueRange{ins, next});
              },
              [&](OpBuilder &eb, Location l) { scf::YieldOp::create(eb, l, acc); });
          scf::YieldOp::create(ib, ifOp.getResults());
        });
    Value result = fill.getResult(0);
    result = castTo(b, result, op.getType());
    rw.replaceOp(op, result);
    return success();
  }
};

/// result[j, ...] = source[indices[j], ...]
struct LowerGatherRows : OpConversionPattern<dyn::RtGatherRowsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(dyn::RtGatherRowsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value src = adaptor.getSource(), idx = adaptor.getIndices();
    auto type = op.getResult().getType();
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> sizes{tb.size(idx, 0)};
    for (int64_t d = 1; d < rank; ++d)
      sizes.push_back(tb.size(src, d));
    Value init = tb.empty(sizes, type.getElementType());
    MLIRContext *ctx = rw.getContext();
    AffineMap idxMap = AffineMap::get(rank, 0, {getAffineDimExpr(0, ctx)}, ctx);
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        b, TypeRange{init.getType()}, ValueRange{idx}, ValueRange{init},
        ArrayRef<AffineMap>{idxMap, AffineMap::getMultiDimIdentityMap(rank, ctx)}, iters,
        [&](OpBuilder &nb, Location loc, ValueRange args) {
          ImplicitLocOpBuilder ib(loc, nb);
          SmallVector<Value> coords{
              arith::IndexCastOp::create(ib, ib.getIndexType(), args[0])};
          for (int64_t d = 1; d < rank; ++d)
            coords.push_back(linalg::IndexOp::create(ib, d));
          linalg::YieldOp::create(ib, Value(tensor::ExtractOp::create(ib, src, coords)));
        });
    Value result = generic.getResult(0);
    result = castTo(b, result, type);
    rw.replaceOp(op, result);
    return success();
  }
};

/// dest[indices[j], ...] = rows[j, ...], one row at a time.
struct LowerScatterRows : OpConversionPattern<dyn::RtScatterRowsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(dyn::RtScatterRowsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value rows = adaptor.getRows(), dest = adaptor.getDest(), idx = adaptor.getIndices();
    auto rowsType = rankedType(rows);
    int64_t rank = rowsType.getRank();
    Value zero = arith::ConstantIndexOp::create(b, 0);
    Value one = arith::ConstantIndexOp::create(b, 1);
    Value n = tensor::DimOp::create(b, idx, 0);
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(1)};
    for (int64_t d = 1; d < rank; ++d)
      sizes.push_back(tb.size(rows, d));
    SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
    auto loop = scf::ForOp::create(
        b, zero, n, one, ValueRange{dest},
        [&](OpBuilder &nb, Location loc, Value j, ValueRange acc) {
          ImplicitLocOpBuilder ib(loc, nb);
          SmallVector<OpFoldResult> from{j}, to;
          for (int64_t d = 1; d < rank; ++d)
            from.push_back(ib.getIndexAttr(0));
          Value pos = arith::IndexCastOp::create(
              ib, ib.getIndexType(), tensor::ExtractOp::create(ib, idx, j));
          to.push_back(pos);
          for (int64_t d = 1; d < rank; ++d)
            to.push_back(ib.getIndexAttr(0));
          Value row = tensor::ExtractSliceOp::create(ib, rows, from, sizes, strides);
          Value ins = tensor::InsertSliceOp::create(ib, row, acc[0], to, sizes, strides);
          scf::YieldOp::create(ib, ins);
        });
    rw.replaceOp(op, loop.getResult(0));
    return success();
  }
};

} // namespace

void dync::dyn_to_linalg::populateRowsPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerIota, LowerSelect, LowerGatherRows, LowerScatterRows>(patterns.getContext());
}
