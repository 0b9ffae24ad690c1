//===- Common.h - what dync's passes share ----------------------*- C++ -*-===//
//
// The dialects the passes build, and the attribute names and symbol
// prefixes by which one phase hands IR to the next.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_COMMON_H
#define DYNC_PASSES_COMMON_H

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

/// Attribute names the partitioning passes share.
inline constexpr llvm::StringLiteral kSubgraphAttr = "dyn.subgraph";
inline constexpr llvm::StringLiteral kRegionAttr = "dyn.region";
inline constexpr llvm::StringLiteral kBoundsAttr = "dyn.bounds";
/// The runtime's description of the entry point (dyn-emit-manifest), and the
/// run statistics' names in slot order (convert-dyn-to-linalg).
inline constexpr llvm::StringLiteral kManifestAttr = "dyn.manifest";
inline constexpr llvm::StringLiteral kStatsAttr = "dyn.stats";

/// Symbol prefixes of dyn-outline-parallel-loops: the outlined loop bodies
/// and the launch functions the CPU backend defines.
inline constexpr llvm::StringLiteral kParallelBodyPrefix = "__dync_par.";
inline constexpr llvm::StringLiteral kParallelLaunchPrefix = "__dync_launch.";

} // namespace dync

#endif // DYNC_PASSES_COMMON_H
