//===- Linear.cpp - linear and matmul ---------------------------------------===//

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
// Linear, matmul
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> GraphBuilder::emitMatmul(NodeView &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  if (failed(expectFloat(n, x, "input")))
    return failure();
  if (n.op == "linear") {
    if (x.rank() < 1)
      return failNode(n, "input must have at least one dimension");
    const Dim &in = x.shape.back();
    if (!in.isStatic())
      return failNode(n, "the input's last dim must be static, got " + in.sym);
    FailureOr<TValue> w = weight(n, "weight", {-1, in.size}, x.elt(), b);
    if (failed(w))
      return failure();
    int64_t out = w->shape[0].size;
    FailureOr<TValue> bias = weight(n, "bias", {out}, x.elt(), b, false);
    if (failed(bias))
      return failure();
    Shape shape = x.shape;
    shape.back() = Dim::of(out);
    return SmallVector<TValue>{TValue{tb.linear(x.v, w->v, bias->v), shape}};
  }

  TValue a = n.inputs[0], c = n.inputs[1];
  if (failed(expectFloat(n, c, "input 1")))
    return failure();
  if (a.rank() < 1 || c.rank() < 1)
    return failNode(n, "matmul operands must have at least one dimension");
  // torch.matmul: a 1-D operand is promoted to a matrix, and the added dim is
  // removed from the result.
  bool aVec = a.rank() == 1, cVec = c.rank() == 1;
  if (aVec) {
    Shape s{Dim::of(1), a.shape[0]};
    a = reshapeTo(b, a, s);
  }
  if (cVec) {
    Shape s{c.shape[0], Dim::of(1)};
    c = reshapeTo(b, c, s);
  }
  const Dim &ka = a.shape.back(), &kc = c.shape[c.rank() - 2];
  if (ka != kc)
    return failNode(n, "cannot multiply " + formatShape(a.shape) + " by " +
                           formatShape(c.shape) + ": contraction dims " +
                           formatDim(ka) + " and " + formatDim(kc) + " differ");
  if (n.live && c.rank() >= 1 && !c.shape.empty() && c.shape[0].sym == kLive &&
      c.rank() == 2)
    return failNode(n, "the second operand's axis 0 is the live batch: the "
                       "product would mix samples inside a per-sample subgraph");
  Shape aBatch(a.shape.begin(), a.shape.end() - 2), cBatch(c.shape.begin(), c.shape.end() - 2);
  FailureOr<Shape> batch = broadcast(n, {&aBatch, &cBatch});
  if (failed(batch))
    return failure();
  Shape shape = *batch;
  shape.push_back(a.shape[a.rank() - 2]);
  shape.push_back(c.shape.back());
  Type elt = promote(a.elt(), c.elt());
  Value r = tb.matmul(tb.convert(a.v, elt), tb.convert(c.v, elt), typeOf(shape, elt));
  TValue result{r, shape};
  if (aVec || cVec) {
    Shape squeezed = *batch;
    if (!aVec)
      squeezed.push_back(shape[shape.size() - 2]);
    if (!cVec)
      squeezed.push_back(shape.back());
    result = reshapeTo(b, result, squeezed);
  }
  return SmallVector<TValue>{result};
}

} // namespace dync::import
