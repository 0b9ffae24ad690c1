//===- Passes.h - CPU passes -------------------------------------------*- C++ -*-===//
//
// CPU-specific code generation: micro-kernels, vectorization, threads.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_CPU_PASSES_H
#define DYNC_PASSES_CPU_PASSES_H

#include "dync/Passes/Common.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"

namespace dync {

#define GEN_PASS_DECL
#include "dync/Passes/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dync/Passes/CPU/Passes.h.inc"

} // namespace dync

#endif // DYNC_PASSES_CPU_PASSES_H
