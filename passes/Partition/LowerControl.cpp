//===- LowerControl.cpp - dyn control ops to a host program ---------------===//
//
// Every data-dependent decision of the model becomes explicit host code:
// which samples run (a mask, the positions it selects, compaction of the live
// rows), when to stop (an `scf.if` on the number of samples left), and where
// results go (scatter back to the original positions). What remains between
// these host operations is static tensor computation, which
// dyn-outline-subgraphs turns into subgraph functions.
//
//===----------------------------------------------------------------------===//

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Dialect/Dyn/DynUtils.h"
#include "dync/Passes/Partition/Passes.h"
#include "dync/Support/TensorBuilder.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/TypeSwitch.h"

namespace dync {
#define GEN_PASS_DEF_DYNLOWERCONTROL
#include "dync/Passes/Partition/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;
using mlir::dyn::liveType;
using mlir::dyn::rankedType;

namespace {
/// `v` as `type` (a cast where static sizes differ), at `b`.
Value castTo(ImplicitLocOpBuilder &b, Value v, Type type) {
  return dyn::castTo(b, b.getLoc(), v, type);
}
/// The scalar `value` broadcast to the shape of `like`.
Value splatLike(ImplicitLocOpBuilder &b, Value value, Value like) {
  return dyn::splatLike(b, b.getLoc(), value, like);
}
} // namespace

namespace {

/// The user's node name of `op` (the outermost name of its location), for
/// naming outlined functions after it.
std::string nodeName(Operation *op) {
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    return name.getName().str();
  return op->getName().stripDialect().str();
}

/// `n > 0` for the size of dimension 0 of `v`.
Value hasRows(ImplicitLocOpBuilder &b, Value v) {
  Value n = tensor::DimOp::create(b, v, 0);
  Value zero = arith::ConstantIndexOp::create(b, 0);
  return arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, n, zero);
}

/// Records `n` rows (the size of dim 0 of `v`) in the run statistic `name`.
void countRows(ImplicitLocOpBuilder &b, Value v, const std::string &name) {
  Value n = tensor::DimOp::create(b, v, 0);
  dyn::RtCountOp::create(b, n, b.getStringAttr(name));
}

/// Counts, at the start of `region`, the rows its first argument holds: the
/// samples (tokens) the region's code computes on, recorded where that work
/// runs rather than derived from the decision that sends rows there.
void countRowsOnEntry(Region &region, Location loc, const std::string &name) {
  Block &block = region.front();
  ImplicitLocOpBuilder b(loc, OpBuilder::atBlockBegin(&block));
  countRows(b, block.getArgument(0), name);
}

Value logicalNot(ImplicitLocOpBuilder &b, Value mask) {
  Value t = arith::ConstantOp::create(b, b.getBoolAttr(true));
  return arith::XOrIOp::create(b, mask, splatLike(b, t, mask));
}

/// Size `dim` of `v`, a value of a region whose block arguments stand for
/// `inputs`, expressed in the host from the inputs' sizes: followed through
/// the ops' reified result shapes (ReifyRankedShapedTypeOpInterface), shape-
/// preserving elementwise ops, and index arithmetic. The per-sample regions
/// see the live batch in place of dim 0, so only dims after it are asked for.
/// Null if the size does not follow from the inputs.
Value sizeFromInputs(ImplicitLocOpBuilder &host, Value v, int64_t dim,
                     Block &region, ValueRange inputs, int depth = 0) {
  if (depth > 64)
    return {};
  auto type = cast<RankedTensorType>(v.getType());
  if (!type.isDynamicDim(dim))
    return arith::ConstantIndexOp::create(host, type.getDimSize(dim));
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() == &region)
      return tensor::DimOp::create(host, inputs[arg.getArgNumber()], dim);
    // A branch of a cond nested in the region: past the (live) batch, its
    // arguments have the sizes of the cond's operands.
    auto nested = dyn_cast<dyn::CondOp>(arg.getOwner()->getParentOp());
    if (!nested || !region.getParentOp()->isProperAncestor(nested))
      return {};
    return sizeFromInputs(host, nested.getInputs()[arg.getArgNumber()], dim, region, inputs,
                          depth + 1);
  }
  Operation *op = v.getDefiningOp();
  // A nested cond's result has, past the batch, the size of what a branch
  // yields (they agree, or the program is wrong); either may tell.
  if (auto nested = dyn_cast<dyn::CondOp>(op)) {
    unsigned k = cast<OpResult>(v).getResultNumber();
    for (Region *branch : {&nested.getThenRegion(), &nested.getElseRegion()})
      if (Value size = sizeFromInputs(host, branch->front().getTerminator()->getOperand(k), dim,
                                      region, inputs, depth + 1))
        return size;
    return {};
  }
  // An index value of the region, rebuilt in the host.
  std::function<Value(Value)> scalar = [&](Value s) -> Value {
    APInt c;
    if (matchPattern(s, m_ConstantInt(&c)))
      return arith::ConstantIndexOp::create(host, c.getSExtValue());
    if (auto d = s.getDefiningOp<tensor::DimOp>()) {
      std::optional<int64_t> index = d.getConstantIndex();
      if (!index || *index == 0)
        return {};
      return sizeFromInputs(host, d.getSource(), *index, region, inputs, depth + 1);
    }
    Operation *def = s.getDefiningOp();
    if (!isa_and_nonnull<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::MinSIOp,
                         arith::MaxSIOp, arith::CeilDivSIOp, arith::DivSIOp>(def))
      return {};
    IRMapping map;
    for (Value operand : def->getOperands()) {
      Value h = scalar(operand);
      if (!h)
        return {};
      map.map(operand, h);
    }
    return host.clone(*def, map)->getResult(0);
  };
  if (op->hasTrait<OpTrait::Elementwise>() && op->getNumOperands() > 0 &&
      op->getOperand(0).getType() == v.getType())
    return sizeFromInputs(host, op->getOperand(0), dim, region, inputs, depth + 1);
  auto reify = dyn_cast<ReifyRankedShapedTypeOpInterface>(op);
  if (!reify)
    return {};
  // The reified sizes are built in the region, next to the op; only their
  // values matter here, and canonicalization removes them afterwards.
  OpBuilder inRegion(op);
  ReifiedRankedShapedTypeDims shapes;
  if (failed(reifyResultShapes(inRegion, op, shapes)))
    return {};
  OpFoldResult size = shapes[cast<OpResult>(v).getResultNumber()][dim];
  if (auto attr = dyn_cast<Attribute>(size))
    return arith::ConstantIndexOp::create(host, cast<IntegerAttr>(attr).getInt());
  return scalar(cast<Value>(size));
}

class Lowering {
public:
  Lowering(ModuleOp module) : module(module), symbols(module) {}

  LogicalResult run() {
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn->hasAttr(kSubgraphAttr))
        worklist.push_back(fn);
    while (!worklist.empty()) {
      func::FuncOp fn = worklist.pop_back_val();
      if (failed(lowerFunction(fn)))
        return failure();
    }
    return success();
  }

private:
  LogicalResult lowerFunction(func::FuncOp fn) {
    // Only the outermost dynamic ops: the regions of each are outlined whole
    // into functions that get lowered in turn.
    SmallVector<Operation *> ops;
    fn.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<dyn::GateOp, dyn::CondOp, dyn::EarlyExitOp>(op)) {
        ops.push_back(op);
        return WalkResult::skip();
      }
      if (isa<dyn::MoeOp>(op))
        ops.push_back(op);
      return WalkResult::advance();
    });
    for (Operation *op : ops) {
      LogicalResult result =
          TypeSwitch<Operation *, LogicalResult>(op)
              .Case([&](dyn::GateOp g) { return lowerGate(g, fn); })
              .Case([&](dyn::CondOp c) { return lowerCond(c, fn); })
              .Case([&](dyn::EarlyExitOp e) { return lowerEarlyExit(e, fn); })
              .Case([&](dyn::MoeOp m) { return lowerMoe(m); });
      if (failed(result))
        return failure();
    }
    return success();
  }

  /// Moves `region` into a new private function named after the node and
  /// `role`; its `dyn.yield` becomes `func.return`.
  func::FuncOp outline(Region &region, func::FuncOp parent, Operation *op,
                       StringRef role) {
    Block &block = region.front();
    auto yield = cast<dyn::YieldOp>(block.getTerminator());
    auto type = FunctionType::get(module.getContext(), block.getArgumentTypes(),
                                  yield.getValues().getTypes());
    OpBuilder b(module.getContext());
    b.setInsertionPointAfter(parent);
    std::string name =
        (parent.getSymName() + "." + nodeName(op) + "." + role).str();
    auto fn = func::FuncOp::create(b, op->getLoc(), name, type);
    fn.setPrivate();
    fn->setAttr(kRegionAttr, b.getStringAttr(op->getName().getStringRef()));
    fn.getBody().takeBody(region);
    OpBuilder rb(yield);
    func::ReturnOp::create(rb, yield.getLoc(), yield.getValues());
    yield.erase();
    symbols.insert(fn);
    worklist.push_back(fn);
    return fn;
  }

  SmallVector<Value> call(ImplicitLocOpBuilder &b, func::FuncOp fn,
                          ValueRange args) {
    SmallVector<Value> casted;
    for (auto [a, t] : llvm::zip_equal(args, fn.getArgumentTypes()))
      casted.push_back(castTo(b, a, t));
    auto c = func::CallOp::create(b, fn, casted);
    return SmallVector<Value>(c.getResults());
  }

  //===--------------------------------------------------------------------===//
  // Gate: mask, select, compact, run, merge
  //===--------------------------------------------------------------------===//

  LogicalResult lowerGate(dyn::GateOp op, func::FuncOp parent) {
    ImplicitLocOpBuilder b(op.getLoc(), op);
    Value x = op.getInput(), score = op.getScore();
    Value mask = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, score,
                                       splatLike(b, op.getThreshold(), score));
    Value rows = x, rowMask = mask;
    auto xType = rankedType(x);
    if (op.isPerToken()) {
      // Tokens are rows too: merge [B, S] into one dim and gate the rows.
      SmallVector<ReassociationIndices> groups{{0, 1}};
      for (int64_t i = 2; i < xType.getRank(); ++i)
        groups.push_back({i});
      rows = tensor::CollapseShapeOp::create(b, x, groups);
      rowMask = tensor::CollapseShapeOp::create(
          b, mask, SmallVector<ReassociationIndices>{{0, 1}});
    }
    auto rowsType = rankedType(rows);
    std::string unit = op.isPerToken() ? "tokens" : "samples";
    countRowsOnEntry(op.getBody(), op.getLoc(), nodeName(op) + "." + unit + "_run");
    func::FuncOp body = outline(op.getBody(), parent, op, "body");
    Value run = dyn::RtSelectOp::create(
        b, RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type()), rowMask);
    countRows(b, rows, nodeName(op) + "." + unit);
    auto ifOp = scf::IfOp::create(
        b, hasRows(b, run),
        [&](OpBuilder &nb, Location loc) {
          ImplicitLocOpBuilder ib(loc, nb);
          Value live = dyn::RtGatherRowsOp::create(ib, liveType(rowsType), rows, run);
          Value out = call(ib, body, live)[0];
          Value merged = dyn::RtScatterRowsOp::create(ib, rowsType, out, rows, run);
          scf::YieldOp::create(ib, merged);
        },
        [&](OpBuilder &nb, Location loc) { scf::YieldOp::create(nb, loc, rows); });
    Value result = ifOp.getResult(0);
    if (op.isPerToken()) {
      SmallVector<ReassociationIndices> groups{{0, 1}};
      for (int64_t i = 2; i < xType.getRank(); ++i)
        groups.push_back({i});
      SmallVector<OpFoldResult> sizes;
      TensorBuilder tb(b);
      for (int64_t i = 0; i < xType.getRank(); ++i)
        sizes.push_back(tb.size(x, i));
      result = tb.expand(result, xType, groups, sizes);
    }
    SmallVector<Value> replacements{result};
    if (op.getMask())
      replacements.push_back(mask);
    op->replaceAllUsesWith(replacements);
    op->erase();
    return success();
  }

  //===--------------------------------------------------------------------===//
  // Cond: scf.if, or each branch on its own samples
  //===--------------------------------------------------------------------===//

  LogicalResult lowerCond(dyn::CondOp op, func::FuncOp parent) {
    ImplicitLocOpBuilder b(op.getLoc(), op);
    // The merged results have the batch of the predicate; their other dims
    // follow from the inputs (a hidden size `S` of an input [B, S, d]).
    SmallVector<SmallVector<OpFoldResult>> resultSizes;
    if (op.isPerSample()) {
      TensorBuilder tb(b);
      for (auto [k, t] : llvm::enumerate(op.getResultTypes())) {
        auto r = cast<RankedTensorType>(t);
        SmallVector<OpFoldResult> sizes{tb.size(op.getPredicate(), 0)};
        for (int64_t i = 1; i < r.getRank(); ++i) {
          if (!r.isDynamicDim(i)) {
            sizes.push_back(b.getIndexAttr(r.getDimSize(i)));
            continue;
          }
          Value size;
          for (Region *region : {&op.getThenRegion(), &op.getElseRegion()}) {
            Block &block = region->front();
            Value yielded = block.getTerminator()->getOperand(k);
            if ((size = sizeFromInputs(b, yielded, i, block, op.getInputs())))
              break;
          }
          if (!size)
            return op.emitOpError()
                   << "of node '" << nodeName(op) << "' cannot be partitioned: dim " << i
                   << " of its result #" << k << " (" << t
                   << ") does not follow from the sizes of its inputs, so the "
                      "merged result cannot be allocated before the branches run";
          sizes.push_back(size);
        }
        resultSizes.push_back(sizes);
      }
    }
    if (op.isPerSample()) {
      countRowsOnEntry(op.getThenRegion(), op.getLoc(), nodeName(op) + ".samples_then");
      countRowsOnEntry(op.getElseRegion(), op.getLoc(), nodeName(op) + ".samples_else");
    }
    func::FuncOp thenFn = outline(op.getThenRegion(), parent, op, "then");
    func::FuncOp elseFn = outline(op.getElseRegion(), parent, op, "else");
    SmallVector<Value> inputs(op.getInputs());
    if (!op.isPerSample()) {
      auto ifOp = scf::IfOp::create(
          b, op.getPredicate(),
          [&](OpBuilder &nb, Location loc) {
            ImplicitLocOpBuilder ib(loc, nb);
            dyn::RtCountOp::create(ib, arith::ConstantIndexOp::create(ib, 1),
                                   ib.getStringAttr(nodeName(op) + ".then"));
            scf::YieldOp::create(ib, call(ib, thenFn, inputs));
          },
          [&](OpBuilder &nb, Location loc) {
            ImplicitLocOpBuilder ib(loc, nb);
            dyn::RtCountOp::create(ib, arith::ConstantIndexOp::create(ib, 1),
                                   ib.getStringAttr(nodeName(op) + ".else"));
            scf::YieldOp::create(ib, call(ib, elseFn, inputs));
          });
      op->replaceAllUsesWith(ifOp.getResults());
      op->erase();
      return success();
    }

    Value pred = op.getPredicate();
    auto indexType = RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
    Value notPred = logicalNot(b, pred);
    Value thenRows = dyn::RtSelectOp::create(b, indexType, pred);
    Value elseRows = dyn::RtSelectOp::create(b, indexType, notPred);
    SmallVector<Value> acc;
    TensorBuilder tb(b);
    for (auto [t, sizes] : llvm::zip_equal(op.getResultTypes(), resultSizes))
      acc.push_back(castTo(b, tb.empty(sizes, cast<RankedTensorType>(t).getElementType()), t));
    for (auto branch : {std::make_pair(thenFn, thenRows),
                        std::make_pair(elseFn, elseRows)}) {
      func::FuncOp fn = branch.first;
      Value sel = branch.second;
      SmallVector<Value> current = acc;
      auto ifOp = scf::IfOp::create(
          b, hasRows(b, sel),
          [&](OpBuilder &nb, Location loc) {
            ImplicitLocOpBuilder ib(loc, nb);
            SmallVector<Value> args;
            for (auto [in, t] : llvm::zip_equal(inputs, fn.getArgumentTypes()))
              args.push_back(dyn::RtGatherRowsOp::create(ib, t, in, sel));
            SmallVector<Value> outs = call(ib, fn, args), merged;
            for (auto [o, a] : llvm::zip_equal(outs, current))
              merged.push_back(
                  dyn::RtScatterRowsOp::create(ib, a.getType(), o, a, sel));
            scf::YieldOp::create(ib, merged);
          },
          [&](OpBuilder &nb, Location loc) {
            scf::YieldOp::create(nb, loc, current);
          });
      acc.assign(ifOp.getResults().begin(), ifOp.getResults().end());
    }
    op->replaceAllUsesWith(acc);
    op->erase();
    return success();
  }

  //===--------------------------------------------------------------------===//
  // Early exit: stage by stage on a shrinking live batch
  //===--------------------------------------------------------------------===//

  /// The confidence of each live sample's head, f32 [n].
  Value confidence(ImplicitLocOpBuilder &b, dyn::ExitCriterion criterion,
                   ValueRange outs) {
    TensorBuilder tb(b);
    if (criterion == dyn::ExitCriterion::gate) {
      Value g = outs[2];
      return tb.map(g, rankedType(g), [](ImplicitLocOpBuilder &ib, ValueRange a) {
        return buildSigmoid(ib, a[0]);
      });
    }
    Value logits = tb.convert(outs[1], b.getF32Type());
    Value p = tb.softmax(logits, 1);
    if (criterion == dyn::ExitCriterion::max_softmax)
      return tb.reduce(p, {1}, ReduceKind::Max, /*keepDim=*/false);
    // Σ p·log p, with 0·log 0 taken as 0.
    Value plogp = tb.map(p, rankedType(p), [](ImplicitLocOpBuilder &ib, ValueRange a) {
      Value zero = arith::ConstantOp::create(ib, ib.getF32FloatAttr(0.0f));
      Value pos = arith::CmpFOp::create(ib, arith::CmpFPredicate::OGT, a[0], zero);
      Value term = arith::MulFOp::create(ib, a[0], math::LogOp::create(ib, a[0]));
      return Value(arith::SelectOp::create(ib, pos, term, zero));
    });
    return tb.reduce(plogp, {1}, ReduceKind::Sum, /*keepDim=*/false);
  }

  /// Writes the rows `sel` of the stage's logits and the stage index into the
  /// outputs at the samples' original positions.
  std::pair<Value, Value> record(ImplicitLocOpBuilder &b, Value logits,
                                 Value positions, Value outLogits,
                                 Value outIndex, int64_t stage) {
    Value s = arith::ConstantOp::create(b, b.getI32IntegerAttr(stage));
    Value stageRows = splatLike(b, s, positions);
    Value l = dyn::RtScatterRowsOp::create(b, outLogits.getType(), logits,
                                           outLogits, positions);
    Value i = dyn::RtScatterRowsOp::create(b, outIndex.getType(), stageRows,
                                           outIndex, positions);
    return {l, i};
  }

  std::pair<Value, Value> emitStage(ImplicitLocOpBuilder &b, dyn::EarlyExitOp op,
                                    ArrayRef<func::FuncOp> stages, size_t s,
                                    Value h, Value positions, Value outLogits,
                                    Value outIndex) {
    SmallVector<Value> outs = call(b, stages[s], h);
    Value logits = castTo(b, outs[1], liveType(rankedType(outLogits)));
    if (s + 1 == stages.size())
      return record(b, logits, positions, outLogits, outIndex, s);

    Value conf = confidence(b, op.getCriterion(), outs);
    Value exits = arith::CmpFOp::create(b, arith::CmpFPredicate::OGE, conf,
                                        splatLike(b, op.getThreshold(), conf));
    Value stays = logicalNot(b, exits);
    auto indexType = RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
    Value exited = dyn::RtSelectOp::create(b, indexType, exits);
    Value kept = dyn::RtSelectOp::create(b, indexType, stays);
    Value exitedPos = dyn::RtGatherRowsOp::create(b, indexType, positions, exited);
    Value exitedLogits =
        dyn::RtGatherRowsOp::create(b, logits.getType(), logits, exited);
    std::pair<Value, Value> recorded =
        record(b, exitedLogits, exitedPos, outLogits, outIndex, s);
    Value l = recorded.first, i = recorded.second;
    Value nextH = dyn::RtGatherRowsOp::create(b, outs[0].getType(), outs[0], kept);
    Value nextPos = dyn::RtGatherRowsOp::create(b, indexType, positions, kept);
    auto ifOp = scf::IfOp::create(
        b, hasRows(b, kept),
        [&](OpBuilder &nb, Location loc) {
          ImplicitLocOpBuilder ib(loc, nb);
          auto [l2, i2] = emitStage(ib, op, stages, s + 1, nextH, nextPos, l, i);
          scf::YieldOp::create(ib, ValueRange{l2, i2});
        },
        [&](OpBuilder &nb, Location loc) {
          scf::YieldOp::create(nb, loc, ValueRange{l, i});
        });
    return {ifOp.getResult(0), ifOp.getResult(1)};
  }

  LogicalResult lowerEarlyExit(dyn::EarlyExitOp op, func::FuncOp parent) {
    ImplicitLocOpBuilder b(op.getLoc(), op);
    SmallVector<func::FuncOp> stages;
    for (auto [i, region] : llvm::enumerate(op.getStages())) {
      countRowsOnEntry(region, op.getLoc(),
                       nodeName(op) + ".stage" + std::to_string(i) + "_samples");
      stages.push_back(outline(region, parent, op, "stage" + std::to_string(i)));
    }
    Value x = op.getInput();
    TensorBuilder tb(b);
    auto indexType = RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
    Value positions = castTo(
        b,
        dyn::RtIotaOp::create(
            b, RankedTensorType::get({rankedType(x).getDimSize(0)}, b.getI32Type()), x),
        indexType);
    auto logitsType = op.getLogits().getType();
    auto indexOutType = op.getExitIndex().getType();
    Value outLogits = tb.empty({tb.size(x, 0), b.getIndexAttr(logitsType.getDimSize(1))},
                               logitsType.getElementType());
    Value outIndex = tb.empty({tb.size(x, 0)}, b.getI32Type());
    auto [l, i] = emitStage(b, op, stages, 0, x, positions,
                            castTo(b, outLogits, logitsType),
                            castTo(b, outIndex, indexOutType));
    op->replaceAllUsesWith(ValueRange{l, i});
    op->erase();
    return success();
  }

  //===--------------------------------------------------------------------===//
  // MoE: route, dispatch, grouped experts, combine
  //===--------------------------------------------------------------------===//

  LogicalResult lowerMoe(dyn::MoeOp op) {
    ImplicitLocOpBuilder b(op.getLoc(), op);
    TensorBuilder tb(b);
    Value x = op.getInput();
    auto xType = rankedType(x);
    int64_t rank = xType.getRank(), d = xType.getShape().back();
    int64_t e = op.getNumExperts(), k = op.getTopK();
    // Tokens as rows [T, d].
    Value flat = x;
    if (rank == 1) {
      flat = tensor::ExpandShapeOp::create(
          b, RankedTensorType::get({1, d}, xType.getElementType()), x,
          SmallVector<ReassociationIndices>{{0, 1}});
    } else if (rank > 2) {
      ReassociationIndices lead;
      for (int64_t i = 0; i + 1 < rank; ++i)
        lead.push_back(i);
      flat = tensor::CollapseShapeOp::create(
          b, x, SmallVector<ReassociationIndices>{lead, {rank - 1}});
    }
    auto flatType = rankedType(flat);
    int64_t t = flatType.getDimSize(0);
    Type elt = xType.getElementType();

    Value logits = tb.linear(flat, op.getRouter(), op.getRouterBias());
    auto route = dyn::MoeRouteOp::create(
        b, RankedTensorType::get({t, k}, elt),
        RankedTensorType::get({t, k}, b.getI32Type()), logits, op.getTopK(),
        op.getNormalize());
    int64_t rowsBound = ShapedType::isDynamic(t) ? ShapedType::kDynamic : t * k;
    auto rowsType = RankedTensorType::get({rowsBound, d}, elt);
    auto dispatch = dyn::MoeDispatchOp::create(
        b, rowsType, RankedTensorType::get({e + 1}, b.getI32Type()),
        RankedTensorType::get({t, k}, b.getI32Type()), flat, route.getIndices(),
        b.getI64IntegerAttr(e), op.getCapacityFactorAttr(), op.getCapacityAttr());
    Value expertOut = dyn::MoeExpertsOp::create(
        b, rowsType, dispatch.getRows(), dispatch.getOffsets(), op.getW1(),
        op.getW2(), op.getW3(), op.getB1(), op.getB2(), op.getActivationAttr(),
        /*panel=*/IntegerAttr());
    Value y = dyn::MoeCombineOp::create(b, flatType, expertOut, dispatch.getSlots(),
                                        route.getWeights());

    if (op.hasSharedExpert()) {
      dyn::Activation act = op.getActivation();
      Value h = tb.linear(flat, op.getSharedW1(), op.getSharedB1());
      h = tb.map(h, rankedType(h), [&](ImplicitLocOpBuilder &ib, ValueRange a) {
        return buildActivation(ib, dyn::stringifyActivation(act), a[0]);
      });
      if (op.getSharedW3()) {
        Value g = tb.linear(flat, op.getSharedW3(), Value());
        h = tb.map({h, g}, rankedType(h), [](ImplicitLocOpBuilder &ib, ValueRange a) {
          return Value(arith::MulFOp::create(ib, a[0], a[1]));
        });
      }
      Value s = tb.linear(h, op.getSharedW2(), op.getSharedB2());
      y = tb.map({y, s}, flatType, [](ImplicitLocOpBuilder &ib, ValueRange a) {
        return Value(arith::AddFOp::create(ib, a[0], a[1]));
      });
    }

    Value result = y;
    if (rank == 1) {
      result = tensor::CollapseShapeOp::create(
          b, xType, y, SmallVector<ReassociationIndices>{{0, 1}});
    } else if (rank > 2) {
      ReassociationIndices lead;
      SmallVector<OpFoldResult> sizes;
      for (int64_t i = 0; i + 1 < rank; ++i) {
        lead.push_back(i);
        sizes.push_back(tb.size(x, i));
      }
      sizes.push_back(b.getIndexAttr(d));
      result = tb.expand(y, xType, SmallVector<ReassociationIndices>{lead, {rank - 1}},
                         sizes);
    }
    SmallVector<Value> replacements{result};
    // Assignments per expert: the widths of the ragged groups; a statistic,
    // and the op's optional result.
    Value offsets = dispatch.getOffsets();
    auto countsType = RankedTensorType::get({e}, b.getI32Type());
    SmallVector<OpFoldResult> one{b.getIndexAttr(1)}, zero{b.getIndexAttr(0)},
        size{b.getIndexAttr(e)};
    Value hi = tensor::ExtractSliceOp::create(b, countsType, offsets, one, size, one);
    Value lo = tensor::ExtractSliceOp::create(b, countsType, offsets, zero, size, one);
    Value counts = arith::SubIOp::create(b, hi, lo);
    // The rows each expert computes are counted where it computes them, in
    // the lowering of dyn.moe.experts (`<node>.expert_tokens[e]`).
    countRows(b, flat, nodeName(op) + ".tokens");
    if (op.getExpertCounts())
      replacements.push_back(counts);
    op->replaceAllUsesWith(replacements);
    op->erase();
    return success();
  }

  ModuleOp module;
  SymbolTable symbols;
  SmallVector<func::FuncOp> worklist;
};

struct LowerControlPass : dync::impl::DynLowerControlBase<LowerControlPass> {
  void runOnOperation() override {
    Lowering lowering(getOperation());
    if (failed(lowering.run()))
      signalPassFailure();
  }
};

} // namespace
