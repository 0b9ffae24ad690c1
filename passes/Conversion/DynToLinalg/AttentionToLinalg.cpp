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

/// The scale of the scores: the op's, else 1/sqrt(head dim) (PyTorch's).
double attentionScale(std::optional<APFloat> scale, int64_t headDim) {
  return scale ? scale->convertToDouble() : 1.0 / std::sqrt(double(headDim));
}

/// softmax((q·scale)·kᵀ [+ causal mask]) · v: by blocks of queries and keys
/// (flash attention) when both lengths are static multiples of the block,
/// by query rows when `byRows` asks for it (the CUDA target), else with the
/// S x S scores materialised.
struct LowerAttention : OpConversionPattern<dyn::AttentionOp> {
  LowerAttention(MLIRContext *ctx, bool byBlocks, bool byRows)
      : OpConversionPattern(ctx), byBlocks(byBlocks), byRows(byRows) {}
  bool byBlocks, byRows;
  static LogicalResult lowerByBlocks(dyn::AttentionOp op, Value q, Value k, Value v,
                                     ImplicitLocOpBuilder &b, ConversionPatternRewriter &rw);
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
    if (byBlocks && succeeded(lowerByBlocks(op, q, k, v, b, rw)))
      return success();
    double scale = attentionScale(op.getScale(), d);
    if (byRows && fitsAttentionByRows(qType, rankedType(v))) {
      Value out = attentionByRows(b, q, k, v, /*layout=*/Value(), /*bs=*/0, scale,
                                  op.getCausal(), nullptr);
      rw.replaceOp(op, castTo(b, out, op.getResult().getType()));
      return success();
    }
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
      double scale = attentionScale(op.getScale(), qt.getDimSize(3));
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

/// The operands and shape of an attention computed by blocks.
struct BlockedAttention {
  BlockedAttention(Value q, Value k, Value v, int64_t bs, std::optional<APFloat> scaleAttr,
                   bool causal)
      : q(q), k(k), v(v), bs(bs), causal(causal) {
    auto qt = rankedType(q);
    elt = qt.getElementType();
    d = qt.getDimSize(3);
    dv = rankedType(v).getDimSize(3);
    scale = attentionScale(scaleAttr, d);
  }
  bool valid() const { return !ShapedType::isDynamic(d) && !ShapedType::isDynamic(dv); }
  RankedTensorType qType() const { return rankedType(q); }
  /// Rows [start, start + bs) of head `hi` of batch `bi` of `src`, `w` wide.
  Value block(ImplicitLocOpBuilder &ib, Value src, Value bi, Value hi, Value start,
              int64_t w) const {
    SmallVector<OpFoldResult> off{bi, hi, start, ib.getIndexAttr(0)};
    SmallVector<OpFoldResult> size{ib.getIndexAttr(1), ib.getIndexAttr(1), ib.getIndexAttr(bs),
                                   ib.getIndexAttr(w)};
    SmallVector<OpFoldResult> str(4, ib.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(ib, RankedTensorType::get({bs, w}, elt), src, off, size,
                                          str);
  }
  /// Block `j` of head `hi` of batch `bi` of `srcT` [B, H, S/bs, w, bs] (q
  /// in transposed blocks): [w, bs], contiguous.
  Value blockT(ImplicitLocOpBuilder &ib, Value srcT, Value bi, Value hi, Value j, int64_t w) const {
    SmallVector<OpFoldResult> off{bi, hi, j, ib.getIndexAttr(0), ib.getIndexAttr(0)};
    SmallVector<OpFoldResult> size{ib.getIndexAttr(1), ib.getIndexAttr(1), ib.getIndexAttr(1),
                                   ib.getIndexAttr(w), ib.getIndexAttr(bs)};
    SmallVector<OpFoldResult> str(5, ib.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(ib, RankedTensorType::get({w, bs}, elt), srcT, off, size,
                                          str);
  }

  Value q, k, v;
  /// q in transposed blocks, [B, H, S/bs, D, bs], made once before the
  /// blocks (blockedAttention).
  Value qT;
  int64_t bs;
  bool causal;
  Type elt;
  int64_t d, dv;
  double scale;
};

/// `x` [1, n] as [n, 1] (views once bufferized).
Value asColumn(ImplicitLocOpBuilder &ib, Value x) {
  auto t = rankedType(x);
  int64_t n = t.getDimSize(1);
  SmallVector<ReassociationIndices> all{{0, 1}};
  Value flat =
      tensor::CollapseShapeOp::create(ib, RankedTensorType::get({n}, t.getElementType()), x, all);
  return tensor::ExpandShapeOp::create(ib, RankedTensorType::get({n, 1}, t.getElementType()), flat,
                                       all);
}

/// One key block of the online softmax: the running max, sum and
/// accumulator `st` of the queries of `qbT` (a query block, transposed:
/// [d, bs]) updated with key block `kj`. The scores are computed
/// transposed, sᵀ = k·qᵀ ([keys, queries]), so that the max and the sum over
/// the keys run down the columns, each a vector of queries: with the scores
/// [queries, keys], every query's max and sum ended in a reduction across
/// the lanes of a vector (the max, with arith.maximumf's NaN and signed-zero
/// rules, was 11% of block-sparse attention's time). The max and the sum
/// are [1, bs]; the accumulator stays [bs, dv] (pᵀ·v reads sᵀ's layout in
/// place).
SmallVector<Value> attendBlock(ImplicitLocOpBuilder &ib, const BlockedAttention &att, Value qbT,
                               Value bi, Value hi, Value qStart, Value kj, ValueRange st) {
  TensorBuilder tb(ib);
  Type elt = att.elt;
  int64_t bs = att.bs;
  double scale = att.scale;
  bool causal = att.causal;
  Value kStart = arith::MulIOp::create(ib, kj, constIndex(ib, bs));
  Value kb = att.block(ib, att.k, bi, hi, kStart, att.d);
  Value vb = att.block(ib, att.v, bi, hi, kStart, att.dv);
  auto sq = RankedTensorType::get({bs, bs}, elt);
  // k·qᵀ against the transposed queries: an outer-product matmul (broadcast
  // a key element, multiply-add a row of queries). With q's rows, the D-long
  // dot products (64 here) would end in a reduction across lanes for every
  // few outputs. Measured on W2 (S=2048, H=8, D=64, AVX-512, 2 threads,
  // dync-run --bench 10, three interleaved pairs), then with kᵀ: dense 58.6
  // -> 51.3 ms, block-sparse 10.9 -> 9.8 ms.
  Value s = tb.matmul(kb, qbT, sq);
  MLIRContext *ctx = ib.getContext();
  auto id2 = AffineMap::getMultiDimIdentityMap(2, ctx);
  Value sinit = tb.empty({ib.getIndexAttr(bs), ib.getIndexAttr(bs)}, elt);
  SmallVector<utils::IteratorType> par2(2, utils::IteratorType::parallel);
  s = linalg::GenericOp::create(
          ib, TypeRange{sq}, ValueRange{s}, ValueRange{sinit},
          ArrayRef<AffineMap>{id2, id2}, par2,
          [&](OpBuilder &b6, Location l6, ValueRange a) {
            ImplicitLocOpBuilder i6(l6, b6);
            Value x = arith::MulFOp::create(i6, a[0], arith::ConstantOp::create(i6, i6.getFloatAttr(elt, scale)));
            if (causal) {
              Value kp = arith::AddIOp::create(i6, kStart, linalg::IndexOp::create(i6, 0));
              Value qp = arith::AddIOp::create(i6, qStart, linalg::IndexOp::create(i6, 1));
              Value later = arith::CmpIOp::create(i6, arith::CmpIPredicate::ugt, kp, qp);
              Value ninf = arith::ConstantOp::create(
                  i6, i6.getFloatAttr(elt, -std::numeric_limits<double>::infinity()));
              x = arith::SelectOp::create(i6, later, ninf, x);
            }
            linalg::YieldOp::create(i6, x);
          })
          .getResult(0);
  auto rowType = RankedTensorType::get({1, bs}, elt);
  Value blockMax = tb.reduce(s, {0}, ReduceKind::ShiftMax, true);
  // The state st = (max, sum, accumulator) is updated in place
  // (TensorBuilder::update), the max last, after every read of the old one:
  // bufferized, the loop then carries the same three buffers throughout
  // instead of yielding fresh ones each block, which were malloc'd and freed
  // per key block.
  // The reference max(old, new), or 0 for a query with nothing visible yet
  // (max -inf), so that exp never sees -inf - -inf.
  Value ref = tb.map({st[0], blockMax}, rowType, [&](ImplicitLocOpBuilder &ab, ValueRange a) {
    Value m = arith::MaximumFOp::create(ab, a[0], a[1]);
    Value ninf = arith::ConstantOp::create(ab, ab.getFloatAttr(elt, -std::numeric_limits<double>::infinity()));
    Value isInf = arith::CmpFOp::create(ab, arith::CmpFPredicate::OEQ, m, ninf);
    return Value(arith::SelectOp::create(
        ab, isInf, arith::ConstantOp::create(ab, ab.getFloatAttr(elt, 0.0)), m));
  });
  Value p = tb.map({s, ref}, sq, [](ImplicitLocOpBuilder &ab, ValueRange a) {
    return Value(math::ExpOp::create(ab, arith::SubFOp::create(ab, a[0], a[1])));
  });
  Value alpha = tb.map({st[0], ref}, rowType, [](ImplicitLocOpBuilder &ab, ValueRange a) {
    return Value(math::ExpOp::create(ab, arith::SubFOp::create(ab, a[0], a[1])));
  });
  Value blockSum = tb.reduce(p, {0}, ReduceKind::Sum, true);
  Value lNew = tb.update(st[1], {alpha, blockSum}, [](ImplicitLocOpBuilder &ab, ValueRange a) {
    return Value(arith::AddFOp::create(ab, arith::MulFOp::create(ab, a[2], a[0]), a[1]));
  });
  auto accType = RankedTensorType::get({bs, att.dv}, elt);
  Value pv = tb.matmul(p, vb, accType, /*transposeB=*/false, /*transposeA=*/true);
  Value aNew =
      tb.update(st[2], {asColumn(ib, alpha), pv}, [](ImplicitLocOpBuilder &ab, ValueRange a) {
        return Value(arith::AddFOp::create(ab, arith::MulFOp::create(ab, a[2], a[0]), a[1]));
      });
  Value mNew = tb.update(st[0], {blockMax}, [](ImplicitLocOpBuilder &ab, ValueRange a) {
    return Value(arith::MaximumFOp::create(ab, a[1], a[0]));
  });
  return {mNew, lNew, aNew};
}

/// softmax(q·kᵀ·scale [+ causal mask])·v computed a block of `bs` queries
/// against a block of `bs` keys at a time (flash attention's online
/// softmax: the bs x bs scores stay in cache, never the S x S matrix). Every
/// (batch, head, query block) in parallel, each writing its own rows of the
/// output; in one, a loop over key blocks [0, keyBlocks(qi)) in which
/// `keep`, when given, decides per block (block-sparse attention's layout),
/// and `entered` is built at the start of the branch that computes a kept
/// block (its counters).
Value blockedAttention(ImplicitLocOpBuilder &b, BlockedAttention att, int64_t nq,
                       function_ref<Value(ImplicitLocOpBuilder &, Value)> keyBlocks,
                       function_ref<Value(ImplicitLocOpBuilder &, Value, Value, Value, Value)> keep,
                       function_ref<void(ImplicitLocOpBuilder &, Value)> entered) {
  TensorBuilder tb(b);
  // q as [B, H, S/bs, D, bs]: each query block transposed and contiguous,
  // so that the outer-product kernel streams its rows (a [D, S] transpose
  // left them 4·S bytes apart). Measured on W2 (dync-run --bench 20/30,
  // four and three interleaved pairs), with k then: dense 58.1 -> 55.5 ms,
  // block-sparse 12.0 -> 10.6 ms.
  {
    auto qt = rankedType(att.q);
    int64_t s = qt.getDimSize(2);
    int64_t qbs = att.bs;
    auto blocked =
        RankedTensorType::get({qt.getDimSize(0), qt.getDimSize(1), s / qbs, qbs, att.d}, att.elt);
    SmallVector<OpFoldResult> sizes{tb.size(att.q, 0), tb.size(att.q, 1), b.getIndexAttr(s / qbs),
                                    b.getIndexAttr(qbs), b.getIndexAttr(att.d)};
    Value qb = tensor::ExpandShapeOp::create(
        b, blocked, att.q, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4}}, sizes);
    att.qT = tb.transpose(qb, {0, 1, 2, 4, 3});
  }
  Value q = att.q;
  Type elt = att.elt;
  int64_t bs = att.bs, dv = att.dv;
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  Value nb = tensor::DimOp::create(b, q, 0), nh = tensor::DimOp::create(b, q, 1);
  Value out0 = tb.empty({tb.size(q, 0), tb.size(q, 1), tb.size(q, 2), b.getIndexAttr(dv)}, elt);
  auto forall = scf::ForallOp::create(
      b, SmallVector<OpFoldResult>{nb, nh, b.getIndexAttr(nq)}, ValueRange{out0}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  Block *body = forall.getBody();
  Value bi = body->getArgument(0), hi = body->getArgument(1), qi = body->getArgument(2);
  b.setInsertionPoint(forall.getTerminator());
  Value qStart = arith::MulIOp::create(b, qi, constIndex(b, bs));
  Value qbT = att.blockT(b, att.qT, bi, hi, qi, att.d);
  Value m0 = tb.filled({b.getIndexAttr(1), b.getIndexAttr(bs)}, elt,
                       b.getFloatAttr(elt, -std::numeric_limits<double>::infinity()));
  Value l0 = tb.filled({b.getIndexAttr(1), b.getIndexAttr(bs)}, elt, b.getFloatAttr(elt, 0.0));
  Value a0 = tb.filled({b.getIndexAttr(bs), b.getIndexAttr(dv)}, elt, b.getFloatAttr(elt, 0.0));
  auto loopK = scf::ForOp::create(
      b, zero, keyBlocks(b, qi), one, ValueRange{m0, l0, a0},
      [&](OpBuilder &b4, Location l4, Value kj, ValueRange st) {
        ImplicitLocOpBuilder i4(l4, b4);
        if (!keep) {
          scf::YieldOp::create(i4, attendBlock(i4, att, qbT, bi, hi, qStart, kj, st));
          return;
        }
        auto ifOp = scf::IfOp::create(
            i4, keep(i4, bi, hi, qi, kj),
            [&](OpBuilder &b5, Location l5) {
              ImplicitLocOpBuilder i5(l5, b5);
              entered(i5, hi);
              scf::YieldOp::create(i5, attendBlock(i5, att, qbT, bi, hi, qStart, kj, st));
            },
            [&](OpBuilder &b5, Location l5) { scf::YieldOp::create(b5, l5, st); });
        scf::YieldOp::create(i4, ifOp.getResults());
      });
  auto accType = RankedTensorType::get({bs, dv}, elt);
  Value res = tb.map({loopK.getResult(2), asColumn(b, loopK.getResult(1))}, accType,
                     [](ImplicitLocOpBuilder &ab, ValueRange x) {
                       return Value(arith::DivFOp::create(ab, x[0], x[1]));
                     });
  SmallVector<OpFoldResult> off{bi, hi, qStart, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> size{b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(bs),
                                 b.getIndexAttr(dv)};
  SmallVector<OpFoldResult> str(4, b.getIndexAttr(1));
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, res, forall.getRegionIterArgs()[0], off, size, str);
  return forall.getResult(0);
}

/// The queries and keys a block holds in dense attention: as block-sparse
/// attention's default, a size at which a block's scores (16 KiB) stay in L1.
constexpr int64_t kAttentionBlock = 64;

LogicalResult LowerAttention::lowerByBlocks(dyn::AttentionOp op, Value q, Value k, Value v,
                                            ImplicitLocOpBuilder &b,
                                            ConversionPatternRewriter &rw) {
  int64_t sq = rankedType(q).getDimSize(2), sk = rankedType(k).getDimSize(2);
  if (ShapedType::isDynamic(sq) || ShapedType::isDynamic(sk) || sq % kAttentionBlock != 0 ||
      sk % kAttentionBlock != 0)
    return failure();
  BlockedAttention att(q, k, v, kAttentionBlock, op.getScale(), op.getCausal());
  if (!att.valid())
    return failure();
  int64_t nk = sk / kAttentionBlock;
  bool causal = op.getCausal();
  Value out = blockedAttention(
      b, att, sq / kAttentionBlock,
      [&](ImplicitLocOpBuilder &ib, Value qi) {
        // Causal: the key blocks after the query block are all masked.
        if (!causal)
          return constIndex(ib, nk);
        Value upTo = arith::AddIOp::create(ib, qi, constIndex(ib, 1));
        return Value(arith::MinSIOp::create(ib, upTo, constIndex(ib, nk)));
      },
      nullptr, nullptr);
  rw.replaceOp(op, castTo(b, out, op.getResult().getType()));
  return success();
}

/// For each (batch, head, query block), an online softmax over the kept key
/// blocks only: the work follows the layout. With `byRows` (the CUDA
/// target's choice), one loop nest over query rows that reads the layout
/// itself (attentionByRows), where the value rows fit a thread's registers.
struct LowerBsaAttention : OpConversionPattern<dyn::BsaAttentionOp> {
  LowerBsaAttention(MLIRContext *ctx, bool byRows) : OpConversionPattern(ctx), byRows(byRows) {}
  bool byRows;
  LogicalResult matchAndRewrite(dyn::BsaAttentionOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    Value layout = adaptor.getLayout();
    int64_t nq = rankedType(layout).getDimSize(2), nk = rankedType(layout).getDimSize(3);
    BlockedAttention a(adaptor.getQuery(), adaptor.getKey(), adaptor.getValue(),
                       op.getBlockSize(), op.getScale(), op.getCausal());
    if (!a.valid() || ShapedType::isDynamic(nq) || ShapedType::isDynamic(nk))
      return rw.notifyMatchFailure(op, "needs static sequence and head dims");
    std::string node = nodeNameOf(op, "bsa");
    int64_t heads = a.qType().getDimSize(1);
    auto entered = [&](ImplicitLocOpBuilder &ib, Value hi) {
      // A block this loop enters, counted as it is computed (and per
      // head, when the heads are a static count).
      dyn::RtCountOp::create(ib, constIndex(ib, 1), ib.getStringAttr(node + ".blocks_computed"));
      if (!ShapedType::isDynamic(heads))
        dyn::RtCountOp::create(ib, constIndex(ib, 1), hi,
                               ib.getStringAttr(node + ".head_blocks_computed"),
                               ib.getI64IntegerAttr(heads));
    };
    Value out;
    if (byRows && fitsAttentionByRows(a.qType(), rankedType(a.v)))
      out = attentionByRows(b, a.q, a.k, a.v, layout, a.bs, a.scale, a.causal, entered);
    else
      out = blockedAttention(
          b, a, nq, [&](ImplicitLocOpBuilder &ib, Value) { return constIndex(ib, nk); },
          [&](ImplicitLocOpBuilder &ib, Value bi, Value hi, Value qi, Value kj) {
            return Value(tensor::ExtractOp::create(ib, layout, ValueRange{bi, hi, qi, kj}));
          },
          entered);
    // Of all (query block, key block) pairs; the loop counts those it computes.
    Value nb = tensor::DimOp::create(b, a.q, 0), nh = tensor::DimOp::create(b, a.q, 1);
    Value total = arith::MulIOp::create(b, arith::MulIOp::create(b, nb, nh), constIndex(b, nq * nk));
    dyn::RtCountOp::create(b, total, b.getStringAttr(node + ".blocks"));
    rw.replaceOp(op, castTo(b, out, op.getResult().getType()));
    return success();
  }
};

} // namespace

void dync::dyn_to_linalg::populateAttentionPatterns(RewritePatternSet &patterns,
                                                   bool attentionByBlocks, bool bsaByRows,
                                                   bool attentionByRows) {
  patterns.add<LowerAttention>(patterns.getContext(), attentionByBlocks, attentionByRows);
  patterns.add<LowerBsaAttention>(patterns.getContext(), bsaByRows);
  patterns.add<LowerBsaSelect>(patterns.getContext());
}
