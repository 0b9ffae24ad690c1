//===- CheckCpuSupport.cpp - what the CPU backend cannot lower ------------===//

#include "dync/Passes/CPU/Passes.h"

#include "dync/Dialect/Dyn/DynOps.h"

namespace dync {
#define GEN_PASS_DEF_DYNCHECKCPUSUPPORT
#include "dync/Passes/CPU/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

struct CheckCpuSupportPass : dync::impl::DynCheckCpuSupportBase<CheckCpuSupportPass> {
  void runOnOperation() override {
    WalkResult result = getOperation().walk([&](Operation *op) {
      if (isa<dyn::ParamDefOp>(op) || op->getDialect() == nullptr ||
          op->getDialect()->getNamespace() != "dyn")
        return WalkResult::advance();
      op->emitError() << "CPU code generation does not support '"
                      << op->getName() << "' yet";
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
