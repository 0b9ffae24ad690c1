//===- JsonImporter.cpp - the dync model format (JSON + safetensors) ------===//
//
// The JSON front end: it validates as it reads. The model's top level, its
// dims, params, inputs and outputs are checked here; every node against the
// spec of its op (inputs, outputs, attributes, weight slots, subgraphs);
// attributes, weight slots and subgraphs as the op builders ask for them,
// through JsonNodeView. The first problem stops the import with a message
// naming the node and its JSON path. The IR itself is built by the shared
// model-building layer (GraphBuilder and the op families under Ops/).
//
//===----------------------------------------------------------------------===//

#include "dync/Import/ModelImporter.h"
#include "dync/Dialect/Dyn/DynAttrNames.h"

#include "JSON/JsonImporter.h"

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <nlohmann/json.hpp>

#include <limits>

using namespace mlir;
using namespace dync::import;

namespace dync {

void registerImportDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, func::FuncDialect, linalg::LinalgDialect,
                  math::MathDialect, scf::SCFDialect, tensor::TensorDialect,
                  dyn::DynDialect>();
}

} // namespace dync

namespace dync::import {

//===----------------------------------------------------------------------===//
// Model level
//===----------------------------------------------------------------------===//

/// Records the first syntax error of a JSON text with its offset.
struct SyntaxErrorSax : nlohmann::json_sax<json> {
  size_t position = 0;
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t &) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t pos, const std::string &,
                   const nlohmann::detail::exception &ex) override {
    position = pos;
    message = ex.what();
    return false;
  }
};

LogicalResult JsonImporter::parseJson() {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return fail("cannot read model: " + buffer.getError().message());
  StringRef text = (*buffer)->getBuffer();
  model = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!model.is_discarded())
    return success();
  SyntaxErrorSax sax;
  json::sax_parse(text.begin(), text.end(), &sax);
  size_t line = 1, col = 1;
  for (size_t i = 0; i + 1 < sax.position && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  // nlohmann's message starts with "[json.exception.parse_error.101] parse
  // error at line L, column C: "; keep only what follows.
  std::string what = sax.message;
  size_t colon = what.find(": ");
  if (colon != std::string::npos)
    what = what.substr(colon + 2);
  return fail(llvm::formatv("malformed JSON at line {0}, column {1}: {2}", line,
                            col, what));
}

LogicalResult JsonImporter::checkKeys(const json &obj, const std::string &where,
                                  ArrayRef<StringRef> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!llvm::is_contained(allowed, StringRef(it.key())))
      return failAt(where, "unknown key '" + it.key() + "'");
  return success();
}

FailureOr<Type> JsonImporter::parseDType(const json &j, const std::string &where) {
  if (!j.is_string())
    return failAt(where, "dtype must be a string");
  const std::string &s = j.get_ref<const std::string &>();
  Builder b(&ctx);
  if (s == "f32") return Type(b.getF32Type());
  if (s == "f16") return Type(b.getF16Type());
  if (s == "bf16") return Type(b.getBF16Type());
  if (s == "i32") return Type(b.getI32Type());
  if (s == "i64") return Type(b.getI64Type());
  if (s == "bool") return Type(b.getI1Type());
  return failAt(where, "unknown dtype '" + s +
                           "' (expected f32, f16, bf16, i32, i64 or bool)");
}

FailureOr<Shape> JsonImporter::parseShape(const json &j, const std::string &where) {
  if (!j.is_array())
    return failAt(where, "shape must be an array of sizes and dim names");
  Shape shape;
  for (size_t i = 0; i < j.size(); ++i) {
    const json &e = j[i];
    std::string at = where + "[" + std::to_string(i) + "]";
    if (e.is_number_integer()) {
      int64_t v = e.get<int64_t>();
      if (v <= 0)
        return failAt(at, "size " + std::to_string(v) + " must be positive");
      shape.push_back(Dim::of(v));
    } else if (e.is_string()) {
      const std::string &name = e.get_ref<const std::string &>();
      if (!dims.count(name))
        return failAt(at, "unknown dim '" + name + "' (not declared in 'dims')");
      shape.push_back(Dim::named(name));
    } else {
      return failAt(at, "a shape entry must be a positive integer or a dim name");
    }
  }
  return shape;
}

LogicalResult JsonImporter::importDims() {
  auto it = model.find("dims");
  if (it == model.end())
    return success();
  if (!it->is_object())
    return failAt("dims", "must be an object of {\"min\": .., \"max\": ..}");
  for (auto d = it->begin(); d != it->end(); ++d) {
    std::string where = "dims." + d.key();
    const json &v = d.value();
    if (!v.is_object())
      return failAt(where, "must be {\"min\": N, \"max\": M}");
    if (failed(checkKeys(v, where, {"min", "max"})))
      return failure();
    auto mn = v.find("min"), mx = v.find("max");
    if (mn == v.end() || mx == v.end() || !mn->is_number_integer() ||
        !mx->is_number_integer())
      return failAt(where, "needs integer 'min' and 'max'");
    int64_t lo = mn->get<int64_t>(), hi = mx->get<int64_t>();
    if (lo < 1)
      return failAt(where + ".min", "bound " + std::to_string(lo) +
                                        " is out of range: dims are at least 1");
    if (hi < lo)
      return failAt(where, llvm::formatv("max {0} is below min {1}", hi, lo).str());
    dims[d.key()] = {lo, hi};
  }
  return success();
}

LogicalResult JsonImporter::importParams(OpBuilder &b) {
  auto it = model.find("params");
  if (it == model.end())
    return success();
  if (!it->is_array())
    return failAt("params", "must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const json &p = (*it)[i];
    std::string where = "params[" + std::to_string(i) + "]";
    if (!p.is_object())
      return failAt(where, "must be an object");
    if (failed(checkKeys(p, where, {"name", "dtype", "default"})))
      return failure();
    auto name = p.find("name");
    if (name == p.end() || !name->is_string())
      return failAt(where, "needs a string 'name'");
    const std::string &pname = name->get_ref<const std::string &>();
    if (params.count(pname))
      return failAt(where, "duplicate runtime parameter '" + pname + "'");
    auto dt = p.find("dtype");
    if (dt == p.end())
      return failAt(where, "param '" + pname + "' needs a 'dtype' (f32 or i32)");
    if (!dt->is_string() || (*dt != "f32" && *dt != "i32"))
      return failAt(where + ".dtype", "param '" + pname +
                                          "' must have dtype f32 or i32");
    auto dflt = p.find("default");
    if (dflt == p.end())
      return failAt(where, "param '" + pname + "' needs a 'default'");
    TypedAttr value;
    if (*dt == "f32") {
      if (!dflt->is_number())
        return failAt(where + ".default", "default of f32 param '" + pname +
                                              "' must be a number");
      value = b.getF32FloatAttr(static_cast<float>(dflt->get<double>()));
      params[pname] = b.getF32Type();
    } else {
      if (!dflt->is_number_integer())
        return failAt(where + ".default", "default of i32 param '" + pname +
                                              "' must be an integer");
      int64_t v = dflt->get<int64_t>();
      if (v < std::numeric_limits<int32_t>::min() ||
          v > std::numeric_limits<int32_t>::max())
        return failAt(where + ".default", "default of i32 param '" + pname +
                                              "' does not fit in 32 bits");
      value = b.getI32IntegerAttr(static_cast<int32_t>(v));
      params[pname] = b.getI32Type();
    }
    dyn::ParamDefOp::create(b, NameLoc::get(b.getStringAttr(pname)), pname, value);
  }
  return success();
}

LogicalResult JsonImporter::runImpl(OwningOpRef<ModuleOp> &module) {
  if (failed(parseJson()))
    return failure();
  if (!model.is_object()) {
    return fail("the model must be a JSON object");
  }
  if (failed(checkKeys(model, "(top level)",
                       {"format", "version", "name", "weights", "dims", "inputs",
                        "params", "outputs", "nodes", "metadata"})))
    return failure();
  auto format = model.find("format");
  if (format == model.end() || *format != "dync-model") {
    return failAt("format", "expected \"dync-model\"");
  }
  auto version = model.find("version");
  if (version == model.end() || !version->is_number_integer() || *version != 1) {
    return failAt("version", "unsupported format version " +
                                 (version == model.end() ? std::string("(missing)")
                                                         : version->dump()) +
                                 "; this dync reads version 1");
  }
  for (const char *key : {"name", "weights"}) {
    auto it = model.find(key);
    if (it == model.end() || !it->is_string()) {
      return failAt(key, "a string is required");
    }
  }
  for (const char *key : {"inputs", "outputs", "nodes"}) {
    auto it = model.find(key);
    if (it == model.end() || !it->is_array()) {
      return failAt(key, "an array is required");
    }
  }

  // The weights file is resolved relative to the model file.
  std::string weightsName = model["weights"].get<std::string>();
  SmallString<256> weightsPath(weightsName);
  if (!llvm::sys::path::is_absolute(weightsPath)) {
    weightsPath = llvm::sys::path::parent_path(path);
    llvm::sys::path::append(weightsPath, weightsName);
  }
  std::string stError;
  weightsFile = safetensors::File::open(weightsPath.str().str(), stError);
  if (!weightsFile) {
    return fail(stError);
  }
  g.weightsFile = weightsFile.get();

  if (failed(importDims()))
    return failure();

  OpBuilder b(&ctx);
  // Whole-model diagnostics (e.g. the memory budget) name the model file.
  Location modelLoc = FileLineColLoc::get(&ctx, path, 0, 0);
  module = ModuleOp::create(modelLoc);
  module->getOperation()->setAttr(mlir::dyn::attrs::kModel, b.getStringAttr(model["name"].get<std::string>()));
  module->getOperation()->setAttr(mlir::dyn::attrs::kWeights, b.getStringAttr(weightsName));
  // The resolved location, for a compiled model to find its weights by default.
  SmallString<256> absolute(weightsPath);
  llvm::sys::fs::make_absolute(absolute);
  module->getOperation()->setAttr(mlir::dyn::attrs::kWeightsPath, b.getStringAttr(absolute));
  b.setInsertionPointToEnd(module->getBody());
  if (failed(importParams(b)))
    return failure();

  // Function signature.
  Scope top{{}, false, "nodes", {}};
  const json &inputs = model["inputs"];
  std::vector<EntryInput> entryInputs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string where = "inputs[" + std::to_string(i) + "]";
    const json &in = inputs[i];
    if (!in.is_object()) {
      return failAt(where, "must be {\"name\", \"dtype\", \"shape\"}");
    }
    if (failed(checkKeys(in, where, {"name", "dtype", "shape"})))
      return failure();
    auto name = in.find("name");
    if (name == in.end() || !name->is_string()) {
      return failAt(where, "needs a string 'name'");
    }
    auto dt = in.find("dtype");
    auto sh = in.find("shape");
    if (dt == in.end() || sh == in.end()) {
      return failAt(where, "needs 'dtype' and 'shape'");
    }
    FailureOr<Type> elt = parseDType(*dt, where + ".dtype");
    if (failed(elt))
      return failure();
    FailureOr<Shape> shape = parseShape(*sh, where + ".shape");
    if (failed(shape))
      return failure();
    std::string n = name->get<std::string>();
    if (llvm::any_of(entryInputs, [&](const EntryInput &e) { return e.name == n; })) {
      return failAt(where, "duplicate value name '" + n + "'");
    }
    entryInputs.push_back(EntryInput{n, *shape, *elt});
  }

  SmallVector<TValue> args;
  func::FuncOp func = g.createEntry(b, modelLoc, entryInputs, args);
  for (size_t i = 0; i < args.size(); ++i)
    top.values[entryInputs[i].name] = args[i];
  OpBuilder body = OpBuilder::atBlockEnd(&func.getBody().front());

  if (failed(importNodes(model["nodes"], top, body)))
    return failure();

  const json &outputs = model["outputs"];
  SmallVector<std::pair<std::string, Value>> results;
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string where = "outputs[" + std::to_string(i) + "]";
    if (!outputs[i].is_string()) {
      return failAt(where, "must be a value name");
    }
    std::string n = outputs[i].get<std::string>();
    auto it = top.values.find(n);
    if (it == top.values.end()) {
      return failAt(where, "output '" + n + "' is not defined by any node or input");
    }
    results.emplace_back(n, it->second.v);
  }
  if (results.empty()) {
    return failAt("outputs", "a model needs at least one output");
  }
  g.finishEntry(func, modelLoc, results);
  if (failed(g.finishModule(*module)))
    return failure();
  return success();
}

OwningOpRef<ModuleOp> JsonImporter::run() {
  OwningOpRef<ModuleOp> module;
  if (failed(runImpl(module)))
    return nullptr;
  return module;
}

//===----------------------------------------------------------------------===//
// Graphs
//===----------------------------------------------------------------------===//

LogicalResult JsonImporter::collectDefs(const json &nodes, Scope &scope) {
  for (size_t i = 0; i < nodes.size(); ++i) {
    const json &n = nodes[i];
    if (!n.is_object())
      continue;
    auto outs = n.find("outputs");
    auto name = n.find("name");
    if (outs == n.end() || !outs->is_array() || name == n.end() || !name->is_string())
      continue;
    for (const json &o : *outs)
      if (o.is_string())
        scope.laterDefs.try_emplace(o.get<std::string>(), name->get<std::string>());
  }
  return success();
}

LogicalResult JsonImporter::importNodes(const json &nodes, Scope &scope,
                                    OpBuilder &b) {
  if (!nodes.is_array())
    return failAt(scope.path, "'nodes' must be an array");
  (void)collectDefs(nodes, scope);
  for (size_t i = 0; i < nodes.size(); ++i)
    if (failed(importNode(nodes[i], i, scope, b)))
      return failure();
  return success();
}

LogicalResult JsonImporter::importNode(const json &j, size_t index, Scope &scope,
                                   OpBuilder &ob) {
  std::string where = scope.path + "[" + std::to_string(index) + "]";
  if (!j.is_object())
    return failAt(where, "a node must be an object");
  if (failed(checkKeys(j, where, {"name", "op", "inputs", "outputs", "attrs",
                                  "weights", "subgraphs"})))
    return failure();
  auto name = j.find("name");
  if (name == j.end() || !name->is_string() || name->get_ref<const std::string &>().empty())
    return failAt(where, "a node needs a non-empty string 'name'");
  // The node's location: its name, around its JSON path in the model file.
  Location fileLoc = FileLineColLoc::get(&ctx, path, 0, 0);
  Location pathLoc = NameLoc::get(StringAttr::get(&ctx, where), fileLoc);
  JsonNodeView n(*this, j, NameLoc::get(StringAttr::get(&ctx, name->get<std::string>()), pathLoc),
                 scope);
  n.name = name->get<std::string>();
  n.path = where;
  n.live = scope.live;
  if (!nodeNames.insert(n.name).second)
    return failAt(where, "duplicate node name '" + n.name + "'");
  auto op = j.find("op");
  if (op == j.end() || !op->is_string())
    return failAt(where, "node '" + n.name + "' needs a string 'op'");
  n.op = op->get<std::string>();
  const OpEntry *entry = GraphBuilder::lookupOp(n.op);
  if (!entry)
    return failAt(where, "node '" + n.name + "': unknown op '" + n.op + "'");
  const OpSpec &spec = entry->spec;

  // Inputs.
  auto ins = j.find("inputs");
  if (ins == j.end() || !ins->is_array())
    return failNode(n, "needs an 'inputs' array");
  int numIn = static_cast<int>(ins->size());
  if (numIn < spec.minInputs || (spec.maxInputs >= 0 && numIn > spec.maxInputs)) {
    std::string expect = spec.minInputs == spec.maxInputs
                             ? std::to_string(spec.minInputs)
                         : spec.maxInputs < 0
                             ? "at least " + std::to_string(spec.minInputs)
                             : std::to_string(spec.minInputs) + " to " +
                                   std::to_string(spec.maxInputs);
    return failNode(n, llvm::formatv("takes {0} input(s), got {1}", expect, numIn));
  }
  for (const json &in : *ins) {
    if (!in.is_string())
      return failNode(n, "input names must be strings");
    std::string iname = in.get<std::string>();
    auto it = scope.values.find(iname);
    if (it == scope.values.end()) {
      auto later = scope.laterDefs.find(iname);
      if (later != scope.laterDefs.end())
        return failNode(n, "input '" + iname + "' is produced by node '" +
                               later->second +
                               "', which comes later: nodes must be in "
                               "topological order (is there a cycle?)");
      return failNode(n, "input '" + iname + "' is not defined" +
                             (scope.path == "nodes"
                                  ? std::string()
                                  : " in this subgraph (subgraphs see only "
                                    "their own inputs)"));
    }
    n.inputs.push_back(it->second);
  }

  // Outputs.
  auto outs = j.find("outputs");
  if (outs == j.end() || !outs->is_array())
    return failNode(n, "needs an 'outputs' array");
  int numOut = static_cast<int>(outs->size());
  if (numOut < spec.minOutputs || (spec.maxOutputs >= 0 && numOut > spec.maxOutputs))
    return failNode(n, llvm::formatv("produces {0}{1} output(s), got {2}",
                                     spec.minOutputs == spec.maxOutputs ? "" : "up to ",
                                     spec.maxOutputs < 0 ? spec.minOutputs : spec.maxOutputs,
                                     numOut));
  for (const json &o : *outs) {
    if (!o.is_string() || o.get_ref<const std::string &>().empty())
      return failNode(n, "output names must be non-empty strings");
    if (scope.values.count(o.get<std::string>()))
      return failNode(n, "value '" + o.get<std::string>() +
                             "' is already defined (every value is named once)");
  }
  n.numOutputs = static_cast<size_t>(numOut);

  // Attributes, weights and subgraphs against the table.
  auto checkObject = [&](const char *key, const json *&slot,
                         const std::vector<std::pair<const char *, bool>> &allowed,
                         StringRef kind) -> LogicalResult {
    auto it = j.find(key);
    if (it != j.end()) {
      if (!it->is_object())
        return failNode(n, "'" + Twine(key) + "' must be an object");
      slot = &*it;
      for (auto e = it->begin(); e != it->end(); ++e)
        if (llvm::none_of(allowed, [&](auto &p) { return e.key() == p.first; }))
          return failNode(n, "unknown " + kind + " '" + e.key() + "'");
    }
    for (auto &[aname, required] : allowed)
      if (required && (!slot || !slot->contains(aname)))
        return failNode(n, "missing required " + kind + " '" + aname + "'");
    return success();
  };
  if (failed(checkObject("attrs", n.attrs, spec.attrs, "attribute")) ||
      failed(checkObject("weights", n.weights, spec.weights, "weight slot")) ||
      failed(checkObject("subgraphs", n.subgraphs, spec.subgraphs, "subgraph")))
    return failure();

  ImplicitLocOpBuilder b(n.loc, ob);
  FailureOr<SmallVector<TValue>> results = g.emit(n, b);
  if (failed(results))
    return failure();
  for (size_t i = 0; i < n.numOutputs; ++i)
    scope.values[(*outs)[i].get<std::string>()] = (*results)[i];
  return success();
}

FailureOr<SmallVector<TValue>>
JsonImporter::importSubgraph(const NodeView &n, const std::string &name, const json &sg,
                             ArrayRef<TValue> args, bool live, OpBuilder &b) {
  std::string where = n.path + ".subgraphs." + name;
  if (!sg.is_object())
    return failNode(n, "subgraph '" + name + "' must be {\"inputs\", \"nodes\", \"outputs\"}");
  if (failed(checkKeys(sg, where, {"inputs", "nodes", "outputs"})))
    return failure();
  auto ins = sg.find("inputs"), nodes = sg.find("nodes"), outs = sg.find("outputs");
  if (ins == sg.end() || !ins->is_array() || nodes == sg.end() ||
      !nodes->is_array() || outs == sg.end() || !outs->is_array())
    return failNode(n, "subgraph '" + name +
                           "' needs arrays 'inputs', 'nodes' and 'outputs'");
  if (ins->size() != args.size())
    return failNode(n, llvm::formatv("subgraph '{0}' must take {1} input(s), it declares {2}",
                                     name, args.size(), ins->size()));
  Scope scope{{}, live, where + ".nodes", {}};
  for (size_t i = 0; i < args.size(); ++i) {
    if (!(*ins)[i].is_string())
      return failNode(n, "subgraph '" + name + "': input names must be strings");
    std::string in = (*ins)[i].get<std::string>();
    if (scope.values.count(in))
      return failNode(n, "subgraph '" + name + "': duplicate input name '" + in + "'");
    scope.values[in] = args[i];
  }
  if (failed(importNodes(*nodes, scope, b)))
    return failure();
  SmallVector<TValue> results;
  for (const json &o : *outs) {
    if (!o.is_string())
      return failNode(n, "subgraph '" + name + "': output names must be strings");
    auto it = scope.values.find(o.get<std::string>());
    if (it == scope.values.end())
      return failNode(n, "subgraph '" + name + "': output '" + o.get<std::string>() +
                             "' is not defined in the subgraph");
    results.push_back(it->second);
  }
  return results;
}

} // namespace dync::import

namespace dync {

OwningOpRef<ModuleOp> importModel(MLIRContext &context, StringRef path,
                                  ImportDiagnostics &diags) {
  DialectRegistry registry;
  registerImportDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  JsonImporter importer(context, path, diags);
  return importer.run();
}

} // namespace dync
