//===- OnnxLoop.cpp - Loop, and the Sequence ops scripted loops produce ---===//
//
// ONNX `Loop` becomes host control in the dyn-level IR, which partitioning
// keeps in the host program around the subgraphs of its body:
//   - an `scf.for` when it runs a trip count and its condition stays true
//     (`for i in range(n)` in a scripted module: the condition is a constant
//     the body passes on);
//   - an `scf.while` on the condition, and on the trip count when there is
//     one (`while` loops, `break`).
// Loop-carried values keep their shape and type from one iteration to the
// next. Scan outputs, and a sequence the body appends one tensor to per
// iteration (`outs.append(h)`, then `torch.stack(outs)`), are stacked along a
// new leading dim of the trip count's size; they need the scf.for form.
//
// Sequences outside loops are lists known at import: SequenceConstruct,
// SequenceInsert and SequenceAt at constant positions, SequenceLength, and
// ConcatFromSequence over them build no sequence at run time.
//
//===----------------------------------------------------------------------===//

#include "OnnxImporter.h"

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

namespace dync::import {

Value scalarOf(ImplicitLocOpBuilder &b, const TValue &v) {
  SmallVector<Value> zeros(v.rank(), arith::ConstantIndexOp::create(b, 0));
  return tensor::ExtractOp::create(b, v.v, zeros);
}

bool oneElement(const TValue &v) {
  return llvm::all_of(v.shape, [](const Dim &d) { return d.isStatic() && d.size == 1; });
}

namespace {

/// An i1 from a scalar of any integer or float type (ONNX conditions are
/// bool, but a Cast may have left them wider): true when it is not zero.
Value truthOf(ImplicitLocOpBuilder &b, Value s) {
  if (s.getType().isInteger(1))
    return s;
  Value zero = arith::ConstantOp::create(b, b.getZeroAttr(s.getType()));
  if (isa<FloatType>(s.getType()))
    return arith::CmpFOp::create(b, arith::CmpFPredicate::UNE, s, zero);
  return arith::CmpIOp::create(b, arith::CmpIPredicate::ne, s, zero);
}

/// A 0-d tensor holding the scalar `s`, as an ONNX body input.
OnnxValue tensorOf(ImplicitLocOpBuilder &b, Value s) {
  OnnxValue v;
  v.tensor = TValue{tensor::FromElementsOp::create(b, RankedTensorType::get({}, s.getType()), s),
                    {}};
  return v;
}

} // namespace

LogicalResult OnnxImporter::translateLoop(OnnxNodeView &n, const onnx::NodeProto &node,
                                          ImplicitLocOpBuilder &b) {
  const onnx::AttributeProto *bodyAttr = attr(node, "body");
  if (!bodyAttr || bodyAttr->type() != onnx::AttributeProto::GRAPH)
    return failNode(n, "Loop needs a 'body' graph");
  const onnx::GraphProto &body = bodyAttr->g();
  int numCarried = node.input_size() - 2;
  if (numCarried < 0)
    return failNode(n, "Loop needs a trip count and a condition input (either may be empty)");
  if (body.input_size() != numCarried + 2)
    return failNode(n, llvm::formatv("the body has {0} input(s); with {1} loop-carried value(s) it "
                                     "needs {2} (the iteration number, the condition, the values)",
                                     body.input_size(), numCarried, numCarried + 2));
  int numScan = body.output_size() - 1 - numCarried;
  if (numScan < 0)
    return failNode(n, llvm::formatv("the body has {0} output(s); with {1} loop-carried value(s) "
                                     "it needs at least {2} (the condition, the values)",
                                     body.output_size(), numCarried, numCarried + 1));
  if (node.output_size() > numCarried + numScan)
    return failNode(n, llvm::formatv("the node has {0} outputs but its body makes {1} (loop-carried "
                                     "values and scan outputs)",
                                     node.output_size(), numCarried + numScan));
  std::string where = n.path + ".body";

  // The trip count: a size known at import (`x.size(0)`, a constant), or a
  // tensor of the run.
  std::optional<Dim> tripDim;
  Value trip; // i64
  if (hasInput(node, 0)) {
    OnnxValue &m = values[node.input(0)];
    if (m.ints && m.ints->size() == 1) {
      tripDim = (*m.ints)[0];
      OpFoldResult s = g.symSize(b, anyTensor, *tripDim);
      trip = isa<Value>(s) ? arith::IndexCastOp::create(b, b.getI64Type(), cast<Value>(s)).getResult()
                           : arith::ConstantIntOp::create(b, b.getI64Type(),
                                                          cast<IntegerAttr>(cast<Attribute>(s)).getInt())
                                 .getResult();
    } else {
      FailureOr<TValue> t = tensorInput(n, node, 0, b);
      if (failed(t))
        return failure();
      if (!oneElement(*t) || !t->elt().isInteger(64))
        return failNode(n, "the trip count must be an int64 scalar, got " + dtypeName(t->elt()) +
                               " " + formatShape(t->shape));
      trip = scalarOf(b, *t);
    }
  }
  // The condition on entry.
  std::optional<bool> condConst;
  Value cond; // i1
  if (!hasInput(node, 1)) {
    condConst = true;
  } else if (OnnxValue &c = values[node.input(1)]; c.ints && c.ints->size() == 1 &&
                                                    (*c.ints)[0].isStatic()) {
    condConst = (*c.ints)[0].size != 0;
  } else {
    FailureOr<TValue> t = tensorInput(n, node, 1, b);
    if (failed(t))
      return failure();
    if (!oneElement(*t))
      return failNode(n, "the condition must be a scalar, got " + formatShape(t->shape));
    cond = truthOf(b, scalarOf(b, *t));
  }
  if (condConst)
    cond = arith::ConstantOp::create(b, b.getBoolAttr(*condConst));

  // Does the body keep the condition true? It does when its condition output
  // is its condition input passed on, or a true constant, through Identity.
  std::map<std::string, const onnx::NodeProto *> producers;
  for (const onnx::NodeProto &bn : body.node())
    for (const std::string &o : bn.output())
      producers[o] = &bn;
  std::string condOut = body.output(0).name();
  for (int depth = 0; depth < 64; ++depth) {
    auto p = producers.find(condOut);
    if (p == producers.end() || p->second->op_type() != "Identity" || p->second->input_size() < 1)
      break;
    condOut = p->second->input(0);
  }
  bool keepsTrue = condOut == body.input(1).name();
  if (auto v = values.find(condOut); !keepsTrue && v != values.end()) {
    const std::optional<SmallVector<Dim>> &ints = v->second.ints;
    keepsTrue = ints && ints->size() == 1 && (*ints)[0].isStatic() && (*ints)[0].size != 0;
  }
  bool forForm = trip && condConst == true && keepsTrue;
  if (!trip && condConst == true && keepsTrue)
    return failNode(n, "the Loop has no trip count and its condition stays true: it never stops");

  // The loop-carried values: tensors, or a sequence that starts empty and
  // that each iteration appends one tensor to.
  SmallVector<TValue> inits;
  SmallVector<bool> isSeq;
  for (int j = 0; j < numCarried; ++j) {
    const std::string &in = node.input(2 + j);
    if (in.empty())
      return failNode(n, "loop-carried value " + std::to_string(j) + " has no initial value");
    OnnxValue &v = values[in];
    if (v.seq) {
      if (!v.seq->elements.empty() || v.seq->stacked || v.seq->carried)
        return failNode(n, "the sequence '" + in + "' carried by the Loop must start empty "
                           "(dync stacks what each iteration appends)");
      isSeq.push_back(true);
      continue;
    }
    FailureOr<TValue> t = tensorInputNamed(n, in, b);
    if (failed(t))
      return failure();
    isSeq.push_back(false);
    inits.push_back(*t);
  }
  if (!forForm && (numScan > 0 || llvm::is_contained(isSeq, true)))
    return failNode(n, "scan outputs and appended sequences need a Loop that runs its whole trip "
                       "count; this one has a condition computed in its body");
  if (forForm && (numScan > 0 || llvm::is_contained(isSeq, true)) && !tripDim)
    return failNode(n, "scan outputs and appended sequences need a trip count known from shapes "
                       "or constants, so that the stacked result has a bounded size");

  SmallVector<Value> initValues;
  for (const TValue &t : inits)
    initValues.push_back(t.v);
  Operation *loop;
  Block *bodyBlock;
  Value iter;     // i64, in the body
  Value condIn;   // i1, in the body
  ValueRange carriedArgs;
  if (forForm) {
    Value zero = arith::ConstantIndexOp::create(b, 0), one = arith::ConstantIndexOp::create(b, 1);
    Value ub = arith::IndexCastOp::create(b, b.getIndexType(), trip);
    auto forOp = scf::ForOp::create(b, zero, ub, one, initValues);
    loop = forOp;
    bodyBlock = forOp.getBody();
    if (!bodyBlock->empty())
      bodyBlock->getTerminator()->erase();
    ImplicitLocOpBuilder ib(n.loc, OpBuilder::atBlockBegin(bodyBlock));
    iter = arith::IndexCastOp::create(ib, ib.getI64Type(), forOp.getInductionVar());
    condIn = arith::ConstantOp::create(ib, ib.getBoolAttr(true));
    carriedArgs = forOp.getRegionIterArgs();
  } else {
    Value zero = arith::ConstantIntOp::create(b, b.getI64Type(), 0);
    SmallVector<Value> operands{zero, cond};
    operands.append(initValues);
    SmallVector<Type> types = llvm::to_vector(ValueRange(operands).getTypes());
    SmallVector<Location> locs(types.size(), n.loc);
    auto whileOp = scf::WhileOp::create(b, types, operands, nullptr, nullptr);
    loop = whileOp;
    OpBuilder::InsertionGuard guard(b);
    auto blockOf = [&](Region &r) {
      return r.empty() ? b.createBlock(&r, {}, types, locs) : &r.front();
    };
    Block *before = blockOf(whileOp.getBefore());
    b.setInsertionPointToEnd(before);
    Value go = before->getArgument(1);
    if (trip) {
      Value more = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, before->getArgument(0), trip);
      go = arith::AndIOp::create(b, go, more);
    }
    scf::ConditionOp::create(b, go, before->getArguments());
    bodyBlock = blockOf(whileOp.getAfter());
    iter = bodyBlock->getArgument(0);
    condIn = bodyBlock->getArgument(1);
    carriedArgs = bodyBlock->getArguments().drop_front(2);
  }

  // The body sees the enclosing graph's values (the loop's regions are not
  // isolated); its own names do not outlive it.
  std::map<std::string, OnnxValue> outer = values;
  llvm::scope_exit restore([&] { values = std::move(outer); });
  ImplicitLocOpBuilder ib(n.loc, OpBuilder::atBlockEnd(bodyBlock));
  // The iterations run, counted by the iteration itself.
  dyn::RtCountOp::create(ib, arith::ConstantIndexOp::create(ib, 1),
                         ib.getStringAttr(n.name + ".iterations"));
  values[body.input(0).name()] = tensorOf(ib, iter);
  values[body.input(1).name()] = tensorOf(ib, condIn);
  for (int j = 0, t = 0; j < numCarried; ++j) {
    OnnxValue v;
    if (isSeq[j]) {
      v.seq.emplace();
      v.seq->carried = true;
    } else {
      v.tensor = TValue{carriedArgs[t], inits[t].shape};
      ++t;
    }
    values[body.input(2 + j).name()] = std::move(v);
  }
  for (int i = 0; i < body.node_size(); ++i) {
    OpBuilder nb = OpBuilder::atBlockEnd(bodyBlock);
    if (failed(importNode(body.node(i), where + ".node[" + std::to_string(i) + "]", nb)))
      return failure();
  }

  ib.setInsertionPointToEnd(bodyBlock);
  onnx::NodeProto outs;
  for (const onnx::ValueInfoProto &o : body.output())
    outs.add_input(o.name());
  for (int i = 0; i < outs.input_size(); ++i)
    if (!values.count(outs.input(i)))
      return failNode(n, "body output '" + outs.input(i) + "' is not produced in the body");
  SmallVector<Value> yields;
  if (!forForm) {
    FailureOr<TValue> c = tensorInput(n, outs, 0, ib);
    if (failed(c))
      return failure();
    if (!oneElement(*c))
      return failNode(n, "the body's condition output must be a scalar, got " +
                             formatShape(c->shape));
    Value one = arith::ConstantIntOp::create(ib, ib.getI64Type(), 1);
    yields.push_back(arith::AddIOp::create(ib, iter, one));
    yields.push_back(truthOf(ib, scalarOf(ib, *c)));
  }
  // What each iteration stacks: the appended sequences' tensors, then the
  // scan outputs.
  SmallVector<TValue> stackedElems;
  for (int j = 0, t = 0; j < numCarried; ++j) {
    const std::string &name = outs.input(1 + j);
    OnnxValue &v = values[name];
    if (isSeq[j]) {
      if (!v.seq || !v.seq->carried || !v.seq->appended)
        return failNode(n, "the body must append exactly one tensor to the sequence it carries ('" +
                               body.input(2 + j).name() + "'); dync supports no other use of it");
      stackedElems.push_back(*v.seq->appended);
      continue;
    }
    FailureOr<TValue> r = tensorInput(n, outs, 1 + j, ib);
    if (failed(r))
      return failure();
    if (r->shape != inits[t].shape || r->elt() != inits[t].elt())
      return failNode(n, "loop-carried value " + std::to_string(j) + " ('" +
                             body.input(2 + j).name() + "') is " + dtypeName(inits[t].elt()) +
                             " " + formatShape(inits[t].shape) + " on entry but the body makes " +
                             dtypeName(r->elt()) + " " + formatShape(r->shape) +
                             "; dync needs loop-carried values to keep their shape and type");
    yields.push_back(r->v);
    ++t;
  }
  for (int k = 0; k < numScan; ++k) {
    FailureOr<TValue> s = tensorInput(n, outs, 1 + numCarried + k, ib);
    if (failed(s))
      return failure();
    stackedElems.push_back(*s);
  }
  scf::YieldOp::create(ib, yields);

  // The stacked results: [trip count, ...the element's shape], each
  // iteration's tensor inserted at its position.
  SmallVector<TValue> stackedResults;
  if (!stackedElems.empty()) {
    auto forOp = cast<scf::ForOp>(loop);
    SmallVector<Value> accs;
    SmallVector<Shape> shapes;
    for (const TValue &e : stackedElems) {
      for (const Dim &d : e.shape)
        for (const std::string &atom : d.atoms)
          if (!g.dimVisible(atom, b.getInsertionBlock()))
            return failNode(n, "a tensor the body stacks has the size '" + formatDim(d) +
                                   "', known only inside the body, so the stacked result "
                                   "cannot be allocated before the loop");
      Shape shape{*tripDim};
      shape.append(e.shape.begin(), e.shape.end());
      // Allocated before the loop.
      ImplicitLocOpBuilder before(n.loc, forOp);
      SmallVector<OpFoldResult> sizes;
      for (const Dim &d : shape)
        sizes.push_back(g.symSize(before, anyTensor, d));
      TensorBuilder tb(before);
      accs.push_back(tb.empty(sizes, e.elt()));
      shapes.push_back(shape);
    }
    IRRewriter rewriter(b);
    rewriter.setInsertionPoint(forOp);
    FailureOr<LoopLikeOpInterface> grown = forOp.replaceWithAdditionalYields(
        rewriter, accs, /*replaceInitOperandUsesInLoop=*/false,
        [&](OpBuilder &yb, Location loc, ArrayRef<BlockArgument> accArgs) {
          ImplicitLocOpBuilder ab(loc, yb);
          SmallVector<Value> updated;
          for (auto [e, acc, shape] : llvm::zip_equal(stackedElems, accArgs, shapes)) {
            SmallVector<OpFoldResult> offsets(shape.size(), ab.getIndexAttr(0));
            offsets[0] = cast<scf::ForOp>(acc.getOwner()->getParentOp()).getInductionVar();
            SmallVector<OpFoldResult> sizes{ab.getIndexAttr(1)};
            TensorBuilder tb(ab);
            for (int64_t d = 0; d < e.rank(); ++d)
              sizes.push_back(tb.size(e.v, d));
            SmallVector<OpFoldResult> strides(shape.size(), ab.getIndexAttr(1));
            updated.push_back(
                tensor::InsertSliceOp::create(ab, e.v, acc, offsets, sizes, strides));
          }
          return updated;
        });
    if (failed(grown))
      return failNode(n, "internal error: the loop could not carry its stacked results");
    loop = grown->getOperation();
    ValueRange results = loop->getResults().take_back(accs.size());
    for (auto [r, shape] : llvm::zip_equal(results, shapes))
      stackedResults.push_back(TValue{r, shape});
  }

  // Bind the node's outputs: the carried values' last state, then the
  // stacked sequences and scan outputs.
  ValueRange results = loop->getResults().drop_front(forForm ? 0 : 2);
  restore.release();
  values = std::move(outer);
  for (int j = 0, t = 0, s = 0; j < node.output_size(); ++j) {
    OnnxValue v;
    if (j < numCarried && isSeq[j]) {
      v.seq.emplace();
      v.seq->stacked = stackedResults[s++];
    } else if (j < numCarried) {
      v.tensor = TValue{results[t], inits[t].shape};
      ++t;
    } else {
      v.tensor = stackedResults[s++];
    }
    if (!node.output(j).empty())
      values[node.output(j)] = std::move(v);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Sequences
//===----------------------------------------------------------------------===//

FailureOr<OnnxSequence *> OnnxImporter::sequenceInput(OnnxNodeView &n, const onnx::NodeProto &node,
                                                      bool inBody) {
  OnnxValue &in = values[node.input(0)];
  if (!in.seq)
    return failNode(n, "input 0 ('" + node.input(0) + "') must be a sequence");
  if (in.seq->carried && !inBody)
    return failNode(n, "inside a Loop, dync supports only appending to the sequence it carries");
  return &*in.seq;
}

LogicalResult OnnxImporter::translateSequence(OnnxNodeView &n, const onnx::NodeProto &node,
                                              ImplicitLocOpBuilder &b) {
  const std::string &type = node.op_type();
  OnnxValue out;
  out.seq.emplace();
  if (type == "SequenceEmpty") {
    values[node.output(0)] = std::move(out);
    return success();
  }
  if (type == "SequenceConstruct") {
    for (int i = 0; i < node.input_size(); ++i) {
      FailureOr<TValue> t = tensorInput(n, node, i, b);
      if (failed(t))
        return failure();
      out.seq->elements.push_back(*t);
    }
    values[node.output(0)] = std::move(out);
    return success();
  }
  FailureOr<OnnxSequence *> seqIn = sequenceInput(n, node, /*inBody=*/type == "SequenceInsert");
  if (failed(seqIn))
    return failure();
  OnnxSequence &seq = **seqIn;
  // Input `i`, a position known at import.
  auto constant = [&](int i) -> FailureOr<int64_t> {
    FailureOr<SmallVector<Dim>> p = intsInput(n, node, i, "position");
    if (failed(p))
      return failure();
    if (p->size() != 1 || !(*p)[0].isStatic())
      return failNode(n, "the position must be one constant");
    return (*p)[0].size;
  };
  // The position in a list of `size` (negative counts from the end), or
  // past its end when absent.
  auto position = [&](int i, int64_t size, bool insert) -> FailureOr<int64_t> {
    if (!hasInput(node, i))
      return insert ? size : size - 1;
    FailureOr<int64_t> pos = constant(i);
    if (failed(pos))
      return failure();
    int64_t hi = insert ? size : size - 1;
    if (*pos < -size || *pos > hi)
      return failNode(n, llvm::formatv("position {0} is out of range for a sequence of {1}", *pos,
                                       size));
    return *pos < 0 ? *pos + size : *pos;
  };
  if (type == "SequenceInsert") {
    FailureOr<TValue> t = tensorInput(n, node, 1, b);
    if (failed(t))
      return failure();
    if (seq.carried) {
      // In a Loop's body: what this iteration appends.
      if (seq.appended || hasInput(node, 2))
        return failNode(n, "inside a Loop, dync supports appending one tensor per iteration to "
                           "the sequence it carries (no position, once)");
      out.seq->carried = true;
      out.seq->appended = *t;
      values[node.output(0)] = std::move(out);
      return success();
    }
    if (seq.stacked)
      return failNode(n, "inserting into a sequence a Loop stacked is not supported");
    FailureOr<int64_t> pos = position(2, int64_t(seq.elements.size()), /*insert=*/true);
    if (failed(pos))
      return failure();
    out.seq->elements = seq.elements;
    out.seq->elements.insert(out.seq->elements.begin() + *pos, *t);
    values[node.output(0)] = std::move(out);
    return success();
  }
  if (type == "SequenceLength") {
    OnnxValue len;
    len.scalar = true;
    len.ints.emplace();
    len.ints->push_back(seq.stacked ? seq.stacked->shape[0]
                                        : Dim::of(int64_t(seq.elements.size())));
    values[node.output(0)] = std::move(len);
    return success();
  }
  // SequenceAt
  if (seq.stacked) {
    FailureOr<int64_t> p = constant(1);
    if (failed(p))
      return failure();
    const TValue &s = *seq.stacked;
    int64_t pos = *p;
    auto [lo, hi] = g.sizeBounds(s.shape[0]);
    if (pos >= lo || pos < -lo)
      return failNode(n, llvm::formatv("position {0} may be out of range: the sequence holds "
                                       "{1} to {2} tensors",
                                       pos, lo, hi));
    TensorBuilder tb(b);
    Value index = arith::ConstantIndexOp::create(b, pos);
    if (pos < 0)
      index = arith::AddIOp::create(b, tb.sizeValue(s.v, 0), index);
    SmallVector<OpFoldResult> offsets(s.rank(), b.getIndexAttr(0)), sizes, strides(s.rank(),
                                                                                     b.getIndexAttr(1));
    offsets[0] = index;
    sizes.push_back(b.getIndexAttr(1));
    for (int64_t d = 1; d < s.rank(); ++d)
      sizes.push_back(tb.size(s.v, d));
    Shape shape(s.shape.begin() + 1, s.shape.end());
    auto slice = tensor::ExtractSliceOp::create(b, typeOf(shape, s.elt()), s.v, offsets, sizes,
                                                strides);
    bind(node, 0, TValue{slice, shape});
    return success();
  }
  FailureOr<int64_t> pos = position(1, int64_t(seq.elements.size()), /*insert=*/false);
  if (failed(pos))
    return failure();
  bind(node, 0, seq.elements[*pos]);
  return success();
}

LogicalResult OnnxImporter::translateConcatFromSequence(OnnxNodeView &n,
                                                        const onnx::NodeProto &node,
                                                        ImplicitLocOpBuilder &b) {
  FailureOr<OnnxSequence *> seqIn = sequenceInput(n, node, /*inBody=*/false);
  if (failed(seqIn))
    return failure();
  OnnxSequence &seq = **seqIn;
  if (!attr(node, "axis"))
    return failNode(n, "ConcatFromSequence needs its 'axis' attribute");
  int64_t axis = intAttr(node, "axis", 0);
  bool newAxis = intAttr(node, "new_axis", 0) != 0;
  if (seq.stacked) {
    // [M, e0, e1, ...]: stack moves M to `axis`; concat merges it with the
    // element's dim there (M outer).
    const TValue &s = *seq.stacked;
    int64_t elemRank = s.rank() - 1;
    int64_t outRank = newAxis ? elemRank + 1 : elemRank;
    if (axis < -outRank || axis >= outRank)
      return failNode(n, llvm::formatv("axis {0} is out of range for rank {1}", axis, outRank));
    if (axis < 0)
      axis += outRank;
    SmallVector<int64_t> perm;
    for (int64_t d = 1; d <= axis; ++d)
      perm.push_back(d);
    perm.push_back(0);
    for (int64_t d = axis + 1; d <= elemRank; ++d)
      perm.push_back(d);
    TValue moved = s;
    if (axis != 0) {
      OnnxNodeView t = n.part("transpose");
      t.attrs["perm"] = perm;
      t.inputs = {s};
      FailureOr<SmallVector<TValue>> r = g.emit(t, b);
      if (failed(r))
        return failure();
      moved = (*r)[0];
    }
    if (newAxis) {
      bind(node, 0, moved);
      return success();
    }
    Shape shape;
    for (int64_t d = 0; d <= elemRank; ++d) {
      if (d == axis + 1)
        continue;
      shape.push_back(d == axis ? mulDims(moved.shape[axis], moved.shape[axis + 1])
                                : moved.shape[d]);
    }
    bind(node, 0, g.reshapeTo(b, moved, shape));
    return success();
  }
  if (seq.elements.empty())
    return failNode(n, "ConcatFromSequence of an empty sequence");
  OnnxNodeView c = n.part("concat");
  int64_t rank = seq.elements[0].rank() + (newAxis ? 1 : 0);
  if (axis < -rank || axis >= rank)
    return failNode(n, llvm::formatv("axis {0} is out of range for rank {1}", axis, rank));
  if (axis < 0)
    axis += rank;
  c.attrs["axis"] = axis;
  for (const TValue &e : seq.elements) {
    if (!newAxis) {
      c.inputs.push_back(e);
      continue;
    }
    Shape shape = e.shape;
    if (axis > int64_t(shape.size()))
      return failNode(n, "the sequence's tensors differ in rank");
    shape.insert(shape.begin() + axis, Dim::of(1));
    c.inputs.push_back(g.reshapeTo(b, e, shape));
  }
  return emit(c, node, b);
}

} // namespace dync::import
