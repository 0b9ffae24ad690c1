//===- DynRegions.cpp - control flow of the region ops --------------------===//
//
// RegionBranchOpInterface for dyn.gate, dyn.cond and dyn.early_exit, so that
// upstream analyses see which regions may run and in what order.
//
// Only a scalar cond forwards values: its operands become the regions'
// arguments and the yielded values its results. The per-sample regions see
// the *live rows* of their operands (a subset, gathered), and their results
// are merged back into whole batches, so no value flows unchanged across
// those edges: they are declared with no forwarded values, and analyses treat
// the block arguments and results as unknown, which is what they are.
//
//===----------------------------------------------------------------------===//

#include "dync/Dialect/Dyn/DynOps.h"

#include "mlir/Interfaces/ControlFlowInterfaces.h"

using namespace mlir;
using namespace mlir::dyn;

namespace {
/// A successor region whose block arguments receive no forwarded value.
RegionSuccessor regionWithoutInputs(Region &region) { return RegionSuccessor(&region, {}); }

/// The parent as a successor with no forwarded value.
RegionSuccessor parentWithoutInputs(Operation *op) {
  return RegionSuccessor(op, op->getResults().take_front(0));
}
} // namespace

MutableOperandRange YieldOp::getMutableSuccessorOperands(RegionSuccessor successor) {
  auto cond = dyn_cast<CondOp>((*this)->getParentOp());
  if (cond && !cond.isPerSample() && successor.isParent())
    return MutableOperandRange(*this);
  return MutableOperandRange(*this, 0, 0);
}

//===----------------------------------------------------------------------===//
// Gate: the body may run (on the samples whose score passes), or not at all.
//===----------------------------------------------------------------------===//

void GateOp::getSuccessorRegions(RegionBranchPoint point,
                                 SmallVectorImpl<RegionSuccessor> &regions) {
  if (point.isParent())
    regions.push_back(regionWithoutInputs(getBody()));
  regions.push_back(parentWithoutInputs(*this));
}

void GateOp::getRegionInvocationBounds(ArrayRef<Attribute>,
                                       SmallVectorImpl<InvocationBounds> &bounds) {
  bounds.push_back(InvocationBounds(0, 1));
}

//===----------------------------------------------------------------------===//
// Cond: one branch (scalar), or each branch on its own samples (per sample:
// then before else in the host program, either possibly skipped).
//===----------------------------------------------------------------------===//

void CondOp::getSuccessorRegions(RegionBranchPoint point,
                                 SmallVectorImpl<RegionSuccessor> &regions) {
  if (!isPerSample()) {
    if (point.isParent()) {
      regions.push_back(RegionSuccessor(&getThenRegion(), getThenRegion().getArguments()));
      regions.push_back(RegionSuccessor(&getElseRegion(), getElseRegion().getArguments()));
    } else {
      regions.push_back(RegionSuccessor(getOperation(), getOperation()->getResults()));
    }
    return;
  }
  Region *from = point.isParent() ? nullptr
                                  : point.getTerminatorPredecessorOrNull()->getParentRegion();
  if (!from)
    regions.push_back(regionWithoutInputs(getThenRegion()));
  if (from != &getElseRegion())
    regions.push_back(regionWithoutInputs(getElseRegion()));
  regions.push_back(parentWithoutInputs(*this));
}

OperandRange CondOp::getEntrySuccessorOperands(RegionSuccessor successor) {
  if (isPerSample() || successor.isParent())
    return OperandRange(getOperation()->operand_end(), getOperation()->operand_end());
  return getInputs();
}

void CondOp::getRegionInvocationBounds(ArrayRef<Attribute>,
                                       SmallVectorImpl<InvocationBounds> &bounds) {
  bounds.push_back(InvocationBounds(0, 1));
  bounds.push_back(InvocationBounds(0, 1));
}

bool CondOp::areTypesCompatible(Type lhs, Type rhs) { return lhs == rhs; }

//===----------------------------------------------------------------------===//
// Early exit: stage by stage while samples are left.
//===----------------------------------------------------------------------===//

void EarlyExitOp::getSuccessorRegions(RegionBranchPoint point,
                                      SmallVectorImpl<RegionSuccessor> &regions) {
  unsigned next = 0;
  if (!point.isParent())
    next = point.getTerminatorPredecessorOrNull()->getParentRegion()->getRegionNumber() + 1;
  if (next < getNumRegions())
    regions.push_back(regionWithoutInputs(getStages()[next]));
  if (!point.isParent())
    regions.push_back(parentWithoutInputs(*this));
}

void EarlyExitOp::getRegionInvocationBounds(ArrayRef<Attribute>,
                                            SmallVectorImpl<InvocationBounds> &bounds) {
  bounds.append(getNumRegions(), InvocationBounds(0, 1));
}
