//===- Pipelines.h - dync's compilation, stage by stage ---------*- C++ -*-===//
//
// One pipeline per `dync --emit` stage, built the same way by `dync` and by
// `dync-opt` (where they are registered), so that any stage of `dync` can be
// reproduced, and a stage's output continued, with `dync-opt`:
//
//   imported --dync-canonicalize--> mlir
//   imported --dyn-partition--> partitioned --dync-cpu-codegen--> codegen
//            --dync-cpu-lower--> lowered (LLVM dialect)
//   imported --dync-cpu--> lowered (all of the above)
//   codegen --dync-cuda-kernels--> kernels (PTX in a gpu.binary)
//   codegen --dync-cuda-lower--> lowered (host program, fatbin)
//   imported --dync-cuda--> lowered (the CUDA target's every stage)
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PIPELINES_PIPELINES_H
#define DYNC_PIPELINES_PIPELINES_H

#include "dync/Target/CPU/CPUTarget.h"
#include "dync/Target/CUDA/CUDATarget.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace dync {

/// The stages of compilation, in order.
enum class Stage {
  /// As the importer built it.
  Imported,
  /// dyn-level IR, canonicalized (`--emit=mlir`).
  Canonical,
  /// Static subgraphs and a host program holding all control.
  Partitioned,
  /// The dyn ops spelled with upstream ops on tensors, the entry readied and
  /// described (`dyn.manifest`): what a target lowers.
  Codegen,
  /// CUDA only: the kernels lowered to NVVM and serialized to PTX
  /// (`--emit=ptx`), the host program still on memrefs.
  Kernels,
  /// The LLVM dialect, ready for translation.
  Lowered,
};

/// Options of the CPU pipelines, as `dync-opt` takes them
/// (`--dync-cpu="cpu=znver3 mattr=+avx2,+fma opt-level=3"`).
struct CpuPipelineOptions : mlir::PassPipelineOptions<CpuPipelineOptions> {
  Option<std::string> cpu{*this, "cpu", llvm::cl::desc("Target CPU (default: the host's)")};
  Option<std::string> mattr{*this, "mattr",
                            llvm::cl::desc("Target features, e.g. +avx2,+fma "
                                           "(default: the host's)")};
  Option<unsigned> optLevel{*this, "opt-level", llvm::cl::desc("0-3"), llvm::cl::init(2)};
  Option<bool> packWeights{*this, "pack-weights",
                           llvm::cl::desc("Read Linear layers' weights in the matmul kernel's "
                                          "panels (dyn-pack-weights; default true)"),
                           llvm::cl::init(true)};

  CpuOptions toCpuOptions() const;
};

/// Options of the CUDA pipelines, as `dync-opt` takes them
/// (`--dync-cuda="cuda-arch=sm_80,sm_90 threads=256"`).
struct CudaPipelineOptions : mlir::PassPipelineOptions<CudaPipelineOptions> {
  ListOption<std::string> archs{*this, "cuda-arch",
                                llvm::cl::desc("GPU architectures (default sm_80,sm_90)")};
  Option<std::string> toolkit{*this, "cuda-toolkit",
                              llvm::cl::desc("CUDA toolkit root (default: found)")};
  Option<int64_t> threads{*this, "threads", llvm::cl::desc("Threads per block"),
                          llvm::cl::init(256)};
  Option<std::string> gemm{*this, "gemm",
                           llvm::cl::desc("Plain f32 matmuls: generated or cublas"),
                           llvm::cl::init("generated")};

  CudaOptions toCudaOptions() const;
};

/// Imported IR to the `mlir` stage: canonicalization and CSE.
void buildCanonicalizePipeline(mlir::OpPassManager &pm);

/// Imported IR to the `partitioned` stage: canonicalize, lower the control
/// ops, outline subgraphs, infer bounds, check.
void buildPartitionPipeline(mlir::OpPassManager &pm);

/// Imported IR to `stop` for the CPU target: the passes of every stage up to
/// and including it.
void buildCpuPipeline(mlir::OpPassManager &pm, Stage stop, const CpuOptions &options);

/// Imported IR to `stop` for the CUDA target (`Kernels` is CUDA's own
/// stage), or, with `emulate`, for the CPU with the CUDA kernels run as
/// parallel loops (no `Kernels` stage).
void buildCudaPipeline(mlir::OpPassManager &pm, Stage stop, const CudaOptions &options,
                       bool emulate = false);

/// Registers the pipelines with the global registry.
void registerPipelines();

} // namespace dync

#endif // DYNC_PIPELINES_PIPELINES_H
