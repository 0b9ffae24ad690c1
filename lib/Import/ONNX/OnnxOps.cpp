//===- OnnxOps.cpp - ONNX ops in dync's vocabulary -----------------------===//
//
// One translation per ONNX op type, registered in `translations()`. A
// translation either sets up the node for a dync op (its op name,
// attributes, weights and input tensors) and builds it with the shared
// builder, or folds it at import time when it only computes with shapes and
// constants (Shape, Gather of a shape, Concat of sizes, Unsqueeze of a
// size...): exporters spell every dynamic reshape that way.
//
// Semantics follow the ONNX spec (opsets 13 to 21): broadcasting, negative
// axes, keepdims defaulting to 1, Reshape's 0 copying the input's dim.
//
//===----------------------------------------------------------------------===//

#include "OnnxImporter.h"

#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/FormatVariadic.h"

#include <numeric>
#include <set>

using namespace mlir;

namespace dync::import {

//===----------------------------------------------------------------------===//
// Attributes and inputs
//===----------------------------------------------------------------------===//

const onnx::AttributeProto *OnnxImporter::attr(const onnx::NodeProto &node, StringRef name) const {
  for (const onnx::AttributeProto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t OnnxImporter::intAttr(const onnx::NodeProto &node, StringRef name, int64_t dflt) const {
  const onnx::AttributeProto *a = attr(node, name);
  return a ? a->i() : dflt;
}

float OnnxImporter::floatAttr(const onnx::NodeProto &node, StringRef name, float dflt) const {
  const onnx::AttributeProto *a = attr(node, name);
  return a ? a->f() : dflt;
}

std::optional<SmallVector<int64_t>> OnnxImporter::intsAttr(const onnx::NodeProto &node,
                                                           StringRef name) const {
  const onnx::AttributeProto *a = attr(node, name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

const FloatConst *OnnxImporter::floatConst(const onnx::NodeProto &node, int i) {
  if (!hasInput(node, i))
    return nullptr;
  auto it = floatConsts.find(canonical(node.input(i)));
  return it == floatConsts.end() ? nullptr : &it->second;
}

std::string OnnxImporter::weightInput(const onnx::NodeProto &node, int i) {
  return floatConst(node, i) ? canonical(node.input(i)) : std::string();
}

FailureOr<SmallVector<Dim>> OnnxImporter::intsInput(OnnxNodeView &n, const onnx::NodeProto &node,
                                                    int i, StringRef what) {
  if (!hasInput(node, i))
    return failNode(n, "needs input " + std::to_string(i) + " (" + what + ")");
  OnnxValue &v = values[node.input(i)];
  if (!v.ints)
    return failNode(n, "input " + std::to_string(i) + " (" + what + ") must be a constant or computed "
                       "from shapes; dync cannot follow '" + node.input(i) + "' at compile time");
  return *v.ints;
}

FailureOr<TValue> OnnxImporter::tensorInput(OnnxNodeView &n, const onnx::NodeProto &node, int i,
                                            ImplicitLocOpBuilder &b) {
  if (!hasInput(node, i))
    return failNode(n, "needs input " + std::to_string(i));
  return tensorInputNamed(n, node.input(i), b);
}

FailureOr<TValue> OnnxImporter::tensorInputNamed(OnnxNodeView &n, const std::string &name,
                                                 ImplicitLocOpBuilder &b) {
  OnnxValue &v = values[name];
  if (v.tensor)
    return *v.tensor;
  TensorBuilder tb(b);
  if (v.isFloatConst) {
    const std::string &constName = canonical(name);
    auto found = floatConsts.find(constName);
    if (found == floatConsts.end())
      return failNode(n, "constant '" + name + "' is not available here");
    const FloatConst &c = found->second;
    Shape shape;
    for (int64_t d : c.shape)
      shape.push_back(Dim::of(d));
    if (c.data.size() <= 16) {
      // Small constants (epsilons, scales) inline, so they fold into loops.
      auto type = typeOf(shape, b.getF32Type());
      Value k = arith::ConstantOp::create(b, DenseElementsAttr::get(type, ArrayRef<float>(c.data)));
      g.usedWeights.insert(constName);
      v.tensor = TValue{k, shape};
    } else {
      n.weights["input"] = constName;
      SmallVector<int64_t> any(c.shape.size(), -1);
      FailureOr<TValue> w = g.weight(n, "input", any, b.getF32Type(), b);
      n.weights.erase("input");
      if (failed(w))
        return failure();
      v.tensor = *w;
    }
    return *v.tensor;
  }
  if (v.ints) {
    Shape shape;
    if (!v.intsShape.empty())
      for (int64_t d : v.intsShape)
        shape.push_back(Dim::of(d));
    else if (!v.scalar)
      shape.push_back(Dim::of(int64_t(v.ints->size())));
    auto type = typeOf(shape, b.getIntegerType(v.intsBits));
    if (llvm::all_of(*v.ints, [](const Dim &d) { return d.isStatic(); })) {
      SmallVector<APInt> data;
      for (const Dim &d : *v.ints)
        data.push_back(APInt(v.intsBits, uint64_t(d.size), /*isSigned=*/true, /*implicitTrunc=*/true));
      Value k = arith::ConstantOp::create(b, DenseElementsAttr::get(type, data));
      return TValue{k, shape};
    }
    type = typeOf(shape, b.getI64Type());
    // Sizes known only at run time: the dims' values, gathered.
    SmallVector<Value> elems;
    for (const Dim &d : *v.ints) {
      OpFoldResult s = g.symSize(b, anyTensor, d);
      Value idx = isa<Value>(s) ? cast<Value>(s)
                                : Value(arith::ConstantIndexOp::create(
                                      b, cast<IntegerAttr>(cast<Attribute>(s)).getInt()));
      elems.push_back(arith::IndexCastOp::create(b, b.getI64Type(), idx));
    }
    Value t = tensor::FromElementsOp::create(b, type, elems);
    return TValue{t, shape};
  }
  return failNode(n, "input '" + name + "' has no value dync can use here");
}

LogicalResult OnnxImporter::emit(OnnxNodeView &n, const onnx::NodeProto &node,
                                 ImplicitLocOpBuilder &b) {
  FailureOr<SmallVector<TValue>> results = g.emit(n, b);
  if (failed(results))
    return failure();
  return bindResults(n, node, *results);
}

LogicalResult OnnxImporter::bindResults(OnnxNodeView &n, const onnx::NodeProto &node,
                                        ArrayRef<TValue> results) {
  for (int i = 0; i < node.output_size() && size_t(i) < results.size(); ++i)
    if (!node.output(i).empty())
      bind(node, i, results[i]);
  for (int i = int(results.size()); i < node.output_size(); ++i)
    if (!node.output(i).empty())
      return failNode(n, "output " + std::to_string(i) + " ('" + node.output(i) +
                             "') is not supported");
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult OnnxImporter::translateUnary(OnnxNodeView &n, const onnx::NodeProto &node,
                                           ImplicitLocOpBuilder &b) {
  static const std::map<std::string, std::string> names = {
      {"Relu", "relu"}, {"Sigmoid", "sigmoid"}, {"Tanh", "tanh"},     {"Exp", "exp"},
      {"Log", "log"},   {"Sqrt", "sqrt"},       {"Erf", "erf"},       {"Neg", "neg"},
      {"Abs", "abs"},   {"Reciprocal", "reciprocal"}, {"Not", "logical_not"}, {"Gelu", "gelu"}};
  n.op = names.at(node.op_type());
  if (node.op_type() == "Gelu") {
    const onnx::AttributeProto *a = attr(node, "approximate");
    std::string approx = a ? a->s() : "none";
    if (approx != "none" && approx != "tanh")
      return failNode(n, "approximate must be 'none' or 'tanh', got '" + approx + "'");
    n.attrs["approximate"] = approx;
  }
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  // Abs and Neg of integers (index arithmetic: |i - j| for a band mask).
  if ((node.op_type() == "Abs" || node.op_type() == "Neg") && x->elt().isSignlessInteger() &&
      !x->elt().isInteger(1)) {
    TensorBuilder tb(b);
    bool abs = node.op_type() == "Abs";
    Value r = tb.map(x->v, x->type(), [&](ImplicitLocOpBuilder &ib, ValueRange v) -> Value {
      Value neg = arith::SubIOp::create(
          ib, arith::ConstantOp::create(ib, ib.getIntegerAttr(v[0].getType(), 0)), v[0]);
      if (!abs)
        return neg;
      return arith::MaxSIOp::create(ib, v[0], neg);
    });
    bind(node, 0, TValue{r, x->shape});
    return success();
  }
  n.inputs = {*x};
  return emit(n, node, b);
}

LogicalResult OnnxImporter::translateBinary(OnnxNodeView &n, const onnx::NodeProto &node,
                                            ImplicitLocOpBuilder &b) {
  const std::string &t = node.op_type();
  OnnxValue &l = values[node.input(0)], &r = values[node.input(1)];
  // Arithmetic on shapes folds: sizes times or divided by sizes.
  if (l.ints && r.ints && (t == "Mul" || t == "Div" || t == "Add" || t == "Sub")) {
    size_t len = std::max(l.ints->size(), r.ints->size());
    bool ok = (l.ints->size() == len || l.ints->size() == 1) &&
              (r.ints->size() == len || r.ints->size() == 1);
    OnnxValue out;
    out.ints.emplace();
    out.scalar = l.scalar && r.scalar;
    for (size_t i = 0; ok && i < len; ++i) {
      const Dim &a = (*l.ints)[l.ints->size() == 1 ? 0 : i];
      const Dim &c = (*r.ints)[r.ints->size() == 1 ? 0 : i];
      std::optional<Dim> d;
      if (a.isStatic() && c.isStatic()) {
        int64_t r;
        bool overflow = t == "Mul"   ? __builtin_mul_overflow(a.size, c.size, &r)
                        : t == "Add" ? __builtin_add_overflow(a.size, c.size, &r)
                        : t == "Sub" ? __builtin_sub_overflow(a.size, c.size, &r)
                        // Integer division truncates toward zero (ONNX, C).
                        : (c.size == 0 || (a.size == INT64_MIN && c.size == -1))
                            ? true
                            : (r = a.size / c.size, false);
        if (!overflow)
          d = Dim::of(r);
      } else if (t == "Mul") {
        d = mulDims(a, c);
      } else if (t == "Div") {
        d = divDims(a, c);
      }
      if (!d)
        return failNode(n, "cannot compute " + formatDim(a) + " " + t + " " + formatDim(c) +
                               " at compile time (sizes may only be multiplied and divided "
                               "exactly)");
      out.ints->push_back(*d);
    }
    if (!ok)
      return failNode(n, "operands of shapes do not broadcast");
    bind(node, 0, std::move(out));
    return success();
  }
  // Comparisons of shapes fold where they are decided: sizes are never
  // negative, so a size against -1 (how exporters mark "keep this dim").
  if (l.ints && r.ints && (t == "Equal" || t == "Greater" || t == "Less")) {
    size_t len = std::max(l.ints->size(), r.ints->size());
    bool ok = (l.ints->size() == len || l.ints->size() == 1) &&
              (r.ints->size() == len || r.ints->size() == 1);
    OnnxValue out;
    out.ints.emplace();
    out.scalar = l.scalar && r.scalar;
    out.intsBits = 1;
    for (size_t i = 0; ok && i < len; ++i) {
      const Dim &a = (*l.ints)[l.ints->size() == 1 ? 0 : i];
      const Dim &c = (*r.ints)[r.ints->size() == 1 ? 0 : i];
      std::optional<bool> v;
      if (a.isStatic() && c.isStatic())
        v = t == "Equal" ? a.size == c.size : t == "Greater" ? a.size > c.size : a.size < c.size;
      else if (a == c)
        v = t == "Equal";
      else if (!a.isStatic() && c.isStatic() && c.size < 0)
        v = t == "Greater"; // a size > a negative number
      else if (a.isStatic() && a.size < 0 && !c.isStatic())
        v = t == "Less";
      if (!v) {
        ok = false;
        break;
      }
      out.ints->push_back(Dim::of(*v));
    }
    if (ok) {
      bind(node, 0, std::move(out));
      return success();
    }
  }
  static const std::map<std::string, std::string> names = {
      {"Add", "add"}, {"Sub", "sub"}, {"Mul", "mul"}, {"Div", "div"}, {"Pow", "pow"},
      {"Equal", "equal"}, {"Greater", "greater"}, {"Less", "less"}};
  n.op = names.at(t);
  FailureOr<TValue> x = tensorInput(n, node, 0, b), y = tensorInput(n, node, 1, b);
  if (failed(x) || failed(y))
    return failure();
  n.inputs = {*x, *y};
  if (failed(emit(n, node, b)))
    return failure();
  // dync divides and raises to powers in floats; ONNX keeps integers (Div
  // truncating toward zero, as the conversion back does).
  Type elt = x->elt();
  if ((t == "Div" || t == "Pow") && !isa<FloatType>(elt)) {
    TValue &out = *values[node.output(0)].tensor;
    TensorBuilder tb(b);
    out.v = tb.convert(out.v, elt);
  }
  return success();
}

LogicalResult OnnxImporter::translateLogical(OnnxNodeView &n, const onnx::NodeProto &node,
                                             ImplicitLocOpBuilder &b) {
  // And, Or, Xor on bools; LessOrEqual, GreaterOrEqual on numbers (ordered:
  // false where either side is NaN, as ONNX Runtime). Broadcast as any
  // binary op.
  const std::string &t = node.op_type();
  FailureOr<TValue> x = tensorInput(n, node, 0, b), y = tensorInput(n, node, 1, b);
  if (failed(x) || failed(y))
    return failure();
  FailureOr<Shape> shape = g.broadcast(n, {&x->shape, &y->shape});
  if (failed(shape))
    return failure();
  bool logical = t == "And" || t == "Or" || t == "Xor";
  if (logical && (!x->elt().isInteger(1) || !y->elt().isInteger(1)))
    return failNode(n, t + " takes bool tensors");
  if (x->elt() != y->elt())
    return failNode(n, "both inputs must have the same type");
  bool isFloat = isa<FloatType>(x->elt());
  TensorBuilder tb(b);
  Value r = tb.map({x->v, y->v}, typeOf(*shape, b.getI1Type()),
                   [&](ImplicitLocOpBuilder &ib, ValueRange v) -> Value {
                     if (t == "And")
                       return arith::AndIOp::create(ib, v[0], v[1]);
                     if (t == "Or")
                       return arith::OrIOp::create(ib, v[0], v[1]);
                     if (t == "Xor")
                       return arith::XOrIOp::create(ib, v[0], v[1]);
                     bool le = t == "LessOrEqual";
                     if (isFloat)
                       return arith::CmpFOp::create(
                           ib, le ? arith::CmpFPredicate::OLE : arith::CmpFPredicate::OGE, v[0], v[1]);
                     return arith::CmpIOp::create(
                         ib, le ? arith::CmpIPredicate::sle : arith::CmpIPredicate::sge, v[0], v[1]);
                   });
  bind(node, 0, TValue{r, *shape});
  return success();
}

LogicalResult OnnxImporter::translateWhere(OnnxNodeView &n, const onnx::NodeProto &node,
                                           ImplicitLocOpBuilder &b) {
  if (raiseDenseGate(n, node, b))
    return success();
  // On shapes (an exporter's Expand shape: Where(shape == -1, 1, shape)).
  const OnnxValue &c = values[node.input(0)], &x = values[inputOf(node, 1)],
                  &y = values[inputOf(node, 2)];
  if (c.ints && x.ints && y.ints && c.intsBits == 1) {
    size_t len = std::max({c.ints->size(), x.ints->size(), y.ints->size()});
    auto at = [&](const OnnxValue &v, size_t i) -> const Dim * {
      if (v.ints->size() != len && v.ints->size() != 1)
        return nullptr;
      return &(*v.ints)[v.ints->size() == 1 ? 0 : i];
    };
    OnnxValue out;
    out.ints.emplace();
    out.scalar = c.scalar && x.scalar && y.scalar;
    out.intsBits = std::max(x.intsBits, y.intsBits);
    for (size_t i = 0; i < len; ++i) {
      const Dim *ci = at(c, i), *xi = at(x, i), *yi = at(y, i);
      if (!ci || !xi || !yi || !ci->isStatic()) {
        out.ints.reset();
        break;
      }
      out.ints->push_back(ci->size ? *xi : *yi);
    }
    if (out.ints) {
      bind(node, 0, std::move(out));
      return success();
    }
  }
  n.op = "where";
  for (int i = 0; i < 3; ++i) {
    FailureOr<TValue> x = tensorInput(n, node, i, b);
    if (failed(x))
      return failure();
    n.inputs.push_back(*x);
  }
  return emit(n, node, b);
}

LogicalResult OnnxImporter::translateCast(OnnxNodeView &n, const onnx::NodeProto &node,
                                          ImplicitLocOpBuilder &b) {
  int64_t to = intAttr(node, "to", 0);
  std::optional<Type> elt = elementType(int32_t(to), ctx);
  if (!elt)
    return failNode(n, "cast to an unsupported type (" +
                           onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(to)) + ")");
  OnnxValue &in = values[node.input(0)];
  if (in.ints && (elt->isInteger(64) || elt->isInteger(32))) {
    bind(node, 0, OnnxValue(in));
    return success();
  }
  n.op = "cast";
  n.attrs["dtype"] = *elt;
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  n.inputs = {*x};
  return emit(n, node, b);
}

LogicalResult OnnxImporter::translateIdentity(OnnxNodeView &n, const onnx::NodeProto &node,
                                              ImplicitLocOpBuilder &b) {
  // A constant's alias was recorded before the weights were written.
  if (aliases.count(node.output(0)))
    return success();
  bind(node, 0, OnnxValue(values[node.input(0)]));
  return success();
}

//===----------------------------------------------------------------------===//
// Matmul, normalization, reductions
//===----------------------------------------------------------------------===//

LogicalResult OnnxImporter::translateMatMul(OnnxNodeView &n, const onnx::NodeProto &node,
                                            ImplicitLocOpBuilder &b) {
  if (raiseAttention(n, node, b))
    return success();
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  // x @ W with a constant W [in, out]: a Linear layer on W's transpose.
  std::string wt = transposedWeight(node.input(1));
  if (!wt.empty() && x->rank() >= 1 && x->shape.back().isStatic() &&
      x->shape.back().size == floatConsts.at(wt).shape[1]) {
    n.op = "linear";
    n.weights["weight"] = wt;
    n.inputs = {*x};
    return emit(n, node, b);
  }
  FailureOr<TValue> y = tensorInput(n, node, 1, b);
  if (failed(y))
    return failure();
  n.op = "matmul";
  n.inputs = {*x, *y};
  return emit(n, node, b);
}

LogicalResult OnnxImporter::translateGemm(OnnxNodeView &n, const onnx::NodeProto &node,
                                          ImplicitLocOpBuilder &b) {
  if (floatAttr(node, "alpha", 1.0f) != 1.0f || floatAttr(node, "beta", 1.0f) != 1.0f ||
      intAttr(node, "transA", 0) != 0)
    return failNode(n, "Gemm with alpha or beta other than 1, or transA, is not supported");
  bool transB = intAttr(node, "transB", 0) != 0;
  std::string w = transB ? weightInput(node, 1) : transposedWeight(node.input(1));
  if (w.empty())
    return failNode(n, "Gemm's B must be a constant (an initializer)");
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  n.op = "linear";
  n.weights["weight"] = w;
  const FloatConst *c = floatConst(node, 2);
  int64_t out = floatConsts.at(w).shape[0];
  bool biasSlot = c && c->shape.size() == 1 && c->shape[0] == out;
  if (biasSlot)
    n.weights["bias"] = canonical(node.input(2));
  n.inputs = {*x};
  if (failed(emit(n, node, b)))
    return failure();
  if (biasSlot || !hasInput(node, 2))
    return success();
  // Any other C: added, broadcast.
  OnnxNodeView add = n.part("add");
  FailureOr<TValue> cv = tensorInput(add, node, 2, b);
  if (failed(cv))
    return failure();
  add.inputs = {*values[node.output(0)].tensor, *cv};
  return emit(add, node, b);
}

LogicalResult OnnxImporter::translateSoftmax(OnnxNodeView &n, const onnx::NodeProto &node,
                                             ImplicitLocOpBuilder &b) {
  n.op = "softmax";
  n.attrs["axis"] = intAttr(node, "axis", -1);
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  n.inputs = {*x};
  return emit(n, node, b);
}

LogicalResult OnnxImporter::translateLayerNorm(OnnxNodeView &n, const onnx::NodeProto &node,
                                               ImplicitLocOpBuilder &b) {
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  int64_t axis = intAttr(node, "axis", -1);
  if (axis != -1 && axis != x->rank() - 1)
    return failNode(n, "LayerNormalization over more than the last axis is not supported (axis " +
                           std::to_string(axis) + ")");
  std::string scale = weightInput(node, 1), bias = weightInput(node, 2);
  if (scale.empty() || (hasInput(node, 2) && bias.empty()))
    return failNode(n, "LayerNormalization's scale and bias must be constants (initializers)");
  n.op = "layer_norm";
  n.attrs["eps"] = double(floatAttr(node, "epsilon", 1e-5f));
  n.weights["weight"] = scale;
  if (!bias.empty())
    n.weights["bias"] = bias;
  n.inputs = {*x};
  return emit(n, node, b);
}

LogicalResult OnnxImporter::translateReduce(OnnxNodeView &n, const onnx::NodeProto &node,
                                            ImplicitLocOpBuilder &b) {
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  SmallVector<int64_t> axes;
  if (std::optional<SmallVector<int64_t>> a = intsAttr(node, "axes")) {
    axes = *a;
  } else if (hasInput(node, 1)) {
    FailureOr<SmallVector<Dim>> in = intsInput(n, node, 1, "axes");
    if (failed(in))
      return failure();
    for (const Dim &d : *in)
      axes.push_back(d.size);
  }
  if (axes.empty()) {
    if (intAttr(node, "noop_with_empty_axes", 0)) {
      bind(node, 0, *x);
      return success();
    }
    for (int64_t i = 0; i < x->rank(); ++i)
      axes.push_back(i);
  }
  n.op = node.op_type() == "ReduceMean" ? "reduce_mean"
         : node.op_type() == "ReduceSum" ? "reduce_sum"
                                         : "reduce_max";
  n.attrs["axes"] = axes;
  n.attrs["keepdim"] = intAttr(node, "keepdims", 1) != 0;
  n.inputs = {*x};
  return emit(n, node, b);
}

LogicalResult OnnxImporter::translateArgMax(OnnxNodeView &n, const onnx::NodeProto &node,
                                            ImplicitLocOpBuilder &b) {
  if (intAttr(node, "select_last_index", 0))
    return failNode(n, "ArgMax with select_last_index=1 is not supported");
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  n.op = "argmax";
  n.attrs["axis"] = intAttr(node, "axis", 0);
  n.attrs["keepdim"] = intAttr(node, "keepdims", 1) != 0;
  n.inputs = {*x};
  return emit(n, node, b);
}

//===----------------------------------------------------------------------===//
// Control flow
//===----------------------------------------------------------------------===//

void freeNames(const onnx::GraphProto &g, std::set<std::string> defined,
               std::vector<std::string> &out) {
  for (const onnx::TensorProto &t : g.initializer())
    defined.insert(t.name());
  for (const onnx::ValueInfoProto &in : g.input())
    defined.insert(in.name());
  auto use = [&](const std::string &name) {
    if (!name.empty() && !defined.count(name) && !llvm::is_contained(out, name))
      out.push_back(name);
  };
  for (const onnx::NodeProto &node : g.node()) {
    for (const std::string &in : node.input())
      use(in);
    for (const onnx::AttributeProto &a : node.attribute())
      if (a.type() == onnx::AttributeProto::GRAPH)
        freeNames(a.g(), defined, out);
    for (const std::string &o : node.output())
      defined.insert(o);
  }
  for (const onnx::ValueInfoProto &o : g.output())
    use(o.name());
}

LogicalResult OnnxImporter::translateIf(OnnxNodeView &n, const onnx::NodeProto &node,
                                        ImplicitLocOpBuilder &b) {
  const onnx::AttributeProto *thenA = attr(node, "then_branch"), *elseA = attr(node, "else_branch");
  if (!thenA || !elseA)
    return failNode(n, "If needs then_branch and else_branch");
  if (raiseGate(n, node, b) || raiseEarlyExit(n, node, b))
    return success();
  FailureOr<TValue> pred = tensorInput(n, node, 0, b);
  if (failed(pred))
    return failure();
  // A scalar predicate: dync's cond runs one branch for the whole batch.
  n.op = "cond";
  n.attrs["granularity"] = std::string("scalar");
  n.thenBranch = &thenA->g();
  n.elseBranch = &elseA->g();
  std::vector<std::string> names;
  freeNames(*n.thenBranch, {}, names);
  freeNames(*n.elseBranch, {}, names);
  n.inputs = {*pred};
  for (const std::string &name : names) {
    auto it = values.find(name);
    if (it == values.end())
      return failNode(n, "a branch reads '" + name + "', which is not defined before this node");
    // Constants are built again inside the branch; tensors are passed in.
    if (!it->second.tensor || it->second.isFloatConst || it->second.ints)
      continue;
    n.captures.push_back(name);
    n.inputs.push_back(*it->second.tensor);
  }
  return emit(n, node, b);
}

//===----------------------------------------------------------------------===//
// Translation table
//===----------------------------------------------------------------------===//

const std::map<std::string, OnnxImporter::Translate> &OnnxImporter::translations() {
  static const std::map<std::string, Translate> table = [] {
    std::map<std::string, Translate> m;
    for (const char *op : {"Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Erf", "Neg", "Abs",
                           "Reciprocal", "Not", "Gelu"})
      m[op] = &OnnxImporter::translateUnary;
    for (const char *op : {"Add", "Sub", "Mul", "Div", "Pow", "Equal", "Greater", "Less"})
      m[op] = &OnnxImporter::translateBinary;
    m["Where"] = &OnnxImporter::translateWhere;
    m["Cast"] = &OnnxImporter::translateCast;
    m["Identity"] = &OnnxImporter::translateIdentity;
    m["MatMul"] = &OnnxImporter::translateMatMul;
    m["Gemm"] = &OnnxImporter::translateGemm;
    m["Softmax"] = &OnnxImporter::translateSoftmax;
    m["LayerNormalization"] = &OnnxImporter::translateLayerNorm;
    for (const char *op : {"ReduceMean", "ReduceSum", "ReduceMax"})
      m[op] = &OnnxImporter::translateReduce;
    m["ArgMax"] = &OnnxImporter::translateArgMax;
    m["Shape"] = &OnnxImporter::translateShape;
    m["Reshape"] = &OnnxImporter::translateReshape;
    m["Unsqueeze"] = &OnnxImporter::translateUnsqueeze;
    m["Squeeze"] = &OnnxImporter::translateSqueeze;
    m["Flatten"] = &OnnxImporter::translateFlatten;
    m["Transpose"] = &OnnxImporter::translateTranspose;
    m["Concat"] = &OnnxImporter::translateConcat;
    m["Slice"] = &OnnxImporter::translateSlice;
    m["Gather"] = &OnnxImporter::translateGather;
    m["GatherElements"] = &OnnxImporter::translateGatherElements;
    m["GatherND"] = &OnnxImporter::translateGatherND;
    m["ScatterElements"] = &OnnxImporter::translateScatterElements;
    m["ScatterND"] = &OnnxImporter::translateScatterND;
    m["Tile"] = &OnnxImporter::translateTile;
    m["CumSum"] = &OnnxImporter::translateCumSum;
    m["Split"] = &OnnxImporter::translateSplit;
    m["Range"] = &OnnxImporter::translateRange;
    m["If"] = &OnnxImporter::translateIf;
    m["Loop"] = &OnnxImporter::translateLoop;
    for (const char *op : {"SequenceEmpty", "SequenceConstruct", "SequenceInsert", "SequenceAt",
                           "SequenceLength"})
      m[op] = &OnnxImporter::translateSequence;
    m["ConcatFromSequence"] = &OnnxImporter::translateConcatFromSequence;
    m["TopK"] = &OnnxImporter::translateTopK;
    m["Expand"] = &OnnxImporter::translateExpand;
    m["ConstantOfShape"] = &OnnxImporter::translateConstantOfShape;
    m["Trilu"] = &OnnxImporter::translateTrilu;
    for (const char *op : {"And", "Or", "Xor", "LessOrEqual", "GreaterOrEqual"})
      m[op] = &OnnxImporter::translateLogical;
    m["NonZero"] = &OnnxImporter::translateNonZero;
    m["OneHot"] = &OnnxImporter::translateOneHot;
    m["com.microsoft.MoE"] = &OnnxImporter::translateContribMoe;
    m["Conv"] = &OnnxImporter::translateConv;
    m["BatchNormalization"] = &OnnxImporter::translateBatchNorm;
    for (const char *op : {"MaxPool", "AveragePool", "GlobalAveragePool"})
      m[op] = &OnnxImporter::translatePool;
    return m;
  }();
  return table;
}

} // namespace dync::import
