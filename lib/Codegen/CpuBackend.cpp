//===- CpuBackend.cpp - partitioned IR to a native shared library ---------===//

#include "dync/Codegen/CpuBackend.h"

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Passes/Passes.h"
#include "dync/Support/TensorBuilder.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <nlohmann/json.hpp>

using namespace mlir;

namespace dync {

std::string buildManifest(ModuleOp module) {
  nlohmann::json m;
  m["abi_version"] = 1;
  if (auto name = module->getAttrOfType<StringAttr>("dyn.model"))
    m["model"] = name.getValue().str();
  if (auto weights = module->getAttrOfType<StringAttr>("dyn.weights_path"))
    m["weights_file"] = weights.getValue().str();
  else if (auto name = module->getAttrOfType<StringAttr>("dyn.weights"))
    m["weights_file"] = name.getValue().str();
  auto entry = module.lookupSymbol<func::FuncOp>("forward");
  if (!entry)
    return m.dump();
  m["dims"] = nlohmann::json::object();
  if (auto dims = entry->getAttrOfType<DictionaryAttr>("dyn.dims"))
    for (NamedAttribute d : dims)
      if (auto b = dyn_cast<DenseI64ArrayAttr>(d.getValue()); b && b.size() == 2)
        m["dims"][d.getName().str()] = {{"min", b[0]}, {"max", b[1]}};
  m["stats"] = nlohmann::json::array();
  if (auto stats = module->getAttrOfType<ArrayAttr>("dyn.stats"))
    for (Attribute a : stats)
      m["stats"].push_back(cast<StringAttr>(a).getValue().str());
  m["args"] = nlohmann::json::array();
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    nlohmann::json arg;
    Type t = entry.getArgumentTypes()[i];
    auto tensor = dyn_cast<RankedTensorType>(t);
    arg["dtype"] = dtypeName(tensor ? tensor.getElementType() : t);
    nlohmann::json shape = nlohmann::json::array();
    if (tensor) {
      auto symbolic = entry.getArgAttrOfType<ArrayAttr>(i, "dyn.shape");
      for (int64_t d = 0; d < tensor.getRank(); ++d) {
        if (!tensor.isDynamicDim(d))
          shape.push_back(tensor.getDimSize(d));
        else if (symbolic && d < static_cast<int64_t>(symbolic.size()) &&
                 isa<StringAttr>(symbolic[d]))
          shape.push_back(cast<StringAttr>(symbolic[d]).getValue().str());
        else
          shape.push_back(nullptr);
      }
    }
    arg["shape"] = shape;
    if (auto name = entry.getArgAttrOfType<StringAttr>(i, "dyn.name")) {
      arg["kind"] = "input";
      arg["name"] = name.getValue().str();
    } else if (auto w = entry.getArgAttrOfType<StringAttr>(i, "dyn.weight")) {
      arg["kind"] = "weight";
      arg["name"] = w.getValue().str();
    } else if (auto p = entry.getArgAttrOfType<FlatSymbolRefAttr>(i, "dyn.param")) {
      arg["kind"] = "param";
      arg["name"] = p.getValue().str();
      if (auto def = module.lookupSymbol<dyn::ParamDefOp>(p.getValue())) {
        if (auto f = dyn_cast<FloatAttr>(def.getDefaultValue()))
          arg["default"] = f.getValueAsDouble();
        else if (auto n = dyn_cast<IntegerAttr>(def.getDefaultValue()))
          arg["default"] = n.getInt();
      }
    }
    m["args"].push_back(arg);
  }
  m["results"] = nlohmann::json::array();
  for (unsigned i = 0; i < entry.getNumResults(); ++i) {
    auto t = cast<RankedTensorType>(entry.getResultTypes()[i]);
    nlohmann::json r;
    auto name = entry.getResultAttrOfType<StringAttr>(i, "dyn.name");
    r["name"] = name ? name.getValue().str() : "result" + std::to_string(i);
    r["dtype"] = dtypeName(t.getElementType());
    r["rank"] = t.getRank();
    m["results"].push_back(r);
  }
  return m.dump();
}

LogicalResult checkCpuSupport(ModuleOp module) {
  WalkResult result = module.walk([&](Operation *op) {
    if (isa<dyn::ParamDefOp>(op) || op->getDialect() == nullptr ||
        op->getDialect()->getNamespace() != "dyn")
      return WalkResult::advance();
    op->emitError() << "CPU code generation does not support '"
                    << op->getName() << "' yet";
    return WalkResult::interrupt();
  });
  return failure(result.wasInterrupted());
}

void prepareEntry(ModuleOp module) {
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

static llvm::TargetMachine *makeTargetMachine(const CpuOptions &options,
                                              std::string &error);

/// The matmul micro-kernel's shape for the target: its vector width and as
/// many accumulators as its vector registers allow.
static DynVectorizeMatmulsOptions matmulKernelFor(const CpuOptions &options) {
  DynVectorizeMatmulsOptions kernel; // 8 lanes, 3 x 4: AVX
  std::string error;
  std::unique_ptr<llvm::TargetMachine> tm(makeTargetMachine(options, error));
  if (!tm)
    return kernel; // the translation reports the bad target
  const llvm::MCSubtargetInfo *sti = tm->getMCSubtargetInfo();
  if (sti->checkFeatures("+avx512f")) {
    kernel.lanes = 16;
    kernel.rows = 6;
    kernel.outerRows = 12;
  } else if (!sti->checkFeatures("+avx")) {
    kernel.lanes = 4;
  }
  return kernel;
}

void buildCpuLoweringPipeline(OpPassManager &pm, const CpuOptions &options) {
  // Elementwise arith on whole tensors (masks, comparisons) becomes linalg,
  // which bufferizes.
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  // Chains of elementwise ops become one loop nest (no intermediate buffers).
  pm.addNestedPass<func::FuncOp>(createDynFuseElementwise());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  // Loops carrying state that each iteration recomputes (the online softmax
  // of block-sparse attention) yield fresh buffers.
  bufferize.allowReturnAllocsFromLoops = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // Temporaries share per-thread workspace slots instead of malloc per op.
  pm.addPass(createDynPlanBuffers());
  // Dot-product matmuls become a vector micro-kernel; other reductions are
  // put in a form that LLVM's loop vectorizer takes.
  pm.addNestedPass<func::FuncOp>(createDynVectorizeMatmuls(matmulKernelFor(options)));
  pm.addNestedPass<func::FuncOp>(createDynPrepareVectorization());
  // exp, tanh, erf... in arith ops, so that their loops vectorize.
  pm.addNestedPass<func::FuncOp>(createDynApproximateMath());
  // Parallel dimensions become scf.parallel; the outermost parallel loops
  // go to the runtime's thread pool.
  pm.addPass(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createDynOutlineParallelLoops());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // LLVM intrinsics first (sqrt, rsqrt, exp, log...), libm for the rest
  // (tanh, erf), which has no intrinsic.
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

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

    launch->setLinkage(llvm::GlobalValue::InternalLinkage);
    auto *entry = llvm::BasicBlock::Create(ctx, "entry", launch);
    auto *serial = llvm::BasicBlock::Create(ctx, "serial", launch);
    auto *pooled = llvm::BasicBlock::Create(ctx, "pooled", launch);
    b.SetInsertPoint(entry);
    llvm::Value *fn = b.CreateLoad(ptrTy, hook);
    b.CreateCondBr(b.CreateIsNull(fn), serial, pooled);
    b.SetInsertPoint(serial);
    args.assign({b.getInt64(0), launch->getArg(0)});
    for (unsigned i = 2; i < launch->arg_size(); ++i)
      args.push_back(launch->getArg(i));
    b.CreateCall(body, args);
    b.CreateRetVoid();
    b.SetInsertPoint(pooled);
    llvm::Value *frame = b.CreateAlloca(frameTy);
    for (unsigned i = 0; i < captureTypes.size(); ++i)
      b.CreateStore(launch->getArg(i + 2), b.CreateStructGEP(frameTy, frame, i));
    b.CreateCall(hookTy, fn, {tramp, frame, launch->getArg(0), launch->getArg(1)});
    b.CreateRetVoid();
  }
}

/// The host's CPU and its features, as LLVM names them.
static std::pair<std::string, std::string> hostTarget() {
  std::string features;
  for (auto &f : llvm::sys::getHostCPUFeatures())
    features += (features.empty() ? "" : ",") +
                std::string(f.second ? "+" : "-") + f.first().str();
  return {llvm::sys::getHostCPUName().str(), features};
}

static llvm::TargetMachine *makeTargetMachine(const CpuOptions &options,
                                              std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getProcessTriple());
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  auto [hostCpu, hostFeatures] = hostTarget();
  std::string cpu = options.cpu.empty() ? hostCpu : options.cpu;
  std::string features = options.cpu.empty() && options.features.empty()
                             ? hostFeatures
                             : options.features;
  llvm::CodeGenOptLevel level = options.optLevel == 0   ? llvm::CodeGenOptLevel::None
                                : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                : options.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                                        : llvm::CodeGenOptLevel::Aggressive;
  return target->createTargetMachine(triple, cpu, features, llvm::TargetOptions(),
                                     llvm::Reloc::PIC_, std::nullopt, level);
}

std::unique_ptr<llvm::Module> translateToLLVM(ModuleOp module,
                                              llvm::LLVMContext &context,
                                              const std::string &manifest,
                                              const CpuOptions &options,
                                              std::string &error) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  module.getContext()->appendDialectRegistry(registry);
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

  // int64_t *dync_stats_address(void): the calling thread's statistics
  // array, so that the runtime finds it with one lookup at load time (dlopen
  // or static link alike) instead of resolving the thread-local per run.
  if (llvm::GlobalVariable *stats = llvmModule->getGlobalVariable("dync_stats")) {
    auto *accessor = llvm::Function::Create(llvm::FunctionType::get(ptrTy, false),
                                            llvm::Function::ExternalLinkage,
                                            "dync_stats_address", *llvmModule);
    b.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", accessor));
    b.CreateRet(b.CreateThreadLocalAddress(stats));
  }

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

  auto optimize = makeOptimizingTransformer(options.optLevel, 0, tm.get());
  if (llvm::Error e = optimize(llvmModule.get())) {
    error = llvm::toString(std::move(e));
    return nullptr;
  }
  return llvmModule;
}

LogicalResult emitNative(llvm::Module &llvmModule, const CpuOptions &options,
                         bool assembly, llvm::raw_pwrite_stream &os,
                         std::string &error) {
  std::unique_ptr<llvm::TargetMachine> tm(makeTargetMachine(options, error));
  if (!tm)
    return failure();
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr,
                              assembly ? llvm::CodeGenFileType::AssemblyFile
                                       : llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit this file type";
    return failure();
  }
  pm.run(llvmModule);
  return success();
}

LogicalResult linkSharedLibrary(StringRef object, StringRef output,
                                std::string &error) {
  auto cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    error = "no system linker driver 'cc' on PATH (install gcc or clang)";
    return failure();
  }
  SmallVector<StringRef> args{*cc, "-shared", "-o", output, object, "-lm"};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0) {
    error = "linking '" + output.str() + "' failed" +
            (message.empty() ? "" : ": " + message);
    return failure();
  }
  return success();
}

} // namespace dync
