//===- OnnxRaiseAttention.cpp - a block mask over attention, to bsa --------===//
//
// Block-sparse attention written in PyTorch over dense attention, with a
// layout of blocks chosen at run time and expanded to a mask,
//
//   layout = ...                                        # [B, H, nq, nk] bool
//   mask = layout[:, :, :, None, :, None].expand(B, H, nq, bs, nk, bs)
//                                        .reshape(B, H, S, S)
//   att = (q @ k.transpose(-1, -2)) / D ** 0.5
//   att = att.masked_fill(~mask, float("-inf"))
//   out = torch.softmax(att, -1) @ v
//
// computes every score and throws most away. Exported, it is
// MatMul(Softmax(Where(Not(mask), -inf, scores)), v) with mask =
// Reshape(Expand(Unsqueeze(layout))). Raised, it is dyn.bsa.attention on
// q, k, v and the layout, which computes only the kept blocks: the masked
// positions contribute exp(-inf) = 0 to the softmax either way, so the
// result is the same. The layout is computed as the model computes it (a
// TopK over pooled scores, a ScatterElements, anything); its blocks
// computed are counted where they are (`<MatMul node>.blocks_computed`).
//
// Recognized: Softmax over the last axis; Where(Not(mask), -inf, scores) or
// Where(mask, scores, -inf) (through Casts to bool); mask [B, H, nq·bs,
// nk·bs] a Reshape of an Expand of layout [B, H, nq, nk] unsqueezed to
// [B, H, nq, 1, nk, 1] and expanded to [B, H, nq, bs, nk, bs]; scores
// q @ Transpose(k) (last two axes swapped), possibly divided or multiplied
// by a scalar computed from constants (`D ** 0.5`); q, k, v [B, H, S, D]
// with static S and D. Anything else -- a layout broadcast over heads or
// batch, a finite fill value, a mask that is not made of blocks (causal
// Trilu), scaling q and k separately -- stays dense attention, op by op.
//
//===----------------------------------------------------------------------===//

#include "OnnxImporter.h"

#include <cmath>

using namespace mlir;

namespace dync::import {

std::optional<double> OnnxImporter::constantScalar(const std::string &name, int depth) const {
  if (depth > 8)
    return std::nullopt;
  if (const FloatConst *c = floatConstNamed(name))
    return c->data.size() == 1 ? std::optional<double>(c->data[0]) : std::nullopt;
  auto it = values.find(name);
  if (it != values.end() && it->second.ints && it->second.ints->size() == 1 &&
      (*it->second.ints)[0].isStatic())
    return double((*it->second.ints)[0].size);
  const onnx::NodeProto *p = producerOf(name);
  if (!p || p->input_size() < 1)
    return std::nullopt;
  const std::string &op = p->op_type();
  std::optional<double> a = constantScalar(p->input(0), depth + 1);
  if (!a)
    return std::nullopt;
  if (op == "Cast" || op == "Identity")
    return a;
  if (op == "Sqrt")
    return std::sqrt(*a);
  if (op == "Reciprocal")
    return 1.0 / *a;
  if (op == "Neg")
    return -*a;
  if (p->input_size() != 2)
    return std::nullopt;
  std::optional<double> c = constantScalar(p->input(1), depth + 1);
  if (!c)
    return std::nullopt;
  if (op == "Pow")
    return std::pow(*a, *c);
  if (op == "Mul")
    return *a * *c;
  if (op == "Div")
    return *a / *c;
  if (op == "Add")
    return *a + *c;
  if (op == "Sub")
    return *a - *c;
  return std::nullopt;
}

bool OnnxImporter::raiseBlockSparseAttention(OnnxNodeView &n, const onnx::NodeProto &node,
                                             ImplicitLocOpBuilder &b) {
  if (node.input_size() != 2 || node.output_size() != 1)
    return false;
  auto through = [&](std::string v, bool boolCasts) {
    while (const onnx::NodeProto *p = producerOf(v)) {
      bool cast = p->op_type() == "Cast" && intAttr(*p, "to", 0) == onnx::TensorProto::BOOL;
      if (p->input_size() != 1 || !(p->op_type() == "Identity" || (boolCasts && cast)))
        break;
      v = p->input(0);
    }
    return v;
  };
  auto producerIs = [&](const std::string &v, StringRef op) -> const onnx::NodeProto * {
    const onnx::NodeProto *p = producerOf(v);
    return p && p->op_type() == op ? p : nullptr;
  };

  // softmax(where(mask, scores, -inf)) @ v
  const onnx::NodeProto *softmax = producerIs(node.input(0), "Softmax");
  if (!softmax || softmax->input_size() != 1)
    return false;
  int64_t axis = intAttr(*softmax, "axis", opset >= 13 ? -1 : 1);
  if (axis != -1 && axis != 3)
    return false;
  const onnx::NodeProto *where = producerIs(softmax->input(0), "Where");
  if (!where || where->input_size() != 3)
    return false;
  std::string mask = through(where->input(0), true);
  bool negated = false;
  if (const onnx::NodeProto *notOp = producerIs(mask, "Not")) {
    negated = true;
    mask = through(notOp->input(0), true);
  }
  const std::string &fill = where->input(negated ? 1 : 2);
  const std::string &scores = where->input(negated ? 2 : 1);
  std::optional<double> fillValue = constantScalar(fill);
  if (!fillValue || !(std::isinf(*fillValue) && *fillValue < 0))
    return false;

  // The scores: q @ kᵀ, maybe scaled by a constant.
  std::optional<double> scale = 1.0;
  std::string product = scores;
  if (const onnx::NodeProto *p = producerOf(scores);
      p && p->input_size() == 2 && (p->op_type() == "Div" || p->op_type() == "Mul")) {
    bool div = p->op_type() == "Div";
    std::optional<double> c1 = constantScalar(p->input(1));
    std::optional<double> c0 = div ? std::nullopt : constantScalar(p->input(0));
    if (c1) {
      scale = div ? 1.0 / *c1 : *c1;
      product = p->input(0);
    } else if (c0) {
      scale = *c0;
      product = p->input(1);
    }
  }
  if (!scale || !std::isfinite(*scale))
    return false;
  const onnx::NodeProto *qk = producerIs(product, "MatMul");
  if (!qk || qk->input_size() != 2)
    return false;
  const onnx::NodeProto *kt = producerIs(qk->input(1), "Transpose");
  std::optional<SmallVector<int64_t>> perm = kt ? intsAttr(*kt, "perm") : std::nullopt;
  if (!kt || kt->input_size() != 1 || !perm || *perm != SmallVector<int64_t>{0, 1, 3, 2})
    return false;
  const TValue *q = importedTensor(qk->input(0)), *k = importedTensor(kt->input(0));
  const TValue *v = importedTensor(node.input(1));
  if (!q || !k || !v || q->rank() != 4 || k->rank() != 4 || v->rank() != 4 ||
      !isa<FloatType>(q->elt()) || q->elt() != k->elt() || q->elt() != v->elt())
    return false;
  int64_t sq = q->shape[2].isStatic() ? q->shape[2].size : -1;
  int64_t sk = k->shape[2].isStatic() ? k->shape[2].size : -1;
  if (sq <= 0 || sk <= 0 || !q->shape[3].isStatic() || !v->shape[3].isStatic() ||
      k->shape[0] != q->shape[0] || k->shape[1] != q->shape[1] || k->shape[3] != q->shape[3] ||
      v->shape[0] != q->shape[0] || v->shape[1] != q->shape[1] || v->shape[2] != k->shape[2])
    return false;

  // The mask: a layout of blocks, unsqueezed, expanded and merged.
  const onnx::NodeProto *reshape = producerIs(mask, "Reshape");
  const onnx::NodeProto *expand = reshape ? producerIs(reshape->input(0), "Expand") : nullptr;
  if (!expand)
    return false;
  std::string layoutName = expand->input(0);
  while (const onnx::NodeProto *u = producerIs(layoutName, "Unsqueeze"))
    layoutName = u->input(0);
  const TValue *m = importedTensor(mask), *e = importedTensor(reshape->input(0));
  const TValue *u = importedTensor(expand->input(0)), *l = importedTensor(layoutName);
  if (!m || !e || !u || !l || m->rank() != 4 || e->rank() != 6 || u->rank() != 6 || l->rank() != 4 ||
      !l->elt().isInteger(1))
    return false;
  auto staticDim = [](const Dim &d) { return d.isStatic() ? d.size : int64_t(-1); };
  int64_t nq = staticDim(l->shape[2]), nk = staticDim(l->shape[3]);
  int64_t bs = staticDim(e->shape[3]);
  if (nq <= 0 || nk <= 0 || bs <= 0 || staticDim(e->shape[5]) != bs || nq * bs != sq ||
      nk * bs != sk)
    return false;
  Shape want6{q->shape[0], q->shape[1], Dim::of(nq), Dim::of(1), Dim::of(nk), Dim::of(1)};
  Shape wantE{q->shape[0], q->shape[1], Dim::of(nq), Dim::of(bs), Dim::of(nk), Dim::of(bs)};
  Shape wantM{q->shape[0], q->shape[1], Dim::of(sq), Dim::of(sk)};
  Shape wantL{q->shape[0], q->shape[1], Dim::of(nq), Dim::of(nk)};
  if (u->shape != want6 || e->shape != wantE || m->shape != wantM || l->shape != wantL)
    return false;

  Shape outShape{q->shape[0], q->shape[1], q->shape[2], v->shape[3]};
  Value out = dyn::BsaAttentionOp::create(b, typeOf(outShape, q->elt()), q->v, k->v, v->v, l->v,
                                          b.getI64IntegerAttr(bs), UnitAttr(),
                                          b.getF64FloatAttr(*scale));
  bind(node, 0, TValue{out, outShape});
  return true;
}

} // namespace dync::import
