//===- Norms.cpp - layer, RMS and batch norms, softmax ----------------------===//

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
// Norms and softmax
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> GraphBuilder::emitNorm(NodeView &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  if (failed(expectFloat(n, x, "input")))
    return failure();
  Type elt = x.elt();
  int64_t rank = x.rank();

  if (n.op == "softmax") {
    FailureOr<int64_t> axis = intAttr(n, "axis");
    if (failed(axis))
      return failure();
    FailureOr<int64_t> a = normAxis(n, *axis, rank);
    if (failed(a) || failed(noBatchMix(n, *a, "softmax over")))
      return failure();
    return SmallVector<TValue>{TValue{tb.softmax(x.v, *a), x.shape}};
  }

  if (n.op == "batch_norm") {
    if (rank < 2 || !x.shape[1].isStatic())
      return failNode(n, "input must be [N, C, ...] with a static channel dim C");
    int64_t c = x.shape[1].size;
    FailureOr<double> eps = floatAttr(n, "eps", 1e-5);
    FailureOr<TValue> mean = weight(n, "running_mean", {c}, elt, b);
    FailureOr<TValue> var = weight(n, "running_var", {c}, elt, b);
    FailureOr<TValue> w = weight(n, "weight", {c}, elt, b, false);
    FailureOr<TValue> bias = weight(n, "bias", {c}, elt, b, false);
    if (failed(eps) || failed(mean) || failed(var) || failed(w) || failed(bias))
      return failure();
    // Per-channel params as [C, 1, ..., 1] so that they broadcast on dim 1.
    auto channel = [&](const TValue &p) {
      Shape s{Dim::of(c)};
      for (int64_t i = 2; i < rank; ++i)
        s.push_back(Dim::of(1));
      return reshapeTo(b, p, s).v;
    };
    SmallVector<Value> ins{x.v, channel(*mean), channel(*var)};
    if (w->v)
      ins.push_back(channel(*w));
    if (bias->v)
      ins.push_back(channel(*bias));
    bool hasW = static_cast<bool>(w->v), hasB = static_cast<bool>(bias->v);
    double epsV = *eps;
    Value r = tb.map(ins, x.type(), [&](ImplicitLocOpBuilder &ib, ValueRange a) {
      Value e = arith::ConstantOp::create(ib, ib.getFloatAttr(elt, epsV));
      Value centered = arith::SubFOp::create(ib, a[0], a[1]);
      Value inv = math::RsqrtOp::create(ib, arith::AddFOp::create(ib, a[2], e));
      Value y = arith::MulFOp::create(ib, centered, inv);
      size_t k = 3;
      if (hasW)
        y = arith::MulFOp::create(ib, y, a[k++]);
      if (hasB)
        y = arith::AddFOp::create(ib, y, a[k++]);
      return y;
    });
    return SmallVector<TValue>{TValue{r, x.shape}};
  }

  // layer_norm and rms_norm over the last dim.
  if (rank < 1 || !x.shape.back().isStatic())
    return failNode(n, "the normalized (last) dim must be static");
  int64_t d = x.shape.back().size;
  bool rms = n.op == "rms_norm";
  // PyTorch's defaults: LayerNorm eps 1e-5; RMSNorm eps = float32 epsilon.
  FailureOr<double> eps =
      floatAttr(n, "eps", rms ? double(std::numeric_limits<float>::epsilon()) : 1e-5);
  FailureOr<TValue> w = weight(n, "weight", {d}, elt, b, false);
  FailureOr<TValue> bias = rms ? FailureOr<TValue>(TValue{})
                               : weight(n, "bias", {d}, elt, b, false);
  if (failed(eps) || failed(w) || failed(bias))
    return failure();
  double epsV = *eps;
  Value centered = x.v;
  if (!rms) {
    Value mean = tb.reduce(x.v, {rank - 1}, ReduceKind::Mean, /*keepDim=*/true);
    centered = tb.map({x.v, mean}, x.type(), [](ImplicitLocOpBuilder &ib, ValueRange a) {
      return Value(arith::SubFOp::create(ib, a[0], a[1]));
    });
  }
  Value sq = tb.map({centered}, x.type(), [](ImplicitLocOpBuilder &ib, ValueRange a) {
    return Value(arith::MulFOp::create(ib, a[0], a[0]));
  });
  Value ms = tb.reduce(sq, {rank - 1}, ReduceKind::Mean, /*keepDim=*/true);
  SmallVector<Value> ins{centered, ms};
  if (w->v)
    ins.push_back(w->v);
  if (bias->v)
    ins.push_back(bias->v);
  bool hasW = static_cast<bool>(w->v), hasB = static_cast<bool>(bias->v);
  Value r = tb.map(ins, x.type(), [&](ImplicitLocOpBuilder &ib, ValueRange a) {
    Value e = arith::ConstantOp::create(ib, ib.getFloatAttr(elt, epsV));
    Value inv = math::RsqrtOp::create(ib, arith::AddFOp::create(ib, a[1], e));
    Value y = arith::MulFOp::create(ib, a[0], inv);
    size_t k = 2;
    if (hasW)
      y = arith::MulFOp::create(ib, y, a[k++]);
    if (hasB)
      y = arith::AddFOp::create(ib, y, a[k++]);
    return y;
  });
  return SmallVector<TValue>{TValue{r, x.shape}};
}

} // namespace dync::import
