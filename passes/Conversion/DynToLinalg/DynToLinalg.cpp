//===- DynToLinalg.cpp - dyn runtime entry points to upstream ops ---------===//

#include "dync/Passes/Conversion/DynToLinalg.h"
#include "dync/Dialect/Dyn/DynAttrNames.h"

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Dialect/Dyn/DynUtils.h"
#include "dync/Passes/Conversion/Passes.h"
#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

namespace dync {
#define GEN_PASS_DEF_CONVERTDYNTOLINALG
#include "dync/Passes/Conversion/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

using mlir::dyn::rankedType;

/// `v` as `type` (a tensor.cast when a dimension's static size differs).
Value castTo(ImplicitLocOpBuilder &b, Value v, Type type) {
  return dyn::castTo(b, b.getLoc(), v, type);
}

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
    result = castTo(b, result, op.getType());
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
    result = castTo(b, result, type);
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

/// softmax((q·scale)·kᵀ [+ causal mask]) · v
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
    auto scoresType = RankedTensorType::get(
        {qType.getDimSize(0), qType.getDimSize(1), qType.getDimSize(2), kType.getDimSize(2)}, elt);
    // The scale goes on q (S x D values) rather than on the scores (S x S):
    // (q·scale)·kᵀ, one pass over the scores fewer; it rounds like
    // PyTorch's math attention, which scales q and k before the product.
    Value qs = tb.map({q}, qType, [&](ImplicitLocOpBuilder &ib, ValueRange a) {
      return Value(arith::MulFOp::create(
          ib, a[0], arith::ConstantOp::create(ib, ib.getFloatAttr(elt, scale))));
    });
    Value scaled = tb.matmul(qs, k, scoresType, /*transposeB=*/true);
    if (op.getCausal())
      scaled = tb.map({scaled}, scoresType, [&](ImplicitLocOpBuilder &ib, ValueRange a) {
        Value i = linalg::IndexOp::create(ib, 2), j = linalg::IndexOp::create(ib, 3);
        Value later = arith::CmpIOp::create(ib, arith::CmpIPredicate::ugt, j, i);
        Value ninf = arith::ConstantOp::create(
            ib, ib.getFloatAttr(elt, -std::numeric_limits<double>::infinity()));
        return Value(arith::SelectOp::create(ib, later, ninf, a[0]));
      });
    Value p = tb.softmax(scaled, 3);
    Value out = tb.matmul(p, v, op.getResult().getType());
    rw.replaceOp(op, out);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// MoE
//===----------------------------------------------------------------------===//

Value constIndex(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}

/// The user's node name of `op` (its location's name), for statistics.
std::string nodeNameOf(Operation *op, StringRef fallback) {
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    return name.getName().str();
  return fallback.str();
}

/// The k largest entries along the last axis of `x`, in descending order:
/// k rounds of "take the first maximum, mask it out". Ties go to the lower
/// index; NaN never wins over a number (PyTorch ranks NaN first). Returns
/// values and i64 indices, shaped like `x` with k on the last axis.
std::pair<Value, Value> topkLastAxis(ImplicitLocOpBuilder &b, Value x, int64_t k) {
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

/// softmax over the experts, top-k, and (with normalize) the chosen
/// probabilities rescaled to sum to one.
struct LowerRoute : OpRewritePattern<dyn::MoeRouteOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::MoeRouteOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value p = tb.softmax(op.getLogits(), 1);
    auto [weights, indices64] = topkLastAxis(b, p, op.getTopK());
    Value indices = tb.convert(indices64, b.getI32Type());
    if (op.getNormalize()) {
      Value sum = tb.reduce(weights, {1}, ReduceKind::Sum, true);
      weights = tb.map({weights, sum}, rankedType(weights), [](ImplicitLocOpBuilder &ib, ValueRange a) {
        return Value(arith::DivFOp::create(ib, a[0], a[1]));
      });
    }
    weights = castTo(b, weights, op.getWeights().getType());
    indices = castTo(b, indices, op.getIndices().getType());
    rw.replaceOp(op, {weights, indices});
    return success();
  }
};

/// Top-k along any axis: move the axis last, take top-k, move it back.
struct LowerTopK : OpRewritePattern<dyn::TopKOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::TopKOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value x = op.getInput();
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
struct LowerScatterAdd : OpRewritePattern<dyn::ScatterAddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::ScatterAddOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value data = op.getData(), idx = op.getIndices(), upd = op.getUpdates();
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

/// Assignments are granted slot by slot (all first choices in token order,
/// then all second choices...), each expert up to its capacity; kept rows are
/// grouped by expert, in token order within an expert.
struct LowerDispatch : OpRewritePattern<dyn::MoeDispatchOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::MoeDispatchOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value x = op.getInput(), idx = op.getIndices();
    int64_t e = op.getNumExperts();
    int64_t k = rankedType(idx).getDimSize(1);
    Type i32 = b.getI32Type();
    Value zero = constIndex(b, 0), one = constIndex(b, 1);
    Value t = tensor::DimOp::create(b, x, 0);
    Value kv = constIndex(b, k);
    // Capacity: ceil(c·(T·k)/E) in double precision, in the model format's
    // order (the integer T·k, times c, divided by E), or T (nothing dropped)
    // without a factor. Another order rounds differently where the exact
    // value is a whole number (T=36, k=5, E=6, c=0.1 gives 3, not 4).
    Value cap = t;
    if (auto c = op.getCapacityFactor()) {
      Value tk = arith::MulIOp::create(b, t, kv);
      Value tkf = arith::UIToFPOp::create(b, b.getF64Type(),
                                          arith::IndexCastOp::create(b, b.getI64Type(), tk));
      Value scaled = arith::MulFOp::create(
          b, tkf, arith::ConstantOp::create(b, b.getF64FloatAttr(c->convertToDouble())));
      Value perExpert = arith::DivFOp::create(
          b, scaled, arith::ConstantOp::create(b, b.getF64FloatAttr(static_cast<double>(e))));
      Value ceil = math::CeilOp::create(b, perExpert);
      cap = arith::IndexCastOp::create(b, b.getIndexType(),
                                       arith::FPToSIOp::create(b, b.getI64Type(), ceil));
    }
    Value counts0 = tb.filled({b.getIndexAttr(e)}, i32, b.getI32IntegerAttr(0));
    Value local0 = tb.filled({tb.size(idx, 0), b.getIndexAttr(k)}, i32, b.getI32IntegerAttr(-1));
    // Pass 1: grant slots.
    auto grant = scf::ForOp::create(
        b, zero, kv, one, ValueRange{counts0, local0},
        [&](OpBuilder &nb, Location loc, Value j, ValueRange acc) {
          ImplicitLocOpBuilder ib(loc, nb);
          auto inner = scf::ForOp::create(
              ib, zero, t, one, acc,
              [&](OpBuilder &nb2, Location loc2, Value tok, ValueRange a) {
                ImplicitLocOpBuilder jb(loc2, nb2);
                Value ex = arith::IndexCastOp::create(
                    jb, jb.getIndexType(), tensor::ExtractOp::create(jb, idx, ValueRange{tok, j}));
                Value cnt = tensor::ExtractOp::create(jb, a[0], ex);
                Value cntI = arith::IndexCastOp::create(jb, jb.getIndexType(), cnt);
                Value room = arith::CmpIOp::create(jb, arith::CmpIPredicate::slt, cntI, cap);
                auto ifOp = scf::IfOp::create(
                    jb, room,
                    [&](OpBuilder &tb2, Location l) {
                      ImplicitLocOpBuilder q(l, tb2);
                      Value inc = arith::AddIOp::create(
                          q, cnt, arith::ConstantOp::create(q, q.getI32IntegerAttr(1)));
                      Value c2 = tensor::InsertOp::create(q, inc, a[0], ex);
                      Value l2 = tensor::InsertOp::create(q, cnt, a[1], ValueRange{tok, j});
                      scf::YieldOp::create(q, ValueRange{c2, l2});
                    },
                    [&](OpBuilder &eb, Location l) { scf::YieldOp::create(eb, l, a); });
                scf::YieldOp::create(jb, ifOp.getResults());
              });
          scf::YieldOp::create(ib, inner.getResults());
        });
    Value counts = grant.getResult(0), local = grant.getResult(1);
    // Offsets: the exclusive prefix sum of the counts.
    Value offsets0 = tb.filled({b.getIndexAttr(e + 1)}, i32, b.getI32IntegerAttr(0));
    auto scan = scf::ForOp::create(
        b, zero, constIndex(b, e), one, ValueRange{offsets0},
        [&](OpBuilder &nb, Location loc, Value ei, ValueRange acc) {
          ImplicitLocOpBuilder ib(loc, nb);
          Value prev = tensor::ExtractOp::create(ib, acc[0], ei);
          Value c = tensor::ExtractOp::create(ib, counts, ei);
          Value next = arith::AddIOp::create(ib, ei, constIndex(ib, 1));
          scf::YieldOp::create(ib, Value(tensor::InsertOp::create(
                                       ib, arith::AddIOp::create(ib, prev, c), acc[0], next)));
        });
    Value offsets = scan.getResult(0);
    // Slots and rows.
    auto rowsType = op.getRows().getType();
    int64_t d = rankedType(x).getDimSize(1);
    // Rows buffer: T·k rows, zeroed (rows past offsets[E] are never read).
    Value nRows = arith::MulIOp::create(b, t, kv);
    Value rows0 = tb.filled({nRows, b.getIndexAttr(d)}, rowsType.getElementType(),
                      cast<TypedAttr>(b.getZeroAttr(rowsType.getElementType())));
    Value slots0 = local;
    auto place = scf::ForOp::create(
        b, zero, t, one, ValueRange{rows0, slots0},
        [&](OpBuilder &nb, Location loc, Value tok, ValueRange acc) {
          ImplicitLocOpBuilder ib(loc, nb);
          auto inner = scf::ForOp::create(
              ib, zero, kv, one, acc,
              [&](OpBuilder &nb2, Location loc2, Value j, ValueRange a) {
                ImplicitLocOpBuilder jb(loc2, nb2);
                Value l = tensor::ExtractOp::create(jb, local, ValueRange{tok, j});
                Value kept = arith::CmpIOp::create(
                    jb, arith::CmpIPredicate::sge, l, arith::ConstantOp::create(jb, jb.getI32IntegerAttr(0)));
                auto ifOp = scf::IfOp::create(
                    jb, kept,
                    [&](OpBuilder &tb2, Location lc) {
                      ImplicitLocOpBuilder q(lc, tb2);
                      Value ex = arith::IndexCastOp::create(
                          q, q.getIndexType(), tensor::ExtractOp::create(q, idx, ValueRange{tok, j}));
                      Value slot = arith::AddIOp::create(q, tensor::ExtractOp::create(q, offsets, ex), l);
                      Value slotI = arith::IndexCastOp::create(q, q.getIndexType(), slot);
                      SmallVector<OpFoldResult> one2{q.getIndexAttr(1), q.getIndexAttr(1)};
                      SmallVector<OpFoldResult> size{q.getIndexAttr(1), q.getIndexAttr(d)};
                      Value src = tensor::ExtractSliceOp::create(
                          q, x, ArrayRef<OpFoldResult>{tok, q.getIndexAttr(0)}, size, one2);
                      Value r2 = tensor::InsertSliceOp::create(
                          q, src, a[0], ArrayRef<OpFoldResult>{slotI, q.getIndexAttr(0)}, size, one2);
                      Value s2 = tensor::InsertOp::create(q, slot, a[1], ValueRange{tok, j});
                      scf::YieldOp::create(q, ValueRange{r2, s2});
                    },
                    [&](OpBuilder &eb, Location lc) { scf::YieldOp::create(eb, lc, a); });
                scf::YieldOp::create(jb, ifOp.getResults());
              });
          scf::YieldOp::create(ib, inner.getResults());
        });
    Value rows = place.getResult(0), slots = place.getResult(1);
    rows = castTo(b, rows, rowsType);
    slots = castTo(b, slots, op.getSlots().getType());
    offsets = castTo(b, offsets, op.getOffsets().getType());
    rw.replaceOp(op, {rows, offsets, slots});
    return success();
  }
};

/// Each expert on its own rows only: a loop over experts whose body runs
/// the FFN on the slice offsets[e] ..< offsets[e+1].
struct LowerExperts : OpRewritePattern<dyn::MoeExpertsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::MoeExpertsOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    Value rows = op.getRows(), offsets = op.getOffsets();
    auto rowsType = rankedType(rows);
    Type elt = rowsType.getElementType();
    int64_t d = rowsType.getDimSize(1);
    auto w1t = rankedType(op.getW1());
    int64_t e = w1t.getDimSize(0), h = w1t.getDimSize(1);
    dyn::Activation act = op.getActivation();
    std::string node = nodeNameOf(op, "moe");
    Value zero = constIndex(b, 0), one = constIndex(b, 1);
    Value result0 = rows;
    auto weightOf = [&](ImplicitLocOpBuilder &q, Value w, Value ei) -> Value {
      if (!w)
        return {};
      auto t = rankedType(w);
      SmallVector<int64_t> shape(t.getShape().drop_front());
      SmallVector<OpFoldResult> off{ei}, size{q.getIndexAttr(1)}, str;
      for (int64_t s : shape) {
        off.push_back(q.getIndexAttr(0));
        size.push_back(q.getIndexAttr(s));
      }
      str.assign(t.getRank(), q.getIndexAttr(1));
      return tensor::ExtractSliceOp::create(q, RankedTensorType::get(shape, t.getElementType()),
                                            w, off, size, str);
    };
    auto loop = scf::ForOp::create(
        b, zero, constIndex(b, e), one, ValueRange{result0},
        [&](OpBuilder &nb, Location loc, Value ei, ValueRange acc) {
          ImplicitLocOpBuilder ib(loc, nb);
          Value lo = arith::IndexCastOp::create(ib, ib.getIndexType(),
                                                tensor::ExtractOp::create(ib, offsets, ei));
          Value hi = arith::IndexCastOp::create(
              ib, ib.getIndexType(),
              tensor::ExtractOp::create(ib, offsets, ValueRange{arith::AddIOp::create(ib, ei, constIndex(ib, 1))}));
          Value n = arith::SubIOp::create(ib, hi, lo);
          Value any = arith::CmpIOp::create(ib, arith::CmpIPredicate::sgt, n, constIndex(ib, 0));
          auto ifOp = scf::IfOp::create(
              ib, any,
              [&](OpBuilder &tb2, Location l) {
                ImplicitLocOpBuilder q(l, tb2);
                TensorBuilder tq(q);
                auto sliceType = RankedTensorType::get({ShapedType::kDynamic, d}, elt);
                SmallVector<OpFoldResult> one2{q.getIndexAttr(1), q.getIndexAttr(1)};
                SmallVector<OpFoldResult> size{n, q.getIndexAttr(d)};
                SmallVector<OpFoldResult> off{lo, q.getIndexAttr(0)};
                Value xs = tensor::ExtractSliceOp::create(q, sliceType, rows, off, size, one2);
                // Rows this expert's FFN computes, counted in the branch that
                // computes them, from the rows it is given.
                dyn::RtCountOp::create(q, tensor::DimOp::create(q, xs, 0), ei,
                                       q.getStringAttr(node + ".expert_tokens"),
                                       q.getI64IntegerAttr(e));
                Value a1 = tq.linear(xs, weightOf(q, op.getW1(), ei), weightOf(q, op.getB1(), ei));
                Value hAct = tq.map(a1, rankedType(a1), [&](ImplicitLocOpBuilder &ab, ValueRange v) {
                  return buildActivation(ab, dyn::stringifyActivation(act), v[0]);
                });
                if (op.getW3()) {
                  Value g = tq.linear(xs, weightOf(q, op.getW3(), ei), Value());
                  hAct = tq.map({hAct, g}, rankedType(hAct), [](ImplicitLocOpBuilder &ab, ValueRange v) {
                    return Value(arith::MulFOp::create(ab, v[0], v[1]));
                  });
                }
                (void)h;
                Value out = tq.linear(hAct, weightOf(q, op.getW2(), ei), weightOf(q, op.getB2(), ei));
                Value ins = tensor::InsertSliceOp::create(q, out, acc[0], off, size, one2);
                scf::YieldOp::create(q, ins);
              },
              [&](OpBuilder &eb, Location l) { scf::YieldOp::create(eb, l, acc); });
          scf::YieldOp::create(ib, ifOp.getResults());
        });
    rw.replaceOp(op, loop.getResult(0));
    return success();
  }
};

/// y[t] = Σ_j weights[t, j] · rows[slots[t, j]], dropped slots (-1) skipped.
struct LowerCombine : OpRewritePattern<dyn::MoeCombineOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::MoeCombineOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value rows = op.getExpertRows(), slots = op.getSlots(), weights = op.getWeights();
    auto outType = op.getResult().getType();
    Type elt = outType.getElementType();
    int64_t k = rankedType(slots).getDimSize(1);
    Value init = tb.empty({tb.size(slots, 0), tb.size(rows, 1)}, elt);
    MLIRContext *ctx = rw.getContext();
    SmallVector<utils::IteratorType> par(2, utils::IteratorType::parallel);
    Value y = linalg::GenericOp::create(
                  b, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
                  ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(2, ctx)}, par,
                  [&](OpBuilder &nb, Location loc, ValueRange) {
                    ImplicitLocOpBuilder ib(loc, nb);
                    Value t = linalg::IndexOp::create(ib, 0), i = linalg::IndexOp::create(ib, 1);
                    Value acc = arith::ConstantOp::create(ib, ib.getFloatAttr(elt, 0.0));
                    for (int64_t j = 0; j < k; ++j) {
                      Value jv = constIndex(ib, j);
                      Value s = tensor::ExtractOp::create(ib, slots, ValueRange{t, jv});
                      Value w = tensor::ExtractOp::create(ib, weights, ValueRange{t, jv});
                      Value kept = arith::CmpIOp::create(
                          ib, arith::CmpIPredicate::sge, s, arith::ConstantOp::create(ib, ib.getI32IntegerAttr(0)));
                      Value safe = arith::MaxSIOp::create(ib, s, arith::ConstantOp::create(ib, ib.getI32IntegerAttr(0)));
                      Value r = tensor::ExtractOp::create(
                          ib, rows, ValueRange{arith::IndexCastOp::create(ib, ib.getIndexType(), safe), i});
                      Value term = arith::MulFOp::create(ib, w, r);
                      Value zero = arith::ConstantOp::create(ib, ib.getFloatAttr(elt, 0.0));
                      acc = arith::AddFOp::create(ib, acc, arith::SelectOp::create(ib, kept, term, zero));
                    }
                    linalg::YieldOp::create(ib, acc);
                  })
                  .getResult(0);
    y = castTo(b, y, outType);
    rw.replaceOp(op, y);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Block-sparse attention
//===----------------------------------------------------------------------===//

/// Mean of each block of `x` [B, H, S, D] along S: [B, H, S/bs, D].
Value poolBlocks(ImplicitLocOpBuilder &b, Value x, int64_t bs) {
  TensorBuilder tb(b);
  auto t = rankedType(x);
  int64_t s = t.getDimSize(2), d = t.getDimSize(3);
  auto blocked = RankedTensorType::get({t.getDimSize(0), t.getDimSize(1), s / bs, bs, d},
                                       t.getElementType());
  SmallVector<OpFoldResult> sizes{tb.size(x, 0), tb.size(x, 1), b.getIndexAttr(s / bs),
                                  b.getIndexAttr(bs), b.getIndexAttr(d)};
  Value e = tensor::ExpandShapeOp::create(
      b, blocked, x, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4}}, sizes);
  return tb.reduce(e, {3}, ReduceKind::Mean, false);
}

struct LowerBsaSelect : OpRewritePattern<dyn::BsaSelectOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::BsaSelectOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    auto layoutType = op.getLayout().getType();
    int64_t bs = op.getBlockSize();
    auto qt = rankedType(op.getQuery());
    if (ShapedType::isDynamic(qt.getDimSize(2)) || ShapedType::isDynamic(qt.getDimSize(3)))
      return rw.notifyMatchFailure(op, "sequence and head dims must be static");
    bool causal = op.getCausal();
    MLIRContext *ctx = rw.getContext();
    SmallVector<OpFoldResult> sizes{tb.size(op.getQuery(), 0), tb.size(op.getQuery(), 1),
                                    b.getIndexAttr(layoutType.getDimSize(2)),
                                    b.getIndexAttr(layoutType.getDimSize(3))};
    Value init = tb.empty(sizes, b.getI1Type());
    auto id4 = AffineMap::getMultiDimIdentityMap(4, ctx);
    SmallVector<utils::IteratorType> par(4, utils::IteratorType::parallel);
    // (i, j) -> candidate? (and the diagonal, which is always kept)
    auto candidate = [&](ImplicitLocOpBuilder &ib, Value i, Value j) {
      return causal ? Value(arith::CmpIOp::create(ib, arith::CmpIPredicate::ule, j, i))
                    : Value(arith::ConstantOp::create(ib, ib.getBoolAttr(true)));
    };
    auto diagonal = [&](ImplicitLocOpBuilder &ib, Value i, Value j) {
      return Value(arith::CmpIOp::create(ib, arith::CmpIPredicate::eq, i, j));
    };

    if (op.getSelection() == dyn::BlockSelection::static_local) {
      int64_t w = *op.getWindow(), g = op.getGlobal().value_or(0);
      Value layout =
          linalg::GenericOp::create(
              b, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
              ArrayRef<AffineMap>{id4}, par,
              [&](OpBuilder &nb, Location loc, ValueRange) {
                ImplicitLocOpBuilder ib(loc, nb);
                Value i = linalg::IndexOp::create(ib, 2), j = linalg::IndexOp::create(ib, 3);
                Value d = arith::SubIOp::create(ib, arith::MaxSIOp::create(ib, i, j),
                                                arith::MinSIOp::create(ib, i, j));
                Value near = arith::CmpIOp::create(ib, arith::CmpIPredicate::sle, d, constIndex(ib, w));
                Value glob = arith::CmpIOp::create(ib, arith::CmpIPredicate::slt, j, constIndex(ib, g));
                Value keep = arith::AndIOp::create(ib, candidate(ib, i, j),
                                                   arith::OrIOp::create(ib, near, glob));
                linalg::YieldOp::create(ib, Value(arith::OrIOp::create(ib, keep, diagonal(ib, i, j))));
              })
              .getResult(0);
      rw.replaceOp(op, tensor::CastOp::create(b, layoutType, layout).getResult());
      return success();
    }

    // Pooled block scores s[b, h, i, j] = mean(q block i) · mean(k block j).
    Value qm = poolBlocks(b, op.getQuery(), bs), km = poolBlocks(b, op.getKey(), bs);
    Type elt = qt.getElementType();
    auto sType = RankedTensorType::get({qt.getDimSize(0), qt.getDimSize(1),
                                        layoutType.getDimSize(2), layoutType.getDimSize(3)}, elt);
    Value scores = tb.matmul(qm, km, sType, /*transposeB=*/true);

    Value layout;
    if (op.getSelection() == dyn::BlockSelection::topk) {
      // rank(j) = #candidates j' scoring higher, or equal with a lower index;
      // keep the candidates of rank < K.
      Value budget = arith::IndexCastOp::create(b, b.getIndexType(), op.getBudget());
      Value counts0 = tb.filled(sizes, b.getI32Type(), b.getI32IntegerAttr(0));
      auto d = [&](unsigned p) { return getAffineDimExpr(p, ctx); };
      AffineMap mine = AffineMap::get(5, 0, {d(0), d(1), d(2), d(3)}, ctx);
      AffineMap other = AffineMap::get(5, 0, {d(0), d(1), d(2), d(4)}, ctx);
      SmallVector<utils::IteratorType> it5(4, utils::IteratorType::parallel);
      it5.push_back(utils::IteratorType::reduction);
      Value ranks =
          linalg::GenericOp::create(
              b, TypeRange{counts0.getType()}, ValueRange{scores, scores}, ValueRange{counts0},
              ArrayRef<AffineMap>{mine, other, mine}, it5,
              [&](OpBuilder &nb, Location loc, ValueRange a) {
                ImplicitLocOpBuilder ib(loc, nb);
                Value i = linalg::IndexOp::create(ib, 2), j = linalg::IndexOp::create(ib, 3),
                      j2 = linalg::IndexOp::create(ib, 4);
                Value higher = arith::CmpFOp::create(ib, arith::CmpFPredicate::OGT, a[1], a[0]);
                Value tie = arith::AndIOp::create(
                    ib, arith::CmpFOp::create(ib, arith::CmpFPredicate::OEQ, a[1], a[0]),
                    arith::CmpIOp::create(ib, arith::CmpIPredicate::ult, j2, j));
                Value before = arith::AndIOp::create(ib, candidate(ib, i, j2),
                                                     arith::OrIOp::create(ib, higher, tie));
                Value inc = arith::ExtUIOp::create(ib, ib.getI32Type(), before);
                linalg::YieldOp::create(ib, Value(arith::AddIOp::create(ib, a[2], inc)));
              })
              .getResult(0);
      layout = linalg::GenericOp::create(
                   b, TypeRange{init.getType()}, ValueRange{ranks}, ValueRange{init},
                   ArrayRef<AffineMap>{id4, id4}, par,
                   [&](OpBuilder &nb, Location loc, ValueRange a) {
                     ImplicitLocOpBuilder ib(loc, nb);
                     Value i = linalg::IndexOp::create(ib, 2), j = linalg::IndexOp::create(ib, 3);
                     Value r = arith::IndexCastOp::create(ib, ib.getIndexType(), a[0]);
                     Value inBudget = arith::CmpIOp::create(ib, arith::CmpIPredicate::slt, r, budget);
                     Value keep = arith::AndIOp::create(ib, candidate(ib, i, j), inBudget);
                     linalg::YieldOp::create(ib, Value(arith::OrIOp::create(ib, keep, diagonal(ib, i, j))));
                   })
                   .getResult(0);
    } else {
      // Softmax over the candidates of s·scale; keep those >= threshold.
      double scale = op.getScale() ? op.getScale()->convertToDouble()
                                   : 1.0 / std::sqrt(double(qt.getDimSize(3)));
      Value sinit = tb.empty(sizes, elt);
      Value masked =
          linalg::GenericOp::create(
              b, TypeRange{sinit.getType()}, ValueRange{scores}, ValueRange{sinit},
              ArrayRef<AffineMap>{id4, id4}, par,
              [&](OpBuilder &nb, Location loc, ValueRange a) {
                ImplicitLocOpBuilder ib(loc, nb);
                Value i = linalg::IndexOp::create(ib, 2), j = linalg::IndexOp::create(ib, 3);
                Value v = arith::MulFOp::create(ib, a[0], arith::ConstantOp::create(ib, ib.getFloatAttr(elt, scale)));
                Value ninf = arith::ConstantOp::create(
                    ib, ib.getFloatAttr(elt, -std::numeric_limits<double>::infinity()));
                linalg::YieldOp::create(ib, Value(arith::SelectOp::create(ib, candidate(ib, i, j), v, ninf)));
              })
              .getResult(0);
      Value p = tb.softmax(masked, 3);
      Value t = op.getThreshold();
      layout = linalg::GenericOp::create(
                   b, TypeRange{init.getType()}, ValueRange{p}, ValueRange{init},
                   ArrayRef<AffineMap>{id4, id4}, par,
                   [&](OpBuilder &nb, Location loc, ValueRange a) {
                     ImplicitLocOpBuilder ib(loc, nb);
                     Value i = linalg::IndexOp::create(ib, 2), j = linalg::IndexOp::create(ib, 3);
                     Value pass = arith::CmpFOp::create(ib, arith::CmpFPredicate::OGE, a[0], t);
                     Value keep = arith::AndIOp::create(ib, candidate(ib, i, j), pass);
                     linalg::YieldOp::create(ib, Value(arith::OrIOp::create(ib, keep, diagonal(ib, i, j))));
                   })
                   .getResult(0);
    }
    rw.replaceOp(op, tensor::CastOp::create(b, layoutType, layout).getResult());
    return success();
  }
};

/// For each (batch, head, query block), an online softmax over the kept key
/// blocks only: the work follows the layout.
struct LowerBsaAttention : OpRewritePattern<dyn::BsaAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(dyn::BsaAttentionOp op, PatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue(), layout = op.getLayout();
    auto qt = rankedType(q), vt = rankedType(v);
    int64_t bs = op.getBlockSize(), d = qt.getDimSize(3), dv = vt.getDimSize(3);
    int64_t nq = rankedType(layout).getDimSize(2), nk = rankedType(layout).getDimSize(3);
    if (ShapedType::isDynamic(d) || ShapedType::isDynamic(dv) || ShapedType::isDynamic(nq) ||
        ShapedType::isDynamic(nk))
      return rw.notifyMatchFailure(op, "needs static sequence and head dims");
    Type elt = qt.getElementType();
    double scale = op.getScale() ? op.getScale()->convertToDouble() : 1.0 / std::sqrt(double(d));
    bool causal = op.getCausal();
    std::string node = nodeNameOf(op, "bsa");
    Value zero = constIndex(b, 0), one = constIndex(b, 1);
    Value nb = tensor::DimOp::create(b, q, 0), nh = tensor::DimOp::create(b, q, 1);
    Value out0 = tb.empty({tb.size(q, 0), tb.size(q, 1), tb.size(q, 2), b.getIndexAttr(dv)}, elt);
    auto block = [&](ImplicitLocOpBuilder &ib, Value src, Value bi, Value hi, Value start, int64_t w) {
      SmallVector<OpFoldResult> off{bi, hi, start, ib.getIndexAttr(0)};
      SmallVector<OpFoldResult> size{ib.getIndexAttr(1), ib.getIndexAttr(1), ib.getIndexAttr(bs), ib.getIndexAttr(w)};
      SmallVector<OpFoldResult> str(4, ib.getIndexAttr(1));
      return Value(tensor::ExtractSliceOp::create(ib, RankedTensorType::get({bs, w}, elt), src, off, size, str));
    };
    auto loopB = scf::ForOp::create(b, zero, nb, one, ValueRange{out0},
      [&](OpBuilder &b1, Location l1, Value bi, ValueRange o1) {
        ImplicitLocOpBuilder i1(l1, b1);
        auto loopH = scf::ForOp::create(i1, zero, nh, one, o1,
          [&](OpBuilder &b2, Location l2, Value hi, ValueRange o2) {
            ImplicitLocOpBuilder i2(l2, b2);
            auto loopQ = scf::ForOp::create(i2, zero, constIndex(i2, nq), one, o2,
              [&](OpBuilder &b3, Location l3, Value qi, ValueRange o3) {
                ImplicitLocOpBuilder i3(l3, b3);
                TensorBuilder t3(i3);
                Value qStart = arith::MulIOp::create(i3, qi, constIndex(i3, bs));
                Value qb = block(i3, q, bi, hi, qStart, d);
                Value m0 = t3.filled({i3.getIndexAttr(bs), i3.getIndexAttr(1)}, elt,
                                     i3.getFloatAttr(elt, -std::numeric_limits<double>::infinity()));
                Value l0 = t3.filled({i3.getIndexAttr(bs), i3.getIndexAttr(1)}, elt, i3.getFloatAttr(elt, 0.0));
                Value a0 = t3.filled({i3.getIndexAttr(bs), i3.getIndexAttr(dv)}, elt, i3.getFloatAttr(elt, 0.0));
                auto loopK = scf::ForOp::create(i3, zero, constIndex(i3, nk), one, ValueRange{m0, l0, a0},
                  [&](OpBuilder &b4, Location l4, Value kj, ValueRange st) {
                    ImplicitLocOpBuilder i4(l4, b4);
                    Value kept = tensor::ExtractOp::create(i4, layout, ValueRange{bi, hi, qi, kj});
                    auto ifOp = scf::IfOp::create(i4, kept,
                      [&](OpBuilder &b5, Location l5) {
                        ImplicitLocOpBuilder i5(l5, b5);
                        TensorBuilder t5(i5);
                        // A block this loop enters, counted as it is computed.
                        dyn::RtCountOp::create(i5, constIndex(i5, 1),
                                               i5.getStringAttr(node + ".blocks_computed"));
                        Value kStart = arith::MulIOp::create(i5, kj, constIndex(i5, bs));
                        Value kb = block(i5, k, bi, hi, kStart, d);
                        Value vb = block(i5, v, bi, hi, kStart, dv);
                        auto sq = RankedTensorType::get({bs, bs}, elt);
                        Value s = t5.matmul(qb, kb, sq, /*transposeB=*/true);
                        MLIRContext *ctx = i5.getContext();
                        auto id2 = AffineMap::getMultiDimIdentityMap(2, ctx);
                        Value sinit = t5.empty({i5.getIndexAttr(bs), i5.getIndexAttr(bs)}, elt);
                        SmallVector<utils::IteratorType> par2(2, utils::IteratorType::parallel);
                        s = linalg::GenericOp::create(
                                i5, TypeRange{sq}, ValueRange{s}, ValueRange{sinit},
                                ArrayRef<AffineMap>{id2, id2}, par2,
                                [&](OpBuilder &b6, Location l6, ValueRange a) {
                                  ImplicitLocOpBuilder i6(l6, b6);
                                  Value x = arith::MulFOp::create(i6, a[0], arith::ConstantOp::create(i6, i6.getFloatAttr(elt, scale)));
                                  if (causal) {
                                    Value qp = arith::AddIOp::create(i6, qStart, linalg::IndexOp::create(i6, 0));
                                    Value kp = arith::AddIOp::create(i6, kStart, linalg::IndexOp::create(i6, 1));
                                    Value later = arith::CmpIOp::create(i6, arith::CmpIPredicate::ugt, kp, qp);
                                    Value ninf = arith::ConstantOp::create(
                                        i6, i6.getFloatAttr(elt, -std::numeric_limits<double>::infinity()));
                                    x = arith::SelectOp::create(i6, later, ninf, x);
                                  }
                                  linalg::YieldOp::create(i6, x);
                                })
                                .getResult(0);
                        auto colType = RankedTensorType::get({bs, 1}, elt);
                        Value rowMax = t5.reduce(s, {1}, ReduceKind::Max, true);
                        Value mNew = t5.map({st[0], rowMax}, colType, [](ImplicitLocOpBuilder &ab, ValueRange a) {
                          return Value(arith::MaximumFOp::create(ab, a[0], a[1]));
                        });
                        // A row with nothing visible yet keeps max -inf: use 0
                        // as the reference so that exp never sees -inf - -inf.
                        Value ref = t5.map(mNew, colType, [&](ImplicitLocOpBuilder &ab, ValueRange a) {
                          Value ninf = arith::ConstantOp::create(ab, ab.getFloatAttr(elt, -std::numeric_limits<double>::infinity()));
                          Value isInf = arith::CmpFOp::create(ab, arith::CmpFPredicate::OEQ, a[0], ninf);
                          return Value(arith::SelectOp::create(ab, isInf, arith::ConstantOp::create(ab, ab.getFloatAttr(elt, 0.0)), a[0]));
                        });
                        Value p = t5.map({s, ref}, sq, [](ImplicitLocOpBuilder &ab, ValueRange a) {
                          return Value(math::ExpOp::create(ab, arith::SubFOp::create(ab, a[0], a[1])));
                        });
                        Value alpha = t5.map({st[0], ref}, colType, [](ImplicitLocOpBuilder &ab, ValueRange a) {
                          return Value(math::ExpOp::create(ab, arith::SubFOp::create(ab, a[0], a[1])));
                        });
                        Value rowSum = t5.reduce(p, {1}, ReduceKind::Sum, true);
                        Value lNew = t5.map({st[1], alpha, rowSum}, colType, [](ImplicitLocOpBuilder &ab, ValueRange a) {
                          return Value(arith::AddFOp::create(ab, arith::MulFOp::create(ab, a[0], a[1]), a[2]));
                        });
                        auto accType = RankedTensorType::get({bs, dv}, elt);
                        Value pv = t5.matmul(p, vb, accType);
                        Value aNew = t5.map({st[2], alpha, pv}, accType, [](ImplicitLocOpBuilder &ab, ValueRange a) {
                          return Value(arith::AddFOp::create(ab, arith::MulFOp::create(ab, a[0], a[1]), a[2]));
                        });
                        scf::YieldOp::create(i5, ValueRange{mNew, lNew, aNew});
                      },
                      [&](OpBuilder &b5, Location l5) { scf::YieldOp::create(b5, l5, st); });
                    scf::YieldOp::create(i4, ifOp.getResults());
                  });
                auto accType = RankedTensorType::get({bs, dv}, elt);
                Value res = t3.map({loopK.getResult(2), loopK.getResult(1)}, accType,
                                   [](ImplicitLocOpBuilder &ab, ValueRange a) {
                                     return Value(arith::DivFOp::create(ab, a[0], a[1]));
                                   });
                SmallVector<OpFoldResult> off{bi, hi, qStart, i3.getIndexAttr(0)};
                SmallVector<OpFoldResult> size{i3.getIndexAttr(1), i3.getIndexAttr(1), i3.getIndexAttr(bs), i3.getIndexAttr(dv)};
                SmallVector<OpFoldResult> str(4, i3.getIndexAttr(1));
                scf::YieldOp::create(i3, Value(tensor::InsertSliceOp::create(i3, res, o3[0], off, size, str)));
              });
            scf::YieldOp::create(i2, loopQ.getResults());
          });
        scf::YieldOp::create(i1, loopH.getResults());
      });
    // Of all (query block, key block) pairs; the loop counts those it computes.
    Value total = arith::MulIOp::create(b, arith::MulIOp::create(b, nb, nh), constIndex(b, nq * nk));
    dyn::RtCountOp::create(b, total, b.getStringAttr(node + ".blocks"));
    Value out = loopB.getResult(0);
    out = castTo(b, out, op.getResult().getType());
    rw.replaceOp(op, out);
    return success();
  }
};

/// Run statistics: each dyn.rt.count gets slots in one thread-local i64
/// array, `dync_stats`, which the runtime zeroes before a run and reads after
/// it (thread-local, so sessions on different threads do not mix). The slot
/// names are recorded on the module as `dyn.stats`, in slot order.
LogicalResult lowerCounts(ModuleOp module) {
  SmallVector<dyn::RtCountOp> counts;
  module.walk([&](dyn::RtCountOp c) { counts.push_back(c); });
  if (counts.empty())
    return success();
  MLIRContext *ctx = module.getContext();
  // One slot per distinct name: counts of the same statistic (a subgraph
  // called from two places) add up. Slots are in name order, each family
  // (`name[0]`, `name[1]`, ...) consecutive and in index order.
  SmallVector<SmallVector<std::string>> keysOf;
  std::vector<std::pair<std::string, int64_t>> order; // (base, index; -1: none)
  for (dyn::RtCountOp c : counts) {
    int64_t family = 0;
    if (auto t = dyn_cast<RankedTensorType>(c.getValue().getType()))
      family = t.getDimSize(0);
    else if (c.getSlots())
      family = *c.getSlots();
    keysOf.emplace_back();
    for (int64_t i = 0; i < family; ++i) {
      keysOf.back().push_back(c.getName().str() + "[" + std::to_string(i) + "]");
      order.emplace_back(c.getName().str(), i);
    }
    if (!family) {
      keysOf.back().push_back(c.getName().str());
      order.emplace_back(c.getName().str(), -1);
    }
  }
  llvm::sort(order);
  order.erase(std::unique(order.begin(), order.end()), order.end());
  SmallVector<Attribute> names;
  llvm::StringMap<int64_t> slotOf;
  for (auto &[base, index] : order) {
    std::string key = index < 0 ? base : base + "[" + std::to_string(index) + "]";
    slotOf[key] = names.size();
    names.push_back(StringAttr::get(ctx, key));
  }
  SmallVector<SmallVector<int64_t>> slots;
  for (auto [c, keys] : llvm::zip_equal(counts, keysOf)) {
    slots.emplace_back();
    for (const std::string &k : keys)
      slots.back().push_back(slotOf[k]);
    for (size_t i = 1; c.getSlot() && i < slots.back().size(); ++i)
      if (slots.back()[i] != slots.back()[0] + static_cast<int64_t>(i))
        return c.emitOpError() << "statistic family '" << c.getName()
                               << "' is counted with another size elsewhere";
  }
  module->setAttr(mlir::dyn::attrs::kStats, ArrayAttr::get(ctx, names));
  OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
  auto i64 = IntegerType::get(ctx, 64);
  auto arrayType = LLVM::LLVMArrayType::get(i64, names.size());
  auto zero = DenseElementsAttr::get(
      RankedTensorType::get({static_cast<int64_t>(names.size())}, i64), APInt(64, 0));
  auto global = LLVM::GlobalOp::create(mb, module.getLoc(), arrayType, /*isConstant=*/false,
                                       LLVM::Linkage::External, "dync_stats", zero,
                                       /*alignment=*/8, /*addrSpace=*/0, /*dsoLocal=*/false,
                                       /*threadLocal=*/true);
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  for (auto [c, slot] : llvm::zip_equal(counts, slots)) {
    ImplicitLocOpBuilder b(c.getLoc(), c);
    auto addAt = [&](Value v64, LLVM::GEPArg at) {
      Value addr = LLVM::AddressOfOp::create(b, global);
      Value p = LLVM::GEPOp::create(b, ptrType, arrayType, addr,
                                    ArrayRef<LLVM::GEPArg>{0, at});
      Value old = LLVM::LoadOp::create(b, i64, p);
      LLVM::StoreOp::create(b, arith::AddIOp::create(b, old, v64), p);
    };
    auto add = [&](Value v64, int64_t at) { addAt(v64, static_cast<int32_t>(at)); };
    if (Value index = c.getSlot()) {
      // The family's slots are consecutive (families are allocated whole);
      // an index outside it counts nothing rather than writing past them.
      Value n = constIndex(b, *c.getSlots());
      Value inRange = arith::AndIOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::sge, index, constIndex(b, 0)),
          arith::CmpIOp::create(b, arith::CmpIPredicate::slt, index, n));
      Value v64 = arith::SelectOp::create(b, inRange, arith::IndexCastOp::create(b, i64, c.getValue()),
                                          arith::ConstantOp::create(b, b.getI64IntegerAttr(0)));
      Value at = arith::AddIOp::create(b, arith::SelectOp::create(b, inRange, index, constIndex(b, 0)),
                                       constIndex(b, slot[0]));
      addAt(v64, Value(arith::IndexCastOp::create(b, i64, at)));
      c.erase();
      continue;
    }
    if (auto t = dyn_cast<RankedTensorType>(c.getValue().getType())) {
      for (int64_t i = 0; i < t.getDimSize(0); ++i) {
        Value e = tensor::ExtractOp::create(b, c.getValue(), ValueRange{constIndex(b, i)});
        add(arith::ExtSIOp::create(b, i64, e), slot[i]);
      }
    } else {
      add(arith::IndexCastOp::create(b, i64, c.getValue()), slot[0]);
    }
    c.erase();
  }
  return success();
}

struct ConvertDynToLinalgPass
    : dync::impl::ConvertDynToLinalgBase<ConvertDynToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateDynToLinalgPatterns(patterns);
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();
    if (failed(lowerCounts(getOperation())))
      signalPassFailure();
  }
};

} // namespace

void dync::populateDynToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerIota, LowerSelect, LowerGatherRows, LowerScatterRows,
               LowerAttention, LowerRoute, LowerDispatch, LowerExperts,
               LowerCombine, LowerBsaSelect, LowerBsaAttention, LowerTopK,
               LowerScatterAdd>(patterns.getContext());
}
