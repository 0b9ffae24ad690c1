//===- Passes.h - dync passes and pipelines ---------------------*- C++ -*-===//

#ifndef DYNC_PASSES_PASSES_H
#define DYNC_PASSES_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include "dync/Dialect/Dyn/DynDialect.h"

namespace dync {

#define GEN_PASS_DECL
#include "dync/Passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dync/Passes/Passes.h.inc"

/// Attribute names the partitioning passes share.
inline constexpr llvm::StringLiteral kSubgraphAttr = "dyn.subgraph";
inline constexpr llvm::StringLiteral kRegionAttr = "dyn.region";
inline constexpr llvm::StringLiteral kBoundsAttr = "dyn.bounds";

/// Symbol prefixes of dyn-outline-parallel-loops: the outlined loop bodies
/// and the launch functions the CPU backend defines.
inline constexpr llvm::StringLiteral kParallelBodyPrefix = "__dync_par.";
inline constexpr llvm::StringLiteral kParallelLaunchPrefix = "__dync_launch.";

/// dyn-level IR to static subgraphs + host program: canonicalize, lower the
/// control ops, outline subgraphs, infer bounds, check.
void buildPartitionPipeline(mlir::OpPassManager &pm);

/// Registers the pipelines with the global registry.
void registerPipelines();

} // namespace dync

#endif // DYNC_PASSES_PASSES_H
