//===- OnnxRaiseGate.cpp - If and Where that skip a block, to dyn.gate ---===//
//
// A skip gate (SkipNet, layer skipping) written in PyTorch as
//
//   s = torch.sigmoid(self.g(x.mean(1)))
//   if bool(s.mean() > 0.5):
//       x = x + self.block(x)
//
// and scripted for export becomes If(Cast(Greater(s', 0.5))), whose
// then_branch computes the new x from x and constants and whose else_branch
// is Identity(x). Translated as it is, that is a scalar dyn.cond, which
// already runs the block only when it must. Raised, it is a dyn.gate on x:
//
// - the score is s' (one element) for every sample, so every sample runs
//   the block or none does, exactly as the If decides;
// - the threshold is a runtime parameter `<If node>.threshold` whose default
//   is the exported constant, so a caller can trade accuracy for work
//   without exporting again;
// - the gate's statistics count the samples that ran the block where the
//   block runs (`<If node>.samples_run`).
//
// Recognized: a predicate `score > t` (Greater(score, t) or Less(t, score)),
// through Casts to bool, with t a float constant and score a float tensor of
// one element; an else_branch that only passes an outer value x on (through
// Identity); a then_branch that reads no other outer tensor than x and
// returns a value of x's shape and type, and keeps samples independent (it
// becomes the gate's body, which sees the samples that run it). Anything
// else -- `>=` (the gate's test is strict), the block in the else_branch, a
// then_branch reading other tensors or mixing samples -- stays a dyn.cond.
//
// A per-sample gate written densely for export (traced, no If),
//
//   s = torch.sigmoid(self.g(x)).squeeze(-1)             # [B]
//   x = torch.where((s > 0.5)[:, None], x + self.block(x), x)
//
// computes the block on every sample and keeps some. Raised, it is a
// dyn.gate whose score is s, so the block runs only on the samples whose
// score passes: `Where(c, block, x)` with c = `score > t` or `>= t` (or
// `Where(c, x, block)` with `score < t`, `<= t`), through Unsqueeze,
// Reshape, Squeeze and Casts to bool; score a float32 tensor [B, 1...] and
// c [B, 1...] of x's rank; the block computed from x and constants only,
// keeping samples independent. With a score [B, S] and c [B, S, 1...] the
// gate is per token: the body sees the tokens that pass as rows, so only
// nodes that compute a row from itself are accepted (elementwise, MatMul by
// a 2-D weight, Softmax and LayerNormalization over the last axis). The
// threshold is the runtime parameter `<Where node>.threshold`; for `>=` its
// default is the largest float below t (the gate's test is strict).
// Anything else -- a mask per feature, a block reading other tensors or
// mixing samples -- stays a Where.
//
//===----------------------------------------------------------------------===//

#include "OnnxImporter.h"

#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <set>

using namespace mlir;

namespace dync::import {

std::string passedThrough(const onnx::GraphProto &branch) {
  if (branch.output_size() != 1)
    return "";
  std::map<std::string, const onnx::NodeProto *> defs;
  for (const onnx::NodeProto &n : branch.node()) {
    if (n.op_type() != "Identity" || n.input_size() != 1 || n.output_size() != 1)
      return "";
    defs[n.output(0)] = &n;
  }
  std::string v = branch.output(0).name();
  for (size_t depth = 0; depth <= defs.size(); ++depth) {
    auto it = defs.find(v);
    if (it == defs.end())
      return v;
    v = it->second->input(0);
  }
  return ""; // a cycle: not a valid graph
}

const TValue *OnnxImporter::importedTensor(const std::string &name) const {
  auto it = values.find(name);
  if (it == values.end() || !it->second.tensor || it->second.isFloatConst || it->second.ints)
    return nullptr;
  return &*it->second.tensor;
}

bool OnnxImporter::sliceGraph(const NodeLookup &find, const std::string &from,
                              ArrayRef<std::string> targets, onnx::GraphProto &out) const {
  std::set<std::string> done;
  std::set<const onnx::NodeProto *> onPath;
  std::function<bool(const std::string &)> visit = [&](const std::string &name) {
    if (name.empty() || name == from || done.count(name) || isConstantValue(name))
      return true;
    const onnx::NodeProto *p = find(name);
    if (!p || onPath.count(p))
      return false;
    for (const onnx::AttributeProto &a : p->attribute())
      if (a.type() == onnx::AttributeProto::GRAPH || a.type() == onnx::AttributeProto::GRAPHS)
        return false;
    onPath.insert(p);
    for (const std::string &in : p->input())
      if (!visit(in))
        return false;
    onPath.erase(p);
    *out.add_node() = *p;
    for (const std::string &o : p->output())
      done.insert(o);
    return true;
  };
  for (const std::string &t : targets) {
    if (!visit(t))
      return false;
    out.add_output()->set_name(t);
  }
  return true;
}

Value OnnxImporter::thresholdParam(OnnxNodeView &n, float value, ImplicitLocOpBuilder &b) {
  std::string param = n.name + ".threshold";
  for (int k = 2; g.params.count(param); ++k)
    param = n.name + ".threshold_" + std::to_string(k);
  OpBuilder mb = OpBuilder::atBlockBegin(moduleOp.getBody());
  dyn::ParamDefOp::create(mb, n.loc, param, mb.getF32FloatAttr(value));
  g.params[param] = b.getF32Type();
  return dyn::ParamReadOp::create(b, b.getF32Type(), param);
}

std::unique_ptr<Block> OnnxImporter::gateBody(OnnxNodeView &n, const onnx::GraphProto &graph,
                                               const std::string &path, const std::string &xName,
                                               const Shape &live, Type elt) {
  auto block = std::make_unique<Block>();
  BlockArgument arg = block->addArgument(typeOf(live, elt), n.loc);
  OpBuilder inner(&ctx);
  inner.setInsertionPointToStart(block.get());
  std::string savedError = g.diags.error, savedInternal = g.internalError;
  n.captures = {xName};
  bool wasLive = importingLive;
  importingLive = true;
  FailureOr<SmallVector<TValue>> body = importBranch(n, graph, path, {TValue{arg, live}}, inner);
  importingLive = wasLive;
  n.captures.clear();
  if (failed(body) || body->size() != 1 || (*body)[0].shape != live || (*body)[0].elt() != elt) {
    g.diags.error = savedError;
    g.internalError = savedInternal;
    return nullptr;
  }
  dyn::YieldOp::create(inner, n.loc, (*body)[0].v);
  return block;
}

std::optional<ThresholdTest> OnnxImporter::thresholdTest(const onnx::NodeProto &cmp) const {
  if (cmp.input_size() != 2)
    return std::nullopt;
  ThresholdTest test{cmp.input(0), cmp.op_type(), cmp.input(1), nullptr};
  if (!floatConstNamed(test.thresholdName)) {
    std::swap(test.value, test.thresholdName);
    const std::string &r = test.rel;
    test.rel = r == "Greater"          ? "Less"
               : r == "Less"           ? "Greater"
               : r == "GreaterOrEqual" ? "LessOrEqual"
               : r == "LessOrEqual"    ? "GreaterOrEqual"
                                       : "";
  }
  test.threshold = floatConstNamed(test.thresholdName);
  if (test.rel.empty() || !test.threshold || test.threshold->data.size() != 1)
    return std::nullopt;
  return test;
}

bool OnnxImporter::raiseGate(OnnxNodeView &n, const onnx::NodeProto &node,
                             ImplicitLocOpBuilder &b) {
  const onnx::AttributeProto *thenA = attr(node, "then_branch"), *elseA = attr(node, "else_branch");
  if (!thenA || !elseA || node.output_size() != 1 || node.input_size() != 1)
    return false;
  const onnx::GraphProto &thenG = thenA->g(), &elseG = elseA->g();
  if (thenG.output_size() != 1)
    return false;

  // The predicate: score > t, through Casts to bool.
  auto producer = [&](const std::string &v) { return producerOf(v); };
  const onnx::NodeProto *cmp = producer(node.input(0));
  while (cmp && cmp->op_type() == "Cast" && cmp->input_size() == 1 &&
         intAttr(*cmp, "to", 0) == onnx::TensorProto::BOOL)
    cmp = producer(cmp->input(0));
  if (!cmp || cmp->input_size() != 2)
    return false;
  std::string score, threshold;
  if (cmp->op_type() == "Greater") {
    score = cmp->input(0);
    threshold = cmp->input(1);
  } else if (cmp->op_type() == "Less") {
    score = cmp->input(1);
    threshold = cmp->input(0);
  } else {
    return false;
  }
  const FloatConst *t = floatConstNamed(threshold);
  if (!t || t->data.size() != 1)
    return false;
  auto tensorNamed = [&](const std::string &name) { return importedTensor(name); };
  const TValue *s = tensorNamed(score);
  if (!s || !s->elt().isF32() || !oneElement(*s))
    return false;

  // The block skipped: the else_branch passes x on; the then_branch reads
  // no other tensor.
  std::string xName = passedThrough(elseG);
  const TValue *xp = xName.empty() ? nullptr : tensorNamed(xName);
  if (!xp || xp->rank() < 1)
    return false;
  // Copies: importing the body rebuilds `values`, which the pointers
  // point into.
  TValue x = *xp, sv = *s;
  std::vector<std::string> reads;
  freeNames(thenG, {}, reads);
  for (const std::string &name : reads)
    if (name != xName && (!values.count(name) || tensorNamed(name)))
      return false;

  // The body, built in a block of its own: if the then_branch cannot be a
  // gate's body (it mixes samples, say), nothing is left of the attempt and
  // the If is built as a cond.
  std::unique_ptr<Block> block =
      gateBody(n, thenG, n.path + ".then_branch", xName, liveShape(x.shape, 1), x.elt());
  if (!block)
    return false;

  // The threshold, a runtime parameter defaulting to the exported constant.
  Value thresholdV = thresholdParam(n, t->data[0], b);

  // Every sample gets the one score: all run the block, or none does.
  TensorBuilder tb(b);
  Value scores = tb.empty({tb.size(x.v, 0)}, b.getF32Type());
  scores = linalg::FillOp::create(b, scalarOf(b, sv), scores).getResult(0);
  auto gate = dyn::GateOp::create(b, x.type(), Type(), x.v, scores, thresholdV);
  gate.getBody().push_back(block.release());
  bind(node, 0, TValue{gate.getResult(), x.shape});
  return true;
}

} // namespace dync::import

namespace dync::import {

bool OnnxImporter::rowWise(const onnx::GraphProto &slice) const {
  static const std::set<std::string> elementwise = {
      "Relu", "Sigmoid", "Tanh", "Erf",  "Exp",  "Log", "Sqrt", "Reciprocal", "Neg", "Abs",
      "Gelu", "Identity", "Cast", "Add", "Sub", "Mul", "Div", "Pow",  "Constant"};
  for (const onnx::NodeProto &node : slice.node()) {
    const std::string &op = node.op_type();
    // Constants broadcast along the last axis only: of rank 0 or 1.
    // A MatMul by a 2-D weight (kept as its transpose, [out, in]).
    bool linear = op == "MatMul" && node.input_size() == 2 &&
                  (!transposedWeight(node.input(1)).empty() ||
                   (floatConstNamed(node.input(1)) &&
                    floatConstNamed(node.input(1))->shape.size() == 2));
    for (int i = 0; i < node.input_size(); ++i) {
      if (!isConstantValue(node.input(i)) || (linear && i == 1))
        continue;
      const FloatConst *c = floatConstNamed(node.input(i));
      if (!c || c->shape.size() > 1)
        return false;
    }
    if (elementwise.count(op) || linear)
      continue;
    if ((op == "Softmax" || op == "LayerNormalization") && intAttr(node, "axis", -1) == -1)
      continue;
    return false;
  }
  return true;
}

bool OnnxImporter::raiseDenseGate(OnnxNodeView &n, const onnx::NodeProto &node,
                                  ImplicitLocOpBuilder &b) {
  if (node.input_size() != 3 || node.output_size() != 1)
    return false;
  // The comparison, back through ops that keep a [B, 1...] mask in order.
  const onnx::NodeProto *cmp = producerOf(node.input(0));
  auto keepsOrder = [&](const onnx::NodeProto &p) {
    const std::string &op = p.op_type();
    if (op == "Cast")
      return intAttr(p, "to", 0) == onnx::TensorProto::BOOL;
    return op == "Unsqueeze" || op == "Reshape" || op == "Squeeze" || op == "Identity";
  };
  while (cmp && cmp->input_size() >= 1 && keepsOrder(*cmp))
    cmp = producerOf(cmp->input(0));
  // As `score REL t`.
  std::optional<ThresholdTest> test = cmp ? thresholdTest(*cmp) : std::nullopt;
  if (!test)
    return false;
  const std::string &rel = test->rel, &score = test->value;
  const FloatConst *t = test->threshold;
  // The block runs where the score passes: Where(c, block, x) for `>`,
  // `>=`; Where(c, x, block) for `<`, `<=` (the block where c is false).
  bool blockFirst = rel == "Greater" || rel == "GreaterOrEqual";
  if (!blockFirst && rel != "Less" && rel != "LessOrEqual")
    return false;
  bool strict = rel == "Greater" || rel == "LessOrEqual";
  float threshold = strict ? t->data[0] : std::nextafter(t->data[0], -INFINITY);
  const std::string &blockName = node.input(blockFirst ? 1 : 2);
  const std::string &xName = node.input(blockFirst ? 2 : 1);

  // One score and one decision per sample.
  const TValue *xp = importedTensor(xName), *sp = importedTensor(score);
  const TValue *cp = importedTensor(node.input(0)), *ap = importedTensor(blockName);
  if (!xp || !sp || !cp || !ap || xp->rank() < 1 || !sp->elt().isF32())
    return false;
  // Copies: importing the body rebuilds `values`, which the pointers
  // point into.
  TValue x = *xp, sv = *sp;
  // One value per sample ([B, 1...]) or, with `lead` = 2, per token
  // ([B, S, 1...]).
  auto decides = [&](const TValue &v, size_t lead) {
    if (v.rank() < int64_t(lead) || x.rank() < int64_t(lead))
      return false;
    for (size_t i = 0; i < size_t(v.rank()); ++i)
      if (i < lead ? v.shape[i] != x.shape[i] : !(v.shape[i].isStatic() && v.shape[i].size == 1))
        return false;
    return true;
  };
  size_t lead = decides(*sp, 1) ? 1 : sp->rank() == 2 && x.rank() >= 3 && decides(*sp, 2) ? 2 : 0;
  if (!lead || !decides(*cp, lead) || cp->rank() != x.rank() || ap->shape != x.shape ||
      ap->elt() != x.elt())
    return false;

  // The body: the block's nodes again, on the samples (tokens) that run it.
  onnx::GraphProto slice;
  if (!sliceGraph([&](const std::string &v) { return producerOf(v); }, xName, {blockName},
                  slice))
    return false;
  // Per token, the body sees the tokens as rows [?, rest...]: only nodes
  // that compute each row from that row alone, whatever the rank, may be in
  // it (an axis counted from the front would name another dim).
  if (lead == 2 && !rowWise(slice))
    return false;
  synthesized.push_back(std::move(slice));
  std::unique_ptr<Block> block =
      gateBody(n, synthesized.back(), n.path + ".block", xName, liveShape(x.shape, lead), x.elt());
  if (!block)
    return false;

  Value thresholdV = thresholdParam(n, threshold, b);
  Value scores = sv.v;
  if (lead == 1 && sv.rank() > 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < sv.rank(); ++i)
      all.push_back(i);
    scores = tensor::CollapseShapeOp::create(b, scores, SmallVector<ReassociationIndices>{all});
  }
  auto gate = dyn::GateOp::create(b, x.type(), Type(), x.v, scores, thresholdV);
  gate.getBody().push_back(block.release());
  bind(node, 0, TValue{gate.getResult(), x.shape});
  return true;
}

} // namespace dync::import
