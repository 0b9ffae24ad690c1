//===- AttentionToLinalg.cpp - dense and block-sparse attention -------------===//

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

/// softmax((q·scale)·kᵀ [+ causal mask]) · v
struct LowerAttention : OpConversionPattern<dyn::AttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(dyn::AttentionOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value q = adaptor.getQuery(), k = adaptor.getKey(), v = adaptor.getValue();
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

struct LowerBsaSelect : OpConversionPattern<dyn::BsaSelectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(dyn::BsaSelectOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    auto layoutType = op.getLayout().getType();
    int64_t bs = op.getBlockSize();
    auto qt = rankedType(adaptor.getQuery());
    if (ShapedType::isDynamic(qt.getDimSize(2)) || ShapedType::isDynamic(qt.getDimSize(3)))
      return rw.notifyMatchFailure(op, "sequence and head dims must be static");
    bool causal = op.getCausal();
    MLIRContext *ctx = rw.getContext();
    SmallVector<OpFoldResult> sizes{tb.size(adaptor.getQuery(), 0), tb.size(adaptor.getQuery(), 1),
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
    Value qm = poolBlocks(b, adaptor.getQuery(), bs), km = poolBlocks(b, adaptor.getKey(), bs);
    Type elt = qt.getElementType();
    auto sType = RankedTensorType::get({qt.getDimSize(0), qt.getDimSize(1),
                                        layoutType.getDimSize(2), layoutType.getDimSize(3)}, elt);
    Value scores = tb.matmul(qm, km, sType, /*transposeB=*/true);

    Value layout;
    if (op.getSelection() == dyn::BlockSelection::topk) {
      // rank(j) = #candidates j' scoring higher, or equal with a lower index;
      // keep the candidates of rank < K.
      Value budget = arith::IndexCastOp::create(b, b.getIndexType(), adaptor.getBudget());
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
      Value t = adaptor.getThreshold();
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
struct LowerBsaAttention : OpConversionPattern<dyn::BsaAttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(dyn::BsaAttentionOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value q = adaptor.getQuery(), k = adaptor.getKey(), v = adaptor.getValue(), layout = adaptor.getLayout();
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
    // Every (batch, head, query block) in parallel: each writes its own
    // rows of the output.
    auto forall = scf::ForallOp::create(
        b, SmallVector<OpFoldResult>{nb, nh, b.getIndexAttr(nq)}, ValueRange{out0}, std::nullopt);
    {
      OpBuilder::InsertionGuard guard(b);
      Block *body = forall.getBody();
      Value bi = body->getArgument(0), hi = body->getArgument(1), qi = body->getArgument(2);
      b.setInsertionPoint(forall.getTerminator());
      ImplicitLocOpBuilder &i3 = b;
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
              // And per head, when the heads are a static count.
              if (int64_t heads = qt.getDimSize(1); !ShapedType::isDynamic(heads))
                dyn::RtCountOp::create(i5, constIndex(i5, 1), hi,
                                       i5.getStringAttr(node + ".head_blocks_computed"),
                                       i5.getI64IntegerAttr(heads));
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
      b.setInsertionPointToStart(forall.getTerminator().getBody());
      tensor::ParallelInsertSliceOp::create(i3, res, forall.getRegionIterArgs()[0], off,
                                            size, str);
    }
    // Of all (query block, key block) pairs; the loop counts those it computes.
    Value total = arith::MulIOp::create(b, arith::MulIOp::create(b, nb, nh), constIndex(b, nq * nk));
    dyn::RtCountOp::create(b, total, b.getStringAttr(node + ".blocks"));
    Value out = castTo(b, forall.getResult(0), op.getResult().getType());
    rw.replaceOp(op, out);
    return success();
  }
};

} // namespace

void dync::dyn_to_linalg::populateAttentionPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerAttention, LowerBsaSelect, LowerBsaAttention>(patterns.getContext());
}
