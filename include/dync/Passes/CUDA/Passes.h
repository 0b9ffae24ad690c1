//===- Passes.h - CUDA passes -------------------------------------------*- C++ -*-===//
//
// CUDA-specific code generation: parallel loops on the GPU grid, one kernel module.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_CUDA_PASSES_H
#define DYNC_PASSES_CUDA_PASSES_H

#include "dync/Passes/Common.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace dync {

#define GEN_PASS_DECL
#include "dync/Passes/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dync/Passes/CUDA/Passes.h.inc"

} // namespace dync

#endif // DYNC_PASSES_CUDA_PASSES_H
