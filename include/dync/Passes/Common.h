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

#include "dync/Dialect/Dyn/DynAttrNames.h"
#include "dync/Dialect/Dyn/DynDialect.h"

namespace dync {

/// The dyn.* attributes the phases hand IR on with (DynAttrNames.h).
inline constexpr llvm::StringLiteral kSubgraphAttr = mlir::dyn::attrs::kSubgraph;
inline constexpr llvm::StringLiteral kRegionAttr = mlir::dyn::attrs::kRegion;
inline constexpr llvm::StringLiteral kBoundsAttr = mlir::dyn::attrs::kBounds;
inline constexpr llvm::StringLiteral kManifestAttr = mlir::dyn::attrs::kManifest;
inline constexpr llvm::StringLiteral kStatsAttr = mlir::dyn::attrs::kStats;

/// Symbol prefixes of dyn-outline-parallel-loops: the outlined loop bodies
/// and the launch functions the CPU backend defines.
inline constexpr llvm::StringLiteral kParallelBodyPrefix = "__dync_par.";
inline constexpr llvm::StringLiteral kParallelLaunchPrefix = "__dync_launch.";

} // namespace dync

#endif // DYNC_PASSES_COMMON_H
