//===- Attention.cpp - dense attention, multi-head attention ----------------===//

#include "Builder/GraphBuilder.h"

#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace dync::import {

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> GraphBuilder::emitAttention(NodeView &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  FailureOr<bool> causal = boolAttr(n, "causal", false);
  if (failed(causal))
    return failure();
  UnitAttr causalAttr = *causal ? b.getUnitAttr() : UnitAttr();

  if (n.op == "attention") {
    const TValue &q = n.inputs[0], &k = n.inputs[1], &v = n.inputs[2];
    for (auto [i, t] : llvm::enumerate(n.inputs)) {
      if (failed(expectFloat(n, t, "input " + std::to_string(i))))
        return failure();
      if (t.rank() != 4)
        return failNode(n, "q, k and v must be [B, H, S, D], input " + std::to_string(i) +
                               " is " + formatShape(t.shape));
    }
    if (q.shape[0] != k.shape[0] || q.shape[1] != k.shape[1] || q.shape[3] != k.shape[3] ||
        k.shape[0] != v.shape[0] || k.shape[1] != v.shape[1] || k.shape[2] != v.shape[2])
      return failNode(n, "q " + formatShape(q.shape) + ", k " + formatShape(k.shape) +
                             " and v " + formatShape(v.shape) + " do not agree");
    if (*causal && q.shape[2] != k.shape[2])
      return failNode(n, "causal attention needs equal query and key lengths");
    FloatAttr scale;
    if (n.hasAttr("scale")) {
      FailureOr<double> s = floatAttr(n, "scale");
      if (failed(s))
        return failure();
      scale = b.getF64FloatAttr(*s);
    }
    Shape shape{q.shape[0], q.shape[1], q.shape[2], v.shape[3]};
    Value r = dyn::AttentionOp::create(b, typeOf(shape, q.elt()), q.v, k.v, v.v,
                                       causalAttr, scale);
    return SmallVector<TValue>{TValue{r, shape}};
  }

  // multi_head_attention: x [B, S, E], PyTorch's in/out projections.
  const TValue &x = n.inputs[0];
  if (failed(expectFloat(n, x, "input")))
    return failure();
  if (x.rank() != 3 || !x.shape[2].isStatic())
    return failNode(n, "input must be [B, S, E] with a static E, got " + formatShape(x.shape));
  int64_t e = x.shape[2].size;
  FailureOr<int64_t> heads = intAttr(n, "num_heads");
  if (failed(heads))
    return failure();
  if (*heads < 1 || e % *heads != 0)
    return failNode(n, llvm::formatv("num_heads {0} must be >= 1 and divide the embedding size {1}",
                                     *heads, e));
  int64_t hd = e / *heads;
  auto proj = [&](StringRef w, StringRef bias, const TValue &in) -> FailureOr<TValue> {
    FailureOr<TValue> wt = weight(n, w, {e, e}, in.elt(), b);
    if (failed(wt))
      return failure();
    FailureOr<TValue> bt = weight(n, bias, {e}, in.elt(), b, false);
    if (failed(bt))
      return failure();
    return TValue{tb.linear(in.v, wt->v, bt->v), in.shape};
  };
  auto heads4 = [&](const TValue &t) {
    TValue r = reshapeTo(b, t, {t.shape[0], t.shape[1], Dim::of(*heads), Dim::of(hd)});
    return TValue{tb.transpose(r.v, {0, 2, 1, 3}),
                  {t.shape[0], Dim::of(*heads), t.shape[1], Dim::of(hd)}};
  };
  FailureOr<TValue> q = proj("q_proj", "q_proj_bias", x);
  FailureOr<TValue> k = proj("k_proj", "k_proj_bias", x);
  FailureOr<TValue> v = proj("v_proj", "v_proj_bias", x);
  if (failed(q) || failed(k) || failed(v))
    return failure();
  TValue qh = heads4(*q), kh = heads4(*k), vh = heads4(*v);
  Value o = dyn::AttentionOp::create(b, qh.type(), qh.v, kh.v, vh.v, causalAttr, FloatAttr());
  Value ot = tb.transpose(o, {0, 2, 1, 3});
  TValue merged = reshapeTo(
      b, TValue{ot, {x.shape[0], x.shape[1], Dim::of(*heads), Dim::of(hd)}}, x.shape);
  FailureOr<TValue> out = proj("out_proj", "out_proj_bias", merged);
  if (failed(out))
    return failure();
  return SmallVector<TValue>{*out};
}

} // namespace dync::import
