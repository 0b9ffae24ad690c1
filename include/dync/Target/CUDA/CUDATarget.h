//===- CUDATarget.h - the CUDA target: kernels, fatbin, host program -*- C++ -*-===//
//
// What the CUDA target adds after partitioning: the same code generation
// stage as the CPU's, then a lowering in which every parallel loop becomes a
// GPU kernel (MLIR's gpu/NVVM path to PTX), the PTX assembled by the CUDA
// toolkit's ptxas into a cubin per architecture and packed with fatbinary,
// and a host program that stays on the CPU and launches the kernels through
// libdyncrt's CUDA backend (the `mgpu*` entry points upstream lowering calls).
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_TARGET_CUDA_CUDATARGET_H
#define DYNC_TARGET_CUDA_CUDATARGET_H

#include "dync/Target/CPU/CPUTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace dync {

struct CudaOptions {
  /// GPU architectures to build cubins for (`sm_80`, ...), in order; the
  /// PTX is generated for the first (the oldest) and embedded too.
  std::vector<std::string> archs = {"sm_80", "sm_90"};
  /// The CUDA toolkit's root; empty: $CUDA_HOME, $CUDA_PATH, /usr/local/cuda,
  /// then ptxas on PATH.
  std::string toolkit;
  /// Threads per block of the kernels made from parallel loops.
  int64_t threadsPerBlock = 256;
  /// Plain f32 matmuls: "generated" kernels, or "cublas" calls through
  /// libdyncrt (dyn-outline-gemms).
  std::string gemm = "generated";
  /// The host program's CPU, optimization level, embedded weights, budget.
  CpuOptions host;
};

/// Registers what the CUDA pipeline needs in a context: the NVVM target
/// (serialization to PTX) and the GPU and NVVM translations to LLVM IR.
void registerCudaTargetInterfaces(mlir::DialectRegistry &registry);

/// `arch` is an architecture ptxas accepts: `sm_` and a number from 75.
bool isValidCudaArch(llvm::StringRef arch);

/// The CUDA tool `name` (ptxas, fatbinary) under `toolkit`, or found as
/// CudaOptions::toolkit describes; empty with `error` set if there is none.
std::string findCudaTool(llvm::StringRef name, llvm::StringRef toolkit, std::string &error);

/// The `codegen` stage to GPU kernels in PTX (`--emit=ptx` stops here): the
/// CPU's bufferization and memory plan, parallel loops tiled into blocks and
/// mapped to the grid, kernels outlined into one `gpu.module`, lowered to
/// NVVM and serialized to PTX in a `gpu.binary`.
void buildCudaKernelPipeline(mlir::OpPassManager &pm, const CudaOptions &options);

/// The code generation stage to the LLVM dialect for the CPU, with every
/// kernel the CUDA target would launch run instead as a parallel loop over
/// its blocks and threads (dyn-emulate-gpu-launches): the kernels' tiling,
/// mapping and guards executed where there is no GPU (`--target=cuda-emulated`).
void buildCudaEmulationPipeline(mlir::OpPassManager &pm, const CudaOptions &options);

/// The kernel stage to the LLVM dialect: the PTX assembled into a fatbin
/// (cubins for every architecture, and the PTX), and the host program
/// lowered with launches through `mgpu*` calls.
void buildCudaLoweringPipeline(mlir::OpPassManager &pm, const CudaOptions &options);

/// The PTX of every kernel module of `module` at the kernel stage.
mlir::LogicalResult writePtx(mlir::ModuleOp module, llvm::raw_ostream &os, std::string &error);

/// A pass that replaces the PTX object of each `gpu.binary` by a fatbin:
/// `ptxas -arch=<arch>` for each architecture, `fatbinary` to pack them with
/// the PTX. Fails with the tool's message.
std::unique_ptr<mlir::Pass> createAssembleKernelsPass(const CudaOptions &options);

/// The LLVM dialect (host program and kernel binary) to the model's LLVM
/// module: the CPU target's translation, with the fatbin embedded and
/// loaded by a constructor through libdyncrt's `mgpuModuleLoad`.
std::unique_ptr<llvm::Module> translateCudaToLLVM(mlir::ModuleOp module,
                                                  llvm::LLVMContext &context,
                                                  const CudaOptions &options,
                                                  std::string &error);

} // namespace dync

#endif // DYNC_TARGET_CUDA_CUDATARGET_H
