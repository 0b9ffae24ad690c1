//===- GatherKernels.cpp - one kernel module per model --------------------===//
//
// Every outlined gpu.func moved into @dync_kernels under a PTX-valid name.
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/CUDA/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace dync {
#define GEN_PASS_DEF_DYNGATHERKERNELS
#include "dync/Passes/CUDA/Passes.h.inc"
} // namespace dync

using namespace mlir;

namespace {

/// `name` with every character PTX does not take in an identifier as `_`.
std::string ptxIdentifier(StringRef name) {
  std::string out;
  for (char c : name)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$') ? c : '_';
  return out;
}

struct DynGatherKernelsPass : dync::impl::DynGatherKernelsBase<DynGatherKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> modules(module.getOps<gpu::GPUModuleOp>());
    if (modules.empty())
      return;
    OpBuilder b(modules.front());
    auto target = gpu::GPUModuleOp::create(b, module.getLoc(), "dync_kernels");
    SymbolTable targetSymbols(target);
    // Where each old kernel went.
    llvm::DenseMap<Attribute, SymbolRefAttr> moved;
    llvm::StringMap<int64_t> counts;
    for (gpu::GPUModuleOp old : modules) {
      for (gpu::GPUFuncOp fn : llvm::make_early_inc_range(old.getOps<gpu::GPUFuncOp>())) {
        auto ref = SymbolRefAttr::get(old.getSymNameAttr(),
                                      {FlatSymbolRefAttr::get(SymbolTable::getSymbolName(fn))});
        // The function that launches it names it: forward.sg0_kernel_3 ->
        // forward_sg0_k<N>.
        StringRef base = SymbolTable::getSymbolName(fn).getValue();
        base.consume_back(("_kernel_" + Twine(base.rsplit('_').second)).str());
        base.consume_back("_kernel");
        std::string stem = ptxIdentifier(base);
        std::string name = stem + "_k" + std::to_string(counts[stem]++);
        fn->moveBefore(target.getBody(), target.getBody()->end());
        SymbolTable::setSymbolName(fn, name);
        targetSymbols.insert(fn);
        moved[ref] = SymbolRefAttr::get(target.getSymNameAttr(),
                                        {FlatSymbolRefAttr::get(SymbolTable::getSymbolName(fn))});
      }
      // Non-kernel symbols of an outlined module (none today) would be lost.
      if (!old.getBody()->empty() &&
          !llvm::all_of(old.getBody()->getOperations(),
                        [](Operation &op) { return op.hasTrait<OpTrait::IsTerminator>(); })) {
        old.emitError("dyn-gather-kernels: a GPU module holds more than kernels");
        return signalPassFailure();
      }
      old.erase();
    }
    WalkResult walk = module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = moved.find(launch.getKernel());
      if (it == moved.end()) {
        launch.emitError("dyn-gather-kernels: launch of an unknown kernel");
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(it->second);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(&getContext()));
  }
};

} // namespace
