//===- ShapeOps.cpp - transpose, concat, slice, flatten, reshape ------------===//

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
// Shape ops
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> GraphBuilder::emitShapeOp(NodeView &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  int64_t rank = x.rank();

  if (n.op == "transpose") {
    FailureOr<SmallVector<int64_t>> perm = intListAttr(n, "perm");
    if (failed(perm))
      return failure();
    if (static_cast<int64_t>(perm->size()) != rank)
      return failNode(n, llvm::formatv("perm has {0} entries for an input of rank {1}",
                                       perm->size(), rank));
    SmallVector<bool> seen(rank, false);
    for (int64_t &p : *perm) {
      FailureOr<int64_t> a = normAxis(n, p, rank, "perm entry");
      if (failed(a))
        return failure();
      if (seen[*a])
        return failNode(n, "perm repeats axis " + std::to_string(*a));
      seen[*a] = true;
      p = *a;
    }
    if (n.live && (*perm)[0] != 0)
      return failNode(n, "moves axis 0, the live batch: inside gate, per-sample "
                         "cond and early_exit subgraphs the batch stays first");
    Shape shape;
    for (int64_t p : *perm)
      shape.push_back(x.shape[p]);
    return SmallVector<TValue>{TValue{tb.transpose(x.v, *perm), shape}};
  }

  if (n.op == "concat") {
    FailureOr<int64_t> axis = intAttr(n, "axis");
    if (failed(axis))
      return failure();
    FailureOr<int64_t> a = normAxis(n, *axis, rank);
    if (failed(a) || failed(noBatchMix(n, *a, "concat along")))
      return failure();
    Shape shape = x.shape;
    int64_t total = 0;
    bool dynamic = false;
    SmallVector<Value> vals;
    for (auto [i, in] : llvm::enumerate(n.inputs)) {
      if (in.rank() != rank || in.elt() != x.elt())
        return failNode(n, llvm::formatv("input {0} has rank {1} and dtype {2}; all "
                                         "inputs need rank {3} and dtype {4}",
                                         i, in.rank(), dtypeName(in.elt()), rank,
                                         dtypeName(x.elt())));
      for (int64_t k = 0; k < rank; ++k)
        if (k != *a && in.shape[k] != x.shape[k])
          return failNode(n, "input " + std::to_string(i) + " has shape " +
                                 formatShape(in.shape) + ", which differs from " +
                                 formatShape(x.shape) + " off the concat axis");
      if (in.shape[*a].isStatic())
        total += in.shape[*a].size;
      else
        dynamic = true;
      vals.push_back(in.v);
    }
    if (dynamic)
      return failNode(n, "concatenating along a dynamic dim is not supported");
    shape[*a] = Dim::of(total);
    Value r = tensor::ConcatOp::create(b, typeOf(shape, x.elt()), *a, vals);
    return SmallVector<TValue>{TValue{r, shape}};
  }

  if (n.op == "slice") {
    FailureOr<int64_t> axis = intAttr(n, "axis");
    FailureOr<int64_t> start = intAttr(n, "start", 0);
    FailureOr<int64_t> end = intAttr(n, "end", std::numeric_limits<int64_t>::max());
    FailureOr<int64_t> step = intAttr(n, "step", 1);
    if (failed(axis) || failed(start) || failed(end) || failed(step))
      return failure();
    FailureOr<int64_t> a = normAxis(n, *axis, rank);
    if (failed(a) || failed(noBatchMix(n, *a, "slice along")))
      return failure();
    if (*step < 1)
      return failNode(n, "step must be >= 1 (PyTorch does not support negative steps)");
    const Dim &d = x.shape[*a];
    Shape shape = x.shape;
    // Sizes left null are the input's.
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes(rank),
        strides(rank, b.getIndexAttr(1));
    strides[*a] = b.getIndexAttr(*step);
    if (d.isStatic()) {
      // Python slice semantics: negative indices count from the end, then clamp.
      auto clampIdx = [&](int64_t i) {
        if (i < 0)
          i += d.size;
        return std::min(std::max<int64_t>(i, 0), d.size);
      };
      int64_t s = clampIdx(*start), e = clampIdx(*end);
      int64_t len = e > s ? (e - s + *step - 1) / *step : 0;
      if (len == 0)
        return failNode(n, "the slice is empty");
      shape[*a] = Dim::of(len);
      offsets[*a] = b.getIndexAttr(s);
    } else {
      // Along a dynamic dim the clamping happens at run time, unless the
      // dim's bounds decide it: x[0:1] of a batch of at least one sample is
      // one row whatever the batch.
      std::pair<int64_t, int64_t> bounds = sizeBounds(d);
      int64_t lo = bounds.first, hi = bounds.second;
      bool whole = *start >= 0 && *end >= hi;
      if (*start >= 0 && *end >= 0 && *end <= lo) {
        int64_t len = *end > *start ? (*end - *start + *step - 1) / *step : 0;
        if (len == 0)
          return failNode(n, "the slice is empty");
        shape[*a] = Dim::of(len);
        offsets[*a] = b.getIndexAttr(*start);
      } else if (whole && *start == 0 && *step == 1) {
        offsets[*a] = b.getIndexAttr(0);
      } else {
        std::string spec = d.atoms.size() == 1 && d.factor == 1 ? d.sym : "(" + d.sym + ")";
        spec += "[" + std::to_string(*start) + ":" +
                (*end == std::numeric_limits<int64_t>::max() ? "" : std::to_string(*end)) +
                (*step == 1 ? "" : ":" + std::to_string(*step)) + "]";
        shape[*a] = Dim::named(spec);
        Value size = tensor::DimOp::create(b, x.v, *a);
        Value zero = arith::ConstantIndexOp::create(b, 0);
        auto clampIdx = [&](int64_t i) -> Value {
          if (i < 0)
            return arith::MaxSIOp::create(
                b, arith::AddIOp::create(b, size, arith::ConstantIndexOp::create(b, i)), zero);
          if (i >= hi)
            return size;
          return arith::MinSIOp::create(b, size, arith::ConstantIndexOp::create(b, i));
        };
        Value s = clampIdx(*start), e = clampIdx(*end);
        Value len = arith::MaxSIOp::create(b, arith::SubIOp::create(b, e, s), zero);
        if (*step > 1)
          len = arith::CeilDivSIOp::create(b, len, arith::ConstantIndexOp::create(b, *step));
        offsets[*a] = s;
        sizes[*a] = len;
      }
    }
    for (int64_t k = 0; k < rank; ++k)
      if (!sizes[k])
        sizes[k] = symSize(b, x, shape[k]);
    Value r = tensor::ExtractSliceOp::create(b, typeOf(shape, x.elt()), x.v, offsets,
                                             sizes, strides);
    return SmallVector<TValue>{TValue{r, shape}};
  }

  // flatten and reshape compute a target shape, then share the reshape.
  Shape target;
  if (n.op == "flatten") {
    FailureOr<int64_t> sd = intAttr(n, "start_dim", 1);
    FailureOr<int64_t> ed = intAttr(n, "end_dim", -1);
    if (failed(sd) || failed(ed))
      return failure();
    if (rank == 0)
      return failNode(n, "cannot flatten a scalar");
    FailureOr<int64_t> s = normAxis(n, *sd, rank, "start_dim");
    FailureOr<int64_t> e = normAxis(n, *ed, rank, "end_dim");
    if (failed(s) || failed(e))
      return failure();
    if (*s > *e)
      return failNode(n, "start_dim comes after end_dim");
    if (n.live && *s == 0 && *e > 0)
      return failNode(n, "flattening axis 0, the live batch, into other dims "
                         "would mix samples");
    // The flattened dim is the product of the dims it merges.
    int64_t prod = 1;
    std::vector<std::string> atoms;
    for (int64_t k = *s; k <= *e; ++k) {
      const Dim &d = x.shape[k];
      prod *= d.isStatic() ? d.size : d.factor;
      atoms.insert(atoms.end(), d.atoms.begin(), d.atoms.end());
    }
    for (int64_t k = 0; k < *s; ++k)
      target.push_back(x.shape[k]);
    target.push_back(Dim::product(prod, atoms));
    for (int64_t k = *e + 1; k < rank; ++k)
      target.push_back(x.shape[k]);
    return SmallVector<TValue>{reshapeTo(b, x, target)};
  }

  // reshape: entries are sizes, -1 (inferred) or dim names.
  FailureOr<SmallVector<ShapeEntry>> spec = n.shapeAttr("shape");
  if (failed(spec))
    return failure();
  int inferred = -1;
  for (size_t i = 0; i < spec->size(); ++i) {
    const ShapeEntry &e = (*spec)[i];
    if (const int64_t *size = std::get_if<int64_t>(&e)) {
      int64_t v = *size;
      if (v == -1) {
        if (inferred >= 0)
          return failNode(n, "reshape may infer only one dim (-1)");
        inferred = static_cast<int>(i);
        target.push_back(Dim::of(-1));
      } else if (v <= 0) {
        return failNode(n, "reshape size " + std::to_string(v) + " must be positive or -1");
      } else {
        target.push_back(Dim::of(v));
      }
    } else {
      const std::string &name = std::get<std::string>(e);
      if (!dims.count(name))
        return failNode(n, "reshape uses unknown dim '" + name + "'");
      // Inside a per-sample subgraph the batch is the live batch (written
      // -1); other model dims may be named if the input has them.
      if (n.live && llvm::none_of(x.shape, [&](const Dim &d) { return d.sym == name; }))
        return failNode(n, "reshape names the model dim '" + name +
                               "', which the input " + formatShape(x.shape) +
                               " of this per-sample subgraph does not have (its "
                               "batch is the live batch: write -1 for it)");
      target.push_back(Dim::named(name));
    }
  }
  // Element counts: static product and multiset of atoms on each side.
  auto split = [](const Shape &s, int64_t &prod, SmallVector<std::string> &atoms) {
    prod = 1;
    for (const Dim &d : s) {
      if (d.isStatic()) {
        if (d.size > 0)
          prod *= d.size;
      } else {
        prod *= d.factor;
        atoms.append(d.atoms.begin(), d.atoms.end());
      }
    }
    llvm::sort(atoms);
  };
  int64_t inProd, outProd;
  SmallVector<std::string> inSyms, outSyms;
  split(x.shape, inProd, inSyms);
  split(target, outProd, outSyms);
  if (inferred >= 0) {
    // -1 takes what is left: the rest of the static product times the atoms
    // the target does not name ([B, S, 6] to [-1, 6] infers B·S).
    SmallVector<std::string> left;
    std::set_difference(inSyms.begin(), inSyms.end(), outSyms.begin(), outSyms.end(),
                        std::back_inserter(left));
    if (inProd % outProd != 0 || !std::includes(inSyms.begin(), inSyms.end(),
                                                outSyms.begin(), outSyms.end()))
      return failNode(n, "cannot infer -1 reshaping " + formatShape(x.shape) +
                             " to " + formatShape(target));
    target[inferred] = Dim::product(inProd / outProd, std::vector<std::string>(left.begin(), left.end()));
    outSyms.append(left.begin(), left.end());
    llvm::sort(outSyms);
    outProd = inProd;
  }
  if (inProd != outProd || inSyms != outSyms)
    return failNode(n, "cannot reshape " + formatShape(x.shape) + " to " +
                           formatShape(target) + ": element counts differ");
  if (n.live && (target.empty() || target[0] != x.shape[0]))
    return failNode(n, "inside a per-sample subgraph a reshape must keep the "
                       "batch as its first dim");
  return SmallVector<TValue>{reshapeTo(b, x, target)};
}

} // namespace dync::import
