//===- GraphBuilder.cpp - the model-building layer front ends share -------===//

#include "GraphBuilder.h"

#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/FormatVariadic.h"

#include <limits>

using namespace mlir;

namespace dync::import {

namespace {

/// Every op of dync's vocabulary, registered once: what it accepts next to
/// the builder that makes its IR.
const llvm::StringMap<OpEntry> &opTable() {
  static const llvm::StringMap<OpEntry> table = [] {
    llvm::StringMap<OpEntry> m;
    auto add = [&](const char *op, OpSpec spec, EmitFn emit) {
      m[op] = OpEntry{std::move(spec), emit};
    };
    auto unary = OpSpec{1, 1, 1, 1, {}, {}, {}};
    auto binary = OpSpec{2, 2, 1, 1, {}, {}, {}};
    for (const char *op : {"relu", "silu", "sigmoid", "tanh", "exp", "log", "sqrt", "erf",
                           "neg", "reciprocal", "abs", "logical_not"})
      add(op, unary, &GraphBuilder::emitElementwise);
    add("global_avg_pool", unary, &GraphBuilder::emitPool);
    for (const char *op : {"add", "sub", "mul", "div", "pow", "greater", "less", "equal"})
      add(op, binary, &GraphBuilder::emitElementwise);
    add("matmul", binary, &GraphBuilder::emitMatmul);
    add("gelu", {1, 1, 1, 1, {{"approximate", false}}, {}, {}}, &GraphBuilder::emitElementwise);
    add("softmax", {1, 1, 1, 1, {{"axis", true}}, {}, {}}, &GraphBuilder::emitNorm);
    add("linear", {1, 1, 1, 1, {}, {{"weight", true}, {"bias", false}}, {}}, &GraphBuilder::emitMatmul);
    add("layer_norm", {1, 1, 1, 1, {{"eps", false}},
                       {{"weight", false}, {"bias", false}}, {}}, &GraphBuilder::emitNorm);
    add("rms_norm", {1, 1, 1, 1, {{"eps", false}}, {{"weight", false}}, {}}, &GraphBuilder::emitNorm);
    add("embedding", {1, 1, 1, 1, {}, {{"weight", true}}, {}}, &GraphBuilder::emitIndexing);
    add("conv2d", {1, 1, 1, 1,
                   {{"stride", false}, {"padding", false}, {"dilation", false},
                    {"groups", false}},
                   {{"weight", true}, {"bias", false}}, {}}, &GraphBuilder::emitConv);
    add("batch_norm", {1, 1, 1, 1, {{"eps", false}},
                       {{"running_mean", true}, {"running_var", true},
                        {"weight", false}, {"bias", false}}, {}}, &GraphBuilder::emitNorm);
    for (const char *op : {"max_pool2d", "avg_pool2d"})
      add(op, {1, 1, 1, 1, {{"kernel", true}, {"stride", false}, {"padding", false}}, {}, {}}, &GraphBuilder::emitPool);
    add("flatten", {1, 1, 1, 1, {{"start_dim", false}, {"end_dim", false}}, {}, {}}, &GraphBuilder::emitShapeOp);
    add("reshape", {1, 1, 1, 1, {{"shape", true}}, {}, {}}, &GraphBuilder::emitShapeOp);
    add("transpose", {1, 1, 1, 1, {{"perm", true}}, {}, {}}, &GraphBuilder::emitShapeOp);
    add("concat", {1, -1, 1, 1, {{"axis", true}}, {}, {}}, &GraphBuilder::emitShapeOp);
    add("slice", {1, 1, 1, 1, {{"axis", true}, {"start", false}, {"end", false}, {"step", false}}, {}, {}}, &GraphBuilder::emitShapeOp);
    for (const char *op : {"reduce_mean", "reduce_sum", "reduce_max"})
      add(op, {1, 1, 1, 1, {{"axes", true}, {"keepdim", false}}, {}, {}}, &GraphBuilder::emitReduce);
    add("argmax", {1, 1, 1, 1, {{"axis", true}, {"keepdim", false}}, {}, {}}, &GraphBuilder::emitReduce);
    add("where", {3, 3, 1, 1, {}, {}, {}}, &GraphBuilder::emitElementwise);
    add("cast", {1, 1, 1, 1, {{"dtype", true}}, {}, {}}, &GraphBuilder::emitElementwise);
    add("attention", {3, 3, 1, 1, {{"causal", false}, {"scale", false}}, {}, {}}, &GraphBuilder::emitAttention);
    add("multi_head_attention", {
        1, 1, 1, 1, {{"num_heads", true}, {"causal", false}},
        {{"q_proj", true}, {"k_proj", true}, {"v_proj", true}, {"out_proj", true},
         {"q_proj_bias", false}, {"k_proj_bias", false}, {"v_proj_bias", false},
         {"out_proj_bias", false}}, {}}, &GraphBuilder::emitAttention);
    add("moe", {1, 1, 1, 2,
                {{"num_experts", true}, {"top_k", true}, {"normalize", false},
                 {"activation", true}, {"gated", false}, {"capacity_factor", false},
                 {"capacity", false}, {"shared_expert", false}},
                {{"router", true}, {"w1", true}, {"w2", true}, {"w3", false},
                 {"router_bias", false}, {"b1", false}, {"b2", false},
                 {"shared_w1", false}, {"shared_w2", false}, {"shared_w3", false},
                 {"shared_b1", false}, {"shared_b2", false}}, {}}, &GraphBuilder::emitMoe);
    add("gate", {1, 1, 1, 2, {{"threshold", true}, {"granularity", false}}, {},
                 {{"score", true}, {"body", true}}}, &GraphBuilder::emitGate);
    add("cond", {1, -1, 1, -1, {{"granularity", false}}, {},
                 {{"then", true}, {"else", true}}}, &GraphBuilder::emitCond);
    add("early_exit", {1, 1, 2, 2, {{"criterion", true}, {"threshold", true}}, {},
                       {{"stages", true}}}, &GraphBuilder::emitEarlyExit);
    add("block_sparse_attention", {
        3, 3, 1, 2,
        {{"block_size", true}, {"causal", false}, {"scale", false}, {"selection", true}},
        {}, {}}, &GraphBuilder::emitBlockSparse);
    add("topk", {1, 1, 2, 2, {{"k", true}, {"axis", false}}, {}, {}}, &GraphBuilder::emitIndexing);
    add("gather", {2, 2, 1, 1, {{"axis", true}}, {}, {}}, &GraphBuilder::emitIndexing);
    add("scatter_add", {3, 3, 1, 1, {{"axis", true}}, {}, {}}, &GraphBuilder::emitIndexing);
    return m;
  }();
  return table;
}

} // namespace

const OpEntry *GraphBuilder::lookupOp(StringRef name) {
  auto it = opTable().find(name);
  return it == opTable().end() ? nullptr : &it->second;
}

FailureOr<SmallVector<TValue>> GraphBuilder::emit(NodeView &n, ImplicitLocOpBuilder &b) {
  const OpEntry *entry = lookupOp(n.op);
  if (!entry)
    return failNode(n, "unknown op");
  return (this->*entry->emit)(n, b);
}

LogicalResult GraphBuilder::fail(const llvm::Twine &msg) {
  if (diags.error.empty())
    diags.error = (source + ": " + msg).str();
  return failure();
}

LogicalResult GraphBuilder::failAt(const std::string &where, const llvm::Twine &msg) {
  return fail("at '" + where + "': " + msg);
}

LogicalResult GraphBuilder::failNode(const NodeView &n, const llvm::Twine &msg) {
  std::string excerpt = n.excerpt();
  return fail("node '" + n.name + "' (" + n.path + ", op '" +
              (n.sourceOp.empty() ? n.op : n.sourceOp) + "'): " + msg +
              (excerpt.empty() ? "" : "\n  " + n.path + " = " + excerpt));
}

Shape liveShape(const Shape &shape, size_t n) {
  Shape r{Dim::named(kLive)};
  r.append(shape.begin() + n, shape.end());
  return r;
}

FailureOr<int64_t> GraphBuilder::normAxis(const NodeView &n, int64_t axis, int64_t rank,
                                      StringRef what) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return failNode(n, llvm::formatv("{0} {1} is out of range for an input of rank {2}",
                                     what, axis, rank));
  return a;
}

FailureOr<TValue> GraphBuilder::weight(NodeView &n, StringRef slot,
                                   ArrayRef<int64_t> expected, Type elt,
                                   ImplicitLocOpBuilder &b, bool required) {
  if (!hasWeight(n, slot)) {
    if (!required)
      return TValue{};
    return failNode(n, "missing required weight slot '" + slot + "'");
  }
  FailureOr<std::string> named = n.weightTensor(slot);
  if (failed(named))
    return failure();
  std::string tname = *named;
  const safetensors::TensorInfo *info = weightsFile->find(tname);
  if (!info)
    return failNode(n, "weight slot '" + slot + "': tensor '" + tname +
                           "' is not in the weights file '" + weightsFile->path() + "'");
  Type stored;
  switch (info->dtype) {
  case safetensors::DType::F32: stored = b.getF32Type(); break;
  case safetensors::DType::F16: stored = b.getF16Type(); break;
  case safetensors::DType::BF16: stored = b.getBF16Type(); break;
  default:
    return failNode(n, "weight slot '" + slot + "': tensor '" + tname + "' has dtype " +
                           safetensors::dtypeName(info->dtype) +
                           "; weights must be F32, F16 or BF16");
  }
  bool match = info->shape.size() == expected.size();
  for (size_t i = 0; match && i < expected.size(); ++i)
    match = expected[i] < 0 || expected[i] == info->shape[i];
  if (!match) {
    auto fmt = [](ArrayRef<int64_t> s, bool any) {
      std::string r = "[";
      for (size_t i = 0; i < s.size(); ++i)
        r += (i ? ", " : "") + (any && s[i] < 0 ? std::string("*") : std::to_string(s[i]));
      return r + "]";
    };
    return failNode(n, "weight slot '" + slot + "': tensor '" + tname + "' has shape " +
                           fmt(info->shape, false) + ", expected " + fmt(expected, true));
  }
  usedWeights.insert(tname);
  Shape shape;
  for (int64_t d : info->shape)
    shape.push_back(Dim::of(d));
  Value v = dyn::WeightOp::create(b, typeOf(shape, stored), tname, IntegerAttr());
  TensorBuilder tb(b);
  if (stored != elt)
    v = tb.convert(v, elt);
  return TValue{v, shape};
}

LogicalResult GraphBuilder::noBatchMix(const NodeView &n, int64_t axis, StringRef what) {
  if (n.live && axis == 0)
    return failNode(n, what + " axis 0, the live batch, would mix samples; "
                              "inside gate, per-sample cond and early_exit "
                              "subgraphs samples must stay independent");
  return success();
}

FailureOr<Shape> GraphBuilder::broadcast(const NodeView &n, ArrayRef<const Shape *> shapes) {
  size_t rank = 0;
  for (const Shape *s : shapes)
    rank = std::max(rank, s->size());
  Shape out(rank, Dim::of(1));
  for (size_t k = 0; k < rank; ++k) {
    for (const Shape *s : shapes) {
      int64_t j = static_cast<int64_t>(k) - static_cast<int64_t>(rank - s->size());
      if (j < 0)
        continue;
      const Dim &d = (*s)[j];
      Dim &o = out[k];
      if (d.isStatic() && d.size == 1)
        continue;
      if (o.isStatic() && o.size == 1) {
        o = d;
        continue;
      }
      if (o != d) {
        std::string shapesStr;
        for (const Shape *t : shapes)
          shapesStr += (shapesStr.empty() ? "" : " and ") + formatShape(*t);
        return failNode(n, "shapes " + shapesStr + " do not broadcast: dim " +
                               formatDim(o) + " against " + formatDim(d));
      }
    }
  }
  return out;
}

LogicalResult GraphBuilder::expectFloat(const NodeView &n, const TValue &v, StringRef what) {
  if (!isa<FloatType>(v.elt()))
    return failNode(n, what + " must be a floating-point tensor, got " + dtypeName(v.elt()));
  return success();
}

OpFoldResult GraphBuilder::symSize(ImplicitLocOpBuilder &b, const TValue &like,
                               const Dim &d) {
  if (d.isStatic())
    return b.getIndexAttr(d.size);
  for (int64_t i = 0; i < like.rank(); ++i)
    if (like.shape[i] == d)
      return tensor::DimOp::create(b, like.v, i).getResult();
  if (!d.isAtom()) {
    // A product: the factor times each atom's size.
    Value total = arith::ConstantIndexOp::create(b, d.factor);
    for (const std::string &atom : d.atoms) {
      OpFoldResult a = symSize(b, like, Dim::named(atom));
      Value v = isa<Value>(a) ? cast<Value>(a)
                              : Value(arith::ConstantIndexOp::create(
                                    b, cast<IntegerAttr>(cast<Attribute>(a)).getInt()));
      total = arith::MulIOp::create(b, total, v);
    }
    return total;
  }
  // Model dims are read at function entry; inside an isolated region they are
  // not visible, and the importer's checks keep such shapes out. Should one
  // slip through, the import fails with an internal error instead of building
  // IR that does not verify.
  auto it = dimValues.find(d.sym);
  if (it == dimValues.end() || !dimVisible(d.sym, b.getInsertionBlock())) {
    internalError = "no value for dim '" + d.sym + "'";
    return b.getIndexAttr(1);
  }
  return it->second;
}

bool GraphBuilder::dimVisible(StringRef sym, mlir::Block *block) const {
  auto it = dimValues.find(sym);
  if (it == dimValues.end() || !block)
    return false;
  mlir::Region *def = mlir::Value(it->second).getParentRegion();
  for (mlir::Region *r = block->getParent(); r; r = r->getParentRegion()) {
    if (r == def)
      return true;
    if (r->getParentOp()->hasTrait<mlir::OpTrait::IsIsolatedFromAbove>())
      return false;
  }
  return false;
}

std::pair<int64_t, int64_t> GraphBuilder::sizeBounds(const Dim &d) {
  if (d.isStatic())
    return {d.size, d.size};
  int64_t lo = d.factor, hi = d.factor;
  for (const std::string &atom : d.atoms) {
    auto it = dims.find(atom);
    if (it == dims.end())
      return {0, std::numeric_limits<int64_t>::max()};
    lo *= it->second.first;
    hi = hi > std::numeric_limits<int64_t>::max() / std::max<int64_t>(it->second.second, 1)
             ? std::numeric_limits<int64_t>::max()
             : hi * it->second.second;
  }
  return {lo, hi};
}

TValue GraphBuilder::reshapeTo(ImplicitLocOpBuilder &b, const TValue &x,
                           const Shape &shape) {
  TensorBuilder tb(b);
  SmallVector<OpFoldResult> sizes;
  for (const Dim &d : shape)
    sizes.push_back(symSize(b, x, d));
  return TValue{tb.reshape(x.v, sizes, typeOf(shape, x.elt())), shape};
}

} // namespace dync::import
