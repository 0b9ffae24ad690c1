//===- OnnxImporter.cpp - the ONNX front end -----------------------------===//
//
// Model, graph, initializers, inputs and outputs; the node translations are
// in OnnxOps.cpp.
//
//===----------------------------------------------------------------------===//

#include "OnnxImporter.h"

#include "dync/Dialect/Dyn/DynAttrNames.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <cstring>
#include <fstream>
#include <set>

using namespace mlir;

namespace dync::import {

namespace {
/// ONNX's IR names float16/bfloat16 bits; converted to f32 at import.
float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while (!(man & 0x400));
      bits = sign | uint32_t(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
float bf16ToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
} // namespace

std::optional<Type> OnnxImporter::elementType(int32_t t, MLIRContext &ctx) {
  Builder b(&ctx);
  switch (t) {
  case onnx::TensorProto::FLOAT: return b.getF32Type();
  case onnx::TensorProto::FLOAT16: return b.getF16Type();
  case onnx::TensorProto::BFLOAT16: return b.getBF16Type();
  case onnx::TensorProto::INT32: return b.getI32Type();
  case onnx::TensorProto::INT64: return b.getI64Type();
  case onnx::TensorProto::BOOL: return b.getI1Type();
  default: return std::nullopt;
  }
}

LogicalResult OnnxImporter::readTensor(const onnx::TensorProto &t, const std::string &where) {
  std::vector<int64_t> shape(t.dims().begin(), t.dims().end());
  uint64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && count > (uint64_t(1) << 40) / uint64_t(d)))
      return g.failAt(where, "tensor '" + t.name() + "' has an invalid shape");
    count *= uint64_t(d);
  }
  // The bytes: inline (raw_data), in the typed fields, or external.
  std::string raw;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    uint64_t offset = 0, length = 0;
    bool hasLength = false;
    for (const auto &kv : t.external_data()) {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset")
        offset = std::strtoull(kv.value().c_str(), nullptr, 10);
      else if (kv.key() == "length") {
        length = std::strtoull(kv.value().c_str(), nullptr, 10);
        hasLength = true;
      }
    }
    SmallString<256> file(llvm::sys::path::parent_path(path));
    llvm::sys::path::append(file, location);
    std::ifstream in(file.str().str(), std::ios::binary);
    if (location.empty() || !in)
      return g.failAt(where, "tensor '" + t.name() + "': cannot read its external data '" +
                                 file.str() + "'");
    in.seekg(0, std::ios::end);
    uint64_t size = uint64_t(in.tellg());
    if (!hasLength)
      length = size > offset ? size - offset : 0;
    if (offset > size || length > size - offset)
      return g.failAt(where, "tensor '" + t.name() + "': its external data runs past the end of '" +
                                 file.str() + "'");
    raw.resize(length);
    in.seekg(std::streamoff(offset));
    in.read(raw.data(), std::streamsize(length));
  } else if (t.has_raw_data()) {
    raw = t.raw_data();
  }
  auto need = [&](uint64_t elemSize) -> LogicalResult {
    if (!raw.empty() && raw.size() != count * elemSize)
      return g.failAt(where, llvm::formatv("tensor '{0}' holds {1} bytes, but its shape needs {2}",
                                           t.name(), raw.size(), count * elemSize)
                                 .str());
    return success();
  };
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
  case onnx::TensorProto::DOUBLE: {
    FloatConst c{shape, std::vector<float>(count)};
    int32_t type = t.data_type();
    uint64_t size = type == onnx::TensorProto::DOUBLE  ? 8
                    : type == onnx::TensorProto::FLOAT ? 4
                                                       : 2;
    if (failed(need(size)))
      return failure();
    for (uint64_t i = 0; i < count; ++i) {
      if (!raw.empty()) {
        const char *p = raw.data() + i * size;
        if (size == 4) {
          std::memcpy(&c.data[i], p, 4);
        } else if (size == 8) {
          double d;
          std::memcpy(&d, p, 8);
          c.data[i] = float(d);
        } else {
          uint16_t h;
          std::memcpy(&h, p, 2);
          c.data[i] = type == onnx::TensorProto::FLOAT16 ? halfToFloat(h) : bf16ToFloat(h);
        }
      } else if (type == onnx::TensorProto::FLOAT && int64_t(i) < t.float_data_size()) {
        c.data[i] = t.float_data(int(i));
      } else if (type == onnx::TensorProto::DOUBLE && int64_t(i) < t.double_data_size()) {
        c.data[i] = float(t.double_data(int(i)));
      } else if (int64_t(i) < t.int32_data_size()) { // f16/bf16 bits
        uint16_t h = uint16_t(t.int32_data(int(i)));
        c.data[i] = type == onnx::TensorProto::FLOAT16 ? halfToFloat(h) : bf16ToFloat(h);
      } else {
        return g.failAt(where, "tensor '" + t.name() + "' has fewer values than its shape needs");
      }
    }
    floatConsts[t.name()] = std::move(c);
    OnnxValue v;
    v.isFloatConst = true;
    values[t.name()] = std::move(v);
    return success();
  }
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::BOOL: {
    if (count > 4096)
      return g.failAt(where, "integer tensor '" + t.name() +
                                 "' is too large for a constant (only shapes, axes and "
                                 "indices of up to 4096 elements are supported)");
    int32_t type = t.data_type();
    uint64_t size = type == onnx::TensorProto::INT64 ? 8 : type == onnx::TensorProto::INT32 ? 4 : 1;
    if (failed(need(size)))
      return failure();
    SmallVector<Dim> ints;
    for (uint64_t i = 0; i < count; ++i) {
      int64_t x = 0;
      if (!raw.empty()) {
        const char *p = raw.data() + i * size;
        if (size == 8) {
          std::memcpy(&x, p, 8);
        } else if (size == 4) {
          int32_t y;
          std::memcpy(&y, p, 4);
          x = y;
        } else {
          x = *p != 0;
        }
      } else if (type == onnx::TensorProto::INT64 && int64_t(i) < t.int64_data_size()) {
        x = t.int64_data(int(i));
      } else if (type != onnx::TensorProto::INT64 && int64_t(i) < t.int32_data_size()) {
        x = t.int32_data(int(i));
      } else {
        return g.failAt(where, "tensor '" + t.name() + "' has fewer values than its shape needs");
      }
      ints.push_back(Dim::of(x));
    }
    OnnxValue v;
    v.ints = std::move(ints);
    v.scalar = shape.empty();
    if (shape.size() >= 2)
      v.intsShape.assign(shape.begin(), shape.end());
    v.intsBits = unsigned(size == 1 ? 1 : size * 8);
    values[t.name()] = std::move(v);
    return success();
  }
  default:
    return g.failAt(where, "tensor '" + t.name() + "' has an unsupported data type (" +
                               onnx::TensorProto::DataType_Name(
                                   onnx::TensorProto::DataType(t.data_type())) +
                               ")");
  }
}

namespace {
/// Every node of `graph` and of the graphs nested in its nodes (If
/// branches), with its path.
void forEachNode(const onnx::GraphProto &graph, const std::string &path,
                 llvm::function_ref<void(const onnx::NodeProto &, const std::string &)> fn) {
  for (int i = 0; i < graph.node_size(); ++i) {
    std::string where = path + ".node[" + std::to_string(i) + "]";
    fn(graph.node(i), where);
    for (const onnx::AttributeProto &a : graph.node(i).attribute())
      if (a.type() == onnx::AttributeProto::GRAPH)
        forEachNode(a.g(), where + "." + a.name(), fn);
  }
}
} // namespace

LogicalResult OnnxImporter::readConstants(const onnx::GraphProto &graph) {
  for (int i = 0; i < graph.initializer_size(); ++i)
    if (failed(readTensor(graph.initializer(i), "graph.initializer[" + std::to_string(i) + "]")))
      return failure();
  std::vector<std::pair<const onnx::NodeProto *, std::string>> constants;
  forEachNode(graph, "graph", [&](const onnx::NodeProto &node, const std::string &where) {
    if (node.op_type() == "Constant" && node.output_size() == 1)
      constants.emplace_back(&node, where);
  });
  for (auto &[nodePtr, where] : constants) {
    const onnx::NodeProto &node = *nodePtr;
    if (const onnx::AttributeProto *a = attr(node, "value")) {
      onnx::TensorProto t = a->t();
      t.set_name(node.output(0));
      if (failed(readTensor(t, where)))
        return failure();
    } else if (const onnx::AttributeProto *a = attr(node, "value_float")) {
      floatConsts[node.output(0)] = FloatConst{{}, {a->f()}};
      values[node.output(0)].isFloatConst = true;
    } else if (const onnx::AttributeProto *a = attr(node, "value_floats")) {
      floatConsts[node.output(0)] =
          FloatConst{{a->floats_size()}, std::vector<float>(a->floats().begin(), a->floats().end())};
      values[node.output(0)].isFloatConst = true;
    } else if (const onnx::AttributeProto *a = attr(node, "value_int")) {
      OnnxValue v;
      v.ints = SmallVector<Dim>{Dim::of(a->i())};
      v.scalar = true;
      values[node.output(0)] = std::move(v);
    } else if (const onnx::AttributeProto *a = attr(node, "value_ints")) {
      OnnxValue v;
      v.ints.emplace();
      for (int64_t x : a->ints())
        v.ints->push_back(Dim::of(x));
      values[node.output(0)] = std::move(v);
    } else {
      return g.failAt(where, "the Constant node producing '" + node.output(0) +
                                 "' has no value attribute dync supports (value, value_float(s), "
                                 "value_int(s))");
    }
  }
  // Identity of a constant names the same constant.
  for (const onnx::NodeProto &node : graph.node())
    if (node.op_type() == "Identity" && node.input_size() == 1 && node.output_size() == 1 &&
        floatConsts.count(canonical(node.input(0)))) {
      aliases[node.output(0)] = canonical(node.input(0));
      values[node.output(0)].isFloatConst = true;
    }
  // Transposed copies of 2-D float constants that MatMul (and Gemm without
  // transB) multiply by: the linear kernel takes its weight as [out, in].
  // A constant used only that way is written only transposed.
  std::map<std::string, int> otherUses;
  forEachNode(graph, "graph", [&](const onnx::NodeProto &node, const std::string &) {
    for (int i = 0; i < node.input_size(); ++i) {
      bool asWeight = i == 1 && (node.op_type() == "MatMul" ||
                                 (node.op_type() == "Gemm" && intAttr(node, "transB", 0) == 0));
      if (!asWeight && node.op_type() != "Identity")
        ++otherUses[canonical(node.input(i))];
    }
    // A branch's outputs may be outer constants.
    for (const onnx::AttributeProto &a : node.attribute())
      if (a.type() == onnx::AttributeProto::GRAPH)
        for (const onnx::ValueInfoProto &out : a.g().output())
          ++otherUses[canonical(out.name())];
  });
  for (const onnx::ValueInfoProto &out : graph.output())
    ++otherUses[canonical(out.name())];
  for (const onnx::NodeProto &node : graph.node()) {
    bool wantsT = node.op_type() == "MatMul" ||
                  (node.op_type() == "Gemm" && intAttr(node, "transB", 0) == 0);
    if (!wantsT || node.input_size() < 2)
      continue;
    const std::string &orig = canonical(node.input(1));
    auto it = floatConsts.find(orig);
    std::string name = orig + ".T";
    if (it == floatConsts.end() || it->second.shape.size() != 2 || floatConsts.count(name) ||
        it->second.data.size() <= 16)
      continue;
    int64_t r = it->second.shape[0], c = it->second.shape[1];
    FloatConst t{{c, r}, std::vector<float>(it->second.data.size())};
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j)
        t.data[j * r + i] = it->second.data[i * c + j];
    floatConsts[name] = std::move(t);
    if (!otherUses.count(orig))
      floatConsts.erase(orig);
  }
  return success();
}

std::string OnnxImporter::transposedWeight(const std::string &name) const {
  std::string t = canonical(name) + ".T";
  return floatConsts.count(t) ? t : std::string();
}

LogicalResult OnnxImporter::writeWeights() {
  std::vector<safetensors::OutTensor> out;
  for (auto &[name, c] : floatConsts)
    out.push_back({name, safetensors::DType::F32, c.shape, c.data.data()});
  std::string error;
  if (!safetensors::write(options.weightsPath, out, error))
    return g.fail(error);
  weightsFile = safetensors::File::open(options.weightsPath, error);
  if (!weightsFile)
    return g.fail(error);
  g.weightsFile = weightsFile.get();
  return success();
}

LogicalResult OnnxImporter::checkSupported(const onnx::GraphProto &graph) {
  // Every unsupported op type, with the nodes that use it, in one message.
  std::map<std::string, std::vector<std::string>> unsupported;
  const auto &table = translations();
  forEachNode(graph, "graph", [&](const onnx::NodeProto &node, const std::string &where) {
    std::string type = node.domain().empty() || node.domain() == "ai.onnx"
                           ? node.op_type()
                           : node.domain() + "." + node.op_type();
    if (type == "Constant" || table.count(type))
      return;
    unsupported[type].push_back(node.name().empty() ? where : "'" + node.name() + "'");
  });
  if (unsupported.empty())
    return success();
  std::string msg = "unsupported ONNX op(s): ";
  bool first = true;
  for (auto &[type, nodes] : unsupported) {
    msg += (first ? "" : "; ") + type + " (node" + (nodes.size() > 1 ? "s " : " ");
    for (size_t k = 0; k < nodes.size() && k < 4; ++k)
      msg += (k ? ", " : "") + nodes[k];
    if (nodes.size() > 4)
      msg += llvm::formatv(" and {0} more", nodes.size() - 4).str();
    msg += ")";
    first = false;
  }
  return g.fail(msg);
}

LogicalResult OnnxImporter::importInputs(const onnx::GraphProto &graph,
                                         std::vector<EntryInput> &inputs) {
  std::set<std::string> initializers;
  for (const onnx::TensorProto &t : graph.initializer())
    initializers.insert(t.name());
  std::map<std::string, std::pair<int64_t, int64_t>> given(options.dims.begin(), options.dims.end());
  for (int i = 0; i < graph.input_size(); ++i) {
    const onnx::ValueInfoProto &in = graph.input(i);
    // Before IR version 4 initializers were listed among the inputs.
    if (initializers.count(in.name()))
      continue;
    std::string where = "graph.input[" + std::to_string(i) + "] '" + in.name() + "'";
    if (!in.type().has_tensor_type())
      return g.fail("input " + where + " is not a tensor (sequences and maps are not supported)");
    const onnx::TypeProto::Tensor &tt = in.type().tensor_type();
    std::optional<Type> elt = elementType(tt.elem_type(), ctx);
    if (!elt)
      return g.fail("input " + where + " has an unsupported element type (" +
                    onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(tt.elem_type())) +
                    ")");
    if (!tt.has_shape())
      return g.fail("input " + where + " has no shape (its rank must be known)");
    Shape shape;
    for (int k = 0; k < tt.shape().dim_size(); ++k) {
      const auto &d = tt.shape().dim(k);
      if (d.has_dim_value() && d.dim_value() > 0) {
        shape.push_back(Dim::of(d.dim_value()));
        continue;
      }
      if (d.has_dim_value())
        return g.fail("input " + where + " has size " + std::to_string(d.dim_value()) +
                      " in dim " + std::to_string(k));
      // An unnamed dynamic dim gets a name of its own.
      std::string name = d.dim_param().empty() ? in.name() + "." + std::to_string(k) : d.dim_param();
      if (!g.dims.count(name)) {
        auto it = given.find(name);
        g.dims[name] = it != given.end() ? it->second
                                         : std::make_pair(int64_t(1), OnnxImportOptions::kDefaultMax);
      }
      shape.push_back(Dim::named(name));
    }
    inputs.push_back(EntryInput{in.name(), shape, *elt});
  }
  for (auto &[name, bounds] : given)
    if (!g.dims.count(name))
      return g.fail("--dim " + name + ": the model has no dim of that name (its inputs' dims: " +
                    [&] {
                      std::string all;
                      for (auto &d : g.dims)
                        all += (all.empty() ? "" : ", ") + d.getKey().str();
                      return all.empty() ? std::string("none") : all;
                    }() +
                    ")");
  return success();
}

LogicalResult OnnxImporter::importNode(const onnx::NodeProto &node, const std::string &where,
                                       OpBuilder &ob) {
  // An unnamed node is called after its op and index (`Add_3`).
  StringRef index = StringRef(where).rsplit('[').second.drop_back();
  std::string name = node.name().empty() ? node.op_type() + "_" + index.str() : node.name();
  Location fileLoc = FileLineColLoc::get(&ctx, path, 0, 0);
  Location loc = NameLoc::get(StringAttr::get(&ctx, name),
                              NameLoc::get(StringAttr::get(&ctx, where), fileLoc));
  OnnxNodeView n(*this, loc);
  n.proto = &node;
  n.name = name;
  n.path = where;
  n.op = node.op_type();
  n.sourceOp = node.op_type();
  n.numOutputs = size_t(node.output_size());
  n.live = importingLive;
  for (const std::string &out : node.output())
    if (!out.empty())
      producers[out] = &node;
  if (node.op_type() == "Constant")
    return success();
  for (int i = 0; i < node.input_size(); ++i)
    if (!node.input(i).empty() && !values.count(node.input(i)))
      return failNode(n, "input '" + node.input(i) + "' is not defined before this node");
  // The translations read the inputs and outputs the op requires by
  // position: check there are that many first.
  static const std::map<std::string, int> minInputs = {
      {"Add", 2}, {"Sub", 2}, {"Mul", 2}, {"Div", 2}, {"Pow", 2}, {"Equal", 2}, {"Greater", 2},
      {"Less", 2}, {"Where", 3}, {"MatMul", 2}, {"Gemm", 2}, {"LayerNormalization", 2},
      {"Reshape", 2}, {"Slice", 3}, {"Gather", 2}, {"Range", 3}, {"TopK", 2}, {"Expand", 2},
      {"Conv", 2}, {"BatchNormalization", 5}, {"SequenceInsert", 2}, {"SequenceAt", 2},
      {"SequenceEmpty", 0}, {"SequenceConstruct", 0}};
  auto need = minInputs.find(node.op_type());
  int wantIn = need == minInputs.end() ? 1 : need->second;
  if (node.input_size() < wantIn)
    return failNode(n, llvm::formatv("needs {0} input(s), has {1}", wantIn, node.input_size()).str());
  if (node.output_size() < 1 || node.output(0).empty())
    return failNode(n, "needs an output");
  ImplicitLocOpBuilder b(loc, ob);
  if (auto raised = raisedMoes.find(node.output(0));
      raised != raisedMoes.end() && zerosFitRaisedMoe(raised->second))
    return translateRaisedMoe(n, node, raised->second, b);
  Translate t = translations().at(node.domain().empty() || node.domain() == "ai.onnx"
                                      ? node.op_type()
                                      : node.domain() + "." + node.op_type());
  return (this->*t)(n, node, b);
}

LogicalResult OnnxImporter::runImpl(OwningOpRef<ModuleOp> &module) {
  {
    std::ifstream in(path, std::ios::binary);
    if (!in)
      return g.fail("cannot read model: " + std::string(std::strerror(errno)));
    if (!model.ParseFromIstream(&in))
      return g.fail("not a valid ONNX model (the protobuf does not parse)");
  }
  for (const onnx::OperatorSetIdProto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      opset = o.version();
  if (opset < 13 || opset > 21)
    return g.fail("opset " + std::to_string(opset) + " is not supported (dync reads opsets 13 to 21; "
                  "re-export with opset_version between 13 and 21)");
  const onnx::GraphProto &graph = model.graph();
  if (failed(checkSupported(graph)) || failed(readConstants(graph)) || failed(raiseMoes(graph)) ||
      failed(writeWeights()))
    return failure();
  std::vector<EntryInput> inputs;
  if (failed(importInputs(graph, inputs)))
    return failure();
  if (graph.output_size() == 0)
    return g.fail("the graph has no outputs");

  Location modelLoc = FileLineColLoc::get(&ctx, path, 0, 0);
  module = ModuleOp::create(modelLoc);
  moduleOp = *module;
  OpBuilder b(&ctx);
  std::string modelName = graph.name().empty() ? llvm::sys::path::stem(path).str() : graph.name();
  module->getOperation()->setAttr(mlir::dyn::attrs::kModel, b.getStringAttr(modelName));
  module->getOperation()->setAttr(mlir::dyn::attrs::kWeights,
                                  b.getStringAttr(llvm::sys::path::filename(options.weightsPath)));
  SmallString<256> absolute(options.weightsPath);
  llvm::sys::fs::make_absolute(absolute);
  module->getOperation()->setAttr(mlir::dyn::attrs::kWeightsPath, b.getStringAttr(absolute));
  b.setInsertionPointToEnd(module->getBody());
  SmallVector<TValue> args;
  func::FuncOp func = g.createEntry(b, modelLoc, inputs, args);
  for (size_t i = 0; i < args.size(); ++i)
    values[inputs[i].name].tensor = args[i];
  if (!args.empty())
    anyTensor = args[0];
  OpBuilder body = OpBuilder::atBlockEnd(&func.getBody().front());
  for (int i = 0; i < graph.node_size(); ++i)
    if (failed(importNode(graph.node(i), "graph.node[" + std::to_string(i) + "]", body)))
      return failure();

  SmallVector<std::pair<std::string, Value>> results;
  for (int i = 0; i < graph.output_size(); ++i) {
    const std::string &name = graph.output(i).name();
    auto it = values.find(name);
    if (it == values.end())
      return g.fail("graph output '" + name + "' is not produced by any node");
    if (!it->second.tensor) {
      // A constant or a shape as an output: materialize it.
      OnnxNodeView n(*this, modelLoc);
      n.name = name;
      n.path = "graph.output[" + std::to_string(i) + "]";
      n.op = "output";
      onnx::NodeProto fake;
      fake.add_input(name);
      ImplicitLocOpBuilder ib(modelLoc, body);
      FailureOr<TValue> t = tensorInput(n, fake, 0, ib);
      if (failed(t))
        return failure();
      it->second.tensor = *t;
    }
    results.emplace_back(name, it->second.tensor->v);
  }
  g.finishEntry(func, modelLoc, results);
  return g.finishModule(*module);
}

OwningOpRef<ModuleOp> OnnxImporter::run() {
  OwningOpRef<ModuleOp> module;
  if (failed(runImpl(module)))
    return nullptr;
  return module;
}

//===----------------------------------------------------------------------===//
// OnnxNodeView: the attributes the translation set.
//===----------------------------------------------------------------------===//

/// `Op(inputs) -> (outputs) {attributes}`, the node as ONNX has it (graph
/// attributes, tensors and long lists elided).
std::string OnnxNodeView::excerpt() const {
  if (!proto)
    return "";
  std::string s = proto->op_type() + "(";
  for (int i = 0; i < proto->input_size(); ++i)
    s += (i ? ", " : "") + proto->input(i);
  s += ") -> (";
  for (int i = 0; i < proto->output_size(); ++i)
    s += (i ? ", " : "") + proto->output(i);
  s += ")";
  for (int i = 0; i < proto->attribute_size(); ++i) {
    const onnx::AttributeProto &a = proto->attribute(i);
    s += (i ? ", " : " {") + a.name() + "=";
    switch (a.type()) {
    case onnx::AttributeProto::INT:
      s += std::to_string(a.i());
      break;
    case onnx::AttributeProto::FLOAT:
      s += llvm::formatv("{0}", a.f()).str();
      break;
    case onnx::AttributeProto::STRING:
      s += "'" + a.s() + "'";
      break;
    case onnx::AttributeProto::INTS: {
      s += "[";
      for (int k = 0; k < a.ints_size() && k < 8; ++k)
        s += (k ? ", " : "") + std::to_string(a.ints(k));
      s += a.ints_size() > 8 ? ", ...]" : "]";
      break;
    }
    default:
      s += "...";
    }
  }
  if (proto->attribute_size())
    s += "}";
  return shortened(s);
}

template <typename T>
FailureOr<T> OnnxNodeView::get(StringRef name, std::optional<T> dflt) {
  auto it = attrs.find(name.str());
  if (it == attrs.end()) {
    if (dflt)
      return *dflt;
    return importer.failNode(*this, "missing attribute '" + name + "'");
  }
  if (const T *v = std::get_if<T>(&it->second))
    return *v;
  importer.g.internalError = "ONNX translation set attribute '" + name.str() + "' of '" + op +
                             "' with the wrong type";
  return failure();
}

FailureOr<int64_t> OnnxNodeView::intAttr(StringRef name, std::optional<int64_t> dflt) {
  return get<int64_t>(name, dflt);
}
FailureOr<double> OnnxNodeView::floatAttr(StringRef name, std::optional<double> dflt) {
  return get<double>(name, dflt);
}
FailureOr<bool> OnnxNodeView::boolAttr(StringRef name, bool dflt) { return get<bool>(name, dflt); }
FailureOr<std::string> OnnxNodeView::stringAttr(StringRef name, ArrayRef<StringRef>,
                                                std::optional<StringRef> dflt) {
  return get<std::string>(name, dflt ? std::optional<std::string>(dflt->str()) : std::nullopt);
}
FailureOr<SmallVector<int64_t>> OnnxNodeView::intListAttr(StringRef name) {
  return get<SmallVector<int64_t>>(name, std::nullopt);
}
FailureOr<std::pair<int64_t, int64_t>> OnnxNodeView::pairAttr(StringRef name,
                                                              std::pair<int64_t, int64_t> dflt) {
  return get<std::pair<int64_t, int64_t>>(name, dflt);
}
FailureOr<SmallVector<ShapeEntry>> OnnxNodeView::shapeAttr(StringRef name) {
  return importer.failNode(*this, "reshape targets are resolved by the ONNX front end");
}
FailureOr<Type> OnnxNodeView::dtypeAttr(StringRef name) { return get<Type>(name, std::nullopt); }
FailureOr<Value> OnnxNodeView::scalarOrParamAttr(StringRef name, StringRef what, Type type,
                                                 ImplicitLocOpBuilder &b) {
  return importer.failNode(*this, "runtime parameters are not supported in ONNX models");
}
FailureOr<BlockSelection> OnnxNodeView::selectionAttr(StringRef, ImplicitLocOpBuilder &) {
  return importer.failNode(*this, "block selection is not supported in ONNX models");
}
FailureOr<std::string> OnnxNodeView::weightTensor(StringRef slot) {
  auto it = weights.find(slot.str());
  if (it == weights.end())
    return importer.failNode(*this, "missing weight '" + slot + "'");
  return it->second;
}
FailureOr<SmallVector<TValue>> OnnxNodeView::importSubgraph(StringRef role, ArrayRef<TValue> args,
                                                            bool, OpBuilder &b) {
  const onnx::GraphProto *graph = role == "then" ? thenBranch : role == "else" ? elseBranch : nullptr;
  if (!graph)
    return importer.failNode(*this, "subgraphs are not supported yet in ONNX models");
  return importer.importBranch(*this, *graph,
                               path + (role == "then" ? ".then_branch" : ".else_branch"), args, b);
}

FailureOr<SmallVector<TValue>> OnnxImporter::importBranch(OnnxNodeView &n,
                                                          const onnx::GraphProto &graph,
                                                          const std::string &where,
                                                          ArrayRef<TValue> args, OpBuilder &b) {
  // The branch is its own region (dyn.cond is isolated): outer tensors come
  // in as arguments, constants are built again inside.
  std::map<std::string, OnnxValue> outer = values;
  TValue outerAny = anyTensor;
  for (auto &[name, v] : values)
    if (v.isFloatConst || v.ints)
      v.tensor.reset();
  for (size_t i = 0; i < n.captures.size(); ++i)
    values[n.captures[i]].tensor = args[i];
  if (!args.empty())
    anyTensor = args[0];
  llvm::scope_exit restore([&] {
    values = std::move(outer);
    anyTensor = outerAny;
  });
  for (int i = 0; i < graph.node_size(); ++i)
    if (failed(importNode(graph.node(i), where + ".node[" + std::to_string(i) + "]", b)))
      return failure();
  SmallVector<TValue> results;
  for (const onnx::ValueInfoProto &out : graph.output()) {
    auto it = values.find(out.name());
    if (it == values.end())
      return failNode(n, "branch output '" + out.name() + "' is not produced in the branch");
    onnx::NodeProto ref;
    ref.add_input(out.name());
    ImplicitLocOpBuilder ib(n.loc, b);
    FailureOr<TValue> t = tensorInput(n, ref, 0, ib);
    if (failed(t))
      return failure();
    results.push_back(*t);
  }
  return results;
}
FailureOr<size_t> OnnxNodeView::numStages(bool) {
  return importer.failNode(*this, "early exits are not supported yet in ONNX models");
}

} // namespace dync::import

namespace dync {

OwningOpRef<ModuleOp> importOnnxModel(MLIRContext &context, StringRef path,
                                      const OnnxImportOptions &options, ImportDiagnostics &diags) {
  DialectRegistry registry;
  registerImportDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  import::OnnxImporter importer(context, path, options, diags);
  return importer.run();
}

} // namespace dync
