//===- PlanBuffers.cpp - a static memory plan per function ----------------===//
//
// Buffers whose lifetime is a stretch of a function's body share slots of a
// per-thread workspace; see the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/Codegen/Passes.h"
#include "dync/Dialect/Dyn/DynAttrNames.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace dync {
#define GEN_PASS_DEF_DYNPLANBUFFERS
#include "dync/Passes/Codegen/Passes.h.inc"
} // namespace dync

using namespace mlir;

namespace {

/// A buffer of the plan: allocated and freed by the function's body block.
struct Planned {
  memref::AllocOp alloc;
  memref::DeallocOp dealloc;
  /// Positions in the block of the alloc and of the buffer's last use.
  unsigned begin, end;
  int64_t slot = -1;
};

/// The dealloc of `alloc` if it is the only one, unconditional, in `block`.
memref::DeallocOp soleDealloc(memref::AllocOp alloc, Block &block) {
  memref::DeallocOp found;
  for (Operation *user : alloc->getUsers()) {
    auto d = dyn_cast<memref::DeallocOp>(user);
    if (!d)
      continue;
    if (found || d->getBlock() != &block)
      return {};
    found = d;
  }
  return found;
}

/// Where in `block` the buffer of `alloc` is last used: the latest op of
/// the block that uses it or a view of it (uses in nested regions count at
/// their ancestor in the block). When an op may make an alias it does not
/// declare as a view, or takes the buffer's address, the dealloc's
/// position, which buffer deallocation placed after every use.
unsigned lastUse(memref::AllocOp alloc, memref::DeallocOp dealloc, Block &block,
                 const DenseMap<Operation *, unsigned> &position) {
  unsigned last = position.lookup(alloc);
  SmallVector<Value> worklist{alloc.getResult()};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (user == dealloc.getOperation())
        continue;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == v) {
        for (Value r : user->getResults())
          worklist.push_back(r);
      } else if (llvm::any_of(user->getResultTypes(), llvm::IsaPred<BaseMemRefType>) ||
                 isa<memref::ExtractAlignedPointerAsIndexOp, memref::ExtractStridedMetadataOp>(
                     user)) {
        // An alias or the address itself leaves the tracked views.
        return position.lookup(dealloc);
      }
      Operation *inBlock = block.findAncestorOpInBlock(*user);
      if (!inBlock)
        return position.lookup(dealloc);
      last = std::max(last, position.lookup(inBlock));
    }
  }
  return last;
}

/// Bytes per element of a memref of `type` (index is 64-bit here).
std::optional<int64_t> elementBytes(Type type) {
  if (type.isIndex())
    return 8;
  if (type.isIntOrFloat())
    return (type.getIntOrFloatBitWidth() + 7) / 8;
  return std::nullopt;
}

/// Inside a parallel loop's body (where no slot reaches), moves a buffer
/// that an iteration of a sequential loop allocates and frees itself out of
/// that loop: allocated once before the outermost such `scf.for` (through
/// the `scf.if`s and `scf.for`s between, while its sizes are defined outside
/// them), freed after it. An iteration's buffer is dead at its dealloc, so
/// the next iteration may have the same memory. The online softmax of
/// blocked attention allocated its score and probability blocks per key
/// block.
void hoistFromSequentialLoops(func::FuncOp f) {
  SmallVector<std::pair<memref::AllocOp, memref::DeallocOp>> found;
  f.walk([&](memref::AllocOp alloc) {
    if (memref::DeallocOp d = soleDealloc(alloc, *alloc->getBlock()))
      found.push_back({alloc, d});
  });
  for (auto [a, dealloc] : found) {
    memref::AllocOp alloc = a;
    auto definedOutside = [&](Operation *op) {
      return llvm::none_of(alloc->getOperands(), [&](Value v) {
        return op->isAncestor(v.getParentRegion()->getParentOp());
      });
    };
    scf::ForOp outer;
    for (Operation *up = alloc->getParentOp(); isa<scf::ForOp, scf::IfOp>(up) && definedOutside(up);
         up = up->getParentOp())
      if (auto loop = dyn_cast<scf::ForOp>(up))
        outer = loop;
    if (!outer ||
        (!outer->getParentOfType<scf::ForallOp>() && !outer->getParentOfType<scf::ParallelOp>()))
      continue;
    alloc->moveBefore(outer);
    OpBuilder b(outer->getContext());
    b.setInsertionPointAfter(outer);
    memref::DeallocOp::create(b, dealloc.getLoc(), alloc);
    dealloc.erase();
  }
}

struct PlanBuffersPass : dync::impl::DynPlanBuffersBase<PlanBuffersPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    func::FuncOp workspace;
    // Each function's slots, numbered from 0 here, then moved to a base.
    SmallVector<FunctionPlan> plans;
    for (auto f : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (f.isDeclaration() || !f.getBody().hasOneBlock())
        continue;
      hoistFromSequentialLoops(f);
      FunctionPlan fp{f, {}, 0};
      for (Block *block : plannedBlocks(f))
        plan(*block, workspace, fp);
      if (fp.count > 0) {
        f->setAttr(mlir::dyn::attrs::kWorkspaceSlots,
                   IntegerAttr::get(IntegerType::get(ctx, 64), fp.count));
        plans.push_back(std::move(fp));
      }
    }
    // Functions that call none with slots (the subgraphs) share one range
    // when asked: such a function's buffers live only while it runs, and
    // while it runs no other of them does on its thread. The others (the
    // host program, whose buffers live across its calls) get ranges of
    // their own, before it.
    DenseSet<Operation *> slotted;
    for (FunctionPlan &fp : plans)
      slotted.insert(fp.f);
    DenseMap<Operation *, bool> reaches;
    int64_t next = 0;
    for (FunctionPlan &fp : plans)
      if (!shareLeafSlots || callsSlotted(fp.f, slotted, reaches)) {
        fp.base = next;
        next += fp.count;
      }
    for (FunctionPlan &fp : plans)
      if (fp.base < 0)
        fp.base = next;
    for (FunctionPlan &fp : plans)
      for (arith::ConstantIndexOp c : fp.slots)
        c->setAttr("value", IntegerAttr::get(IndexType::get(ctx),
                                             fp.base + cast<IntegerAttr>(c.getValue()).getInt()));
  }

  /// A function's plan: the constants that name its slots (numbered from 0),
  /// how many it has, and where its range starts.
  struct FunctionPlan {
    func::FuncOp f;
    SmallVector<arith::ConstantIndexOp> slots;
    int64_t count;
    int64_t base = -1;
  };

  /// Whether `f` calls, directly or not, a function with slots.
  static bool callsSlotted(func::FuncOp f, const DenseSet<Operation *> &slotted,
                           DenseMap<Operation *, bool> &reaches) {
    if (auto it = reaches.find(f); it != reaches.end())
      return it->second;
    reaches[f] = false; // a recursive call adds nothing
    bool found = f.walk([&](func::CallOp call) {
                    auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
                        call, call.getCalleeAttr());
                    if (callee && (slotted.contains(callee) ||
                                   (!callee.isDeclaration() &&
                                    callsSlotted(callee, slotted, reaches))))
                      return WalkResult::interrupt();
                    return WalkResult::advance();
                  }).wasInterrupted();
    reaches[f] = found;
    return found;
  }

  /// The blocks whose buffers get slots: the body of `f`, and the bodies of
  /// the loops and branches in it (a MoE layer's loop over experts), each
  /// with slots of its own. Not inside a parallel loop: its iterations run
  /// on the pool's threads, and a body that calls into the runtime would
  /// stay on one (dyn-outline-parallel-loops).
  static SmallVector<Block *> plannedBlocks(func::FuncOp f) {
    auto sequential = [](Operation *op) {
      return isa<scf::ForOp, scf::IfOp, scf::WhileOp, scf::IndexSwitchOp>(op);
    };
    SmallVector<Block *> blocks{&f.getBody().front()};
    f.walk([&](Operation *op) {
      if (!sequential(op))
        return;
      for (Operation *up = op->getParentOp(); up != f; up = up->getParentOp())
        if (!sequential(up))
          return;
      for (Region &r : op->getRegions())
        if (r.hasOneBlock())
          blocks.push_back(&r.front());
    });
    return blocks;
  }

  /// Gives the buffers that `block` allocates and frees slots of `fp`'s,
  /// after those it has.
  void plan(Block &block, func::FuncOp &workspace, FunctionPlan &fp) {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    auto indexType = IndexType::get(ctx);
    auto bytesType = MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 8));
    DenseMap<Operation *, unsigned> position;
    unsigned at = 0;
    for (Operation &op : block)
      position[&op] = at++;
    SmallVector<Planned> buffers;
    for (auto alloc : block.getOps<memref::AllocOp>()) {
      MemRefType t = alloc.getType();
      if (!t.getLayout().isIdentity() || !elementBytes(t.getElementType()) ||
          t.getMemorySpace())
        continue;
      if (memref::DeallocOp d = soleDealloc(alloc, block))
        buffers.push_back({alloc, d, position[alloc], lastUse(alloc, d, block, position)});
    }
    if (buffers.empty())
      return;
    // Slots: a buffer takes the first slot whose last buffer is freed
    // before it is allocated.
    SmallVector<unsigned> slotEnd;
    for (Planned &p : buffers) {
      for (unsigned s = 0; s < slotEnd.size() && p.slot < 0; ++s)
        if (slotEnd[s] < p.begin) {
          p.slot = s;
          slotEnd[s] = p.end;
        }
      if (p.slot < 0) {
        p.slot = slotEnd.size();
        slotEnd.push_back(p.end);
      }
    }
    if (!workspace) {
      OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
      workspace = func::FuncOp::create(
          mb, module.getLoc(), "dync_workspace",
          FunctionType::get(ctx, {indexType, indexType}, {bytesType}));
      workspace.setPrivate();
      workspace->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
    }
    for (Planned &p : buffers) {
      ImplicitLocOpBuilder b(p.alloc.getLoc(), p.alloc);
      MemRefType t = p.alloc.getType();
      Value bytes = arith::ConstantIndexOp::create(b, *elementBytes(t.getElementType()));
      unsigned dynamic = 0;
      for (int64_t d = 0; d < t.getRank(); ++d) {
        Value size = t.isDynamicDim(d)
                         ? p.alloc.getDynamicSizes()[dynamic++]
                         : arith::ConstantIndexOp::create(b, t.getDimSize(d)).getResult();
        bytes = arith::MulIOp::create(b, bytes, size);
      }
      auto slot = arith::ConstantIndexOp::create(b, fp.count + p.slot);
      fp.slots.push_back(slot);
      Value base = func::CallOp::create(b, workspace, ValueRange{slot, bytes}).getResult(0);
      Value view = memref::ViewOp::create(b, t, base, arith::ConstantIndexOp::create(b, 0),
                                          p.alloc.getDynamicSizes());
      p.alloc.replaceAllUsesWith(view);
      p.dealloc.erase();
      p.alloc.erase();
    }
    fp.count += slotEnd.size();
  }
};

} // namespace
