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

#include "dync/Support/TensorBuilder.h"

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

bool OnnxImporter::raiseAttention(OnnxNodeView &n, const onnx::NodeProto &node,
                                  ImplicitLocOpBuilder &b) {
  if (node.input_size() != 2 || node.output_size() != 1)
    return false;
  auto through = [&](std::string v) {
    while (const onnx::NodeProto *p = producerOf(v)) {
      bool cast = p->op_type() == "Cast" && intAttr(*p, "to", 0) == onnx::TensorProto::BOOL;
      if (p->input_size() != 1 || !(p->op_type() == "Identity" || cast))
        break;
      v = p->input(0);
    }
    return v;
  };
  auto producerIs = [&](const std::string &v, StringRef op) -> const onnx::NodeProto * {
    const onnx::NodeProto *p = producerOf(v);
    return p && p->op_type() == op ? p : nullptr;
  };
  auto isMinusInf = [&](const std::string &v) {
    std::optional<double> c = constantScalar(v);
    return c && std::isinf(*c) && *c < 0;
  };

  // softmax(scores [masked]) @ v
  const onnx::NodeProto *softmax = producerIs(node.input(0), "Softmax");
  if (!softmax || softmax->input_size() != 1)
    return false;
  int64_t axis = intAttr(*softmax, "axis", opset >= 13 ? -1 : 1);
  if (axis != -1 && axis != 3)
    return false;
  // The mask, as the positions kept: `keep` where `keepIf`, else not.
  std::string scores = softmax->input(0), keep;
  bool keepIf = true;
  if (const onnx::NodeProto *where = producerIs(scores, "Where");
      where && where->input_size() == 3) {
    bool fillFirst = isMinusInf(where->input(1));
    if (!fillFirst && !isMinusInf(where->input(2)))
      return false;
    scores = where->input(fillFirst ? 2 : 1);
    keep = through(where->input(0));
    keepIf = !fillFirst;
    while (const onnx::NodeProto *notOp = producerIs(keep, "Not")) {
      keep = through(notOp->input(0));
      keepIf = !keepIf;
    }
  }

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
  // kᵀ: a Transpose whose perm, with the last two axes swapped back, gives
  // k [B, H, S, D] from its input (a [B, S, H, D] view, or k itself).
  const onnx::NodeProto *kt = producerIs(qk->input(1), "Transpose");
  std::optional<SmallVector<int64_t>> perm = kt ? intsAttr(*kt, "perm") : std::nullopt;
  if (!kt || kt->input_size() != 1 || !perm || perm->size() != 4)
    return false;
  SmallVector<int64_t> kPerm{(*perm)[0], (*perm)[1], (*perm)[3], (*perm)[2]};
  const TValue *q = importedTensor(qk->input(0)), *kIn = importedTensor(kt->input(0));
  const TValue *v = importedTensor(node.input(1));
  if (!q || !kIn || !v || q->rank() != 4 || kIn->rank() != 4 || v->rank() != 4 ||
      !isa<FloatType>(q->elt()) || q->elt() != kIn->elt() || q->elt() != v->elt())
    return false;
  TValue k = *kIn;
  Shape kShape;
  for (int64_t i : kPerm)
    kShape.push_back(kIn->shape[i]);
  if (!q->shape[3].isStatic() || !v->shape[3].isStatic() || kShape[0] != q->shape[0] ||
      kShape[1] != q->shape[1] || kShape[3] != q->shape[3] || v->shape[0] != q->shape[0] ||
      v->shape[1] != q->shape[1] || v->shape[2] != kShape[2])
    return false;

  // What the mask is: none, causal (a constant lower triangle of ones,
  // sliced from its corner), or a layout of blocks.
  enum class Kind { Dense, Causal, Blocks } kind = Kind::Dense;
  const TValue *layout = nullptr;
  int64_t blockSize = 0;
  if (!keep.empty()) {
    if (std::optional<bool> tri = isCausalMask(keep, keepIf); tri && *tri) {
      if (q->shape[2] != kShape[2])
        return false;
      kind = Kind::Causal;
    } else if (keepIf && (layout = blockLayout(keep, *q, kShape, blockSize))) {
      kind = Kind::Blocks;
    } else {
      return false;
    }
  }

  if (kPerm != SmallVector<int64_t>{0, 1, 2, 3}) {
    TensorBuilder tb(b);
    k = TValue{tb.transpose(kIn->v, kPerm), kShape};
  }
  Shape outShape{q->shape[0], q->shape[1], q->shape[2], v->shape[3]};
  Type outType = typeOf(outShape, q->elt());
  Value out;
  Value layoutV = layout ? layout->v : Value();
  if (layout && layout->shape[1] != q->shape[1]) {
    // One layout for all the heads: broadcast over them.
    Shape perHead{layout->shape[0], q->shape[1], layout->shape[2], layout->shape[3]};
    layoutV = TensorBuilder(b).map(
        {layout->v}, cast<RankedTensorType>(typeOf(perHead, layout->elt())),
        [](ImplicitLocOpBuilder &, ValueRange a) { return a[0]; });
  }
  if (kind == Kind::Blocks)
    out = dyn::BsaAttentionOp::create(b, outType, q->v, k.v, v->v, layoutV,
                                      b.getI64IntegerAttr(blockSize), UnitAttr(),
                                      b.getF64FloatAttr(*scale));
  else
    out = dyn::AttentionOp::create(b, outType, q->v, k.v, v->v,
                                   kind == Kind::Causal ? b.getUnitAttr() : UnitAttr(),
                                   b.getF64FloatAttr(*scale));
  bind(node, 0, TValue{out, outShape});
  return true;
}

std::optional<bool> OnnxImporter::isCausalMask(const std::string &keep, bool keepIf) const {
  // keep = (buffer != 0): Equal(buffer, 0) as the positions masked.
  std::string buffer = keep;
  if (!keepIf) {
    const onnx::NodeProto *eq = producerOf(keep);
    if (!eq || eq->op_type() != "Equal" || eq->input_size() != 2)
      return std::nullopt;
    std::optional<double> zero = constantScalar(eq->input(1));
    if (!zero || *zero != 0)
      return std::nullopt;
    buffer = eq->input(0);
  } else if (const onnx::NodeProto *gt = producerOf(keep);
             gt && gt->op_type() == "Greater" && gt->input_size() == 2) {
    // keep = (buffer > 0), the same for a buffer of zeros and ones.
    std::optional<double> zero = constantScalar(gt->input(1));
    if (!zero || *zero != 0)
      return std::nullopt;
    buffer = gt->input(0);
  }
  // Sliced from the top-left corner along the last two axes, step 1.
  while (const onnx::NodeProto *slice = producerOf(buffer)) {
    // Casts, and Identity: the export's alias of a buffer it deduplicated
    // (the second layer's mask is the first one's).
    if ((slice->op_type() == "Cast" || slice->op_type() == "Identity") && slice->input_size() == 1) {
      buffer = slice->input(0);
      continue;
    }
    // torch.ones(S, S).tril(): the lower triangle of a constant of ones.
    if (slice->op_type() == "Trilu") {
      const FloatConst *ones = floatConstNamed(slice->input(0));
      std::optional<double> diag =
          slice->input_size() > 1 && !slice->input(1).empty() ? constantScalar(slice->input(1)) : 0.0;
      if (!ones || intAttr(*slice, "upper", 1) != 0 || !diag || *diag != 0 ||
          llvm::any_of(ones->data, [](float x) { return x != 1; }))
        return std::nullopt;
      return true;
    }
    if (slice->op_type() != "Slice" || slice->input_size() < 3)
      return std::nullopt;
    auto ints = [&](int i) -> std::optional<SmallVector<int64_t>> {
      if (i >= slice->input_size() || slice->input(i).empty())
        return std::nullopt;
      auto it = values.find(slice->input(i));
      if (it == values.end() || !it->second.ints)
        return std::nullopt;
      SmallVector<int64_t> out;
      for (const Dim &d : *it->second.ints)
        out.push_back(d.isStatic() ? d.size : -1);
      return out;
    };
    std::optional<SmallVector<int64_t>> starts = ints(1), axes = ints(3), steps = ints(4);
    if (!starts || llvm::any_of(*starts, [](int64_t s) { return s != 0; }) ||
        (steps && llvm::any_of(*steps, [](int64_t s) { return s != 1; })))
      return std::nullopt;
    if (axes && llvm::any_of(*axes, [](int64_t a) { return a != 2 && a != 3 && a != -1 && a != -2; }))
      return std::nullopt;
    buffer = slice->input(0);
  }
  const FloatConst *c = floatConstNamed(buffer);
  if (!c || c->shape.size() < 2)
    return std::nullopt;
  int64_t rows = c->shape[c->shape.size() - 2], cols = c->shape.back();
  if (rows * cols != int64_t(c->data.size()))
    return std::nullopt; // one matrix only (leading dims of 1)
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      if ((c->data[i * cols + j] != 0) != (j <= i))
        return false;
  return true;
}

const TValue *OnnxImporter::blockLayout(const std::string &mask, const TValue &q,
                                        const Shape &kShape, int64_t &blockSize) const {
  // Reshape(Expand(Unsqueeze(layout))): [B, H, nq, nk] -> [B, H, nq, 1, nk, 1]
  // -> [B, H, nq, bs, nk, bs] -> [B, H, nq·bs, nk·bs].
  const onnx::NodeProto *reshape = producerOf(mask);
  if (!reshape || reshape->op_type() != "Reshape" || reshape->input_size() < 1)
    return nullptr;
  const onnx::NodeProto *expand = producerOf(reshape->input(0));
  if (!expand || expand->op_type() != "Expand" || expand->input_size() < 1)
    return nullptr;
  std::string layoutName = expand->input(0);
  while (const onnx::NodeProto *u = producerOf(layoutName)) {
    if (u->op_type() != "Unsqueeze" || u->input_size() < 1)
      break;
    layoutName = u->input(0);
  }
  const TValue *m = importedTensor(mask), *e = importedTensor(reshape->input(0));
  const TValue *u = importedTensor(expand->input(0)), *l = importedTensor(layoutName);
  if (!m || !e || !u || !l || m->rank() != 4 || e->rank() != 6 || u->rank() != 6 || l->rank() != 4 ||
      !l->elt().isInteger(1))
    return nullptr;
  auto staticDim = [](const Dim &d) { return d.isStatic() ? d.size : int64_t(-1); };
  int64_t sq = staticDim(q.shape[2]), sk = staticDim(kShape[2]);
  int64_t nq = staticDim(l->shape[2]), nk = staticDim(l->shape[3]), bs = staticDim(e->shape[3]);
  if (sq <= 0 || sk <= 0 || nq <= 0 || nk <= 0 || bs <= 0 || staticDim(e->shape[5]) != bs ||
      nq * bs != sq || nk * bs != sk)
    return nullptr;
  // One layout per head, or one for all the heads (a head dim of 1 that the
  // masking broadcasts; the caller broadcasts it for the op).
  Dim heads = l->shape[1] == Dim::of(1) ? Dim::of(1) : q.shape[1];
  Shape wantU{q.shape[0], heads, Dim::of(nq), Dim::of(1), Dim::of(nk), Dim::of(1)};
  Shape wantE{q.shape[0], heads, Dim::of(nq), Dim::of(bs), Dim::of(nk), Dim::of(bs)};
  Shape wantM{q.shape[0], heads, Dim::of(sq), Dim::of(sk)};
  Shape wantL{q.shape[0], heads, Dim::of(nq), Dim::of(nk)};
  if (u->shape != wantU || e->shape != wantE || m->shape != wantM || l->shape != wantL)
    return nullptr;
  blockSize = bs;
  return l;
}

} // namespace dync::import
