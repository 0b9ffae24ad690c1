//===- Moe.cpp - mixture of experts -----------------------------------------===//

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
// Dynamic ops
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> GraphBuilder::emitMoe(NodeView &n, ImplicitLocOpBuilder &b) {
  const TValue &x = n.inputs[0];
  if (failed(expectFloat(n, x, "input")))
    return failure();
  if (x.rank() < 1 || !x.shape.back().isStatic())
    return failNode(n, "input must be [..., d] with a static model dim d");
  int64_t d = x.shape.back().size;
  FailureOr<int64_t> e = intAttr(n, "num_experts");
  FailureOr<int64_t> k = intAttr(n, "top_k");
  FailureOr<bool> normalize = boolAttr(n, "normalize", true);
  FailureOr<std::string> act = stringAttr(n, "activation", {"relu", "gelu", "silu"});
  FailureOr<bool> gated = boolAttr(n, "gated", false);
  FailureOr<bool> shared = boolAttr(n, "shared_expert", false);
  if (failed(e) || failed(k) || failed(normalize) || failed(act) || failed(gated) ||
      failed(shared))
    return failure();
  if (*e < 1)
    return failNode(n, "num_experts must be >= 1");
  if (*k < 1 || *k > *e)
    return failNode(n, llvm::formatv("top_k = {0} must be between 1 and num_experts = {1}",
                                     *k, *e));
  std::optional<double> capacity;
  if (n.hasAttr("capacity_factor")) {
    FailureOr<double> c = floatAttr(n, "capacity_factor");
    if (failed(c))
      return failure();
    if (!(*c > 0))
      return failNode(n, "capacity_factor must be positive");
    capacity = *c;
  }
  // A fixed capacity (Switch Transformer's expert_capacity), whatever T.
  std::optional<int64_t> fixedCapacity;
  if (n.hasAttr("capacity")) {
    if (capacity)
      return failNode(n, "give 'capacity_factor' or 'capacity', not both");
    FailureOr<int64_t> c = intAttr(n, "capacity");
    if (failed(c))
      return failure();
    if (*c < 1)
      return failNode(n, llvm::formatv("capacity must be at least 1, got {0}", *c));
    fixedCapacity = *c;
  }
  if (*gated != hasWeight(n, "w3"))
    return failNode(n, *gated ? "gated experts need weight slot 'w3'"
                              : "weight slot 'w3' is given but 'gated' is false");
  bool hasShared = hasWeight(n, "shared_w1") || hasWeight(n, "shared_w2");
  if (*shared && !(hasWeight(n, "shared_w1") && hasWeight(n, "shared_w2")))
    return failNode(n, "shared_expert needs weight slots 'shared_w1' and 'shared_w2'");
  if (!*shared && (hasShared || hasWeight(n, "shared_w3") || hasWeight(n, "shared_b1") ||
                   hasWeight(n, "shared_b2")))
    return failNode(n, "shared expert weights are given but 'shared_expert' is false");
  if (*shared && *gated != hasWeight(n, "shared_w3"))
    return failNode(n, *gated ? "a gated shared expert needs weight slot 'shared_w3'"
                              : "weight slot 'shared_w3' is given but 'gated' is false");

  Type elt = x.elt();
  FailureOr<TValue> router = weight(n, "router", {*e, d}, elt, b);
  FailureOr<TValue> w1 = weight(n, "w1", {*e, -1, d}, elt, b);
  if (failed(router) || failed(w1))
    return failure();
  int64_t h = w1->shape[1].size;
  FailureOr<TValue> w2 = weight(n, "w2", {*e, d, h}, elt, b);
  FailureOr<TValue> w3 = weight(n, "w3", {*e, h, d}, elt, b, false);
  FailureOr<TValue> rb = weight(n, "router_bias", {*e}, elt, b, false);
  FailureOr<TValue> b1 = weight(n, "b1", {*e, h}, elt, b, false);
  FailureOr<TValue> b2 = weight(n, "b2", {*e, d}, elt, b, false);
  if (failed(w2) || failed(w3) || failed(rb) || failed(b1) || failed(b2))
    return failure();
  TValue s1, s2, s3, sb1, sb2;
  if (*shared) {
    FailureOr<TValue> t1 = weight(n, "shared_w1", {-1, d}, elt, b);
    if (failed(t1))
      return failure();
    int64_t hs = t1->shape[0].size;
    FailureOr<TValue> t2 = weight(n, "shared_w2", {d, hs}, elt, b);
    FailureOr<TValue> t3 = weight(n, "shared_w3", {hs, d}, elt, b, false);
    FailureOr<TValue> tb1 = weight(n, "shared_b1", {hs}, elt, b, false);
    FailureOr<TValue> tb2 = weight(n, "shared_b2", {d}, elt, b, false);
    if (failed(t2) || failed(t3) || failed(tb1) || failed(tb2))
      return failure();
    s1 = *t1, s2 = *t2, s3 = *t3, sb1 = *tb1, sb2 = *tb2;
  }
  auto actAttr = dyn::ActivationAttr::get(&ctx, *act == "relu"   ? dyn::Activation::relu
                                                : *act == "gelu" ? dyn::Activation::gelu
                                                                 : dyn::Activation::silu);
  SmallVector<Type> resultTypes{x.type()};
  Shape countsShape{Dim::of(*e)};
  if (n.numOutputs == 2)
    resultTypes.push_back(typeOf(countsShape, b.getI32Type()));
  auto moe = dyn::MoeOp::create(
      b, resultTypes, x.v, router->v, w1->v, w2->v, w3->v, rb->v, b1->v, b2->v, s1.v, s2.v,
      s3.v, sb1.v, sb2.v, b.getI64IntegerAttr(*k), b.getBoolAttr(*normalize), actAttr,
      capacity ? b.getF64FloatAttr(*capacity) : FloatAttr(),
      fixedCapacity ? b.getI64IntegerAttr(*fixedCapacity) : IntegerAttr());
  SmallVector<TValue> results{TValue{moe.getResult(), x.shape}};
  if (n.numOutputs == 2)
    results.push_back(TValue{moe.getExpertCounts(), countsShape});
  return results;
}

} // namespace dync::import
