//===- JsonImporter.h - the dync model format's front end -------*- C++ -*-===//
//
// Internal to lib/Import/JSON: the importer of the model level and its
// graphs (JsonImporter.cpp), and the view of a JSON node the op builders read
// attributes, weight slots and subgraphs through (JsonNodeView.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_LIB_IMPORT_JSON_JSONIMPORTER_H
#define DYNC_LIB_IMPORT_JSON_JSONIMPORTER_H

#include "Builder/GraphBuilder.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <nlohmann/json.hpp>

namespace dync::import {

using json = nlohmann::json;
using mlir::Location;
using mlir::MLIRContext;
using mlir::ModuleOp;
using mlir::OpBuilder;
using mlir::OwningOpRef;
using llvm::Twine;

/// Names visible in one graph or subgraph. Subgraphs see only their own
/// inputs: a scope never looks into its parent.
struct Scope {
  llvm::StringMap<TValue> values;
  /// Inside gate, per-sample cond and early-exit subgraphs axis 0 is the live
  /// batch, and ops must not mix samples.
  bool live = false;
  /// Where this graph's `nodes` array is, for messages ("nodes", or
  /// "nodes[4].subgraphs.body.nodes").
  std::string path;
  /// Every name any node of this graph defines, for "defined later" messages.
  llvm::StringMap<std::string> laterDefs;
};

class JsonImporter;

/// A JSON node as the op builders see it.
class JsonNodeView : public NodeView {
public:
  JsonNodeView(JsonImporter &importer, const json &j, Location loc, Scope &scope)
      : NodeView(loc), importer(importer), j(j), scope(scope) {}

  std::string excerpt() const override;
  bool hasAttr(StringRef name) const override { return attr(name) != nullptr; }
  FailureOr<int64_t> intAttr(StringRef name, std::optional<int64_t> dflt) override;
  FailureOr<double> floatAttr(StringRef name, std::optional<double> dflt) override;
  FailureOr<bool> boolAttr(StringRef name, bool dflt) override;
  FailureOr<std::string> stringAttr(StringRef name, ArrayRef<StringRef> allowed,
                                    std::optional<StringRef> dflt) override;
  FailureOr<SmallVector<int64_t>> intListAttr(StringRef name) override;
  FailureOr<std::pair<int64_t, int64_t>> pairAttr(StringRef name,
                                                  std::pair<int64_t, int64_t> dflt) override;
  FailureOr<SmallVector<ShapeEntry>> shapeAttr(StringRef name) override;
  FailureOr<Type> dtypeAttr(StringRef name) override;
  FailureOr<Value> scalarOrParamAttr(StringRef name, StringRef what, Type type,
                                     ImplicitLocOpBuilder &b) override;
  FailureOr<BlockSelection> selectionAttr(StringRef name, ImplicitLocOpBuilder &b) override;

  bool hasWeight(StringRef slot) const override {
    return weights && weights->contains(slot.str());
  }
  FailureOr<std::string> weightTensor(StringRef slot) override;

  FailureOr<SmallVector<TValue>> importSubgraph(StringRef role, ArrayRef<TValue> args,
                                                bool live, OpBuilder &b) override;
  FailureOr<size_t> numStages(bool gateCriterion) override;

  JsonImporter &importer;
  const json &j;
  Scope &scope;
  const json *attrs = nullptr;     // object or null
  const json *weights = nullptr;   // object or null
  const json *subgraphs = nullptr; // object or null

private:
  const json *attr(StringRef name) const {
    if (!attrs)
      return nullptr;
    auto it = attrs->find(name.str());
    return it == attrs->end() ? nullptr : &*it;
  }
  LogicalResult fail(const Twine &msg);
  FailureOr<Value> scalarOrParam(const json &j, const std::string &what, Type type,
                                 ImplicitLocOpBuilder &b);
};

class JsonImporter {
public:
  JsonImporter(MLIRContext &ctx, StringRef path, ImportDiagnostics &diags)
      : g(ctx, path.str(), diags), ctx(ctx), path(path.str()) {}

  OwningOpRef<ModuleOp> run();

  /// The model-building layer: shapes, weights, op builders.
  GraphBuilder g;

  LogicalResult fail(const Twine &msg) { return g.fail(msg); }
  LogicalResult failAt(const std::string &jsonPath, const Twine &msg) {
    return g.failAt(jsonPath, msg);
  }
  LogicalResult failNode(const NodeView &n, const Twine &msg) { return g.failNode(n, msg); }

  FailureOr<Type> parseDType(const json &j, const std::string &where);
  FailureOr<SmallVector<TValue>> importSubgraph(const NodeView &n, const std::string &name,
                                                const json &sg, ArrayRef<TValue> args,
                                                bool live, OpBuilder &b);
  LogicalResult checkKeys(const json &obj, const std::string &where,
                          ArrayRef<StringRef> allowed);

private:
  LogicalResult runImpl(OwningOpRef<ModuleOp> &module);
  LogicalResult parseJson();
  LogicalResult importDims();
  LogicalResult importParams(OpBuilder &b);
  FailureOr<Shape> parseShape(const json &j, const std::string &where);
  LogicalResult importNodes(const json &nodes, Scope &scope, OpBuilder &b);
  LogicalResult importNode(const json &j, size_t index, Scope &scope, OpBuilder &b);
  LogicalResult collectDefs(const json &nodes, Scope &scope);

  MLIRContext &ctx;
  std::string path;
  json model;
  std::unique_ptr<safetensors::File> weightsFile;
  // The model's state lives in the builder; these name it as the model-level
  // code reads it.
  llvm::StringMap<std::pair<int64_t, int64_t>> &dims = g.dims;
  llvm::StringMap<Type> &params = g.params;
  llvm::StringSet<> nodeNames;
};

} // namespace dync::import

#endif // DYNC_LIB_IMPORT_JSON_JSONIMPORTER_H
