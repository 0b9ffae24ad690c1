//===- GraphBuilder.h - the model-building layer front ends share -*- C++ -*-===//
//
// Everything below parsing: the model's dims and their bounds, the values of
// the dims at run time, runtime parameters, weights bound by name, shape
// reasoning (broadcasting, sizes of symbolic dims, reshapes), diagnostics,
// and the builders of every op, one file per family under lib/Import/Ops/.
// A front end creates the module and the entry function, presents each node
// as a NodeView, and calls `emit`.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_LIB_IMPORT_BUILDER_GRAPHBUILDER_H
#define DYNC_LIB_IMPORT_BUILDER_GRAPHBUILDER_H

#include "NodeView.h"

#include "dync/Import/ModelImporter.h"

#include "SafeTensors.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

namespace dync::import {

using mlir::OpFoldResult;

class GraphBuilder;

/// A model input: its name, model shape and element type.
struct EntryInput {
  std::string name;
  Shape shape;
  Type elt;
};

/// Builds the IR of one node; the results in the node's output order.
using EmitFn = FailureOr<SmallVector<TValue>> (GraphBuilder::*)(NodeView &,
                                                               ImplicitLocOpBuilder &);

/// An op of dync's vocabulary: what it accepts and its builder.
struct OpEntry {
  OpSpec spec;
  EmitFn emit;
};

class GraphBuilder {
public:
  GraphBuilder(mlir::MLIRContext &ctx, std::string source, ImportDiagnostics &diags)
      : ctx(ctx), source(std::move(source)), diags(diags) {}

  /// The op `name`, or null if dync has no such op. Every op is registered
  /// once, in GraphBuilder.cpp: its spec next to its builder.
  static const OpEntry *lookupOp(StringRef name);

  /// Builds node `n` with its op's builder.
  FailureOr<SmallVector<TValue>> emit(NodeView &n, ImplicitLocOpBuilder &b);

  // The entry function (Entry.cpp). ------------------------------------------
  /// `@forward` at `b`, one argument per input (named, with its model shape,
  /// the first dim carrying each model dim giving its value) and the dims'
  /// bounds; `args` gets the arguments as graph values.
  mlir::func::FuncOp createEntry(mlir::OpBuilder &b, mlir::Location loc,
                                 ArrayRef<EntryInput> inputs, SmallVector<TValue> &args);
  /// Returns `results` (named) from `func`.
  void finishEntry(mlir::func::FuncOp func, mlir::Location loc,
                   ArrayRef<std::pair<std::string, Value>> results);
  /// Warns of unused weights, and fails on an internal error or IR that
  /// does not verify.
  LogicalResult finishModule(mlir::ModuleOp module);

  // Diagnostics: the first error is kept, prefixed by the model file. ------
  LogicalResult fail(const llvm::Twine &msg);
  LogicalResult failAt(const std::string &where, const llvm::Twine &msg);
  LogicalResult failNode(const NodeView &n, const llvm::Twine &msg);

  // Shapes --------------------------------------------------------------------
  /// The size of dim `d` as an index: static, a dim of `like` that is `d`,
  /// a product of such, or the model dim's value at entry.
  OpFoldResult symSize(ImplicitLocOpBuilder &b, const TValue &like, const Dim &d);
  /// The smallest and largest size `d` can take: from the model's dim bounds,
  /// 0 and INT64_MAX where they say nothing (the live batch, derived sizes).
  std::pair<int64_t, int64_t> sizeBounds(const Dim &d);
  /// Reshape with resolved target dims (static or symbolic).
  TValue reshapeTo(ImplicitLocOpBuilder &b, const TValue &x, const Shape &shape);
  /// NumPy broadcasting of symbolic shapes.
  FailureOr<Shape> broadcast(const NodeView &n, ArrayRef<const Shape *> shapes);
  LogicalResult expectFloat(const NodeView &n, const TValue &v, StringRef what);
  /// Refuses an op along axis 0 inside a per-sample subgraph.
  LogicalResult noBatchMix(const NodeView &n, int64_t axis, StringRef what);
  /// `axis` in [-rank, rank) as [0, rank).
  FailureOr<int64_t> normAxis(const NodeView &n, int64_t axis, int64_t rank,
                              StringRef what = "axis");

  // Weights ---------------------------------------------------------------------
  /// The weight in `slot`, checked against `expected` (-1: any size) and
  /// converted to `elt`. An empty TValue if the slot is optional and absent.
  FailureOr<TValue> weight(NodeView &n, StringRef slot, ArrayRef<int64_t> expected,
                           Type elt, ImplicitLocOpBuilder &b, bool required = true);
  bool hasWeight(const NodeView &n, StringRef slot) { return n.hasWeight(slot); }

  // Attributes, as op builders read them (the node checks them). ------------
  FailureOr<int64_t> intAttr(NodeView &n, StringRef name,
                             std::optional<int64_t> dflt = std::nullopt) {
    return n.intAttr(name, dflt);
  }
  FailureOr<double> floatAttr(NodeView &n, StringRef name,
                              std::optional<double> dflt = std::nullopt) {
    return n.floatAttr(name, dflt);
  }
  FailureOr<bool> boolAttr(NodeView &n, StringRef name, bool dflt) {
    return n.boolAttr(name, dflt);
  }
  FailureOr<std::string> stringAttr(NodeView &n, StringRef name, ArrayRef<StringRef> allowed,
                                    std::optional<StringRef> dflt = std::nullopt) {
    return n.stringAttr(name, allowed, dflt);
  }
  FailureOr<SmallVector<int64_t>> intListAttr(NodeView &n, StringRef name) {
    return n.intListAttr(name);
  }
  FailureOr<std::pair<int64_t, int64_t>> pairAttr(NodeView &n, StringRef name,
                                                  std::pair<int64_t, int64_t> dflt) {
    return n.pairAttr(name, dflt);
  }

  // Op families (lib/Import/Ops/<Family>.cpp). --------------------------------
  FailureOr<SmallVector<TValue>> emitElementwise(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitMatmul(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitNorm(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitConv(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitPool(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitShapeOp(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitReduce(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitAttention(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitIndexing(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitMoe(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitGate(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitCond(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitEarlyExit(NodeView &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitBlockSparse(NodeView &n, ImplicitLocOpBuilder &b);

  // The model being built. --------------------------------------------------------
  mlir::MLIRContext &ctx;
  /// The model file, for messages.
  std::string source;
  ImportDiagnostics &diags;
  /// Model dims with their inclusive bounds.
  llvm::StringMap<std::pair<int64_t, int64_t>> dims;
  /// Runtime parameters and their types.
  llvm::StringMap<Type> params;
  /// Index values of the model's dims, taken from the entry's arguments.
  llvm::StringMap<Value> dimValues;
  /// Whether the value of dim `sym` can be used in `block`: it is defined in
  /// a region enclosing it, with no isolated region (a cond's branch) between.
  bool dimVisible(StringRef sym, mlir::Block *block) const;
  /// Where weights are bound from, and which of them nodes used.
  safetensors::File *weightsFile = nullptr;
  llvm::StringSet<> usedWeights;
  /// Set when a builder hit a case the checks should have excluded.
  std::string internalError;
};

/// `shape` with its first `n` dims replaced by the live batch: what the
/// regions of gate, per-sample cond and early exit see.
Shape liveShape(const Shape &shape, size_t n);

} // namespace dync::import

#endif // DYNC_LIB_IMPORT_BUILDER_GRAPHBUILDER_H
