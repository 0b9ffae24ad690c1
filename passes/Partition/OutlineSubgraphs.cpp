//===- OutlineSubgraphs.cpp - static regions into subgraph functions ------===//
//
// Host code after dyn-lower-control alternates between host operations
// (calls, scf control, runtime entry points) and runs of static tensor
// computation. Each maximal run becomes one subgraph function.
//
// Ops fall into four kinds:
//   host   - stays in the host and ends a run;
//   static - tensor computation, the body of subgraphs;
//   glue   - scalar and index arithmetic (tensor.dim, arith on scalars): joins
//            the run it sits in, stays in the host between runs;
//   remat  - constants, weights, parameter reads: cloned into each subgraph
//            that uses them rather than passed in.
//
// A subgraph never returns a value that holds no data of its own: an empty
// tensor (undefined contents) or a view of another value (cast, reshape,
// slice). Such values are recreated in the host after the call instead, with
// the shapes they take (`tensor.from_elements` of sizes).
// Returned buffers must not alias each other: the caller's bufferization
// takes two results of a call for two buffers, so a write into one (a live
// batch merged into an accumulator, say) would change the other.
//
//===----------------------------------------------------------------------===//

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Passes/Partition/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"
#include "mlir/Transforms/RegionUtils.h"

#include <functional>

namespace dync {
#define GEN_PASS_DEF_DYNOUTLINESUBGRAPHS
#include "dync/Passes/Partition/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

enum class Kind { Host, Static, Glue, Remat };

/// Runtime entry points and control: the operations only a host may run.
bool isHostOp(Operation *op) {
  return isa<func::ReturnOp, func::CallOp, scf::IfOp, scf::YieldOp, scf::ForOp,
             scf::WhileOp, scf::ConditionOp, dyn::RtIotaOp, dyn::RtSelectOp,
             dyn::RtGatherRowsOp, dyn::RtScatterRowsOp, dyn::RtCountOp, dyn::MoeDispatchOp,
             dyn::MoeExpertsOp, dyn::MoeCombineOp, dyn::BsaAttentionOp,
             dyn::GateOp, dyn::CondOp, dyn::EarlyExitOp, dyn::MoeOp>(op);
}

/// Ops whose result holds no data of its own (an empty tensor, a view of
/// their source) or only a shape: they cost nothing to recreate in the host.
bool isDataFree(Operation *op) {
  return isa<tensor::EmptyOp, tensor::CastOp, tensor::ExpandShapeOp,
             tensor::CollapseShapeOp, tensor::ExtractSliceOp, tensor::ReshapeOp,
             tensor::FromElementsOp>(op);
}

Kind classify(Operation *op) {
  if (isHostOp(op))
    return Kind::Host;
  if (isa<arith::ConstantOp, dyn::WeightOp, dyn::ParamReadOp>(op))
    return Kind::Remat;
  auto isTensor = [](Type t) { return isa<TensorType>(t); };
  if (isa<tensor::DimOp>(op) ||
      (llvm::none_of(op->getOperandTypes(), isTensor) &&
       llvm::none_of(op->getResultTypes(), isTensor)))
    return Kind::Glue;
  return Kind::Static;
}

class Outliner {
public:
  explicit Outliner(ModuleOp module) : module(module), symbols(module) {}

  void run() {
    SmallVector<func::FuncOp> hosts;
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn->hasAttr(kSubgraphAttr) && !fn.isExternal())
        hosts.push_back(fn);
    for (func::FuncOp fn : hosts) {
      // A region function with no host operation is a subgraph as it is; the
      // count of the rows it gets (on entry) does not make it one.
      if (fn.isPrivate() && llvm::none_of(fn.getBody().front(), [](Operation &op) {
            return classify(&op) == Kind::Host && !isa<func::ReturnOp, dyn::RtCountOp>(op);
          })) {
        fn->setAttr(kSubgraphAttr, UnitAttr::get(fn.getContext()));
        continue;
      }
      counter = 0;
      SmallVector<Block *> blocks;
      fn.walk([&](Block *block) {
        Operation *parent = block->getParentOp();
        if (parent == fn || isa<scf::IfOp, scf::ForOp, scf::WhileOp>(parent))
          blocks.push_back(block);
      });
      for (Block *block : blocks)
        outlineBlock(fn, *block);
      // Constants, weights and param reads now live in the subgraphs that use
      // them; drop the host's copies nobody reads any more.
      SmallVector<Operation *> dead;
      fn.walk([&](Operation *op) {
        if (classify(op) == Kind::Remat && op->use_empty())
          dead.push_back(op);
      });
      for (Operation *op : dead)
        op->erase();
    }
  }

private:
  void outlineBlock(func::FuncOp host, Block &block) {
    SmallVector<Operation *> run;
    auto flush = [&] {
      // Trailing glue stays in the host, after the call.
      while (!run.empty() && classify(run.back()) == Kind::Glue)
        run.pop_back();
      if (llvm::any_of(run, [](Operation *op) {
            return classify(op) == Kind::Static;
          }))
        outlineRun(host, run);
      run.clear();
    };
    for (Operation &op : llvm::make_early_inc_range(block)) {
      switch (classify(&op)) {
      case Kind::Host:
        flush();
        break;
      case Kind::Static:
        run.push_back(&op);
        break;
      case Kind::Glue:
        if (!run.empty())
          run.push_back(&op);
        break;
      case Kind::Remat:
        break;
      }
    }
    flush();
  }

  void outlineRun(func::FuncOp host, ArrayRef<Operation *> run) {
    llvm::SmallPtrSet<Operation *, 16> members(run.begin(), run.end());
    llvm::SetVector<Value> inputs;
    llvm::SetVector<Operation *> remat;
    SmallVector<Value> outputs;
    for (Operation *op : run) {
      op->walk([&](Operation *nested) {
        for (Value v : nested->getOperands()) {
          // Values defined inside the op itself (the block arguments and ops
          // of a linalg body) travel with it.
          if (op->isProperAncestor(v.getParentBlock()->getParentOp()) ||
              v.getParentBlock()->getParentOp() == op)
            continue;
          Operation *def = v.getDefiningOp();
          if (def && members.contains(def))
            continue;
          if (def && classify(def) == Kind::Remat)
            remat.insert(def);
          else
            inputs.insert(v);
        }
      });
      for (Value r : op->getResults())
        if (llvm::any_of(r.getUsers(), [&](Operation *user) {
              Operation *top = run.front()->getBlock()->findAncestorOpInBlock(*user);
              return !top || !members.contains(top);
            }))
          outputs.push_back(r);
    }

    // What the host needs back: data-free values are recreated after the
    // call from their operands, which the host needs in turn.
    llvm::SetVector<Value> returnedValues;
    llvm::SetVector<Operation *> recreated;
    std::function<void(Value)> need = [&](Value v) {
      Operation *def = v.getDefiningOp();
      if (!def || !members.contains(def))
        return;
      if (!isDataFree(def)) {
        returnedValues.insert(v);
        return;
      }
      if (!recreated.insert(def))
        return;
      for (Value operand : def->getOperands())
        need(operand);
    };
    for (Value v : outputs)
      need(v);

    OpBuilder at(run.back()->getBlock(), std::next(run.back()->getIterator()));
    IRMapping hostMap;
    Location loc = run.front()->getLoc();
    if (!returnedValues.empty()) {
      OpBuilder b(module.getContext());
      b.setInsertionPointAfter(host);
      auto type = b.getFunctionType(TypeRange(inputs.getArrayRef()),
                                    TypeRange(returnedValues.getArrayRef()));
      std::string name = (host.getSymName() + ".sg" + Twine(counter++)).str();
      auto fn = func::FuncOp::create(b, loc, name, type);
      fn.setPrivate();
      fn->setAttr(kSubgraphAttr, b.getUnitAttr());
      Block *entry = fn.addEntryBlock();
      IRMapping map;
      for (auto [v, arg] : llvm::zip_equal(inputs, entry->getArguments()))
        map.map(v, arg);
      OpBuilder body = OpBuilder::atBlockBegin(entry);
      for (Operation *op : remat)
        body.clone(*op, map);
      for (Operation *op : run)
        body.clone(*op, map);
      SmallVector<Value> returned;
      for (Value v : returnedValues)
        returned.push_back(map.lookup(v));
      func::ReturnOp::create(body, loc, returned);
      // Data-free ops recreated in the host that nothing here reads.
      for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*entry)))
        if (isDataFree(&op) && op.use_empty())
          op.erase();
      symbols.insert(fn);

      auto call = func::CallOp::create(at, loc, fn, inputs.getArrayRef());
      for (auto [v, r] : llvm::zip_equal(returnedValues, call.getResults()))
        hostMap.map(v, r);
    }
    // In program order, so that each clone's operands are defined.
    for (Operation *op : run)
      if (recreated.contains(op))
        at.clone(*op, hostMap);
    for (Value v : outputs)
      v.replaceAllUsesWith(hostMap.lookup(v));
    for (Operation *op : llvm::reverse(run))
      op->erase();
  }

  ModuleOp module;
  SymbolTable symbols;
  unsigned counter = 0;
};

struct OutlineSubgraphsPass
    : dync::impl::DynOutlineSubgraphsBase<OutlineSubgraphsPass> {
  void runOnOperation() override { Outliner(getOperation()).run(); }
};

} // namespace
