//===- OnnxContribMoe.cpp - ONNX Runtime's com.microsoft.MoE as dyn.moe ---===//
//
// ONNX Runtime's model builders write Mixtral-like models with its contrib
// op com.microsoft.MoE: inputs x [T, d] (or [B, S, d]), router_probs [T, E]
// (the router's logits), fc1_experts_weights, fc1_experts_bias,
// fc2_experts_weights, fc2_experts_bias, fc3_experts_weights (gated);
// attributes k, activation_type, normalize_routing_weights. Its semantics,
// as ONNX Runtime 1.32's CPU kernel computes them (checked by
// test/ONNX/contrib-moe.test against it): softmax over all E logits, the top
// k, renormalized if normalize_routing_weights; expert e computes
// fc2(act(fc1 x + b1)) + b2. That is dyn.moe when the logits are x times a
// constant router matrix, which is how the builders write them. Gated experts
// (fc3) are refused for now: the CPU kernel does not implement them, so there
// is nothing here to check them against.
//
// Weights: fc1 is [E, inter, hidden] and fc2 [E, hidden, inter], as ONNX
// Runtime 1.32 reads them (and dync's moe takes them). activation_type gelu
// is refused: that kernel computes GELU's tanh approximation.
//
//===----------------------------------------------------------------------===//

#include "OnnxImporter.h"

using namespace mlir;

namespace dync::import {

std::string OnnxImporter::prepareContribMoe(const onnx::NodeProto &node, RaisedMoe &moe) {
  const int64_t k = intAttr(node, "k", 1);
  std::string act = "relu";
  if (const onnx::AttributeProto *a = attr(node, "activation_type"))
    act = a->s();
  if (act == "gelu")
    return "activation_type 'gelu' is not supported: ONNX Runtime's MoE computes GELU's tanh "
           "approximation, dync's moe the exact GELU";
  if (act != "relu" && act != "silu")
    return "activation_type '" + act + "' is not supported (relu, silu)";
  if (intAttr(node, "use_sparse_mixer", 0) != 0)
    return "use_sparse_mixer is not supported";
  if (intAttr(node, "swiglu_fusion", 0) != 0)
    return "swiglu_fusion (interleaved SwiGLU experts) is not supported";
  if (!inputOf(node, 6).empty() || !inputOf(node, 7).empty())
    return "fc3_experts_weights (gated experts) is not supported yet: ONNX Runtime's CPU kernel, "
           "the reference dync checks this op against, does not implement it";
  const FloatConst *fc1 = floatConstNamed(inputOf(node, 2));
  const FloatConst *fc2 = floatConstNamed(inputOf(node, 4));
  if (!fc1 || !fc2 || fc1->shape.size() != 3 || fc2->shape.size() != 3)
    return "fc1_experts_weights and fc2_experts_weights must be constant [E, ., .] tensors";
  // The router: router_probs = x · W (+ b) with a constant W [d, E].
  const onnx::NodeProto *mm = nullptr;
  std::string logits = inputOf(node, 1), routerBias;
  for (const onnx::NodeProto &n : model.graph().node()) {
    if (n.output_size() < 1 || n.output(0) != logits)
      continue;
    if (n.op_type() == "Add")
      for (const onnx::NodeProto &m : model.graph().node())
        for (int i = 0; i < 2; ++i)
          if (m.op_type() == "MatMul" && m.output_size() == 1 && m.output(0) == inputOf(n, i) &&
              floatConstNamed(inputOf(n, 1 - i))) {
            mm = &m;
            routerBias = canonical(inputOf(n, 1 - i));
          }
    if (n.op_type() == "MatMul")
      mm = &n;
  }
  // The router matrix, transposed to [E, d] (readConstants made that copy
  // unless the matrix is small enough to be inlined).
  const FloatConst *wr = mm ? floatConstNamed(inputOf(*mm, 1)) : nullptr;
  moe.router = mm ? transposedWeight(inputOf(*mm, 1)) : "";
  if (!mm || inputOf(*mm, 0) != inputOf(node, 0) ||
      (moe.router.empty() && (!wr || wr->shape.size() != 2)))
    return "router_probs must be the MoE's input times a constant matrix (a MatMul, maybe plus "
           "a bias), so that dync can route inside dyn.moe";
  if (moe.router.empty()) {
    // A router small enough to be inlined has no transposed copy yet.
    int64_t r = wr->shape[0], c = wr->shape[1];
    FloatConst t{{c, r}, std::vector<float>(wr->data.size())};
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j)
        t.data[j * r + i] = wr->data[i * c + j];
    moe.router = canonical(inputOf(*mm, 1)) + ".T";
    floatConsts[moe.router] = std::move(t);
  }
  moe.numExperts = floatConsts.at(moe.router).shape[0];
  int64_t e = moe.numExperts, d = floatConsts.at(moe.router).shape[1];
  if (!routerBias.empty()) {
    const FloatConst &b = floatConsts.at(routerBias);
    if (b.shape != std::vector<int64_t>{e})
      return "the router's bias must be [E]";
    moe.routerBias = routerBias;
  }
  if (k < 1 || k > e)
    return "k = " + std::to_string(k) + " must be between 1 and the " + std::to_string(e) +
           " experts";
  // fc1 [E, inter, hidden], fc2 [E, hidden, inter]: ONNX Runtime's layout,
  // and dync's.
  auto expertWeights = [&](const std::string &name, bool inToHidden,
                           std::string &out) -> std::string {
    const FloatConst &c = floatConsts.at(canonical(name));
    bool fits = c.shape.size() == 3 && c.shape[0] == e && (inToHidden ? c.shape[2] : c.shape[1]) == d;
    if (!fits)
      return "'" + name + "' must be [E, " + (inToHidden ? "inter, " + std::to_string(d)
                                                         : std::to_string(d) + ", inter") +
             "] for E = " + std::to_string(e) + " experts of hidden size " + std::to_string(d);
    out = canonical(name);
    return "";
  };
  std::string w1, w2;
  if (std::string err = expertWeights(inputOf(node, 2), true, w1); !err.empty())
    return err;
  if (std::string err = expertWeights(inputOf(node, 4), false, w2); !err.empty())
    return err;
  int64_t inter = floatConsts.at(w1).shape[1];
  if (floatConsts.at(w2).shape != std::vector<int64_t>{e, d, inter})
    return "fc1_experts_weights and fc2_experts_weights disagree on the inner size";
  moe.weights["w1"] = w1;
  moe.weights["w2"] = w2;
  auto bias = [&](int i, const char *slot, std::vector<int64_t> shape) -> std::string {
    if (inputOf(node, i).empty())
      return "";
    const FloatConst *b = floatConstNamed(inputOf(node, i));
    if (!b || b->shape != shape)
      return std::string(slot == std::string("b1") ? "fc1" : "fc2") +
             "_experts_bias must be a constant of shape [E, " +
             std::to_string(shape[1]) + "]";
    moe.weights[slot] = canonical(inputOf(node, i));
    return "";
  };
  if (std::string err = bias(3, "b1", {e, inter}); !err.empty())
    return err;
  if (std::string err = bias(5, "b2", {e, d}); !err.empty())
    return err;
  moe.weights["router"] = moe.router;
  if (!moe.routerBias.empty())
    moe.weights["router_bias"] = moe.routerBias;
  moe.x = inputOf(node, 0);
  moe.topK = k;
  moe.normalize = intAttr(node, "normalize_routing_weights", 0) != 0;
  moe.activation = act;
  moe.name = node.name().empty() ? "moe" : node.name();
  return "";
}

LogicalResult OnnxImporter::translateContribMoe(OnnxNodeView &n, const onnx::NodeProto &node,
                                                ImplicitLocOpBuilder &) {
  // Reached only when prepareContribMoe could not map the node, which
  // recorded why.
  return failNode(n, contribMoeErrors[node.output(0)]);
}

} // namespace dync::import
