//===- Reduce.cpp - reductions and argmax -----------------------------------===//

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
// Reductions
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> GraphBuilder::emitReduce(NodeView &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  int64_t rank = x.rank();
  FailureOr<bool> keep = boolAttr(n, "keepdim", false);
  if (failed(keep))
    return failure();
  if (n.op == "argmax") {
    if (failed(expectFloat(n, x, "input")))
      return failure();
    FailureOr<int64_t> axis = intAttr(n, "axis");
    if (failed(axis))
      return failure();
    FailureOr<int64_t> a = normAxis(n, *axis, rank);
    if (failed(a) || failed(noBatchMix(n, *a, "argmax over")))
      return failure();
    Shape shape;
    for (int64_t k = 0; k < rank; ++k)
      if (k != *a)
        shape.push_back(x.shape[k]);
    TValue r{tb.argmax(x.v, *a), shape};
    if (*keep) {
      Shape kept = x.shape;
      kept[*a] = Dim::of(1);
      r = reshapeTo(b, r, kept);
    }
    return SmallVector<TValue>{r};
  }
  FailureOr<SmallVector<int64_t>> axes = intListAttr(n, "axes");
  if (failed(axes))
    return failure();
  if (axes->empty())
    return failNode(n, "'axes' must name at least one axis");
  for (int64_t &a : *axes) {
    FailureOr<int64_t> na = normAxis(n, a, rank);
    if (failed(na) || failed(noBatchMix(n, *na, "reducing over")))
      return failure();
    a = *na;
  }
  llvm::sort(*axes);
  if (std::adjacent_find(axes->begin(), axes->end()) != axes->end())
    return failNode(n, "'axes' repeats an axis");
  ReduceKind kind = n.op == "reduce_sum"   ? ReduceKind::Sum
                    : n.op == "reduce_max" ? ReduceKind::Max
                                           : ReduceKind::Mean;
  if (kind == ReduceKind::Mean && failed(expectFloat(n, x, "input")))
    return failure();
  Shape shape;
  for (int64_t k = 0; k < rank; ++k) {
    if (!llvm::is_contained(*axes, k))
      shape.push_back(x.shape[k]);
    else if (*keep)
      shape.push_back(Dim::of(1));
  }
  return SmallVector<TValue>{TValue{tb.reduce(x.v, *axes, kind, *keep), shape}};
}

} // namespace dync::import
