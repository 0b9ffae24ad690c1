//===- OnnxRaiseExit.cpp - an If chain on a confidence, to dyn.early_exit -===//
//
// An early-exit network (BranchyNet, DeeBERT) written in PyTorch as
//
//   h = self.stage0(x); l = self.head0(h)
//   if bool(torch.softmax(l, -1).max() > t): return l
//   h = self.stage1(h); l = self.head1(h)
//   if bool(torch.softmax(l, -1).max() > t): return l
//   h = self.stage2(h); return self.head2(h)
//
// and scripted for export becomes a chain of nested Ifs: each then_branch
// passes the stage's logits on (Identity), each else_branch computes the
// next stage from the hidden state and holds the next If; the last
// else_branch computes the last head. Translated as it is, that is a chain
// of scalar dyn.conds; raised, it is one dyn.early_exit with the
// `max_softmax` criterion (or `entropy`, for DeeBERT's test
// `-(p * p.log()).sum() < t` on p = softmax(logits)):
//
// - stage 0 starts from the hidden state the first else_branch reads (it is
//   computed before the If, as in the model) and computes its head again
//   inside the op; stage k > 0 is the part of the k-th else_branch that
//   computes the next hidden state and the logits from the hidden state it
//   was given; the last stage is the last head;
// - the threshold is a runtime parameter `<first If>.threshold`. The op
//   exits at confidence >= threshold, so for `>` its default is the
//   smallest float above the exported constant, which decides exactly as
//   `>` does (for `>=` it is the constant itself);
// - the statistics count the samples that enter each stage where the stage
//   runs (`<first If>.stage<k>_samples`).
//
// Recognized: the predicate `max(softmax(l)) > t` or `>= t`, or the
// entropy `-sum(p log p) < t` or `<= t` (Neg(ReduceSum(Mul(p, Log(p))))),
// with either operand order of the comparison and through Casts; Softmax
// over the class axis, the reductions over every axis or the class axis;
// for the entropy the threshold is -t (the op's confidence is sum(p log p)); the same t at every stage; a batch of exactly one sample (the
// If decides for the whole batch, dyn.early_exit for each sample: the two
// agree only for one); stages that read nothing but the hidden state they
// are given and constants. Anything else -- another confidence, thresholds
// that differ, a dynamic batch, a stage that reads an earlier stage's
// tensors -- stays a chain of dyn.conds.
//
//===----------------------------------------------------------------------===//

#include "OnnxImporter.h"

#include "llvm/ADT/ScopeExit.h"

#include <cmath>

using namespace mlir;

namespace dync::import {

namespace {

using Lookup = OnnxImporter::NodeLookup;

/// The exit test of one If, as the op's: confidence >= threshold.
struct ExitTest {
  std::string logits, thresholdName;
  dyn::ExitCriterion criterion = dyn::ExitCriterion::max_softmax;
  /// The op's threshold: it exits at confidence >= threshold.
  float threshold = 0;
};

/// One stage of the chain: in `scope` (nullptr: the graph the first If is
/// in), from the hidden state `input`, the hidden state it passes on and
/// its logits.
struct ExitStage {
  const onnx::GraphProto *scope = nullptr;
  std::string input, hidden, logits;
};

Lookup localLookup(const onnx::GraphProto &g) {
  auto defs = std::make_shared<std::map<std::string, const onnx::NodeProto *>>();
  for (const onnx::NodeProto &n : g.node())
    for (const std::string &o : n.output())
      (*defs)[o] = &n;
  return [defs](const std::string &name) -> const onnx::NodeProto * {
    auto it = defs->find(name);
    return it == defs->end() ? nullptr : it->second;
  };
}

} // namespace

bool OnnxImporter::raiseEarlyExit(OnnxNodeView &n, const onnx::NodeProto &first,
                                  ImplicitLocOpBuilder &b) {
  auto tensorNamed = [&](const std::string &name) { return importedTensor(name); };
  auto isConstant = [&](const std::string &name) { return isConstantValue(name); };
  auto intsOf = [&](const std::string &name) -> std::optional<SmallVector<int64_t>> {
    auto it = values.find(name);
    if (it == values.end() || !it->second.ints)
      return std::nullopt;
    SmallVector<int64_t> out;
    for (const Dim &d : *it->second.ints) {
      if (!d.isStatic())
        return std::nullopt;
      out.push_back(d.size);
    }
    return out;
  };

  // A reduction over every axis or over the class axis (of [1, C]: one
  // element either way).
  auto overClasses = [&](const onnx::NodeProto &r) {
    std::optional<SmallVector<int64_t>> axes = intsAttr(r, "axes");
    if (r.input_size() > 1 && !r.input(1).empty()) {
      axes = intsOf(r.input(1));
      if (!axes)
        return false;
    }
    if (axes && !axes->empty())
      return llvm::is_contained(*axes, 1) || llvm::is_contained(*axes, -1);
    return intAttr(r, "noop_with_empty_axes", 0) == 0;
  };
  // The logits of `softmax(logits)` over the class axis, or "".
  auto softmaxOf = [&](const std::string &p, const Lookup &lookup) -> std::string {
    const onnx::NodeProto *softmax = lookup(p);
    if (!softmax || softmax->op_type() != "Softmax" || softmax->input_size() != 1)
      return "";
    int64_t axis = intAttr(*softmax, "axis", opset >= 13 ? -1 : 1);
    return axis == -1 || axis == 1 ? softmax->input(0) : "";
  };

  // The exit test the predicate `pred` of an If computes, in `lookup`'s
  // scope, as the op's test `confidence >= threshold`:
  // - max(softmax(l)) > t (or >= t): max_softmax;
  // - entropy -sum(p log p) < t (or <= t), or sum(p log p) > t: entropy,
  //   whose confidence is sum(p log p) (minus the entropy).
  auto exitTest = [&](const std::string &pred, const Lookup &lookup) -> std::optional<ExitTest> {
    const onnx::NodeProto *cmp = lookup(pred);
    while (cmp && cmp->op_type() == "Cast" && cmp->input_size() == 1 &&
           intAttr(*cmp, "to", 0) == onnx::TensorProto::BOOL)
      cmp = lookup(cmp->input(0));
    // As `value REL t`.
    std::optional<ThresholdTest> cmpTest = cmp ? thresholdTest(*cmp) : std::nullopt;
    if (!cmpTest)
      return std::nullopt;
    const std::string &rel = cmpTest->rel, &value = cmpTest->value,
                      &thresholdName = cmpTest->thresholdName;
    const FloatConst *t = cmpTest->threshold;
    bool above = rel == "Greater" || rel == "GreaterOrEqual";
    bool strict = rel == "Greater" || rel == "Less";
    ExitTest test;
    test.thresholdName = canonical(thresholdName);
    const onnx::NodeProto *v = lookup(value);
    while (v && v->op_type() == "Cast" && v->input_size() == 1)
      v = lookup(v->input(0));
    bool negated = v && v->op_type() == "Neg" && v->input_size() == 1;
    if (negated)
      v = lookup(v->input(0));
    if (!v || v->input_size() < 1 || !overClasses(*v))
      return std::nullopt;
    float bound = t->data[0];
    if (v->op_type() == "ReduceMax" && !negated && above) {
      test.criterion = dyn::ExitCriterion::max_softmax;
      test.logits = softmaxOf(v->input(0), lookup);
    } else if (v->op_type() == "ReduceSum" && negated != above) {
      // sum(p log p), Mul's operands either way round.
      const onnx::NodeProto *mul = lookup(v->input(0));
      if (!mul || mul->op_type() != "Mul" || mul->input_size() != 2)
        return std::nullopt;
      for (int i = 0; i < 2 && test.logits.empty(); ++i) {
        const onnx::NodeProto *log = lookup(mul->input(1 - i));
        if (log && log->op_type() == "Log" && log->input_size() == 1 &&
            log->input(0) == mul->input(i))
          test.logits = softmaxOf(mul->input(i), lookup);
      }
      test.criterion = dyn::ExitCriterion::entropy;
      if (negated) // -sum(p log p) < t  <=>  sum(p log p) > -t
        bound = -bound;
    } else {
      return std::nullopt;
    }
    if (test.logits.empty())
      return std::nullopt;
    test.threshold = strict ? std::nextafter(bound, INFINITY) : bound;
    return test;
  };

  // The chain: each If's then_branch passes its stage's logits on, its
  // else_branch reads one tensor (the hidden state) and either holds the
  // next If or is the last head.
  std::vector<ExitStage> stages;
  std::vector<std::string> thresholdNames;
  std::optional<ExitTest> common;
  const onnx::NodeProto *ifNode = &first;
  const onnx::GraphProto *scope = nullptr;
  const Lookup outer = [&](const std::string &name) { return producerOf(name); };
  Lookup lookup = outer;
  std::string input;
  while (true) {
    const onnx::AttributeProto *thenA = attr(*ifNode, "then_branch");
    const onnx::AttributeProto *elseA = attr(*ifNode, "else_branch");
    if (!thenA || !elseA || ifNode->input_size() != 1 || ifNode->output_size() != 1)
      return false;
    std::optional<ExitTest> test = exitTest(ifNode->input(0), lookup);
    if (!test || passedThrough(thenA->g()) != test->logits)
      return false;
    if (common && (common->threshold != test->threshold || common->criterion != test->criterion))
      return false;
    common = test;
    thresholdNames.push_back(test->thresholdName);
    // The hidden state: the one tensor the else_branch reads that this
    // scope defines (or the one this stage was given).
    const onnx::GraphProto &elseG = elseA->g();
    std::vector<std::string> reads;
    freeNames(elseG, {}, reads);
    std::string hidden;
    for (const std::string &name : reads) {
      if (isConstant(name))
        continue;
      bool ours = scope ? (lookup(name) != nullptr || name == input) : tensorNamed(name) != nullptr;
      if (!ours || !hidden.empty())
        return false;
      hidden = name;
    }
    if (hidden.empty())
      return false;
    if (!scope)
      input = hidden; // stage 0 starts from the hidden state, computed before the If
    stages.push_back({scope, input, hidden, test->logits});
    input = hidden;
    scope = &elseG;
    lookup = localLookup(elseG);
    if (elseG.output_size() != 1)
      return false;
    const onnx::NodeProto *next = lookup(elseG.output(0).name());
    if (next && next->op_type() == "If") {
      ifNode = next;
      continue;
    }
    stages.push_back({scope, input, input, elseG.output(0).name()});
    break;
  }

  // Stage 0's hidden state: one sample, known before the If.
  const TValue *h0p = tensorNamed(stages[0].input);
  if (!h0p || h0p->rank() < 1 || !h0p->shape[0].isStatic() || h0p->shape[0].size != 1)
    return false;
  TValue h0 = *h0p;

  // Each stage as a graph of its own: the nodes of its scope that compute
  // its hidden state and logits from its input (constants read where they
  // are), in an order where each node follows what it reads.
  std::vector<onnx::GraphProto> slices;
  for (size_t k = 0; k < stages.size(); ++k) {
    const ExitStage &s = stages[k];
    Lookup find = s.scope ? localLookup(*s.scope) : outer;
    onnx::GraphProto slice;
    if (!sliceGraph(find, s.input, {s.hidden, s.logits}, slice))
      return false;
    slices.push_back(std::move(slice));
  }

  // The stages, built in regions of their own: if one cannot be a stage
  // (its logits are not [1, C], it mixes samples), nothing is left of the
  // attempt and the Ifs are built as conds.
  std::string savedError = g.diags.error, savedInternal = g.internalError;
  auto giveUp = [&] {
    g.diags.error = savedError;
    g.internalError = savedInternal;
    n.captures.clear();
    return false;
  };
  OperationState state(n.loc, dyn::EarlyExitOp::getOperationName());
  Shape live = liveShape(h0.shape, 1);
  Type hiddenElt = h0.elt();
  std::optional<Dim> classes;
  Type logitsElt;
  bool wasLive = importingLive;
  llvm::scope_exit restoreLive([&] { importingLive = wasLive; });
  importingLive = true;
  for (size_t k = 0; k < stages.size(); ++k) {
    // The copies outlive the import: `producers` points into them.
    synthesized.push_back(std::move(slices[k]));
    Region *region = state.addRegion();
    Block *block = new Block();
    region->push_back(block);
    TValue h{block->addArgument(typeOf(live, hiddenElt), n.loc), live};
    OpBuilder inner(&ctx);
    inner.setInsertionPointToStart(block);
    n.captures = {stages[k].input};
    FailureOr<SmallVector<TValue>> outs = importBranch(
        n, synthesized.back(), n.path + ".stage" + std::to_string(k), {h}, inner);
    if (failed(outs) || outs->size() != 2)
      return giveUp();
    const TValue &next = (*outs)[0], &logits = (*outs)[1];
    if (next.rank() < 1 || next.shape[0].sym != kLive || logits.rank() != 2 ||
        logits.shape[0].sym != kLive || !logits.shape[1].isStatic() ||
        !isa<FloatType>(logits.elt()) || (classes && *classes != logits.shape[1]) ||
        (logitsElt && logitsElt != logits.elt()))
      return giveUp();
    classes = logits.shape[1];
    logitsElt = logits.elt();
    live = next.shape;
    hiddenElt = next.elt();
    dyn::YieldOp::create(inner, n.loc, ValueRange{next.v, logits.v});
  }
  n.captures.clear();

  // The threshold, a runtime parameter; the op's test is >=.
  float t = common->threshold;
  // The constants of the later Ifs' tests are not built; the parameter
  // stands for them.
  for (const std::string &name : thresholdNames)
    g.usedWeights.insert(name);
  Value threshold = thresholdParam(n, t, b);

  state.addOperands({h0.v, threshold});
  state.addAttribute("criterion", dyn::ExitCriterionAttr::get(&ctx, common->criterion));
  Shape logitsShape{h0.shape[0], *classes};
  state.addTypes({typeOf(logitsShape, logitsElt), typeOf(Shape{h0.shape[0]}, b.getI32Type())});
  Operation *op = b.create(state);
  bind(first, 0, TValue{op->getResult(0), logitsShape});
  return true;
}

} // namespace dync::import
