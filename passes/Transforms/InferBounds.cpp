#include "dync/Passes/Passes.h"

namespace dync {
#define GEN_PASS_DEF_DYNINFERBOUNDS
#include "dync/Passes/Passes.h.inc"
} // namespace dync

namespace {
struct InferBoundsPass : dync::impl::DynInferBoundsBase<InferBoundsPass> {
  void runOnOperation() override {}
};
} // namespace
