//===- Translate.cpp - the LLVM dialect to a model's LLVM module ----------===//
//
// Besides MLIR's translation, a compiled model carries the glue every model
// shares: one packed entry point `dync_entry(args, results)`, the accessor
// of its run statistics, the launches that hand parallel loops to the
// runtime's thread pool, the manifest, and optionally its weights.
//
//===----------------------------------------------------------------------===//

#include "dync/Target/CPU/CPUTarget.h"

#include "dync/Passes/Common.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Target/TargetMachine.h"

#include <nlohmann/json.hpp>

using namespace mlir;

namespace dync {

/// Defines the launch functions dyn-outline-parallel-loops declared, and
/// `dync_parallel_hook`, the pointer through which they reach the runtime's
/// thread pool:
///
///   void (*dync_parallel_hook)(void (*body)(void *frame, int64_t lo, int64_t hi),
///                              void *frame, int64_t n, int64_t work);
///
/// A launch `__dync_launch.X(n, work, captures...)` stores its captures in a
/// frame on its stack and hands the pool a trampoline that unpacks them and
/// runs `__dync_par.X(lo, hi, captures...)`; with no hook installed (a model
/// called without the runtime) it runs the body over [0, n) itself.
static void defineParallelLaunches(llvm::Module &m) {
  llvm::LLVMContext &ctx = m.getContext();
  auto *ptrTy = llvm::PointerType::getUnqual(ctx);
  auto *i64 = llvm::Type::getInt64Ty(ctx);
  auto *hook = new llvm::GlobalVariable(m, ptrTy, /*isConstant=*/false,
                                        llvm::GlobalValue::ExternalLinkage,
                                        llvm::ConstantPointerNull::get(ptrTy),
                                        "dync_parallel_hook");
  SmallVector<llvm::Function *> launches;
  for (llvm::Function &f : m.functions())
    if (f.isDeclaration() && f.getName().starts_with(kParallelLaunchPrefix))
      launches.push_back(&f);
  auto *bodyFnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy, i64, i64}, false);
  auto *hookTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy, ptrTy, i64, i64}, false);
  for (llvm::Function *launch : launches) {
    StringRef suffix = launch->getName().drop_front(kParallelLaunchPrefix.size());
    llvm::Function *body = m.getFunction((kParallelBodyPrefix + suffix).str());
    assert(body && body->arg_size() == launch->arg_size() && "launch without its body");
    SmallVector<llvm::Type *> captureTypes;
    for (unsigned i = 2; i < launch->arg_size(); ++i)
      captureTypes.push_back(launch->getArg(i)->getType());
    auto *frameTy = llvm::StructType::get(ctx, captureTypes);

    auto *tramp = llvm::Function::Create(bodyFnTy, llvm::GlobalValue::InternalLinkage,
                                         "__dync_tramp." + suffix, m);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", tramp));
    SmallVector<llvm::Value *> args{tramp->getArg(1), tramp->getArg(2)};
    for (unsigned i = 0; i < captureTypes.size(); ++i)
      args.push_back(b.CreateLoad(captureTypes[i],
                                  b.CreateStructGEP(frameTy, tramp->getArg(0), i)));
    b.CreateCall(body, args);
    b.CreateRetVoid();

    // The serial path goes through the trampoline too, so the body has one
    // call site and LLVM inlines it once (two sites doubled the code of every
    // parallel loop, and the time LLVM spends on it).
    launch->setLinkage(llvm::GlobalValue::InternalLinkage);
    auto *entry = llvm::BasicBlock::Create(ctx, "entry", launch);
    auto *serial = llvm::BasicBlock::Create(ctx, "serial", launch);
    auto *pooled = llvm::BasicBlock::Create(ctx, "pooled", launch);
    b.SetInsertPoint(entry);
    llvm::Value *frame = b.CreateAlloca(frameTy);
    for (unsigned i = 0; i < captureTypes.size(); ++i)
      b.CreateStore(launch->getArg(i + 2), b.CreateStructGEP(frameTy, frame, i));
    llvm::Value *fn = b.CreateLoad(ptrTy, hook);
    b.CreateCondBr(b.CreateIsNull(fn), serial, pooled);
    b.SetInsertPoint(serial);
    b.CreateCall(tramp, {frame, b.getInt64(0), launch->getArg(0)});
    b.CreateRetVoid();
    b.SetInsertPoint(pooled);
    b.CreateCall(hookTy, fn, {tramp, frame, launch->getArg(0), launch->getArg(1)});
    b.CreateRetVoid();
  }
}

std::unique_ptr<llvm::Module> translateToLLVM(ModuleOp module,
                                              llvm::LLVMContext &context,
                                              const CpuOptions &options,
                                              std::string &error) {
  auto manifestAttr = module->getAttrOfType<StringAttr>(kManifestAttr);
  if (!manifestAttr) {
    error = "the module has no manifest (run dyn-emit-manifest first)";
    return nullptr;
  }
  std::string manifest = manifestAttr.getValue().str();
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  module.getContext()->appendDialectRegistry(registry);
  // The dyn.* argument and result attributes have served (the manifest
  // carries what the runtime needs); LLVM has no parameter attribute for them.
  module.walk([](LLVM::LLVMFuncOp fn) {
    auto strip = [](DictionaryAttr attrs) {
      if (!attrs)
        return attrs;
      SmallVector<NamedAttribute> kept;
      for (NamedAttribute a : attrs)
        if (!a.getName().strref().starts_with("dyn."))
          kept.push_back(a);
      return DictionaryAttr::get(attrs.getContext(), kept);
    };
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      fn.setArgAttrs(i, strip(fn.getArgAttrDict(i)));
    for (unsigned i = 0; i < fn.getNumResults(); ++i)
      if (DictionaryAttr d = fn.getResultAttrDict(i))
        fn.setResultAttrs(i, strip(d));
  });
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "dync_model");
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }
  std::unique_ptr<llvm::TargetMachine> tm(makeTargetMachine(options, error));
  if (!tm)
    return nullptr;
  llvmModule->setDataLayout(tm->createDataLayout());
  llvmModule->setTargetTriple(tm->getTargetTriple());
  // The manifest names the CPU features the code may use, so that libdyncrt
  // refuses the model on a CPU without them instead of faulting on the first
  // instruction it lacks.
  nlohmann::json manifestJson = nlohmann::json::parse(manifest, nullptr, /*allow_exceptions=*/false);
  if (!manifestJson.is_object()) {
    error = "the module's manifest is not a JSON object";
    return nullptr;
  }
  manifestJson["cpu_features"] = checkedCpuFeatures(*tm);
  manifest = manifestJson.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  // void dync_entry(void **args, void *results): one calling convention for
  // every model, so the runtime needs no per-model glue. args[i] points to
  // the i-th argument (a memref descriptor, or a scalar).
  llvm::Function *ciface = llvmModule->getFunction("_mlir_ciface_forward");
  if (!ciface) {
    error = "the model has no entry point '_mlir_ciface_forward'";
    return nullptr;
  }
  llvm::IRBuilder<> b(context);
  auto *ptrTy = llvm::PointerType::getUnqual(context);
  auto *entryTy = llvm::FunctionType::get(b.getVoidTy(), {ptrTy, ptrTy}, false);
  auto *entry = llvm::Function::Create(entryTy, llvm::Function::ExternalLinkage,
                                       "dync_entry", *llvmModule);
  b.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", entry));
  SmallVector<llvm::Value *> callArgs{entry->getArg(1)};
  for (unsigned i = 1; i < ciface->arg_size(); ++i) {
    llvm::Value *slot = b.CreateConstGEP1_64(ptrTy, entry->getArg(0), i - 1);
    llvm::Value *p = b.CreateLoad(ptrTy, slot);
    llvm::Type *t = ciface->getArg(i)->getType();
    callArgs.push_back(t->isPointerTy() ? p : b.CreateLoad(t, p));
  }
  b.CreateCall(ciface, callArgs);
  b.CreateRetVoid();

  defineParallelLaunches(*llvmModule);

  auto *text = llvm::ConstantDataArray::getString(context, manifest, true);
  new llvm::GlobalVariable(*llvmModule, text->getType(), true,
                           llvm::GlobalValue::ExternalLinkage, text, "dync_manifest");
  if (!options.embeddedWeights.empty()) {
    // The whole safetensors file, aligned so that every tensor in it is as
    // aligned as it would be when mapped.
    auto *bytes = llvm::ConstantDataArray::getRaw(
        options.embeddedWeights, options.embeddedWeights.size(), b.getInt8Ty());
    auto *weights = new llvm::GlobalVariable(*llvmModule, bytes->getType(), true,
                                             llvm::GlobalValue::ExternalLinkage, bytes,
                                             "dync_embedded_weights");
    weights->setAlignment(llvm::Align(64));
    new llvm::GlobalVariable(*llvmModule, b.getInt64Ty(), true,
                             llvm::GlobalValue::ExternalLinkage,
                             b.getInt64(options.embeddedWeights.size()),
                             "dync_embedded_weights_size");
  }

  // LLVM tunes most AVX-512 CPUs to vectorize loops 256 bits wide (to keep
  // clocks up where 512-bit code is rare); dync's loops (the softmax's exp,
  // elementwise epilogues) run next to 512-bit matmul kernels anyway, so
  // they are vectorized at the full width too.
  if (tm->getMCSubtargetInfo()->checkFeatures("+avx512f"))
    for (llvm::Function &f : llvmModule->functions())
      if (!f.isDeclaration())
        f.addFnAttr("prefer-vector-width", "512");
  auto optimize = makeOptimizingTransformer(options.optLevel, 0, tm.get());
  if (llvm::Error e = optimize(llvmModule.get())) {
    error = llvm::toString(std::move(e));
    return nullptr;
  }
  return llvmModule;
}

} // namespace dync
