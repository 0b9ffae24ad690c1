//===- OnnxRaiseSwitch.cpp - Switch top-1 routing with a capacity ---------===//
//
// Switch Transformer routes each token to its single best expert and lets
// an expert take at most `capacity` tokens, in token order; the tokens past
// it are dropped. PyTorch writes the queue position as a cumulative sum of
// the one-hot routing:
//
//   p = softmax(x @ Wr); pmax, e = p.max(-1)
//   onehot = (e[:, None] == arange(E)[None, :]).float()     # or F.one_hot
//   place = cumsum(onehot, 0) * onehot
//   kept = (place > 0) & (place <= capacity)       # or onehot * (cumsum <= capacity)
//   for i, expert in enumerate(experts):
//       tok = nonzero(kept[:, i]).squeeze(-1)
//       out = out.index_add(0, tok, expert(x[tok]) * pmax[tok, None])
//
// which is dyn.moe with top_k = 1 and a fixed capacity: kept[t, e] holds
// exactly when t is routed to e and at most `capacity` tokens before it
// (itself included) are, which is dyn.moe's grant in token order. The
// weight is the top-1 probability (normalize = false); a contribution not
// multiplied by it is normalize = true (the one weight, renormalized, is 1).
// The running sum of scatters, the rows gathered from x and the experts'
// MLPs are the loop form's (OnnxRaiseMoe.cpp). Anything else -- a per-
// sequence cumulative sum, a test against the cumulative sum alone, a
// capacity below one -- is left as it is and compiles op by op.
//
//===----------------------------------------------------------------------===//

#include "OnnxMoeMatcher.h"

#include <cmath>
#include <set>

using namespace mlir;

namespace dync::import {

namespace {
/// Whether `axis` (an attribute value or constant) names the last axis of a
/// 2-D tensor.
bool lastOf2d(std::optional<int64_t> axis) { return axis && (*axis == 1 || *axis == -1); }
} // namespace

void MoeMatcher::nameAfter(const std::string &logits) {
  // Named after the module holding the router: "/layers.0/moe/gate/MatMul"
  // gives "/layers.0/moe" (its statistics are "/layers.0/moe.expert_tokens[e]").
  if (auto it = p.producer.find(logits); it != p.producer.end()) {
    StringRef scope = StringRef(it->second.first->name()).rsplit('/').first.rsplit('/').first;
    moe.name = scope.empty() ? "moe" : scope.str();
  }
}

bool MoeMatcher::oneHotOfArgMax(const std::string &value) {
  std::string oh = p.strip(value, {"Cast"});
  std::string am;
  int64_t width = 0;
  if (const onnx::NodeProto *eq = p.def(oh, "Equal")) {
    // e[:, None] == arange(E)[None, :]
    for (int i = 0; i < 2 && am.empty(); ++i) {
      auto it = im.knownValues().find(inputOf(*eq, 1 - i));
      if (it == im.knownValues().end() || !it->second.ints)
        continue;
      const SmallVector<Dim> &range = *it->second.ints;
      const SmallVector<int64_t> &shape = it->second.intsShape;
      if (!shape.empty() && (shape.size() != 2 || shape[0] != 1))
        continue;
      bool iota = true;
      for (size_t j = 0; j < range.size(); ++j)
        iota &= range[j].isStatic() && range[j].size == int64_t(j);
      const onnx::NodeProto *un = p.def(inputOf(*eq, i), "Unsqueeze");
      if (!iota || !un || !lastOf2d(singleAxis(un)))
        continue;
      am = inputOf(*un, 0);
      width = int64_t(range.size());
    }
  } else if (const onnx::NodeProto *onehot = p.def(oh, "OneHot")) {
    // F.one_hot(e, E): OneHot(e, E, [0, 1]), on the last axis.
    std::optional<int64_t> depth = intConst(inputOf(*onehot, 1));
    if (!depth || !oneHotOf(*onehot, *depth, /*countable=*/true))
      return false;
    am = inputOf(*onehot, 0);
    width = *depth;
  }
  // e = argmax(softmax(router(x)), -1): first index of the largest, as
  // dyn.moe breaks ties.
  const onnx::NodeProto *argmax = p.def(am, "ArgMax");
  if (!argmax || !lastOf2d(im.intAttr(*argmax, "axis", 0)) ||
      im.intAttr(*argmax, "keepdims", 1) != 0 || im.intAttr(*argmax, "select_last_index", 0) != 0)
    return false;
  const onnx::NodeProto *sm = p.def(inputOf(*argmax, 0), "Softmax");
  std::string routerBias;
  if (!sm || !lastOf2d(im.intAttr(*sm, "axis", -1)) ||
      !dense(inputOf(*sm, 0), xf, moe.router, routerBias))
    return false;
  moe.numExperts = im.floatConstNamed(moe.router)->shape[0];
  if (moe.numExperts != width || width < 2)
    return false;
  moe.routerBias = routerBias;
  moe.x = xf;
  probs = sm->output(0);
  nameAfter(inputOf(*sm, 0));
  return true;
}

std::optional<int64_t> MoeMatcher::capacityOf(const std::string &keptValue) {
  std::string kept = p.strip(keptValue, {"Cast"});
  const onnx::NodeProto *both = p.def(kept, "And");
  if (!both)
    both = p.def(kept, "Mul");
  if (!both || both->input_size() != 2)
    return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    // One side limits the queue position: place <= C (or place < C).
    std::string limit = p.strip(inputOf(*both, 1 - i), {"Cast"});
    const onnx::NodeProto *cmp = p.def(limit, "LessOrEqual");
    bool inclusive = cmp != nullptr;
    if (!cmp)
      cmp = p.def(limit, "Less");
    std::optional<double> c = cmp ? im.constantScalar(inputOf(*cmp, 1)) : std::nullopt;
    if (!c)
      continue;
    // The position: cumsum(onehot, 0), or that times the one-hot.
    std::string place = uncastCount(inputOf(*cmp, 0)), masked;
    std::string sum = place;
    if (const onnx::NodeProto *mul = p.def(place, "Mul"))
      for (int j = 0; j < 2; ++j)
        if (const onnx::NodeProto *cs = p.def(inputOf(*mul, j), "CumSum"))
          if (p.strip(inputOf(*cs, 0), {"Cast"}) == p.strip(inputOf(*mul, 1 - j), {"Cast"})) {
            sum = inputOf(*mul, j);
            masked = place;
          }
    // Over the tokens: axis 0 of the one-hot [T, E] (-2 in HF's spelling).
    const onnx::NodeProto *cs = p.def(sum, "CumSum");
    std::optional<int64_t> axis = cs ? intConst(inputOf(*cs, 1)) : std::nullopt;
    if (!cs || !axis || (*axis != 0 && *axis != -2) || im.intAttr(*cs, "exclusive", 0) != 0 ||
        im.intAttr(*cs, "reverse", 0) != 0)
      continue;
    std::string onehot = p.strip(inputOf(*cs, 0), {"Cast"});
    // The other side is the assignment itself: the one-hot, or place > 0
    // (place >= 1) with the position masked by it.
    std::string assigned = p.strip(inputOf(*both, i), {"Cast"});
    bool isAssigned = assigned == onehot;
    if (!isAssigned && !masked.empty()) {
      const onnx::NodeProto *gt = p.def(assigned, "Greater");
      const onnx::NodeProto *ge = p.def(assigned, "GreaterOrEqual");
      const onnx::NodeProto *t = gt ? gt : ge;
      std::optional<double> bound = t ? im.constantScalar(inputOf(*t, 1)) : std::nullopt;
      isAssigned = bound && uncastCount(inputOf(*t, 0)) == masked &&
                   (gt ? *bound >= 0 && *bound < 1 : *bound > 0 && *bound <= 1);
    }
    if (!isAssigned || !oneHotOfArgMax(onehot))
      return std::nullopt;
    // Positions are whole numbers from 1.
    double capacity = inclusive ? std::floor(*c) : std::ceil(*c) - 1;
    if (!(capacity >= 1) || capacity > 1e15)
      return std::nullopt;
    return int64_t(capacity);
  }
  return std::nullopt;
}

std::optional<OnnxImporter::RaisedMoe> MoeMatcher::matchSwitch(const onnx::NodeProto &last) {
  std::vector<const onnx::NodeProto *> scatters;
  std::string start;
  if (!scatterChain(last, scatters, start))
    return std::nullopt;
  std::string kept;
  std::optional<bool> weighted;
  std::set<int64_t> seen;
  for (const onnx::NodeProto *sc : scatters) {
    // tok = nonzero(kept[:, e]).squeeze(-1):
    // Squeeze(Transpose(NonZero(Gather(kept, e, axis 1))), 1).
    std::string tok = p.strip(inputOf(*sc, 1), {"Expand", "Unsqueeze"});
    const onnx::NodeProto *sq = p.def(tok, "Squeeze");
    const onnx::NodeProto *tr = sq ? p.def(inputOf(*sq, 0), "Transpose") : nullptr;
    auto perm = tr ? im.intsAttr(*tr, "perm") : std::nullopt;
    const onnx::NodeProto *nz = tr ? p.def(inputOf(*tr, 0), "NonZero") : nullptr;
    if (!nz || !perm || *perm != SmallVector<int64_t>{1, 0} || !lastOf2d(singleAxis(sq)))
      return std::nullopt;
    const onnx::NodeProto *column = p.def(p.strip(inputOf(*nz, 0), {"Cast"}), "Gather");
    std::optional<int64_t> expert = column ? intConst(inputOf(*column, 1)) : std::nullopt;
    if (!expert || !lastOf2d(im.intAttr(*column, "axis", 0)))
      return std::nullopt;
    if (kept.empty()) {
      std::optional<int64_t> capacity = capacityOf(inputOf(*column, 0));
      if (!capacity)
        return std::nullopt;
      kept = inputOf(*column, 0);
      moe.capacity = *capacity;
    }
    if (inputOf(*column, 0) != kept || *expert < 0 || *expert >= moe.numExperts ||
        !seen.insert(*expert).second)
      return std::nullopt;

    // The expert's input: x's rows at tok.
    std::string rows;
    for (const auto &[value, def] : p.producer)
      if (def.first->op_type() == "Gather" && def.first->input_size() == 2 &&
          inputOf(*def.first, 0) == xf && inputOf(*def.first, 1) == tok &&
          im.intAttr(*def.first, "axis", 0) == 0)
        rows = value;
    if (rows.empty())
      return std::nullopt;
    // expert(x[tok]) * pmax[tok, None], or expert(x[tok]).
    std::string contribution = p.strip(inputOf(*sc, 2), {"Expand"});
    MoeExpert e;
    bool isWeighted = false, matched = false;
    if (const onnx::NodeProto *mul = p.def(contribution, "Mul")) {
      for (int i = 0; i < 2 && !matched; ++i) {
        const onnx::NodeProto *pick =
            p.def(p.strip(inputOf(*mul, 1 - i), {"Unsqueeze", "Reshape"}), "Gather");
        if (!pick || im.intAttr(*pick, "axis", 0) != 0 || inputOf(*pick, 1) != tok)
          continue;
        const onnx::NodeProto *max =
            p.def(p.strip(inputOf(*pick, 0), {"Unsqueeze", "Reshape"}), "ReduceMax");
        if (!max || inputOf(*max, 0) != probs || !lastOf2d(singleAxis(max)))
          continue;
        matched = expertMlp(inputOf(*mul, i), rows, e);
        isWeighted = matched;
      }
    }
    if (!matched)
      matched = expertMlp(contribution, rows, e);
    if (!matched || (weighted && *weighted != isWeighted))
      return std::nullopt;
    weighted = isWeighted;
    if (moe.experts.empty())
      moe.experts.assign(size_t(moe.numExperts), MoeExpert{});
    moe.experts[size_t(*expert)] = e;
  }
  if (int64_t(seen.size()) != moe.numExperts || !zerosLikeX(start) || !alike())
    return std::nullopt;
  moe.topK = 1;
  moe.normalize = !*weighted;
  return moe;
}

} // namespace dync::import
