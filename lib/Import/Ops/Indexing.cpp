//===- Indexing.cpp - embedding, topk, gather, scatter_add ------------------===//

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
// Indexing: embedding, topk, gather, scatter_add
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> GraphBuilder::emitIndexing(NodeView &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  auto isIndex = [](Type t) { return t.isInteger(32) || t.isInteger(64); };

  if (n.op == "embedding") {
    if (!isIndex(x.elt()))
      return failNode(n, "indices must be i32 or i64, got " + dtypeName(x.elt()));
    FailureOr<TValue> w = weight(n, "weight", {-1, -1}, b.getF32Type(), b);
    if (failed(w))
      return failure();
    Shape shape = x.shape;
    shape.push_back(w->shape[1]);
    return SmallVector<TValue>{TValue{tb.take(w->v, x.v, 0, typeOf(shape, w->elt())), shape}};
  }

  if (n.op == "topk") {
    FailureOr<int64_t> k = intAttr(n, "k");
    FailureOr<int64_t> axis = intAttr(n, "axis", -1);
    if (failed(k) || failed(axis))
      return failure();
    FailureOr<int64_t> a = normAxis(n, *axis, x.rank());
    if (failed(a) || failed(noBatchMix(n, *a, "topk over")))
      return failure();
    if (*k < 1)
      return failNode(n, "k must be >= 1");
    const Dim &d = x.shape[*a];
    if (d.isStatic() && *k > d.size)
      return failNode(n, llvm::formatv("k = {0} exceeds the size {1} of axis {2}", *k,
                                       d.size, *a));
    Shape shape = x.shape;
    shape[*a] = Dim::of(*k);
    auto top = dyn::TopKOp::create(b, typeOf(shape, x.elt()), typeOf(shape, b.getI64Type()),
                                   x.v, *k, *a);
    return SmallVector<TValue>{TValue{top.getValues(), shape}, TValue{top.getIndices(), shape}};
  }

  FailureOr<int64_t> axis = intAttr(n, "axis");
  if (failed(axis))
    return failure();
  FailureOr<int64_t> a = normAxis(n, *axis, x.rank());
  if (failed(a) || failed(noBatchMix(n, *a, n.op + " along")))
    return failure();
  const TValue &idx = n.inputs[1];
  if (!isIndex(idx.elt()))
    return failNode(n, "indices must be i32 or i64, got " + dtypeName(idx.elt()));

  if (n.op == "gather") {
    Shape shape(x.shape.begin(), x.shape.begin() + *a);
    shape.append(idx.shape.begin(), idx.shape.end());
    shape.append(x.shape.begin() + *a + 1, x.shape.end());
    return SmallVector<TValue>{TValue{tb.take(x.v, idx.v, *a, typeOf(shape, x.elt())), shape}};
  }

  // scatter_add
  const TValue &upd = n.inputs[2];
  if (idx.rank() != 1)
    return failNode(n, "indices must be 1-D, got " + formatShape(idx.shape));
  Shape expected = x.shape;
  expected[*a] = idx.shape[0];
  if (upd.shape != expected)
    return failNode(n, "updates have shape " + formatShape(upd.shape) + ", expected " +
                           formatShape(expected));
  if (upd.elt() != x.elt())
    return failNode(n, "updates must have the dtype of the data");
  Value r = dyn::ScatterAddOp::create(b, x.type(), x.v, idx.v, upd.v, *a);
  return SmallVector<TValue>{TValue{r, x.shape}};
}

} // namespace dync::import
