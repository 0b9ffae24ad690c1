//===- PrepareEntry.cpp - the entry function readied for a C interface ----===//

#include "dync/Passes/Codegen/Passes.h"

#include "dync/Dialect/Dyn/DynOps.h"

namespace dync {
#define GEN_PASS_DEF_DYNPREPAREENTRY
#include "dync/Passes/Codegen/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

struct PrepareEntryPass : dync::impl::DynPrepareEntryBase<PrepareEntryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto def : llvm::make_early_inc_range(module.getOps<dyn::ParamDefOp>()))
      def.erase();
    auto entry = module.lookupSymbol<func::FuncOp>("forward");
    if (!entry)
      return;
    MLIRContext *ctx = module.getContext();
    entry->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
    for (unsigned i = 0; i < entry.getNumArguments(); ++i)
      if (isa<TensorType>(entry.getArgumentTypes()[i]))
        entry.setArgAttr(i, "bufferization.writable", BoolAttr::get(ctx, false));
  }
};

} // namespace
