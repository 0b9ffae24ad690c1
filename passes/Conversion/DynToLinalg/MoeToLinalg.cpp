//===- MoeToLinalg.cpp - MoE routing, dispatch, grouped experts, combine ----===//

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

/// softmax over the experts, top-k, and (with normalize) the chosen
/// probabilities rescaled to sum to one.
struct LowerRoute : OpConversionPattern<dyn::MoeRouteOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(dyn::MoeRouteOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value p = tb.softmax(adaptor.getLogits(), 1);
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

/// Assignments are granted slot by slot (all first choices in token order,
/// then all second choices...), each expert up to its capacity; kept rows are
/// grouped by expert, in token order within an expert.
///
/// With `onDevice` (the CUDA target), the same results from parallel
/// generics (dispatchOnDevice), so that the host decides nothing.
struct LowerDispatch : OpConversionPattern<dyn::MoeDispatchOp> {
  LowerDispatch(MLIRContext *ctx, bool onDevice) : OpConversionPattern(ctx), onDevice(onDevice) {}
  bool onDevice;
  LogicalResult matchAndRewrite(dyn::MoeDispatchOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value x = adaptor.getInput(), idx = adaptor.getIndices();
    int64_t e = op.getNumExperts();
    int64_t k = rankedType(idx).getDimSize(1);
    Type i32 = b.getI32Type();
    Value zero = constIndex(b, 0), one = constIndex(b, 1);
    Value t = tensor::DimOp::create(b, x, 0);
    Value kv = constIndex(b, k);
    // Capacity: ceil(c·(T·k)/E) in double precision, in the model format's
    // order (the integer T·k, times c, divided by E); a fixed capacity as it
    // is; or T (nothing dropped) without either. Another order rounds
    // differently where the exact value is a whole number (T=36, k=5, E=6,
    // c=0.1 gives 3, not 4).
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
    } else if (std::optional<uint64_t> fixed = op.getCapacity()) {
      cap = constIndex(b, static_cast<int64_t>(*fixed));
    }
    if (onDevice) {
      SmallVector<Value> res = dispatchOnDevice(b, x, idx, e, cap);
      rw.replaceOp(op, {castTo(b, res[0], op.getRows().getType()),
                        castTo(b, res[1], op.getOffsets().getType()),
                        castTo(b, res[2], op.getSlots().getType())});
      return success();
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
    // Rows buffer: T·k rows, left unset: rows past offsets[E] are
    // unspecified (DynOps.td) and nothing reads them, so a zero fill would
    // only write T·k·d elements on every run.
    Value nRows = arith::MulIOp::create(b, t, kv);
    Value rows0 = tb.empty({nRows, b.getIndexAttr(d)}, rowsType.getElementType());
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
/// the FFN on the slice offsets[e] ..< offsets[e+1]. With `onDevice` (the
/// CUDA target) and f32 operands, every row's expert read on the device
/// instead (expertsOnDevice).
struct LowerExperts : OpConversionPattern<dyn::MoeExpertsOp> {
  LowerExperts(MLIRContext *ctx, bool onDevice) : OpConversionPattern(ctx), onDevice(onDevice) {}
  bool onDevice;
  LogicalResult matchAndRewrite(dyn::MoeExpertsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    Value rows = adaptor.getRows(), offsets = adaptor.getOffsets();
    auto rowsType = rankedType(rows);
    Type elt = rowsType.getElementType();
    int64_t d = rowsType.getDimSize(1);
    auto w1t = rankedType(adaptor.getW1());
    int64_t e = w1t.getDimSize(0), h = w1t.getDimSize(1);
    dyn::Activation act = op.getActivation();
    std::string node = nodeNameOf(op, "moe");
    if (onDevice && fitsMoeOnDevice(op)) {
      Value out = expertsOnDevice(b, op, rows, offsets, adaptor.getW1(), adaptor.getW2(),
                                  adaptor.getW3(), adaptor.getB1(), adaptor.getB2(),
                                  node + ".expert_tokens");
      rw.replaceOp(op, castTo(b, out, op.getResult().getType()));
      return success();
    }
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
          // offsets[e+1] - offsets[e] never exceeds the row count; the clamp
          // says so to the bounds analysis (the memory budget needs a bound
          // on every buffer) without changing any value.
          Value n = arith::MinSIOp::create(ib, arith::SubIOp::create(ib, hi, lo),
                                           tensor::DimOp::create(ib, rows, 0));
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
                // Read from the loop's value, not from `rows`: the earlier
                // experts wrote only their own rows, so the two agree here,
                // and reading the value the loop carries lets bufferization
                // update rows in place instead of copying them first.
                Value xs = tensor::ExtractSliceOp::create(q, sliceType, acc[0], off, size, one2);
                // Rows this expert's FFN computes, counted in the branch that
                // computes them, from the rows it is given.
                dyn::RtCountOp::create(q, tensor::DimOp::create(q, xs, 0), ei,
                                       q.getStringAttr(node + ".expert_tokens"),
                                       q.getI64IntegerAttr(e));
                Value a1 = tq.linear(xs, weightOf(q, adaptor.getW1(), ei), weightOf(q, adaptor.getB1(), ei));
                Value hAct = tq.map(a1, rankedType(a1), [&](ImplicitLocOpBuilder &ab, ValueRange v) {
                  return buildActivation(ab, dyn::stringifyActivation(act), v[0]);
                });
                if (adaptor.getW3()) {
                  Value g = tq.linear(xs, weightOf(q, adaptor.getW3(), ei), Value());
                  hAct = tq.map({hAct, g}, rankedType(hAct), [](ImplicitLocOpBuilder &ab, ValueRange v) {
                    return Value(arith::MulFOp::create(ab, v[0], v[1]));
                  });
                }
                (void)h;
                Value out = tq.linear(hAct, weightOf(q, adaptor.getW2(), ei), weightOf(q, adaptor.getB2(), ei));
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
struct LowerCombine : OpConversionPattern<dyn::MoeCombineOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(dyn::MoeCombineOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rw);
    TensorBuilder tb(b);
    Value rows = adaptor.getExpertRows(), slots = adaptor.getSlots(), weights = adaptor.getWeights();
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

} // namespace

void dync::dyn_to_linalg::populateMoePatterns(RewritePatternSet &patterns, bool moeOnDevice) {
  patterns.add<LowerRoute, LowerCombine>(patterns.getContext());
  patterns.add<LowerDispatch, LowerExperts>(patterns.getContext(), moeOnDevice);
}
