//===- DynAttrNames.h - the dyn dialect's discardable attributes -*- C++ -*-===//
//
// Every `dyn.*` attribute that importers and passes hang on modules,
// functions and function arguments, named once. The dialect verifies each
// where it appears (DynDialect::verifyOperationAttribute and the region
// argument and result hooks): an unknown `dyn.*` name, or a known one of the
// wrong kind or in the wrong place, is an error.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_DIALECT_DYN_DYNATTRNAMES_H
#define DYNC_DIALECT_DYN_DYNATTRNAMES_H

#include "llvm/ADT/StringRef.h"

namespace mlir::dyn::attrs {

// On the module.
/// The model's name (string).
inline constexpr llvm::StringLiteral kModel = "dyn.model";
/// The weights file as the model names it, and resolved (strings).
inline constexpr llvm::StringLiteral kWeights = "dyn.weights";
inline constexpr llvm::StringLiteral kWeightsPath = "dyn.weights_path";
/// The run statistics' names in slot order (array of strings).
inline constexpr llvm::StringLiteral kStats = "dyn.stats";
/// The runtime's description of the entry point (a JSON string).
inline constexpr llvm::StringLiteral kManifest = "dyn.manifest";

// On functions.
/// The model dims and their bounds: `{B = array<i64: 1, 8>}` (entry only).
inline constexpr llvm::StringLiteral kDims = "dyn.dims";
/// A static subgraph (unit).
inline constexpr llvm::StringLiteral kSubgraph = "dyn.subgraph";
/// A function outlined from a region of the named dyn op (string).
inline constexpr llvm::StringLiteral kRegion = "dyn.region";
/// Workspace slots of the function's memory plan (integer >= 0).
inline constexpr llvm::StringLiteral kWorkspaceSlots = "dyn.workspace_slots";

// On function arguments and results.
/// The model's name of an input or output (string).
inline constexpr llvm::StringLiteral kName = "dyn.name";
/// The model shape of an input: sizes and dim names, one per dim.
inline constexpr llvm::StringLiteral kShape = "dyn.shape";
/// The weights-file tensor an entry argument binds (string).
inline constexpr llvm::StringLiteral kWeight = "dyn.weight";
/// The panel width of a weight entry argument the runtime packs (i64; see
/// `dyn.weight`'s `panel`).
inline constexpr llvm::StringLiteral kWeightPanel = "dyn.weight_panel";
/// The runtime parameter an entry argument carries (symbol reference).
inline constexpr llvm::StringLiteral kParam = "dyn.param";
/// The entry argument through which the runtime passes the run statistics
/// array (unit; on a `memref<Nxi64>` argument).
inline constexpr llvm::StringLiteral kStatsArray = "dyn.stats_array";
/// Upper bounds of a subgraph argument's or result's dims (i64 array).
inline constexpr llvm::StringLiteral kBounds = "dyn.bounds";

} // namespace mlir::dyn::attrs

#endif // DYNC_DIALECT_DYN_DYNATTRNAMES_H
