//===- Control.cpp - gate, cond and early exit: the regions a node holds ----===//

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
// Per-sample control: gate, cond, early exit
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> GraphBuilder::emitGate(NodeView &n, ImplicitLocOpBuilder &b) {
  const TValue &x = n.inputs[0];
  if (x.rank() < 1)
    return failNode(n, "input must have a leading batch dim");
  FailureOr<std::string> gran = stringAttr(n, "granularity", {"sample", "token"}, StringRef("sample"));
  if (failed(gran))
    return failure();
  bool perToken = *gran == "token";
  if (perToken && x.rank() < 2)
    return failNode(n, "per-token gating needs an input [B, S, ...]");
  FailureOr<Value> threshold =
      n.scalarOrParamAttr("threshold", "threshold", b.getF32Type(), b);
  if (failed(threshold))
    return failure();

  // The score runs on every sample, so it is ordinary code before the gate.
  FailureOr<SmallVector<TValue>> score = n.importSubgraph("score", {x}, /*live=*/true, b);
  if (failed(score))
    return failure();
  if (score->size() != 1)
    return failNode(n, "subgraph 'score' must have one output");
  const TValue &s = (*score)[0];
  Shape expected(x.shape.begin(), x.shape.begin() + (perToken ? 2 : 1));
  if (s.shape != expected || !s.elt().isF32())
    return failNode(n, "subgraph 'score' must return f32 " + formatShape(expected) +
                           ", got " + dtypeName(s.elt()) + " " + formatShape(s.shape));

  Shape live = liveShape(x.shape, perToken ? 2 : 1);
  Type maskType = typeOf(s.shape, b.getI1Type());
  auto gate = dyn::GateOp::create(b, x.type(), n.numOutputs == 2 ? maskType : Type(),
                                  x.v, s.v, *threshold);
  Block *block = b.createBlock(&gate.getBody());
  BlockArgument arg = block->addArgument(typeOf(live, x.elt()), n.loc);
  OpBuilder inner(&ctx);
  inner.setInsertionPointToStart(block);
  FailureOr<SmallVector<TValue>> body =
      n.importSubgraph("body", {TValue{arg, live}}, true, inner);
  if (failed(body))
    return failure();
  if (body->size() != 1 || (*body)[0].shape != live || (*body)[0].elt() != x.elt())
    return failNode(n, "subgraph 'body' must return one value of the input's shape and dtype " +
                           formatShape(live));
  dyn::YieldOp::create(inner, n.loc, (*body)[0].v);
  b.setInsertionPointAfter(gate);
  SmallVector<TValue> results{TValue{gate.getResult(), x.shape}};
  if (n.numOutputs == 2)
    results.push_back(TValue{gate.getMask(), s.shape});
  return results;
}

FailureOr<SmallVector<TValue>> GraphBuilder::emitCond(NodeView &n, ImplicitLocOpBuilder &b) {
  FailureOr<std::string> gran =
      stringAttr(n, "granularity", {"scalar", "sample"}, StringRef("scalar"));
  if (failed(gran))
    return failure();
  bool perSample = *gran == "sample";
  const TValue &pred = n.inputs[0];
  if (!pred.elt().isInteger(1))
    return failNode(n, "the predicate (input 0) must be bool, got " + dtypeName(pred.elt()));
  SmallVector<TValue> operands(n.inputs.begin() + 1, n.inputs.end());
  Value predV;
  if (perSample) {
    if (pred.rank() != 1)
      return failNode(n, "a per-sample predicate must be [B], got " + formatShape(pred.shape));
    for (auto [i, op] : llvm::enumerate(operands))
      if (op.rank() < 1 || op.shape[0] != pred.shape[0])
        return failNode(n, "operand " + std::to_string(i + 1) + " " + formatShape(op.shape) +
                               " must have the predicate's batch " +
                               formatShape(pred.shape) + " as its first dim");
    predV = pred.v;
  } else {
    int64_t count = 1;
    for (const Dim &d : pred.shape)
      count = d.isStatic() ? count * d.size : -1;
    if (count != 1)
      return failNode(n, "a scalar predicate must have one element, got " + formatShape(pred.shape));
    SmallVector<Value> zeros(pred.rank(), arith::ConstantIndexOp::create(b, 0));
    predV = tensor::ExtractOp::create(b, pred.v, zeros);
  }
  // Result types are known only once a region is imported, so the op is
  // assembled from an OperationState after both regions are built.
  OperationState state(n.loc, dyn::CondOp::getOperationName());
  SmallVector<Value> operandValues{predV};
  for (const TValue &op : operands)
    operandValues.push_back(op.v);
  state.addOperands(operandValues);
  Region *thenR = state.addRegion();
  Region *elseR = state.addRegion();
  SmallVector<SmallVector<TValue>> yields;
  for (auto [name, region] : {std::make_pair("then", thenR), std::make_pair("else", elseR)}) {
    Block *block = new Block();
    region->push_back(block);
    SmallVector<TValue> blockArgs;
    for (const TValue &op : operands) {
      Shape shape = perSample ? liveShape(op.shape, 1) : op.shape;
      blockArgs.push_back(
          TValue{block->addArgument(typeOf(shape, op.elt()), n.loc), shape});
    }
    OpBuilder inner(&ctx);
    inner.setInsertionPointToStart(block);
    FailureOr<SmallVector<TValue>> out =
        n.importSubgraph(name, blockArgs, perSample || n.live, inner);
    if (failed(out))
      return failure();
    SmallVector<Value> vals;
    for (const TValue &o : *out)
      vals.push_back(o.v);
    dyn::YieldOp::create(inner, n.loc, vals);
    yields.push_back(*out);
  }
  if (yields[0].size() != yields[1].size())
    return failNode(n, llvm::formatv("'then' returns {0} value(s) but 'else' returns {1}",
                                     yields[0].size(), yields[1].size()));
  if (yields[0].size() != n.numOutputs)
    return failNode(n, llvm::formatv("the node has {0} output(s) but its subgraphs return {1}",
                                     n.numOutputs, yields[0].size()));
  SmallVector<TValue> results;
  SmallVector<Type> resultTypes;
  for (size_t i = 0; i < yields[0].size(); ++i) {
    const TValue &t = yields[0][i], &e = yields[1][i];
    if (t.shape != e.shape || t.elt() != e.elt())
      return failNode(n, "output " + std::to_string(i) + ": 'then' returns " +
                             dtypeName(t.elt()) + " " + formatShape(t.shape) +
                             " but 'else' returns " + dtypeName(e.elt()) + " " +
                             formatShape(e.shape));
    Shape shape = t.shape;
    if (perSample) {
      if (shape.empty() || shape[0].sym != kLive)
        return failNode(n, "per-sample outputs must keep the live batch as their first dim");
      shape[0] = pred.shape[0];
    }
    resultTypes.push_back(typeOf(shape, t.elt()));
    results.push_back(TValue{Value(), shape});
  }
  state.addTypes(resultTypes);
  Operation *op = b.create(state);
  for (size_t i = 0; i < results.size(); ++i)
    results[i].v = op->getResult(i);
  return results;
}

FailureOr<SmallVector<TValue>> GraphBuilder::emitEarlyExit(NodeView &n, ImplicitLocOpBuilder &b) {
  const TValue &x = n.inputs[0];
  if (x.rank() < 1)
    return failNode(n, "input must have a leading batch dim");
  FailureOr<std::string> crit =
      stringAttr(n, "criterion", {"max_softmax", "entropy", "gate"});
  if (failed(crit))
    return failure();
  FailureOr<Value> threshold =
      n.scalarOrParamAttr("threshold", "threshold", b.getF32Type(), b);
  if (failed(threshold))
    return failure();
  bool gateCrit = *crit == "gate";
  FailureOr<size_t> numStages = n.numStages(gateCrit);
  if (failed(numStages))
    return failure();
  Shape live = liveShape(x.shape, 1);

  OperationState state(n.loc, dyn::EarlyExitOp::getOperationName());
  state.addOperands({x.v, *threshold});
  dyn::ExitCriterion criterion = *crit == "max_softmax" ? dyn::ExitCriterion::max_softmax
                                 : *crit == "entropy"   ? dyn::ExitCriterion::entropy
                                                        : dyn::ExitCriterion::gate;
  state.addAttribute("criterion", dyn::ExitCriterionAttr::get(&ctx, criterion));
  std::optional<Dim> classes;
  Type hiddenElt = x.elt();
  for (size_t i = 0; i < *numStages; ++i) {
    std::string stageName = "stages[" + std::to_string(i) + "]";
    Region *region = state.addRegion();
    Block *block = new Block();
    region->push_back(block);
    TValue h{block->addArgument(typeOf(live, hiddenElt), n.loc), live};
    OpBuilder inner(&ctx);
    inner.setInsertionPointToStart(block);
    FailureOr<SmallVector<TValue>> body =
        n.importSubgraph(stageName + ".body", {h}, true, inner);
    if (failed(body))
      return failure();
    // A stage may change the hidden state's shape; the next stage takes what
    // this one returns. Only the leading dim, the live batch, is shared.
    if (body->size() != 1 || (*body)[0].rank() < 1 || (*body)[0].shape[0].sym != kLive)
      return failNode(n, stageName + ".body must return one value whose leading dim is "
                                     "the batch, got " +
                             (body->size() == 1 ? formatShape((*body)[0].shape)
                                                : std::to_string(body->size()) + " values"));
    TValue next = (*body)[0];
    live = next.shape;
    hiddenElt = next.elt();
    FailureOr<SmallVector<TValue>> head =
        n.importSubgraph(stageName + ".head", {next}, true, inner);
    if (failed(head))
      return failure();
    if (head->size() != 1 || (*head)[0].rank() != 2 || (*head)[0].shape[0].sym != kLive ||
        !(*head)[0].shape[1].isStatic() || !isa<FloatType>((*head)[0].elt()))
      return failNode(n, stageName + ".head must return float logits [batch, C] with a static C");
    const TValue &logits = (*head)[0];
    if (classes && *classes != logits.shape[1])
      return failNode(n, stageName + ".head returns " + formatDim(logits.shape[1]) +
                             " classes but stages[0].head returns " + formatDim(*classes));
    classes = logits.shape[1];
    SmallVector<Value> yields{next.v, logits.v};
    if (gateCrit) {
      FailureOr<SmallVector<TValue>> g =
          n.importSubgraph(stageName + ".gate", {next}, true, inner);
      if (failed(g))
        return failure();
      Shape want{Dim::named(kLive)};
      if (g->size() != 1 || (*g)[0].shape != want || !(*g)[0].elt().isF32())
        return failNode(n, stageName + ".gate must return f32 [batch]");
      yields.push_back((*g)[0].v);
    }
    dyn::YieldOp::create(inner, n.loc, yields);
  }
  Shape logitsShape{x.shape[0], *classes};
  Shape indexShape{x.shape[0]};
  Type logitsElt = cast<RankedTensorType>(
                       state.regions[0]->front().getTerminator()->getOperand(1).getType())
                       .getElementType();
  state.addTypes({typeOf(logitsShape, logitsElt), typeOf(indexShape, b.getI32Type())});
  Operation *op = b.create(state);
  return SmallVector<TValue>{TValue{op->getResult(0), logitsShape},
                             TValue{op->getResult(1), indexShape}};
}

} // namespace dync::import
