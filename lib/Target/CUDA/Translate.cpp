//===- Translate.cpp - the host program and its fatbin to LLVM IR ---------===//
//
// The host program is CPU code: the CPU target translates it, with the GPU
// dialect's translation added for the kernel binary (embedded as a global,
// loaded by a constructor through `mgpuModuleLoad`) and its launches.
//
//===----------------------------------------------------------------------===//

#include "dync/Target/CUDA/CUDATarget.h"

#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

#include "llvm/IR/Module.h"

using namespace mlir;

namespace dync {

void registerCudaTargetInterfaces(DialectRegistry &registry) {
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  // Serializing a kernel module translates it to LLVM IR first.
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
}

std::unique_ptr<llvm::Module> translateCudaToLLVM(ModuleOp module, llvm::LLVMContext &context,
                                                  const CudaOptions &options,
                                                  std::string &error) {
  DialectRegistry registry;
  registerCudaTargetInterfaces(registry);
  module.getContext()->appendDialectRegistry(registry);
  return translateToLLVM(module, context, options.host, error);
}

} // namespace dync
