//===- DynToLinalg.cpp - dyn runtime entry points to upstream ops ---------===//

#include "dync/Passes/Conversion/DynToLinalg.h"

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Passes/Passes.h"
#include "dync/Support/TensorBuilder.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

namespace dync {
#define GEN_PASS_DEF_CONVERTDYNTOLINALG
#include "dync/Passes/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

RankedTensorType rankedType(Value v) { return cast<RankedTensorType>(v.getType()); }

/// [0, 1, ..., n-1] as i32, n the batch of the operand.
struct LowerIota : OpRewritePattern<dyn::RtIotaOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::RtIotaOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    auto type = op.getResult().getType();
    Value init = tb.empty({tb.size(op.getLike(), 0)}, type.getElementType());
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
struct LowerSelect : OpRewritePattern<dyn::RtSelectOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::RtSelectOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    Value mask = op.getMask();
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
    Value init = tensor::EmptyOp::create(b, type, ValueRange{count.getResult(0)});
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
    if (result.getType() != op.getType())
      result = tensor::CastOp::create(b, op.getType(), result);
    rw.replaceOp(op, result);
    return success();
  }
};

/// result[j, ...] = source[indices[j], ...]
struct LowerGatherRows : OpRewritePattern<dyn::RtGatherRowsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::RtGatherRowsOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value src = op.getSource(), idx = op.getIndices();
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
    if (result.getType() != type)
      result = tensor::CastOp::create(b, type, result);
    rw.replaceOp(op, result);
    return success();
  }
};

/// dest[indices[j], ...] = rows[j, ...], one row at a time.
struct LowerScatterRows : OpRewritePattern<dyn::RtScatterRowsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::RtScatterRowsOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value rows = op.getRows(), dest = op.getDest(), idx = op.getIndices();
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

/// softmax(q·kᵀ·scale [+ causal mask]) · v
struct LowerAttention : OpRewritePattern<dyn::AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::AttentionOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
    auto qType = rankedType(q), kType = rankedType(k);
    Type elt = qType.getElementType();
    int64_t d = qType.getDimSize(3);
    if (ShapedType::isDynamic(d))
      return rw.notifyMatchFailure(op, "head dim must be static");
    double scale = op.getScale() ? op.getScale()->convertToDouble() : 1.0 / std::sqrt(double(d));
    Value kt = tb.transpose(k, {0, 1, 3, 2});
    auto scoresType = RankedTensorType::get(
        {qType.getDimSize(0), qType.getDimSize(1), qType.getDimSize(2), kType.getDimSize(2)}, elt);
    Value scores = tb.matmul(q, kt, scoresType);
    bool causal = op.getCausal();
    MLIRContext *ctx = rw.getContext();
    SmallVector<OpFoldResult> sizes;
    for (int64_t i = 0; i < 4; ++i)
      sizes.push_back(tb.size(scores, i));
    Value init = tb.empty(sizes, elt);
    auto id = AffineMap::getMultiDimIdentityMap(4, ctx);
    SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
    Value scaled =
        linalg::GenericOp::create(
            b, TypeRange{scores.getType()}, ValueRange{scores}, ValueRange{init},
            ArrayRef<AffineMap>{id, id}, iters,
            [&](OpBuilder &nb, Location loc, ValueRange a) {
              ImplicitLocOpBuilder ib(loc, nb);
              Value s = arith::MulFOp::create(
                  ib, a[0], arith::ConstantOp::create(ib, ib.getFloatAttr(elt, scale)));
              if (causal) {
                Value i = linalg::IndexOp::create(ib, 2), j = linalg::IndexOp::create(ib, 3);
                Value later = arith::CmpIOp::create(ib, arith::CmpIPredicate::ugt, j, i);
                Value ninf = arith::ConstantOp::create(
                    ib, ib.getFloatAttr(elt, -std::numeric_limits<double>::infinity()));
                s = arith::SelectOp::create(ib, later, ninf, s);
              }
              linalg::YieldOp::create(ib, s);
            })
            .getResult(0);
    Value p = tb.softmax(scaled, 3);
    Value out = tb.matmul(p, v, op.getResult().getType());
    rw.replaceOp(op, out);
    return success();
  }
};

struct ConvertDynToLinalgPass
    : dync::impl::ConvertDynToLinalgBase<ConvertDynToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateDynToLinalgPatterns(patterns);
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace

void dync::populateDynToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerIota, LowerSelect, LowerGatherRows, LowerScatterRows,
               LowerAttention>(patterns.getContext());
}
