//===- OnnxConvPool.cpp - ONNX convolution, normalization and pooling ---===//
//
// Conv, BatchNormalization and pooling: dync's NCHW ops, with the attributes
// ONNX spells differently (pads per side, kernel_shape) checked and mapped.
//
//===----------------------------------------------------------------------===//

#include "OnnxImporter.h"

#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>

using namespace mlir;

namespace dync::import {

LogicalResult OnnxImporter::translateConv(OnnxNodeView &n, const onnx::NodeProto &node,
                                          ImplicitLocOpBuilder &b) {
  std::string w = weightInput(node, 1), bias = weightInput(node, 2);
  if (w.empty() || (hasInput(node, 2) && bias.empty()))
    return failNode(n, "Conv's weight and bias must be constants (initializers)");
  if (floatConsts.at(w).shape.size() != 4)
    return failNode(n, "only 2-D convolutions are supported");
  const onnx::AttributeProto *autoPad = attr(node, "auto_pad");
  if (autoPad && autoPad->s() != "NOTSET")
    return failNode(n, "auto_pad '" + autoPad->s() + "' is not supported; export explicit pads");
  SmallVector<int64_t> pads = intsAttr(node, "pads").value_or(SmallVector<int64_t>{0, 0, 0, 0});
  SmallVector<int64_t> strides = intsAttr(node, "strides").value_or(SmallVector<int64_t>{1, 1});
  SmallVector<int64_t> dil = intsAttr(node, "dilations").value_or(SmallVector<int64_t>{1, 1});
  if (pads.size() != 4 || pads[0] != pads[2] || pads[1] != pads[3] || strides.size() != 2 ||
      dil.size() != 2)
    return failNode(n, "only symmetric 2-D pads are supported");
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  n.op = "conv2d";
  n.attrs["stride"] = std::make_pair(strides[0], strides[1]);
  n.attrs["padding"] = std::make_pair(pads[0], pads[1]);
  n.attrs["dilation"] = std::make_pair(dil[0], dil[1]);
  n.attrs["groups"] = intAttr(node, "group", 1);
  n.weights["weight"] = w;
  if (!bias.empty())
    n.weights["bias"] = bias;
  n.inputs = {*x};
  return emit(n, node, b);
}

LogicalResult OnnxImporter::translateBatchNorm(OnnxNodeView &n, const onnx::NodeProto &node,
                                               ImplicitLocOpBuilder &b) {
  if (intAttr(node, "training_mode", 0))
    return failNode(n, "BatchNormalization in training mode is not supported");
  std::string scale = weightInput(node, 1), bias = weightInput(node, 2),
              mean = weightInput(node, 3), var = weightInput(node, 4);
  if (scale.empty() || bias.empty() || mean.empty() || var.empty())
    return failNode(n, "BatchNormalization's scale, bias, mean and variance must be constants");
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  n.op = "batch_norm";
  n.attrs["eps"] = double(floatAttr(node, "epsilon", 1e-5f));
  n.weights = {{"weight", scale}, {"bias", bias}, {"running_mean", mean}, {"running_var", var}};
  n.inputs = {*x};
  return emit(n, node, b);
}

LogicalResult OnnxImporter::translatePool(OnnxNodeView &n, const onnx::NodeProto &node,
                                          ImplicitLocOpBuilder &b) {
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  n.inputs = {*x};
  if (node.op_type() == "GlobalAveragePool") {
    n.op = "global_avg_pool";
    if (failed(emit(n, node, b)))
      return failure();
    // ONNX keeps the spatial dims as 1 x 1.
    TValue &out = *values[node.output(0)].tensor;
    Shape target(out.shape);
    while (target.size() < 4)
      target.push_back(Dim::of(1));
    out = g.reshapeTo(b, out, target);
    return success();
  }
  SmallVector<int64_t> kernel = intsAttr(node, "kernel_shape").value_or(SmallVector<int64_t>{});
  SmallVector<int64_t> pads = intsAttr(node, "pads").value_or(SmallVector<int64_t>{0, 0, 0, 0});
  SmallVector<int64_t> strides = intsAttr(node, "strides").value_or(SmallVector<int64_t>{1, 1});
  std::optional<SmallVector<int64_t>> dil = intsAttr(node, "dilations");
  if (kernel.size() != 2 || pads.size() != 4 || pads[0] != pads[2] || pads[1] != pads[3] ||
      strides.size() != 2)
    return failNode(n, "only 2-D pooling with symmetric pads is supported");
  if (intAttr(node, "ceil_mode", 0) || (dil && llvm::any_of(*dil, [](int64_t d) { return d != 1; })))
    return failNode(n, "pooling with ceil_mode or dilations is not supported");
  bool isMax = node.op_type() == "MaxPool";
  if (!isMax && (pads[0] || pads[1]) && !intAttr(node, "count_include_pad", 0))
    return failNode(n, "AveragePool with pads needs count_include_pad=1 (PyTorch's default, "
                       "which dync implements)");
  n.op = isMax ? "max_pool2d" : "avg_pool2d";
  n.attrs["kernel"] = std::make_pair(kernel[0], kernel[1]);
  n.attrs["stride"] = std::make_pair(strides[0], strides[1]);
  n.attrs["padding"] = std::make_pair(pads[0], pads[1]);
  return emit(n, node, b);
}

} // namespace dync::import
