//===- ConvPool.cpp - convolution and pooling (NCHW, as PyTorch) ------------===//

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
// Convolution and pooling (NCHW, as PyTorch)
//===----------------------------------------------------------------------===//

/// Output size of a convolution or pooling window; 0 when the window does not
/// fit (C++ division truncates toward zero, so check the sign first).
static int64_t convOut(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  int64_t span = in + 2 * p - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

FailureOr<SmallVector<TValue>> GraphBuilder::emitConv(NodeView &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  if (failed(expectFloat(n, x, "input")))
    return failure();
  if (x.rank() != 4 || !x.shape[1].isStatic() || !x.shape[2].isStatic() ||
      !x.shape[3].isStatic())
    return failNode(n, "input must be [N, C, H, W] with static C, H, W, got " +
                           formatShape(x.shape));
  auto stride = pairAttr(n, "stride", {1, 1});
  auto padding = pairAttr(n, "padding", {0, 0});
  auto dilation = pairAttr(n, "dilation", {1, 1});
  FailureOr<int64_t> groups = intAttr(n, "groups", 1);
  if (failed(stride) || failed(padding) || failed(dilation) || failed(groups))
    return failure();
  if (stride->first < 1 || stride->second < 1 || dilation->first < 1 ||
      dilation->second < 1 || padding->first < 0 || padding->second < 0)
    return failNode(n, "stride and dilation must be >= 1 and padding >= 0");
  int64_t c = x.shape[1].size, g = *groups;
  if (g < 1 || c % g != 0)
    return failNode(n, llvm::formatv("groups {0} must be >= 1 and divide the {1} input channels", g, c));
  FailureOr<TValue> w = weight(n, "weight", {-1, c / g, -1, -1}, x.elt(), b);
  if (failed(w))
    return failure();
  int64_t o = w->shape[0].size, kh = w->shape[2].size, kw = w->shape[3].size;
  if (o % g != 0)
    return failNode(n, llvm::formatv("groups {0} must divide the {1} output channels", g, o));
  FailureOr<TValue> bias = weight(n, "bias", {o}, x.elt(), b, false);
  if (failed(bias))
    return failure();
  int64_t oh = convOut(x.shape[2].size, kh, stride->first, padding->first, dilation->first);
  int64_t ow = convOut(x.shape[3].size, kw, stride->second, padding->second, dilation->second);
  if (oh < 1 || ow < 1)
    return failNode(n, "the kernel does not fit the padded input");

  Type elt = x.elt();
  Value padded = tb.padHW(x.v, padding->first, padding->second, b.getZeroAttr(elt));
  // Split channels into groups: input [N, G, C/G, H, W], weight [G, O/G, C/G, kh, kw].
  auto pType = cast<RankedTensorType>(padded.getType());
  int64_t hp = pType.getDimSize(2), wp = pType.getDimSize(3);
  TValue px{padded, {x.shape[0], Dim::of(c), Dim::of(hp), Dim::of(wp)}};
  TValue xg = reshapeTo(b, px, {x.shape[0], Dim::of(g), Dim::of(c / g), Dim::of(hp), Dim::of(wp)});
  TValue wg = reshapeTo(b, *w, {Dim::of(g), Dim::of(o / g), Dim::of(c / g), Dim::of(kh), Dim::of(kw)});
  // Loops: n g o oh ow | ci kh kw.
  MLIRContext *mctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, mctx); };
  AffineMap inMap = AffineMap::get(
      8, 0,
      {d(0), d(1), d(5), d(3) * stride->first + d(6) * dilation->first,
       d(4) * stride->second + d(7) * dilation->second},
      mctx);
  AffineMap wMap = AffineMap::get(8, 0, {d(1), d(2), d(5), d(6), d(7)}, mctx);
  AffineMap outMap = AffineMap::get(8, 0, {d(0), d(1), d(2), d(3), d(4)}, mctx);
  Shape outG{x.shape[0], Dim::of(g), Dim::of(o / g), Dim::of(oh), Dim::of(ow)};
  SmallVector<OpFoldResult> sizes{symSize(b, x, x.shape[0]), b.getIndexAttr(g),
                                  b.getIndexAttr(o / g), b.getIndexAttr(oh),
                                  b.getIndexAttr(ow)};
  Value init = tb.filled(sizes, elt, b.getZeroAttr(elt));
  SmallVector<utils::IteratorType> iters(5, utils::IteratorType::parallel);
  iters.append(3, utils::IteratorType::reduction);
  Location loc = b.getLoc();
  Value y = linalg::GenericOp::create(
                b, TypeRange{typeOf(outG, elt)}, ValueRange{xg.v, wg.v},
                ValueRange{init}, ArrayRef<AffineMap>{inMap, wMap, outMap}, iters,
                [&](OpBuilder &nb, Location, ValueRange a) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  Value p = arith::MulFOp::create(ib, a[0], a[1]);
                  linalg::YieldOp::create(ib, Value(arith::AddFOp::create(ib, a[2], p)));
                })
                .getResult(0);
  Shape outShape{x.shape[0], Dim::of(o), Dim::of(oh), Dim::of(ow)};
  TValue out = reshapeTo(b, TValue{y, outG}, outShape);
  if (bias->v) {
    TValue bc = reshapeTo(b, *bias, {Dim::of(o), Dim::of(1), Dim::of(1)});
    out.v = tb.map({out.v, bc.v}, out.type(), [](ImplicitLocOpBuilder &ib, ValueRange a) {
      return Value(arith::AddFOp::create(ib, a[0], a[1]));
    });
  }
  return SmallVector<TValue>{out};
}

FailureOr<SmallVector<TValue>> GraphBuilder::emitPool(NodeView &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  if (failed(expectFloat(n, x, "input")))
    return failure();
  if (x.rank() != 4 || !x.shape[2].isStatic() || !x.shape[3].isStatic())
    return failNode(n, "input must be [N, C, H, W] with static H, W, got " +
                           formatShape(x.shape));
  Type elt = x.elt();
  if (n.op == "global_avg_pool") {
    // Like ONNX GlobalAveragePool (and adaptive_avg_pool2d(1)): [N, C, 1, 1].
    Value r = tb.reduce(x.v, {2, 3}, ReduceKind::Mean, /*keepDim=*/true);
    return SmallVector<TValue>{TValue{r, {x.shape[0], x.shape[1], Dim::of(1), Dim::of(1)}}};
  }
  auto kernel = pairAttr(n, "kernel", {0, 0});
  if (failed(kernel))
    return failure();
  auto stride = pairAttr(n, "stride", *kernel);
  auto padding = pairAttr(n, "padding", {0, 0});
  if (failed(stride) || failed(padding))
    return failure();
  if (kernel->first < 1 || kernel->second < 1 || stride->first < 1 || stride->second < 1 ||
      padding->first < 0 || padding->second < 0)
    return failNode(n, "kernel and stride must be >= 1 and padding >= 0");
  if (padding->first * 2 > kernel->first || padding->second * 2 > kernel->second)
    return failNode(n, "padding must be at most half the kernel (as in PyTorch)");
  int64_t oh = convOut(x.shape[2].size, kernel->first, stride->first, padding->first, 1);
  int64_t ow = convOut(x.shape[3].size, kernel->second, stride->second, padding->second, 1);
  if (oh < 1 || ow < 1)
    return failNode(n, "the kernel does not fit the padded input");
  bool isMax = n.op == "max_pool2d";
  TypedAttr padValue = isMax ? TypedAttr(b.getFloatAttr(elt, -std::numeric_limits<double>::infinity()))
                             : TypedAttr(b.getFloatAttr(elt, 0.0));
  Value padded = tb.padHW(x.v, padding->first, padding->second, padValue);
  Shape outShape{x.shape[0], x.shape[1], Dim::of(oh), Dim::of(ow)};
  SmallVector<OpFoldResult> sizes{symSize(b, x, x.shape[0]), symSize(b, x, x.shape[1]),
                                  b.getIndexAttr(oh), b.getIndexAttr(ow)};
  Value init = tb.filled(sizes, elt, padValue);
  Value window = tb.empty({b.getIndexAttr(kernel->first), b.getIndexAttr(kernel->second)}, elt);
  auto strides = b.getI64TensorAttr({stride->first, stride->second});
  auto dil = b.getI64TensorAttr({1, 1});
  Value r;
  if (isMax)
    r = linalg::PoolingNchwMaxOp::create(b, TypeRange{typeOf(outShape, elt)},
                                         ValueRange{padded, window}, ValueRange{init},
                                         strides, dil)
            .getResult(0);
  else {
    r = linalg::PoolingNchwSumOp::create(b, TypeRange{typeOf(outShape, elt)},
                                         ValueRange{padded, window}, ValueRange{init},
                                         strides, dil)
            .getResult(0);
    // count_include_pad=True, PyTorch's default: divide by the kernel area.
    double area = static_cast<double>(kernel->first * kernel->second);
    r = tb.map({r}, typeOf(outShape, elt), [&](ImplicitLocOpBuilder &ib, ValueRange a) {
      Value k = arith::ConstantOp::create(ib, ib.getFloatAttr(elt, area));
      return Value(arith::DivFOp::create(ib, a[0], k));
    });
  }
  return SmallVector<TValue>{TValue{r, outShape}};
}

} // namespace dync::import
