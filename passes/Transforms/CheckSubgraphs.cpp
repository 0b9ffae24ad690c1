#include "dync/Passes/Passes.h"

namespace dync {
#define GEN_PASS_DEF_DYNCHECKSUBGRAPHS
#include "dync/Passes/Passes.h.inc"
} // namespace dync

namespace {
struct CheckSubgraphsPass : dync::impl::DynCheckSubgraphsBase<CheckSubgraphsPass> {
  void runOnOperation() override {}
};
} // namespace
