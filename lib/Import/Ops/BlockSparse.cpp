//===- BlockSparse.cpp - block-sparse attention -----------------------------===//

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
// Block-sparse attention
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> GraphBuilder::emitBlockSparse(NodeView &n, ImplicitLocOpBuilder &b) {
  const TValue &q = n.inputs[0], &k = n.inputs[1], &v = n.inputs[2];
  for (auto [i, t] : llvm::enumerate(n.inputs)) {
    if (failed(expectFloat(n, t, "input " + std::to_string(i))))
      return failure();
    if (t.rank() != 4)
      return failNode(n, "q, k and v must be [B, H, S, D], input " + std::to_string(i) +
                             " is " + formatShape(t.shape));
  }
  if (q.shape != k.shape || k.shape[0] != v.shape[0] || k.shape[1] != v.shape[1] ||
      k.shape[2] != v.shape[2])
    return failNode(n, "q " + formatShape(q.shape) + ", k " + formatShape(k.shape) +
                           " and v " + formatShape(v.shape) + " do not agree");
  FailureOr<int64_t> bs = intAttr(n, "block_size");
  FailureOr<bool> causal = boolAttr(n, "causal", false);
  if (failed(bs) || failed(causal))
    return failure();
  const Dim &s = q.shape[2];
  if (*bs < 1)
    return failNode(n, "block_size must be >= 1");
  if (!s.isStatic())
    return failNode(n, "the sequence length must be static for block-sparse attention");
  if (s.size % *bs != 0)
    return failNode(n, llvm::formatv("block_size {0} does not divide the sequence length {1}",
                                     *bs, s.size));
  FloatAttr scale;
  if (n.hasAttr("scale")) {
    FailureOr<double> sc = floatAttr(n, "scale");
    if (failed(sc))
      return failure();
    scale = b.getF64FloatAttr(*sc);
  }
  FailureOr<BlockSelection> sel = n.selectionAttr("selection", b);
  if (failed(sel))
    return failure();
  Value budget = sel->budget, threshold = sel->threshold;
  dyn::BlockSelection selKind = sel->kind;
  IntegerAttr window, global;
  if (selKind == dyn::BlockSelection::static_local) {
    window = b.getI64IntegerAttr(sel->window);
    global = b.getI64IntegerAttr(sel->global);
  }
  int64_t nb = s.size / *bs;
  Shape layoutShape{q.shape[0], q.shape[1], Dim::of(nb), Dim::of(nb)};
  UnitAttr causalAttr = *causal ? b.getUnitAttr() : UnitAttr();
  auto select = dyn::BsaSelectOp::create(
      b, typeOf(layoutShape, b.getI1Type()), q.v, k.v, budget, threshold,
      dyn::BlockSelectionAttr::get(&ctx, selKind), b.getI64IntegerAttr(*bs), causalAttr,
      scale, window, global);
  Shape outShape{q.shape[0], q.shape[1], q.shape[2], v.shape[3]};
  Value out = dyn::BsaAttentionOp::create(b, typeOf(outShape, q.elt()), q.v, k.v, v.v,
                                          select.getLayout(), b.getI64IntegerAttr(*bs),
                                          causalAttr, scale);
  SmallVector<TValue> results{TValue{out, outShape}};
  if (n.numOutputs == 2)
    results.push_back(TValue{select.getLayout(), layoutShape});
  return results;
}

} // namespace dync::import
