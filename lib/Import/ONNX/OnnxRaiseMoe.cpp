//===- OnnxRaiseMoe.cpp - exported mixture-of-experts loops to dyn.moe ----===//
//
// PyTorch writes an MoE layer as a loop over experts (HF Mixtral's
// block_sparse_moe, most tutorials):
//
//   p = softmax(x @ Wr); w, idx = topk(p, k); [w = w / w.sum(-1, keepdim)]
//   out = zeros_like(x)
//   for e in range(E):
//       tok, slot = torch.where(idx == e)
//       out = out.index_add(0, tok, expert_e(x[tok]) * w[tok, slot, None])
//
// and torch.onnx.export unrolls it into, per expert, Equal -> NonZero ->
// Transpose -> Split -> Squeeze (tok, slot), Gather of x's rows, the expert's
// MatMuls, the weight picked as Gather(Flatten(Unsqueeze(w)), tok * k + slot),
// and ScatterElements into zeros added to the running sum. Op by op that is
// correct but slow (every expert's scatter covers the whole output). This
// recognizes the whole pattern before translation and has the final sum
// built as one dyn.moe on x instead, with the experts' weights stacked into
// the weights file; the op-by-op IR of the loop is then unused and
// canonicalization removes it.
//
// The dense formulation is recognized too: every expert on every token,
// weighted by the top-k weights scattered into [tokens, experts], summed
// (onto a base term such as a gated shared expert, which stays as it is).
//
// Recognized: a MatMul router (optionally with a bias) under a Softmax on
// the last axis, TopK (largest, last axis, constant k), the weights as TopK
// gives them or divided by their sum; every expert 0..E-1 exactly once;
// experts either SwiGLU (w2(silu(w1 x) * w3 x), Mixtral) or w2(act(w1 x +
// b1)) + b2 with act ReLU or SiLU, all experts alike. Anything else -- a
// missing expert, a contribution not weighted by its own routing weight,
// rows gathered from another tensor than the router's input -- is left as
// it is and compiles op by op.
//
//===----------------------------------------------------------------------===//

#include "OnnxMoeMatcher.h"

#include <algorithm>
#include <cstring>
#include <set>

using namespace mlir;

namespace dync::import {

std::optional<int64_t> MoeMatcher::intConst(const std::string &name) const {
  auto it = im.knownValues().find(name);
  if (it == im.knownValues().end() || !it->second.ints || it->second.ints->size() != 1 ||
      !it->second.ints->front().isStatic())
    return std::nullopt;
  return it->second.ints->front().size;
}

std::optional<int64_t> MoeMatcher::singleAxis(const onnx::NodeProto *node) const {
  if (!node)
    return std::nullopt;
  if (auto axes = im.intsAttr(*node, "axes"))
    return axes->size() == 1 ? std::optional<int64_t>(axes->front()) : std::nullopt;
  return node->input_size() > 1 ? intConst(inputOf(*node, 1)) : std::nullopt;
}

bool MoeMatcher::oneHotOf(const onnx::NodeProto &onehot, int64_t depth, bool countable) const {
  auto values = im.knownValues().find(inputOf(onehot, 2));
  if (intConst(inputOf(onehot, 1)) != depth || im.intAttr(onehot, "axis", -1) != -1 ||
      values == im.knownValues().end() || !values->second.ints || values->second.ints->size() != 2)
    return false;
  const Dim &off = (*values->second.ints)[0], &on = (*values->second.ints)[1];
  return off.isStatic() && off.size == 0 && on.isStatic() && (countable ? on.size == 1 : on.size != 0);
}

bool MoeMatcher::isZeros(const std::string &value) const {
  const onnx::NodeProto *c = p.def(value, "ConstantOfShape");
  if (!c)
    return false;
  if (const onnx::AttributeProto *v = im.attr(*c, "value")) {
    const onnx::TensorProto &t = v->t();
    if (t.data_type() != onnx::TensorProto::FLOAT)
      return false;
    float f = t.float_data_size() ? t.float_data(0) : 0.f;
    if (t.has_raw_data() && t.raw_data().size() >= 4)
      std::memcpy(&f, t.raw_data().data(), 4);
    if (f != 0.f)
      return false;
  }
  return true;
}

std::string MoeMatcher::bias(const std::string &name, int64_t size) const {
  const FloatConst *c = im.floatConstNamed(name);
  return c && c->shape.size() == 1 && c->shape[0] == size ? im.canonical(name) : std::string();
}

bool MoeMatcher::dense(const std::string &value, std::string &in, std::string &w,
                       std::string &b) {
  b.clear();
  if (const onnx::NodeProto *gemm = p.def(value, "Gemm")) {
    if (gemm->input_size() < 2 || im.intAttr(*gemm, "transA", 0) != 0 ||
        im.floatAttr(*gemm, "alpha", 1.f) != 1.f || im.floatAttr(*gemm, "beta", 1.f) != 1.f)
      return false;
    bool transB = im.intAttr(*gemm, "transB", 0) != 0;
    w = transB ? (im.floatConstNamed(inputOf(*gemm, 1)) ? im.canonical(inputOf(*gemm, 1)) : "")
               : weight(inputOf(*gemm, 1));
    if (w.empty() || im.floatConstNamed(w)->shape.size() != 2)
      return false;
    in = inputOf(*gemm, 0);
    if (gemm->input_size() > 2 && !inputOf(*gemm, 2).empty() &&
        (b = bias(inputOf(*gemm, 2), im.floatConstNamed(w)->shape[0])).empty())
      return false;
    return true;
  }
  std::string mm = value;
  if (const onnx::NodeProto *add = p.def(value, "Add")) {
    for (int i = 0; i < 2; ++i)
      if (p.def(inputOf(*add, i), "MatMul")) {
        mm = inputOf(*add, i);
        b = inputOf(*add, 1 - i);
      }
    if (b.empty())
      return false;
  }
  const onnx::NodeProto *m = p.def(mm, "MatMul");
  if (!m)
    return false;
  w = weight(inputOf(*m, 1));
  if (w.empty())
    return false;
  in = inputOf(*m, 0);
  if (!b.empty() && (b = bias(b, im.floatConstNamed(w)->shape[0])).empty())
    return false;
  return true;
}

bool MoeMatcher::activation(const std::string &value, std::string &v, std::string &act) {
  if (const onnx::NodeProto *r = p.def(value, "Relu")) {
    v = inputOf(*r, 0);
    act = "relu";
    return true;
  }
  if (const onnx::NodeProto *m = p.def(value, "Mul"))
    for (int i = 0; i < 2; ++i)
      if (const onnx::NodeProto *s = p.def(inputOf(*m, 1 - i), "Sigmoid"))
        if (inputOf(*s, 0) == inputOf(*m, i)) {
          v = inputOf(*m, i);
          act = "silu";
          return true;
        }
  return false;
}

bool MoeMatcher::expertMlp(const std::string &value, const std::string &g, MoeExpert &e) {
  // w2(hidden) [+ b2]
  std::string hidden;
  if (!dense(value, hidden, e.w2, e.b2))
    return false;
  // SwiGLU: silu(g W1) * (g W3), no biases.
  if (const onnx::NodeProto *m = p.def(hidden, "Mul"); m && e.b2.empty()) {
    for (int i = 0; i < 2; ++i) {
      std::string v, act, b1, b3;
      if (activation(inputOf(*m, i), v, act) && act == "silu" && linear(v, g, e.w1, b1) &&
          b1.empty() && linear(inputOf(*m, 1 - i), g, e.w3, b3) && b3.empty()) {
        e.act = "silu";
        return true;
      }
    }
  }
  std::string v;
  if (!activation(hidden, v, e.act))
    return false;
  e.w3.clear();
  return linear(v, g, e.w1, e.b1);
}

bool MoeMatcher::tokensOf(const std::string &tok, const std::string &slot, int64_t &expert) {
  const onnx::NodeProto *st = p.def(tok, "Squeeze");
  const onnx::NodeProto *ss = p.def(slot, "Squeeze");
  if (!st || !ss)
    return false;
  const onnx::NodeProto *split = nullptr;
  int tokAt = 0;
  for (; tokAt < 2 && !split; ++tokAt)
    split = p.def(inputOf(*st, 0), "Split", tokAt);
  --tokAt;
  if (!split || split->output_size() != 2 || split->output(1 - tokAt) != inputOf(*ss, 0) ||
      im.intAttr(*split, "axis", 0) != 1)
    return false;
  const onnx::NodeProto *tr = p.def(inputOf(*split, 0), "Transpose");
  if (!tr)
    return false;
  auto perm = im.intsAttr(*tr, "perm");
  if (!perm || *perm != SmallVector<int64_t>{1, 0})
    return false;
  const onnx::NodeProto *nz = p.def(inputOf(*tr, 0), "NonZero");
  if (!nz)
    return false;
  // The mask's coordinates are (token, slot): torch.where(idx == e).
  std::string mask = p.strip(inputOf(*nz, 0), {"Cast"}); // of 0/1 values
  if (const onnx::NodeProto *eq = p.def(mask, "Equal"); eq && tokAt == 0) {
    for (int i = 0; i < 2; ++i)
      if (inputOf(*eq, i) == topkIndices)
        if (auto e = intConst(inputOf(*eq, 1 - i))) {
          expert = *e;
          return true;
        }
    return false;
  }
  // Or (slot, token), HF Mixtral's torch.where(expert_mask[e]) with
  // expert_mask = one_hot(idx, E).permute(2, 1, 0): Gather(Transpose(
  // OneHot(idx, E, [0, 1]), [2, 1, 0]), e, axis 0).
  const onnx::NodeProto *pick = p.def(mask, "Gather");
  const onnx::NodeProto *perm3 = pick ? p.def(inputOf(*pick, 0), "Transpose") : nullptr;
  const onnx::NodeProto *onehot = perm3 ? p.def(inputOf(*perm3, 0), "OneHot") : nullptr;
  std::optional<int64_t> e = pick ? intConst(inputOf(*pick, 1)) : std::nullopt;
  if (tokAt != 1 || !onehot || !e || im.intAttr(*pick, "axis", 0) != 0 ||
      im.intsAttr(*perm3, "perm") != SmallVector<int64_t>{2, 1, 0} ||
      inputOf(*onehot, 0) != topkIndices || !oneHotOf(*onehot, moe.numExperts, false))
    return false;
  expert = *e;
  return true;
}

bool MoeMatcher::weightOf(const std::string &value, const std::string &tok,
                          const std::string &slot) {
  const onnx::NodeProto *ga = p.def(p.strip(value, {"Reshape"}), "Gather");
  if (!ga || im.intAttr(*ga, "axis", 0) != 0)
    return false;
  const onnx::NodeProto *fl = p.def(inputOf(*ga, 0), "Flatten");
  const onnx::NodeProto *un = fl ? p.def(inputOf(*fl, 0), "Unsqueeze") : nullptr;
  if (!fl || im.intAttr(*fl, "axis", 1) != 2 || !un || inputOf(*un, 0) != moe.weightsValue)
    return false;
  // The index: slot + tok * k.
  const onnx::NodeProto *sum = p.def(inputOf(*ga, 1), "Add");
  if (!sum)
    return false;
  for (int i = 0; i < 2; ++i) {
    if (inputOf(*sum, i) != slot)
      continue;
    const onnx::NodeProto *mul = p.def(inputOf(*sum, 1 - i), "Mul");
    if (!mul)
      return false;
    for (int j = 0; j < 2; ++j) {
      if (inputOf(*mul, j) != tok)
        continue;
      const std::string &k = inputOf(*mul, 1 - j);
      if (auto c = intConst(k))
        return *c == moe.topK;
      // k read from the shape: Gather(Shape(unsqueezed weights), 1).
      const onnx::NodeProto *dim = p.def(k, "Gather");
      const onnx::NodeProto *shape = dim ? p.def(inputOf(*dim, 0), "Shape") : nullptr;
      return shape && (inputOf(*shape, 0) == un->output(0) || inputOf(*shape, 0) == inputOf(*un, 0)) &&
             intConst(inputOf(*dim, 1)) == 1 && !im.attr(*shape, "start");
    }
  }
  return false;
}

bool MoeMatcher::router(const std::string &weights) {
  // (HF casts the probabilities and the weights to the model's float type.)
  std::string wn = uncastFloat(weights);
  std::string values = wn;
  moe.normalize = false;
  if (const onnx::NodeProto *div = p.def(wn, "Div")) {
    const onnx::NodeProto *rs = p.def(inputOf(*div, 1), "ReduceSum");
    if (!rs || inputOf(*rs, 0) != inputOf(*div, 0) || im.intAttr(*rs, "keepdims", 1) != 1)
      return false;
    std::optional<int64_t> axis = singleAxis(rs);
    if (!axis || (*axis != -1 && *axis != 1))
      return false;
    values = inputOf(*div, 0);
    moe.normalize = true;
  }
  const onnx::NodeProto *topk = p.def(values, "TopK", 0);
  if (!topk || topk->output_size() != 2 || im.intAttr(*topk, "largest", 1) != 1)
    return false;
  int64_t axis = im.intAttr(*topk, "axis", -1);
  auto k = intConst(inputOf(*topk, 1));
  const onnx::NodeProto *sm = p.def(uncastFloat(inputOf(*topk, 0)), "Softmax");
  if (!k || !sm || (axis != -1 && axis != 1))
    return false;
  int64_t smAxis = im.intAttr(*sm, "axis", -1);
  if (smAxis != -1 && smAxis != 1)
    return false;
  std::string routerBias;
  if (!dense(inputOf(*sm, 0), xf, moe.router, routerBias))
    return false;
  nameAfter(inputOf(*sm, 0));
  moe.numExperts = im.floatConstNamed(moe.router)->shape[0];
  moe.routerBias = routerBias;
  if (*k < 1 || *k > moe.numExperts)
    return false;
  moe.topK = *k;
  topkIndices = topk->output(1);
  moe.x = xf;
  return true;
}

bool MoeMatcher::scatterChain(const onnx::NodeProto &last,
                              std::vector<const onnx::NodeProto *> &scatters,
                              std::string &start) const {
  // The running sum, from the last Add back to the zeros it starts from:
  // each step adds ScatterElements(zeros, rows, contribution, axis 0).
  const onnx::NodeProto *add = &last;
  while (add) {
    const onnx::NodeProto *sc = nullptr;
    std::string acc;
    for (int i = 0; i < 2 && !sc; ++i)
      if ((sc = p.def(inputOf(*add, i), "ScatterElements")))
        acc = inputOf(*add, 1 - i);
    if (!sc || sc->input_size() != 3 || im.intAttr(*sc, "axis", 0) != 0 ||
        im.attr(*sc, "reduction") || !isZeros(inputOf(*sc, 0)))
      return false;
    scatters.push_back(sc);
    add = p.def(acc, "Add");
    start = acc;
  }
  return isZeros(start) && scatters.size() >= 2;
}

std::string MoeMatcher::uncast(std::string value, std::initializer_list<int> types) const {
  while (const onnx::NodeProto *cast = p.def(value, "Cast")) {
    int64_t to = im.intAttr(*cast, "to", 0);
    if (std::find(types.begin(), types.end(), int(to)) == types.end())
      break;
    value = inputOf(*cast, 0);
  }
  return value;
}

std::string MoeMatcher::rowsOf(const std::string &tok) const {
  for (const auto &[value, def] : p.producer) {
    const onnx::NodeProto &g = *def.first;
    if (g.op_type() != "Gather" || g.input_size() != 2 || inputOf(g, 1) != tok)
      continue;
    if (inputOf(g, 0) == xf && im.intAttr(g, "axis", 0) == 0)
      return value;
    // x[None, tok]: Gather(Unsqueeze(x, 0), tok, axis 1) [1, n, d], then
    // reshaped to rank 2 ([-1, d]: the experts' MatMuls fix d, so n rows).
    const onnx::NodeProto *un = p.def(inputOf(g, 0), "Unsqueeze");
    if (!un || inputOf(*un, 0) != xf || singleAxis(un) != 0 || im.intAttr(g, "axis", 0) != 1)
      continue;
    for (const auto &[out, user] : p.producer) {
      if (user.first->op_type() != "Reshape" || inputOf(*user.first, 0) != value)
        continue;
      const std::string &shape = inputOf(*user.first, 1);
      auto known = im.knownValues().find(shape);
      const onnx::NodeProto *cat = p.def(shape, "Concat");
      if ((known != im.knownValues().end() && known->second.ints && known->second.ints->size() == 2) ||
          (cat && cat->input_size() == 2 && intConst(inputOf(*cat, 0)) == -1))
        return out;
    }
  }
  return "";
}

bool MoeMatcher::zerosLikeX(const std::string &start) const {
  // The sum starts from zeros of x's shape (torch.zeros_like(x)).
  const onnx::NodeProto *zeros = p.def(start, "ConstantOfShape");
  const onnx::NodeProto *shape = zeros ? p.def(inputOf(*zeros, 0), "Shape") : nullptr;
  return shape && inputOf(*shape, 0) == xf && !im.attr(*shape, "start") && !im.attr(*shape, "end");
}

std::optional<OnnxImporter::RaisedMoe> MoeMatcher::match(const onnx::NodeProto &last) {
  std::vector<const onnx::NodeProto *> scatters;
  std::string start;
  if (!scatterChain(last, scatters, start))
    return std::nullopt;

  // The router, from the first contribution's routing weight.
  struct Step {
    std::string tok, slot, contribution;
  };
  std::vector<Step> steps;
  for (const onnx::NodeProto *sc : scatters) {
    Step s;
    s.tok = p.strip(inputOf(*sc, 1), {"Expand", "Unsqueeze"});
    s.contribution = uncastFloat(p.strip(inputOf(*sc, 2), {"Expand"}));
    const onnx::NodeProto *sq = p.def(s.tok, "Squeeze");
    const onnx::NodeProto *split = nullptr;
    int tokAt = 0;
    for (; sq && tokAt < 2 && !split; ++tokAt)
      split = p.def(inputOf(*sq, 0), "Split", tokAt);
    --tokAt;
    if (!split || split->output_size() != 2)
      return std::nullopt;
    // The slot is the Squeeze of the Split's other output.
    for (const auto &[value, def] : p.producer)
      if (def.first->op_type() == "Squeeze" && inputOf(*def.first, 0) == split->output(1 - tokAt))
        s.slot = value;
    if (s.slot.empty())
      return std::nullopt;
    steps.push_back(s);
  }
  std::set<int64_t> seen;
  bool routed = false;
  for (const Step &s : steps) {
    const onnx::NodeProto *mul = p.def(s.contribution, "Mul");
    if (!mul)
      return std::nullopt;
    bool matched = false;
    for (int i = 0; i < 2 && !matched; ++i) {
      const std::string &mlp = inputOf(*mul, i), &w = inputOf(*mul, 1 - i);
      // The routing weights (TopK's values, maybe normalized) are what the
      // weight gather reads; find the router from them once.
      if (!routed) {
        const onnx::NodeProto *ga = p.def(p.strip(w, {"Reshape"}), "Gather");
        const onnx::NodeProto *fl = ga ? p.def(inputOf(*ga, 0), "Flatten") : nullptr;
        const onnx::NodeProto *un = fl ? p.def(inputOf(*fl, 0), "Unsqueeze") : nullptr;
        if (!un || !router(inputOf(*un, 0)))
          continue;
        moe.weightsValue = inputOf(*un, 0);
        routed = true;
      }
      int64_t expert;
      if (!weightOf(w, s.tok, s.slot) || !tokensOf(s.tok, s.slot, expert))
        continue;
      MoeExpert e;
      std::string rows = rowsOf(s.tok);
      if (rows.empty() || !expertMlp(mlp, rows, e))
        continue;
      if (expert < 0 || expert >= moe.numExperts || !seen.insert(expert).second)
        return std::nullopt;
      if (moe.experts.empty())
        moe.experts.assign(size_t(moe.numExperts), MoeExpert{});
      moe.experts[size_t(expert)] = e;
      matched = true;
    }
    if (!matched)
      return std::nullopt;
  }
  if (int64_t(seen.size()) != moe.numExperts)
    return std::nullopt;
  // zeros_like(x), or zeros of a computed shape (HF: zeros((B * S, d))),
  // checked against x's when the node is translated.
  if (!zerosLikeX(start)) {
    const onnx::NodeProto *zeros = p.def(start, "ConstantOfShape");
    if (!zeros)
      return std::nullopt;
    moe.zerosShape = inputOf(*zeros, 0);
  }
  if (!alike())
    return std::nullopt;
  return moe;
}

bool MoeMatcher::alike() {
  // All experts alike: the same activation, gating, biases and shapes.
  const MoeExpert &e0 = moe.experts.front();
  for (const MoeExpert &e : moe.experts)
    if (e.act != e0.act || e.w3.empty() != e0.w3.empty() || e.b1.empty() != e0.b1.empty() ||
        e.b2.empty() != e0.b2.empty() ||
        im.floatConstNamed(e.w1)->shape != im.floatConstNamed(e0.w1)->shape ||
        im.floatConstNamed(e.w2)->shape != im.floatConstNamed(e0.w2)->shape)
      return false;
  moe.gated = !e0.w3.empty();
  moe.activation = e0.act;
  return true;
}

std::optional<OnnxImporter::RaisedMoe> MoeMatcher::matchDense(const onnx::NodeProto &last) {
  // out = base + sum over e of dense[:, e:e+1] * expert_e(x), one Add each.
  std::string scattered;
  std::set<int64_t> seen;
  const onnx::NodeProto *add = &last;
  std::string base;
  while (add) {
    bool stepped = false;
    for (int i = 0; i < 2 && !stepped; ++i) {
      const onnx::NodeProto *mul = p.def(inputOf(*add, i), "Mul");
      if (!mul)
        continue;
      for (int j = 0; j < 2 && !stepped; ++j) {
        const onnx::NodeProto *sl = p.def(inputOf(*mul, j), "Slice");
        if (!sl || sl->input_size() < 4 || (sl->input_size() > 4 && intConst(inputOf(*sl, 4)) != 1))
          continue;
        auto st = intConst(inputOf(*sl, 1)), en = intConst(inputOf(*sl, 2)), ax = intConst(inputOf(*sl, 3));
        if (!st || !en || *en != *st + 1 || !ax || (*ax != 1 && *ax != -1))
          continue;
        const onnx::NodeProto *sc = p.def(inputOf(*sl, 0), "ScatterElements");
        if (!sc || sc->input_size() != 3 || (im.intAttr(*sc, "axis", 0) != 1 &&
                                             im.intAttr(*sc, "axis", 0) != -1) ||
            im.attr(*sc, "reduction") || !isZeros(inputOf(*sc, 0)))
          continue;
        if (scattered.empty()) {
          if (!router(inputOf(*sc, 2)) || inputOf(*sc, 1) != topkIndices)
            return std::nullopt;
          scattered = sc->output(0);
        }
        if (sc->output(0) != scattered)
          return std::nullopt;
        MoeExpert e;
        if (!expertMlp(inputOf(*mul, 1 - j), xf, e))
          return std::nullopt;
        if (*st < 0 || *st >= moe.numExperts || !seen.insert(*st).second)
          return std::nullopt;
        if (moe.experts.empty())
          moe.experts.assign(size_t(moe.numExperts), MoeExpert{});
        moe.experts[size_t(*st)] = e;
        base = inputOf(*add, 1 - i);
        stepped = true;
      }
    }
    if (!stepped)
      return std::nullopt;
    if (int64_t(seen.size()) == moe.numExperts)
      break;
    add = p.def(base, "Add");
  }
  if (int64_t(seen.size()) != moe.numExperts)
    return std::nullopt;
  // (The scattered matrix's zeros may be spelled zeros_like(p) or
  // zeros(T, E); a valid scatter of top-k indices fills the same entries.)
  if (!alike())
    return std::nullopt;
  if (!isZeros(base))
    moe.base = base;
  return moe;
}

LogicalResult OnnxImporter::raiseMoes(const onnx::GraphProto &graph) {
  Producers p(graph);
  for (const onnx::NodeProto &node : graph.node()) {
    if (node.domain() == "com.microsoft" && node.op_type() == "MoE" && node.output_size() > 0) {
      RaisedMoe moe;
      if (std::string why = prepareContribMoe(node, moe); why.empty())
        raisedMoes[node.output(0)] = std::move(moe);
      else
        contribMoeErrors[node.output(0)] = why;
      continue;
    }
    // Tried at every Add: a step before the last covers fewer than all the
    // experts and does not match.
    if (node.op_type() != "Add" || node.output_size() != 1)
      continue;
    std::optional<RaisedMoe> moe = MoeMatcher(*this, p).match(node);
    if (!moe)
      moe = MoeMatcher(*this, p).matchDense(node);
    if (!moe)
      moe = MoeMatcher(*this, p).matchSwitch(node);
    if (!moe)
      continue;
    // The experts' weights, stacked as dyn.moe takes them.
    std::string prefix = node.output(0) + ".moe.";
    auto stack = [&](const std::string &slot, auto member) {
      std::vector<int64_t> shape;
      std::vector<float> data;
      for (const MoeExpert &e : moe->experts) {
        const FloatConst &c = floatConsts.at(e.*member);
        shape = c.shape;
        data.insert(data.end(), c.data.begin(), c.data.end());
      }
      shape.insert(shape.begin(), int64_t(moe->experts.size()));
      floatConsts[prefix + slot] = FloatConst{shape, std::move(data)};
      moe->weights[slot] = prefix + slot;
    };
    stack("w1", &MoeExpert::w1);
    stack("w2", &MoeExpert::w2);
    if (moe->gated)
      stack("w3", &MoeExpert::w3);
    if (!moe->experts.front().b1.empty())
      stack("b1", &MoeExpert::b1);
    if (!moe->experts.front().b2.empty())
      stack("b2", &MoeExpert::b2);
    moe->weights["router"] = moe->router;
    if (!moe->routerBias.empty())
      moe->weights["router_bias"] = moe->routerBias;
    raisedMoes[node.output(0)] = std::move(*moe);
  }
  return success();
}

bool OnnxImporter::zerosFitRaisedMoe(const RaisedMoe &moe) const {
  if (moe.zerosShape.empty())
    return true;
  auto shape = values.find(moe.zerosShape);
  auto x = values.find(moe.x);
  if (shape == values.end() || !shape->second.ints || x == values.end() || !x->second.tensor)
    return false;
  const SmallVector<Dim> &dims = *shape->second.ints;
  const Shape &xs = x->second.tensor->shape;
  if (dims.size() != xs.size())
    return false;
  for (size_t i = 0; i < dims.size(); ++i)
    if (!(dims[i] == xs[i]))
      return false;
  return true;
}

LogicalResult OnnxImporter::translateRaisedMoe(OnnxNodeView &n, const onnx::NodeProto &node,
                                               const RaisedMoe &moe, ImplicitLocOpBuilder &b) {
  // Diagnostics and statistics name the MoE after its module; the location
  // keeps the node's place in the graph.
  if (auto named = dyn_cast<NameLoc>(n.loc))
    n.loc = NameLoc::get(StringAttr::get(b.getContext(), moe.name), named.getChildLoc());
  b.setLoc(n.loc);
  FailureOr<TValue> x = tensorInputNamed(n, moe.x, b);
  if (failed(x))
    return failure();
  n.op = "moe";
  n.name = moe.name;
  n.attrs["num_experts"] = moe.numExperts;
  n.attrs["top_k"] = moe.topK;
  n.attrs["normalize"] = moe.normalize;
  n.attrs["activation"] = moe.activation;
  n.attrs["gated"] = moe.gated;
  if (moe.capacity > 0)
    n.attrs["capacity"] = moe.capacity;
  n.weights = moe.weights;
  n.inputs = {*x};
  if (failed(emit(n, node, b)))
    return failure();
  if (moe.base.empty())
    return success();
  // The dense formulation's base (a shared expert's term) plus the experts.
  FailureOr<TValue> base = tensorInputNamed(n, moe.base, b);
  if (failed(base))
    return failure();
  OnnxNodeView sum = n.part("add");
  sum.inputs = {*base, *values[node.output(0)].tensor};
  return emit(sum, node, b);
}

} // namespace dync::import
