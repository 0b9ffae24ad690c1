//===- OnnxShapeOps.cpp - ONNX shape, indexing, conv and pool ops ---------===//
//
// Shape ops fold when their input is a known integer tensor (a shape) and
// otherwise build the reshape, transpose, concat or slice they describe,
// with targets resolved here from the symbolic shapes.
//
//===----------------------------------------------------------------------===//

#include "OnnxImporter.h"

#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>
#include <limits>

using namespace mlir;

namespace dync::import {

namespace {

/// Python/ONNX slice bounds on a static length.
void clampSlice(int64_t len, int64_t &start, int64_t &end, int64_t step) {
  auto clamp = [&](int64_t v, int64_t lo, int64_t hi) {
    if (v < 0)
      v += len;
    return std::min(std::max(v, lo), hi);
  };
  if (step > 0) {
    start = clamp(start, 0, len);
    end = clamp(end, 0, len);
  } else {
    start = clamp(start, -1, len - 1);
    end = clamp(end, -1, len - 1);
  }
}

} // namespace

LogicalResult OnnxImporter::translateShape(OnnxNodeView &n, const onnx::NodeProto &node,
                                           ImplicitLocOpBuilder &b) {
  OnnxValue &in = values[node.input(0)];
  SmallVector<Dim> dims;
  if (in.tensor)
    dims.assign(in.tensor->shape.begin(), in.tensor->shape.end());
  else if (in.isFloatConst)
    for (int64_t d : floatConsts.at(canonical(node.input(0))).shape)
      dims.push_back(Dim::of(d));
  else if (in.ints && !in.scalar)
    dims.push_back(Dim::of(int64_t(in.ints->size())));
  int64_t rank = int64_t(dims.size());
  int64_t start = intAttr(node, "start", 0), end = intAttr(node, "end", rank);
  clampSlice(rank, start, end, 1);
  OnnxValue out;
  out.ints.emplace(dims.begin() + start, dims.begin() + std::max(start, end));
  bind(node, 0, std::move(out));
  return success();
}

LogicalResult OnnxImporter::translateReshape(OnnxNodeView &n, const onnx::NodeProto &node,
                                             ImplicitLocOpBuilder &b) {
  FailureOr<SmallVector<Dim>> spec = intsInput(n, node, 1, "shape");
  if (failed(spec))
    return failure();
  OnnxValue &in = values[node.input(0)];
  if (in.ints) {
    // A reshape of a shape: its elements stay, only the rank changes.
    OnnxValue out = in;
    out.scalar = spec->empty();
    bind(node, 0, std::move(out));
    return success();
  }
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  bool allowZero = intAttr(node, "allowzero", 0) != 0;
  Shape target;
  int inferred = -1;
  for (size_t i = 0; i < spec->size(); ++i) {
    Dim d = (*spec)[i];
    if (d.isStatic() && d.size == 0 && !allowZero) {
      if (int64_t(i) >= x->rank())
        return failNode(n, "shape entry " + std::to_string(i) + " is 0 (copy the input's dim), "
                           "but the input " + formatShape(x->shape) + " has no such dim");
      d = x->shape[i];
    } else if (d.isStatic() && d.size == -1) {
      if (inferred >= 0)
        return failNode(n, "the shape has two -1 entries");
      inferred = int(i);
    } else if (d.isStatic() && d.size <= 0) {
      return failNode(n, "shape entry " + std::to_string(i) + " is " + std::to_string(d.size));
    }
    target.push_back(d);
  }
  Dim total = productOf(x->shape);
  if (inferred >= 0) {
    Shape known = target;
    known.erase(known.begin() + inferred);
    std::optional<Dim> rest = divDims(total, productOf(known));
    if (!rest)
      return failNode(n, "cannot infer the -1 entry reshaping " + formatShape(x->shape) + " to " +
                             formatShape(target));
    target[inferred] = *rest;
  } else if (productOf(target) != total) {
    return failNode(n, "cannot reshape " + formatShape(x->shape) + " to " + formatShape(target) +
                           ": element counts differ");
  }
  bind(node, 0, g.reshapeTo(b, *x, target));
  return success();
}

LogicalResult OnnxImporter::translateUnsqueeze(OnnxNodeView &n, const onnx::NodeProto &node,
                                               ImplicitLocOpBuilder &b) {
  SmallVector<int64_t> axes;
  if (std::optional<SmallVector<int64_t>> a = intsAttr(node, "axes")) {
    axes = *a;
  } else {
    FailureOr<SmallVector<Dim>> in = intsInput(n, node, 1, "axes");
    if (failed(in))
      return failure();
    for (const Dim &d : *in)
      axes.push_back(d.size);
  }
  OnnxValue &in = values[node.input(0)];
  if (in.ints && in.scalar && axes.size() == 1) {
    OnnxValue out = in;
    out.scalar = false;
    bind(node, 0, std::move(out));
    return success();
  }
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  int64_t rank = x->rank() + int64_t(axes.size());
  SmallVector<bool> added(rank, false);
  for (int64_t a : axes) {
    FailureOr<int64_t> ax = g.normAxis(n, a, rank);
    if (failed(ax))
      return failure();
    added[*ax] = true;
  }
  Shape target;
  size_t k = 0;
  for (int64_t i = 0; i < rank; ++i)
    target.push_back(added[i] ? Dim::of(1) : x->shape[k++]);
  bind(node, 0, g.reshapeTo(b, *x, target));
  return success();
}

LogicalResult OnnxImporter::translateSqueeze(OnnxNodeView &n, const onnx::NodeProto &node,
                                             ImplicitLocOpBuilder &b) {
  std::optional<SmallVector<int64_t>> axes = intsAttr(node, "axes");
  if (!axes && hasInput(node, 1)) {
    FailureOr<SmallVector<Dim>> in = intsInput(n, node, 1, "axes");
    if (failed(in))
      return failure();
    axes.emplace();
    for (const Dim &d : *in)
      axes->push_back(d.size);
  }
  OnnxValue &in = values[node.input(0)];
  if (in.ints && !in.scalar && in.ints->size() == 1) {
    OnnxValue out = in;
    out.scalar = true;
    bind(node, 0, std::move(out));
    return success();
  }
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  SmallVector<bool> drop(x->rank(), false);
  if (axes) {
    for (int64_t a : *axes) {
      FailureOr<int64_t> ax = g.normAxis(n, a, x->rank());
      if (failed(ax))
        return failure();
      if (x->shape[*ax] != Dim::of(1))
        return failNode(n, "cannot squeeze dim " + std::to_string(*ax) + " of " +
                               formatShape(x->shape) + ": its size is not 1");
      drop[*ax] = true;
    }
  } else {
    for (int64_t i = 0; i < x->rank(); ++i)
      drop[i] = x->shape[i] == Dim::of(1);
  }
  Shape target;
  for (int64_t i = 0; i < x->rank(); ++i)
    if (!drop[i])
      target.push_back(x->shape[i]);
  bind(node, 0, g.reshapeTo(b, *x, target));
  return success();
}

LogicalResult OnnxImporter::translateFlatten(OnnxNodeView &n, const onnx::NodeProto &node,
                                             ImplicitLocOpBuilder &b) {
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  int64_t axis = intAttr(node, "axis", 1);
  if (axis < 0)
    axis += x->rank();
  if (axis < 0 || axis > x->rank())
    return failNode(n, "axis " + std::to_string(axis) + " is out of range for rank " +
                           std::to_string(x->rank()));
  ArrayRef<Dim> dims(x->shape);
  Shape target{productOf(dims.take_front(axis)), productOf(dims.drop_front(axis))};
  bind(node, 0, g.reshapeTo(b, *x, target));
  return success();
}

LogicalResult OnnxImporter::translateTranspose(OnnxNodeView &n, const onnx::NodeProto &node,
                                               ImplicitLocOpBuilder &b) {
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  SmallVector<int64_t> perm;
  if (std::optional<SmallVector<int64_t>> p = intsAttr(node, "perm"))
    perm = *p;
  else
    for (int64_t i = x->rank() - 1; i >= 0; --i)
      perm.push_back(i);
  n.op = "transpose";
  n.attrs["perm"] = perm;
  n.inputs = {*x};
  return emit(n, node, b);
}

LogicalResult OnnxImporter::translateConcat(OnnxNodeView &n, const onnx::NodeProto &node,
                                            ImplicitLocOpBuilder &b) {
  int64_t axis = intAttr(node, "axis", 0);
  bool allInts = llvm::all_of(node.input(), [&](const std::string &in) {
    return in.empty() || values[in].ints.has_value();
  });
  if (allInts) {
    OnnxValue out;
    out.ints.emplace();
    for (const std::string &in : node.input())
      if (!in.empty())
        out.ints->append(values[in].ints->begin(), values[in].ints->end());
    bind(node, 0, std::move(out));
    return success();
  }
  n.op = "concat";
  n.attrs["axis"] = axis;
  for (int i = 0; i < node.input_size(); ++i) {
    if (node.input(i).empty())
      continue;
    FailureOr<TValue> x = tensorInput(n, node, i, b);
    if (failed(x))
      return failure();
    n.inputs.push_back(*x);
  }
  return emit(n, node, b);
}

LogicalResult OnnxImporter::translateSlice(OnnxNodeView &n, const onnx::NodeProto &node,
                                           ImplicitLocOpBuilder &b) {
  FailureOr<SmallVector<Dim>> starts = intsInput(n, node, 1, "starts");
  FailureOr<SmallVector<Dim>> ends = intsInput(n, node, 2, "ends");
  if (failed(starts) || failed(ends))
    return failure();
  SmallVector<Dim> axes, steps;
  if (hasInput(node, 3)) {
    FailureOr<SmallVector<Dim>> a = intsInput(n, node, 3, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  } else {
    for (size_t i = 0; i < starts->size(); ++i)
      axes.push_back(Dim::of(int64_t(i)));
  }
  if (hasInput(node, 4)) {
    FailureOr<SmallVector<Dim>> s = intsInput(n, node, 4, "steps");
    if (failed(s))
      return failure();
    steps = *s;
  } else {
    steps.assign(starts->size(), Dim::of(1));
  }
  auto allStatic = [](ArrayRef<Dim> v) {
    return llvm::all_of(v, [](const Dim &d) { return d.isStatic(); });
  };
  if (starts->size() != ends->size() || axes.size() != starts->size() ||
      steps.size() != starts->size())
    return failNode(n, "starts, ends, axes and steps must have the same length");
  // Ends may be a size (x[:, :t] of a longer buffer); the rest is static.
  if (!allStatic(*starts) || !allStatic(axes) || !allStatic(steps))
    return failNode(n, "slice bounds must be known at compile time");
  OnnxValue &in = values[node.input(0)];
  if (in.ints && !in.scalar) {
    if (!allStatic(*ends))
      return failNode(n, "slice bounds must be known at compile time");
    // Slicing a shape.
    int64_t len = int64_t(in.ints->size()), s = (*starts)[0].size, e = (*ends)[0].size,
            st = steps[0].size;
    if (st == 0)
      return failNode(n, "slice step must not be 0");
    clampSlice(len, s, e, st);
    OnnxValue out;
    out.ints.emplace();
    for (int64_t i = s; st > 0 ? i < e : i > e;) {
      out.ints->push_back((*in.ints)[i]);
      if (st > 0 ? e - i <= st : i - e <= -st) // the next would pass the end
        break;
      i += st;
    }
    bind(node, 0, std::move(out));
    return success();
  }
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  TValue cur = *x;
  for (size_t i = 0; i < axes.size(); ++i) {
    if (steps[i].size < 1)
      return failNode(n, "negative slice steps are not supported");
    if (!(*ends)[i].isStatic()) {
      // [0, e) with e a size: all of a dim that is e, or a prefix of a
      // static dim that e never exceeds (ONNX would clamp; the bound makes
      // clamping unnecessary).
      FailureOr<int64_t> ax = g.normAxis(n, axes[i].size, cur.rank());
      if (failed(ax))
        return failure();
      const Dim &e = (*ends)[i], &len = cur.shape[*ax];
      if ((*starts)[i].size != 0 || steps[i].size != 1)
        return failNode(n, "a slice to the size " + e.sym + " must start at 0 with step 1");
      if (len == e)
        continue;
      int64_t most = g.sizeBounds(e).second;
      if (!len.isStatic() || most > len.size)
        return failNode(n, "the slice end " + e.sym + " (up to " + std::to_string(most) +
                               ") may exceed dim " + std::to_string(*ax) + " of " +
                               formatShape(cur.shape) + "; bound it with --dim");
      SmallVector<OpFoldResult> offsets(cur.rank(), b.getIndexAttr(0)), sizes,
          strides(cur.rank(), b.getIndexAttr(1));
      Shape shape = cur.shape;
      shape[*ax] = e;
      for (const Dim &d : shape)
        sizes.push_back(g.symSize(b, anyTensor, d));
      Value v = tensor::ExtractSliceOp::create(b, typeOf(shape, cur.elt()), cur.v, offsets, sizes,
                                               strides);
      cur = TValue{v, shape};
      continue;
    }
    OnnxNodeView s = n.part("slice");
    s.attrs["axis"] = axes[i].size;
    s.attrs["start"] = (*starts)[i].size;
    s.attrs["end"] = (*ends)[i].size;
    s.attrs["step"] = steps[i].size;
    s.inputs = {cur};
    FailureOr<SmallVector<TValue>> r = g.emit(s, b);
    if (failed(r))
      return failure();
    cur = (*r)[0];
  }
  bind(node, 0, cur);
  return success();
}

LogicalResult OnnxImporter::translateSplit(OnnxNodeView &n, const onnx::NodeProto &node,
                                           ImplicitLocOpBuilder &b) {
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  FailureOr<int64_t> axis = g.normAxis(n, intAttr(node, "axis", 0), x->rank());
  if (failed(axis))
    return failure();
  const Dim &len = x->shape[*axis];
  int64_t parts = node.output_size();
  // The sizes: the 'split' input (opset 13+) or attribute, else equal parts
  // (the last one smaller, as opset 18's num_outputs says).
  SmallVector<int64_t> sizes;
  if (hasInput(node, 1)) {
    FailureOr<SmallVector<Dim>> in = intsInput(n, node, 1, "split");
    if (failed(in))
      return failure();
    for (const Dim &d : *in) {
      if (!d.isStatic())
        return failNode(n, "split sizes must be known at compile time");
      sizes.push_back(d.size);
    }
  } else if (std::optional<SmallVector<int64_t>> a = intsAttr(node, "split")) {
    sizes = *a;
  } else {
    if (!len.isStatic())
      return failNode(n, "splitting the dynamic dim " + len.sym + " into equal parts is not supported");
    int64_t each = (len.size + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(each, len.size - i * each)));
  }
  if (int64_t(sizes.size()) != parts)
    return failNode(n, llvm::formatv("{0} split sizes for {1} outputs", sizes.size(), parts).str());
  int64_t start = 0;
  for (int64_t i = 0; i < parts; ++i) {
    OnnxNodeView s = n.part("slice");
    s.attrs["axis"] = *axis;
    s.attrs["start"] = start;
    s.attrs["end"] = start + sizes[i];
    s.attrs["step"] = int64_t(1);
    s.inputs = {*x};
    FailureOr<SmallVector<TValue>> r = g.emit(s, b);
    if (failed(r))
      return failure();
    if (!node.output(int(i)).empty())
      bind(node, int(i), (*r)[0]);
    start += sizes[i];
  }
  return success();
}

LogicalResult OnnxImporter::translateGather(OnnxNodeView &n, const onnx::NodeProto &node,
                                            ImplicitLocOpBuilder &b) {
  int64_t axis = intAttr(node, "axis", 0);
  OnnxValue &data = values[node.input(0)], &idx = values[node.input(1)];
  // An element of a shape.
  if (data.ints && idx.ints && !data.scalar) {
    OnnxValue out;
    out.ints.emplace();
    out.scalar = idx.scalar;
    int64_t len = int64_t(data.ints->size());
    for (const Dim &i : *idx.ints) {
      int64_t k = i.isStatic() ? (i.size < 0 ? i.size + len : i.size) : -1;
      if (k < 0 || k >= len)
        return failNode(n, "index " + formatDim(i) + " is out of range for a shape of " +
                               std::to_string(len) + " dims");
      out.ints->push_back((*data.ints)[k]);
    }
    bind(node, 0, std::move(out));
    return success();
  }
  // Rows of a constant table: an embedding.
  const FloatConst *table = floatConst(node, 0);
  if (table && table->shape.size() == 2 && axis == 0) {
    FailureOr<TValue> ids = tensorInput(n, node, 1, b);
    if (failed(ids))
      return failure();
    n.op = "embedding";
    n.weights["weight"] = canonical(node.input(0));
    n.inputs = {*ids};
    return emit(n, node, b);
  }
  // One index along an axis: a slice, then the axis dropped.
  if (idx.ints && idx.scalar && idx.ints->front().isStatic()) {
    FailureOr<TValue> x = tensorInput(n, node, 0, b);
    if (failed(x))
      return failure();
    FailureOr<int64_t> ax = g.normAxis(n, axis, x->rank());
    if (failed(ax))
      return failure();
    int64_t i = idx.ints->front().size;
    n.op = "slice";
    n.attrs["axis"] = *ax;
    n.attrs["start"] = i;
    n.attrs["end"] = i == -1 ? std::numeric_limits<int64_t>::max() : i + 1;
    n.attrs["step"] = int64_t(1);
    n.inputs = {*x};
    FailureOr<SmallVector<TValue>> r = g.emit(n, b);
    if (failed(r))
      return failure();
    Shape target((*r)[0].shape);
    target.erase(target.begin() + *ax);
    bind(node, 0, g.reshapeTo(b, (*r)[0], target));
    return success();
  }
  // Any other: numpy.take along the axis (negative indices from the end).
  FailureOr<TValue> data2 = tensorInput(n, node, 0, b), ids = tensorInput(n, node, 1, b);
  if (failed(data2) || failed(ids))
    return failure();
  n.op = "gather";
  n.attrs["axis"] = axis;
  n.inputs = {*data2, *ids};
  return emit(n, node, b);
}

} // namespace dync::import
