//===- OnnxMoeMatcher.h - matching exported MoE layers ----------*- C++ -*-===//
//
// The pattern matcher behind the MoE raising: the loop over experts and the
// dense formulation (OnnxRaiseMoe.cpp) and Switch's top-1 routing with a
// capacity (OnnxRaiseSwitch.cpp) share the router, the experts' MLPs and the
// running sum of scatters.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_LIB_IMPORT_ONNX_ONNXMOEMATCHER_H
#define DYNC_LIB_IMPORT_ONNX_ONNXMOEMATCHER_H

#include "OnnxImporter.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dync::import {

/// The nodes of a graph by the values they produce.
class Producers {
public:
  explicit Producers(const onnx::GraphProto &graph) {
    for (const onnx::NodeProto &n : graph.node()) {
      for (int i = 0; i < n.output_size(); ++i)
        if (!n.output(i).empty()) // "" is an omitted optional output
          producer[n.output(i)] = {&n, i};
    }
  }

  /// The node producing `value` if it is an `op` node (and `value` its
  /// output `index`).
  const onnx::NodeProto *def(const std::string &value, StringRef op, int index = 0) const {
    auto it = producer.find(value);
    if (it == producer.end() || it->second.second != index || it->second.first->op_type() != op)
      return nullptr;
    return it->second.first;
  }

  /// `value` with any of `ops` (single-input views: Reshape, Expand...)
  /// stripped from it.
  std::string strip(std::string value, std::initializer_list<StringRef> ops) const {
    for (bool more = true; more;) {
      more = false;
      for (StringRef op : ops)
        if (const onnx::NodeProto *n = def(value, op)) {
          value = inputOf(*n, 0);
          more = true;
        }
    }
    return value;
  }


  std::map<std::string, std::pair<const onnx::NodeProto *, int>> producer;
};

class MoeMatcher {
public:
  MoeMatcher(OnnxImporter &im, const Producers &p) : im(im), p(p) {}

  /// The MoE whose sum is `add`'s output, if the whole pattern is there.
  std::optional<OnnxImporter::RaisedMoe> match(const onnx::NodeProto &add);
  /// The dense formulation: every expert on every token, weighted by the
  /// top-k weights scattered into a [tokens, experts] matrix, added to a
  /// base (a shared expert's term, or anything).
  std::optional<OnnxImporter::RaisedMoe> matchDense(const onnx::NodeProto &add);
  /// Switch Transformer's top-1 routing with a fixed expert capacity
  /// (OnnxRaiseSwitch.cpp).
  std::optional<OnnxImporter::RaisedMoe> matchSwitch(const onnx::NodeProto &add);

private:
  /// The running sum from `last` back to the zeros it starts from, one
  /// Add of ScatterElements(zeros, rows, contribution, axis 0) per step
  /// (last step first); false if `last` is not such a sum of two or more.
  bool scatterChain(const onnx::NodeProto &last, std::vector<const onnx::NodeProto *> &scatters,
                    std::string &start) const;
  /// `value` with Casts to one of `types` stripped from it (casts that keep
  /// the values it can hold: to f32 of f32 data, to any number of counts).
  std::string uncast(std::string value, std::initializer_list<int> types) const;
  std::string uncastFloat(const std::string &value) const {
    return uncast(value, {onnx::TensorProto::FLOAT});
  }
  /// The expert's input rows at `tok`: Gather(x, tok, axis 0), or HF's
  /// x[None, tok].reshape(-1, d); "" if neither.
  std::string rowsOf(const std::string &tok) const;
  /// Whether `start` is zeros of the router input's shape (zeros_like(x)).
  bool zerosLikeX(const std::string &start) const;
  /// Switch's kept assignments [T, E]: the capacity they are limited to, if
  /// `kept` is the one-hot of the router's argmax limited by its cumulative
  /// sum over tokens (OnnxRaiseSwitch.cpp).
  std::optional<int64_t> capacityOf(const std::string &kept);
  /// `value` is the one-hot [T, E] of the argmax of the router's softmax;
  /// sets the router, x and probs.
  bool oneHotOfArgMax(const std::string &value);
  /// Names the MoE after the module holding the router (its logits).
  void nameAfter(const std::string &logits);
  /// The one axis of `node` (Squeeze, Unsqueeze, a reduction), from its
  /// `axes` attribute or its second input (opset 13 / 18); nothing if it
  /// has none or several.
  std::optional<int64_t> singleAxis(const onnx::NodeProto *node) const;
  /// Whether `onehot` is OneHot(indices, `depth`, [0, on]) on the last axis,
  /// `on` nonzero (or exactly 1 with `countable`: its values are summed).
  bool oneHotOf(const onnx::NodeProto &onehot, int64_t depth, bool countable) const;
  /// `value` through the Casts that keep a count (to any number, not bool).
  std::string uncastCount(const std::string &value) const {
    using T = onnx::TensorProto;
    return uncast(value, {T::FLOAT, T::DOUBLE, T::FLOAT16, T::INT32, T::INT64});
  }
  /// An integer constant's value, if `name` is a scalar or one-element one.
  std::optional<int64_t> intConst(const std::string &name) const;
  bool isZeros(const std::string &value) const;
  /// A 2-D float constant multiplied from the right: its transposed copy.
  std::string weight(const std::string &name) const { return im.transposedWeight(name); }
  /// A 1-D float constant, its name.
  std::string bias(const std::string &name, int64_t size) const;
  /// `value` = in · W [+ b], a MatMul (and an Add of a bias) or a Gemm:
  /// sets its input, W as [out, in] (the transposed copy of a MatMul's) and b.
  bool dense(const std::string &value, std::string &in, std::string &w, std::string &b);
  /// dense() whose input must be g.
  bool linear(const std::string &value, const std::string &g, std::string &w, std::string &b) {
    std::string in;
    return dense(value, in, w, b) && in == g;
  }
  /// `value` = act(v): SiLU as v * Sigmoid(v), or Relu; sets v.
  bool activation(const std::string &value, std::string &v, std::string &act);
  bool expertMlp(const std::string &value, const std::string &g, MoeExpert &e);
  /// (tok, slot) of NonZero(Equal(idx, e)); sets the expert e.
  bool tokensOf(const std::string &tok, const std::string &slot, int64_t &expert);
  /// `value` = the routing weight of (tok, slot): Gather(Flatten(Unsqueeze(wn)),
  /// tok * k + slot) through Reshapes.
  bool weightOf(const std::string &value, const std::string &tok, const std::string &slot);
  bool router(const std::string &wn);
  /// Every expert of the same form; sets gated and activation.
  bool alike();

  OnnxImporter &im;
  const Producers &p;
  OnnxImporter::RaisedMoe moe;
  std::string topkIndices, xf;
  /// The router's softmax (Switch).
  std::string probs;
};

} // namespace dync::import

#endif // DYNC_LIB_IMPORT_ONNX_ONNXMOEMATCHER_H
