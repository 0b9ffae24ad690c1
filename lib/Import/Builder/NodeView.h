//===- NodeView.h - a model node as op builders see it ----------*- C++ -*-===//
//
// The op builders are shared by every front end; what differs between front
// ends is how a node is written down (a JSON object, an ONNX NodeProto). A
// front end presents each node through this interface: its identity (for
// messages and locations), its inputs, and typed access to its attributes,
// weight slots and subgraphs, checked and reported in the front end's own
// terms.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_LIB_IMPORT_BUILDER_NODEVIEW_H
#define DYNC_LIB_IMPORT_BUILDER_NODEVIEW_H

#include "Shapes.h"

#include "dync/Dialect/Dyn/DynOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Location.h"

#include <optional>
#include <string>
#include <variant>

namespace dync::import {

using mlir::FailureOr;
using mlir::ImplicitLocOpBuilder;
using mlir::LogicalResult;
using llvm::StringRef;

/// What an op accepts: counts of inputs and outputs, and the names of its
/// attributes, weight slots and subgraphs with whether each is required.
struct OpSpec {
  int minInputs, maxInputs; // -1: unbounded
  int minOutputs, maxOutputs;
  std::vector<std::pair<const char *, bool>> attrs;     // name, required
  std::vector<std::pair<const char *, bool>> weights;   // slot, required
  std::vector<std::pair<const char *, bool>> subgraphs; // name, required
};

/// An entry of a reshape target: a size, -1 (inferred), or a dim name.
using ShapeEntry = std::variant<int64_t, std::string>;

/// How block-sparse attention chooses its blocks, with its operands built.
struct BlockSelection {
  mlir::dyn::BlockSelection kind;
  Value budget, threshold;
  int64_t window = 0, global = 0;
};

class NodeView {
public:
  explicit NodeView(mlir::Location loc) : loc(loc) {}
  virtual ~NodeView() = default;

  /// The user's node name, the op (in dync's vocabulary), and where the node
  /// is in the model file, for messages.
  std::string name, op, path;
  /// The op as the model file spells it, for messages, if not `op` (an
  /// ONNX node's op type).
  std::string sourceOp;
  /// The node's location: its name around the file position.
  mlir::Location loc;
  /// True inside a per-sample subgraph, where axis 0 is the live batch.
  bool live = false;
  SmallVector<TValue> inputs;
  size_t numOutputs = 0;

  // Attributes ------------------------------------------------------------
  virtual bool hasAttr(StringRef name) const = 0;
  virtual FailureOr<int64_t> intAttr(StringRef name,
                                     std::optional<int64_t> dflt = std::nullopt) = 0;
  virtual FailureOr<double> floatAttr(StringRef name,
                                      std::optional<double> dflt = std::nullopt) = 0;
  virtual FailureOr<bool> boolAttr(StringRef name, bool dflt) = 0;
  virtual FailureOr<std::string> stringAttr(StringRef name, ArrayRef<StringRef> allowed,
                                            std::optional<StringRef> dflt = std::nullopt) = 0;
  virtual FailureOr<SmallVector<int64_t>> intListAttr(StringRef name) = 0;
  /// An int or a pair [h, w] (convolution and pooling).
  virtual FailureOr<std::pair<int64_t, int64_t>>
  pairAttr(StringRef name, std::pair<int64_t, int64_t> dflt) = 0;
  /// A target shape whose entries are sizes, -1 or dim names.
  virtual FailureOr<SmallVector<ShapeEntry>> shapeAttr(StringRef name) = 0;
  virtual FailureOr<Type> dtypeAttr(StringRef name) = 0;
  /// A number, or the name of a runtime parameter of type `type`, read here.
  virtual FailureOr<Value> scalarOrParamAttr(StringRef name, StringRef what, Type type,
                                             ImplicitLocOpBuilder &b) = 0;
  /// Block-sparse attention's block selection.
  virtual FailureOr<BlockSelection> selectionAttr(StringRef name, ImplicitLocOpBuilder &b) = 0;

  // Weights -----------------------------------------------------------------
  virtual bool hasWeight(StringRef slot) const = 0;
  /// The name of the weights-file tensor a slot binds.
  virtual FailureOr<std::string> weightTensor(StringRef slot) = 0;

  // Subgraphs ---------------------------------------------------------------
  /// Imports the subgraph `role` ("score", "then", "stages[1].head"...) on
  /// `args` at `b`'s insertion point; returns its outputs.
  virtual FailureOr<SmallVector<TValue>> importSubgraph(StringRef role, ArrayRef<TValue> args,
                                                        bool live, mlir::OpBuilder &b) = 0;
  /// The number of early-exit stages, each checked to hold a body, a head
  /// and, exactly when `gateCriterion`, a gate.
  virtual FailureOr<size_t> numStages(bool gateCriterion) = 0;

  // Messages ----------------------------------------------------------------
  /// The node as the model file spells it, on one short line (subgraphs
  /// elided), shown under an error about it; empty if there is none.
  virtual std::string excerpt() const { return ""; }
};

/// `text` cut to `max` characters, with "..." where it was cut.
inline std::string shortened(std::string text, size_t max = 120) {
  if (text.size() <= max)
    return text;
  size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut; // not inside a UTF-8 sequence
  return text.substr(0, cut) + "...";
}

} // namespace dync::import

#endif // DYNC_LIB_IMPORT_BUILDER_NODEVIEW_H
