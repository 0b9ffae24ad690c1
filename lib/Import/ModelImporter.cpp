//===- ModelImporter.cpp - dync model format (JSON + safetensors) ---------===//
//
// The importer validates as it builds: every node is checked against a table
// of what its op accepts (inputs, outputs, attributes, weight slots,
// subgraphs), every shape is inferred symbolically (dims keep their model
// names, the live batch of a per-sample subgraph is its own symbol), and the
// first problem stops the import with a message naming the node and its JSON
// path. No exception and no assertion is reachable from bad input.
//
//===----------------------------------------------------------------------===//

#include "dync/Import/ModelImporter.h"
#include "dync/Support/TensorBuilder.h"

#include "SafeTensors.h"
#include "dync/Dialect/Dyn/DynOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <optional>

using namespace mlir;
using json = nlohmann::json;

namespace dync {

void registerImportDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, func::FuncDialect, linalg::LinalgDialect,
                  math::MathDialect, tensor::TensorDialect, dyn::DynDialect>();
}

namespace {

//===----------------------------------------------------------------------===//
// Symbolic shapes
//===----------------------------------------------------------------------===//

/// The name of the live batch inside per-sample subgraphs. Not a valid dim
/// name in a model, so it never collides.
constexpr const char *kLive = "live batch";

/// A dimension: a static size, or a symbolic size known only at run time. A
/// symbolic size is a product of a static factor and atoms: model dim names,
/// the live batch, or derived sizes such as a slice of a dynamic dim
/// (`B[0:5]`). `sym` spells it canonically (`B`, `B·S`, `4·B`), so two dims
/// are equal exactly when their spellings are.
struct Dim {
  int64_t size = 0;
  std::string sym;
  /// For a symbolic dim: its static factor and its atoms, sorted.
  int64_t factor = 1;
  std::vector<std::string> atoms;

  static Dim of(int64_t s) { return Dim{s, "", 1, {}}; }
  static Dim named(std::string n) {
    Dim d{ShapedType::kDynamic, n, 1, {}};
    d.atoms.push_back(std::move(n));
    return d;
  }
  /// `factor` times the product of `atoms`; static if there are none.
  static Dim product(int64_t factor, std::vector<std::string> atoms) {
    if (atoms.empty())
      return of(factor);
    llvm::sort(atoms);
    if (factor == 1 && atoms.size() == 1)
      return named(atoms[0]);
    std::string sym = factor == 1 ? "" : std::to_string(factor);
    for (const std::string &a : atoms)
      sym += (sym.empty() ? "" : "·") + a;
    return Dim{ShapedType::kDynamic, sym, factor, std::move(atoms)};
  }
  bool isStatic() const { return sym.empty(); }
  bool isAtom() const { return !isStatic() && factor == 1 && atoms.size() == 1; }
  bool operator==(const Dim &o) const { return size == o.size && sym == o.sym; }
  bool operator!=(const Dim &o) const { return !(*this == o); }
};
using Shape = SmallVector<Dim, 3>;

std::string formatDim(const Dim &d) {
  return d.isStatic() ? std::to_string(d.size) : d.sym;
}

std::string formatShape(ArrayRef<Dim> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + formatDim(shape[i]);
  return s + "]";
}

SmallVector<int64_t> staticShape(ArrayRef<Dim> shape) {
  SmallVector<int64_t> r;
  for (const Dim &d : shape)
    r.push_back(d.size);
  return r;
}

/// A value of the graph: its IR value and its symbolic shape.
struct TValue {
  Value v;
  Shape shape;

  Type elt() const { return cast<RankedTensorType>(v.getType()).getElementType(); }
  RankedTensorType type() const { return cast<RankedTensorType>(v.getType()); }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
};

RankedTensorType typeOf(ArrayRef<Dim> shape, Type elt) {
  return RankedTensorType::get(staticShape(shape), elt);
}

//===----------------------------------------------------------------------===//
// Op table: what each op accepts
//===----------------------------------------------------------------------===//

struct OpSpec {
  int minInputs, maxInputs; // -1: unbounded
  int minOutputs, maxOutputs;
  std::vector<std::pair<const char *, bool>> attrs;     // name, required
  std::vector<std::pair<const char *, bool>> weights;   // slot, required
  std::vector<std::pair<const char *, bool>> subgraphs; // name, required
};

const llvm::StringMap<OpSpec> &opSpecs() {
  static const llvm::StringMap<OpSpec> specs = [] {
    llvm::StringMap<OpSpec> m;
    auto unary = OpSpec{1, 1, 1, 1, {}, {}, {}};
    auto binary = OpSpec{2, 2, 1, 1, {}, {}, {}};
    for (const char *op : {"relu", "silu", "sigmoid", "tanh", "exp",
                           "logical_not", "global_avg_pool"})
      m[op] = unary;
    for (const char *op : {"add", "sub", "mul", "div", "greater", "less",
                           "equal", "matmul"})
      m[op] = binary;
    m["gelu"] = {1, 1, 1, 1, {{"approximate", false}}, {}, {}};
    m["softmax"] = {1, 1, 1, 1, {{"axis", true}}, {}, {}};
    m["linear"] = {1, 1, 1, 1, {}, {{"weight", true}, {"bias", false}}, {}};
    m["layer_norm"] = {1, 1, 1, 1, {{"eps", false}},
                       {{"weight", false}, {"bias", false}}, {}};
    m["rms_norm"] = {1, 1, 1, 1, {{"eps", false}}, {{"weight", false}}, {}};
    m["embedding"] = {1, 1, 1, 1, {}, {{"weight", true}}, {}};
    m["conv2d"] = {1, 1, 1, 1,
                   {{"stride", false}, {"padding", false}, {"dilation", false},
                    {"groups", false}},
                   {{"weight", true}, {"bias", false}}, {}};
    m["batch_norm"] = {1, 1, 1, 1, {{"eps", false}},
                       {{"running_mean", true}, {"running_var", true},
                        {"weight", false}, {"bias", false}}, {}};
    for (const char *op : {"max_pool2d", "avg_pool2d"})
      m[op] = {1, 1, 1, 1, {{"kernel", true}, {"stride", false}, {"padding", false}}, {}, {}};
    m["flatten"] = {1, 1, 1, 1, {{"start_dim", false}, {"end_dim", false}}, {}, {}};
    m["reshape"] = {1, 1, 1, 1, {{"shape", true}}, {}, {}};
    m["transpose"] = {1, 1, 1, 1, {{"perm", true}}, {}, {}};
    m["concat"] = {1, -1, 1, 1, {{"axis", true}}, {}, {}};
    m["slice"] = {1, 1, 1, 1, {{"axis", true}, {"start", false}, {"end", false}, {"step", false}}, {}, {}};
    for (const char *op : {"reduce_mean", "reduce_sum", "reduce_max"})
      m[op] = {1, 1, 1, 1, {{"axes", true}, {"keepdim", false}}, {}, {}};
    m["argmax"] = {1, 1, 1, 1, {{"axis", true}, {"keepdim", false}}, {}, {}};
    m["where"] = {3, 3, 1, 1, {}, {}, {}};
    m["cast"] = {1, 1, 1, 1, {{"dtype", true}}, {}, {}};
    m["attention"] = {3, 3, 1, 1, {{"causal", false}, {"scale", false}}, {}, {}};
    m["multi_head_attention"] = {
        1, 1, 1, 1, {{"num_heads", true}, {"causal", false}},
        {{"q_proj", true}, {"k_proj", true}, {"v_proj", true}, {"out_proj", true},
         {"q_proj_bias", false}, {"k_proj_bias", false}, {"v_proj_bias", false},
         {"out_proj_bias", false}}, {}};
    m["moe"] = {1, 1, 1, 2,
                {{"num_experts", true}, {"top_k", true}, {"normalize", false},
                 {"activation", true}, {"gated", false}, {"capacity_factor", false},
                 {"shared_expert", false}},
                {{"router", true}, {"w1", true}, {"w2", true}, {"w3", false},
                 {"router_bias", false}, {"b1", false}, {"b2", false},
                 {"shared_w1", false}, {"shared_w2", false}, {"shared_w3", false},
                 {"shared_b1", false}, {"shared_b2", false}}, {}};
    m["gate"] = {1, 1, 1, 2, {{"threshold", true}, {"granularity", false}}, {},
                 {{"score", true}, {"body", true}}};
    m["cond"] = {1, -1, 1, -1, {{"granularity", false}}, {},
                 {{"then", true}, {"else", true}}};
    m["early_exit"] = {1, 1, 2, 2, {{"criterion", true}, {"threshold", true}}, {},
                       {{"stages", true}}};
    m["block_sparse_attention"] = {
        3, 3, 1, 2,
        {{"block_size", true}, {"causal", false}, {"scale", false}, {"selection", true}},
        {}, {}};
    m["topk"] = {1, 1, 2, 2, {{"k", true}, {"axis", false}}, {}, {}};
    m["gather"] = {2, 2, 1, 1, {{"axis", true}}, {}, {}};
    m["scatter_add"] = {3, 3, 1, 1, {{"axis", true}}, {}, {}};
    return m;
  }();
  return specs;
}

//===----------------------------------------------------------------------===//
// Importer
//===----------------------------------------------------------------------===//

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
  /// Location of the node that owns this subgraph (unknown at top level).
  Location parentLoc;
  /// Every name any node of this graph defines, for "defined later" messages.
  llvm::StringMap<std::string> laterDefs;
};

/// What an op emitter sees of its node.
struct Node {
  const json *j;
  std::string name, op, path;
  Location loc;
  Scope *scope;
  SmallVector<TValue> inputs;
  const json *attrs = nullptr;     // object or null
  const json *weights = nullptr;   // object or null
  const json *subgraphs = nullptr; // object or null
  size_t numOutputs = 0;
};

class Importer {
public:
  Importer(MLIRContext &ctx, StringRef path, ImportDiagnostics &diags)
      : ctx(ctx), path(path.str()), diags(diags) {}

  OwningOpRef<ModuleOp> run();

private:
  LogicalResult runImpl(OwningOpRef<ModuleOp> &module);

private:
  // Errors -------------------------------------------------------------------
  LogicalResult fail(const Twine &msg) {
    if (diags.error.empty())
      diags.error = (path + ": " + msg).str();
    return failure();
  }
  LogicalResult failAt(const std::string &jsonPath, const Twine &msg) {
    return fail("at '" + jsonPath + "': " + msg);
  }
  LogicalResult failNode(const Node &n, const Twine &msg) {
    return fail("node '" + n.name + "' (" + n.path + ", op '" + n.op + "'): " + msg);
  }

  // Model level ----------------------------------------------------------------
  LogicalResult parseJson();
  LogicalResult checkKeys(const json &obj, const std::string &where,
                          ArrayRef<StringRef> allowed);
  LogicalResult importDims();
  LogicalResult importParams(OpBuilder &b);
  FailureOr<Type> parseDType(const json &j, const std::string &where);
  FailureOr<Shape> parseShape(const json &j, const std::string &where);

  // Graphs -----------------------------------------------------------------------
  LogicalResult importNodes(const json &nodes, Scope &scope, OpBuilder &b);
  LogicalResult importNode(const json &j, size_t index, Scope &scope,
                           OpBuilder &b);
  FailureOr<SmallVector<TValue>> importSubgraph(const Node &n,
                                                const std::string &name,
                                                const json &sg,
                                                ArrayRef<TValue> args, bool live,
                                                OpBuilder &b);
  LogicalResult collectDefs(const json &nodes, Scope &scope);

  // Attributes -----------------------------------------------------------------
  const json *attr(const Node &n, StringRef name) {
    if (!n.attrs)
      return nullptr;
    auto it = n.attrs->find(name.str());
    return it == n.attrs->end() ? nullptr : &*it;
  }
  FailureOr<int64_t> intAttr(const Node &n, StringRef name,
                             std::optional<int64_t> dflt = std::nullopt);
  FailureOr<double> floatAttr(const Node &n, StringRef name,
                              std::optional<double> dflt = std::nullopt);
  FailureOr<bool> boolAttr(const Node &n, StringRef name, bool dflt);
  FailureOr<std::string> stringAttr(const Node &n, StringRef name,
                                    ArrayRef<StringRef> allowed,
                                    std::optional<StringRef> dflt = std::nullopt);
  FailureOr<SmallVector<int64_t>> intListAttr(const Node &n, StringRef name);
  /// An int or a pair [h, w]; used by conv and pooling.
  FailureOr<std::pair<int64_t, int64_t>> pairAttr(const Node &n, StringRef name,
                                                  std::pair<int64_t, int64_t> dflt);
  /// A number, or the name of a runtime parameter of type `type`.
  FailureOr<Value> scalarOrParam(const Node &n, const json &j,
                                 const std::string &what, Type type,
                                 ImplicitLocOpBuilder &b);
  FailureOr<int64_t> normAxis(const Node &n, int64_t axis, int64_t rank,
                              StringRef what = "axis");

  // Weights --------------------------------------------------------------------
  /// The weight in `slot`, checked against `expected` (-1: any size) and
  /// converted to `elt`. Null if the slot is optional and absent.
  FailureOr<TValue> weight(const Node &n, StringRef slot,
                           ArrayRef<int64_t> expected, Type elt,
                           ImplicitLocOpBuilder &b, bool required = true);
  bool hasWeight(const Node &n, StringRef slot) {
    return n.weights && n.weights->contains(slot.str());
  }

  // Checks -----------------------------------------------------------------------
  LogicalResult noBatchMix(const Node &n, int64_t axis, StringRef what);
  FailureOr<Shape> broadcast(const Node &n, ArrayRef<const Shape *> shapes);
  LogicalResult expectFloat(const Node &n, const TValue &v, StringRef what);

  // Ops ------------------------------------------------------------------------
  FailureOr<SmallVector<TValue>> emit(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitElementwise(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitMatmul(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitNorm(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitConv(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitPool(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitShapeOp(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitReduce(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitAttention(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitIndexing(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitMoe(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitGate(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitCond(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitEarlyExit(Node &n, ImplicitLocOpBuilder &b);
  FailureOr<SmallVector<TValue>> emitBlockSparse(Node &n, ImplicitLocOpBuilder &b);

  /// Reshape with resolved target dims (static or symbolic).
  TValue reshapeTo(ImplicitLocOpBuilder &b, const TValue &x, const Shape &shape);
  OpFoldResult symSize(ImplicitLocOpBuilder &b, const TValue &like, const Dim &d);
  /// The smallest and largest size `d` can take: from the model's dim bounds,
  /// 0 and INT64_MAX where they say nothing (the live batch, derived sizes).
  std::pair<int64_t, int64_t> sizeBounds(const Dim &d);

  MLIRContext &ctx;
  std::string path;
  ImportDiagnostics &diags;
  json model;
  std::unique_ptr<safetensors::File> weightsFile;
  llvm::StringMap<std::pair<int64_t, int64_t>> dims;
  llvm::StringMap<Type> params;
  llvm::StringSet<> usedWeights;
  llvm::StringSet<> nodeNames;
  /// Index values of the model's dims, taken from the function's arguments.
  llvm::StringMap<Value> dimValues;
  /// Set when an emitter hit a case the checks should have excluded.
  std::string internalError;
};

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

LogicalResult Importer::parseJson() {
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

LogicalResult Importer::checkKeys(const json &obj, const std::string &where,
                                  ArrayRef<StringRef> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!llvm::is_contained(allowed, StringRef(it.key())))
      return failAt(where, "unknown key '" + it.key() + "'");
  return success();
}

FailureOr<Type> Importer::parseDType(const json &j, const std::string &where) {
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

FailureOr<Shape> Importer::parseShape(const json &j, const std::string &where) {
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

LogicalResult Importer::importDims() {
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

LogicalResult Importer::importParams(OpBuilder &b) {
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

LogicalResult Importer::runImpl(OwningOpRef<ModuleOp> &module) {
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

  if (failed(importDims()))
    return failure();

  OpBuilder b(&ctx);
  Location unknown = UnknownLoc::get(&ctx);
  module = ModuleOp::create(unknown);
  module->getOperation()->setAttr("dyn.model", b.getStringAttr(model["name"].get<std::string>()));
  module->getOperation()->setAttr("dyn.weights", b.getStringAttr(weightsName));
  // The resolved location, for a compiled model to find its weights by default.
  SmallString<256> absolute(weightsPath);
  llvm::sys::fs::make_absolute(absolute);
  module->getOperation()->setAttr("dyn.weights_path", b.getStringAttr(absolute));
  b.setInsertionPointToEnd(module->getBody());
  if (failed(importParams(b)))
    return failure();

  // Function signature.
  Scope top{{}, false, "nodes", unknown, {}};
  const json &inputs = model["inputs"];
  SmallVector<Type> argTypes;
  SmallVector<Shape> argShapes;
  SmallVector<std::string> argNames;
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
    if (llvm::is_contained(argNames, n)) {
      return failAt(where, "duplicate value name '" + n + "'");
    }
    argNames.push_back(n);
    argTypes.push_back(typeOf(*shape, *elt));
    argShapes.push_back(*shape);
  }

  auto funcType = b.getFunctionType(argTypes, {});
  auto func = func::FuncOp::create(b, unknown, "forward", funcType);
  Block *entry = func.addEntryBlock();
  SmallVector<NamedAttribute> dimAttrs;
  for (auto &d : dims)
    dimAttrs.push_back(b.getNamedAttr(
        d.getKey(), b.getDenseI64ArrayAttr({d.second.first, d.second.second})));
  llvm::sort(dimAttrs, [](const NamedAttribute &a, const NamedAttribute &c) {
    return a.getName().strref() < c.getName().strref();
  });
  func->setAttr("dyn.dims", b.getDictionaryAttr(dimAttrs));
  OpBuilder body = OpBuilder::atBlockBegin(entry);
  for (size_t i = 0; i < argNames.size(); ++i) {
    BlockArgument arg = entry->getArgument(i);
    SmallVector<Attribute> shapeAttr;
    for (const Dim &d : argShapes[i]) {
      if (d.isStatic())
        shapeAttr.push_back(body.getI64IntegerAttr(d.size));
      else
        shapeAttr.push_back(body.getStringAttr(d.sym));
      // The first argument dim that carries a model dim gives its value.
      if (!d.isStatic() && !dimValues.count(d.sym)) {
        int64_t idx = &d - argShapes[i].begin();
        dimValues[d.sym] = tensor::DimOp::create(body, unknown, arg, idx);
      }
    }
    func.setArgAttr(i, "dyn.name", body.getStringAttr(argNames[i]));
    func.setArgAttr(i, "dyn.shape", body.getArrayAttr(shapeAttr));
    top.values[argNames[i]] = TValue{arg, argShapes[i]};
  }

  if (failed(importNodes(model["nodes"], top, body)))
    return failure();

  const json &outputs = model["outputs"];
  SmallVector<Value> results;
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
    results.push_back(it->second.v);
  }
  if (results.empty()) {
    return failAt("outputs", "a model needs at least one output");
  }
  func::ReturnOp::create(body, unknown, results);
  func.setFunctionType(b.getFunctionType(argTypes, TypeRange(ValueRange(results))));
  for (size_t i = 0; i < outputs.size(); ++i)
    func.setResultAttr(i, "dyn.name", b.getStringAttr(outputs[i].get<std::string>()));

  SmallVector<std::string> unused;
  for (const safetensors::TensorInfo &t : weightsFile->tensors())
    if (!usedWeights.contains(t.name))
      unused.push_back(t.name);
  if (!unused.empty()) {
    std::string list;
    for (size_t i = 0; i < unused.size() && i < 5; ++i)
      list += (i ? ", " : "") + unused[i];
    if (unused.size() > 5)
      list += ", ...";
    diags.warnings.push_back(path + ": " + std::to_string(unused.size()) +
                             " tensor(s) in the weights file are not used by "
                             "any node: " + list);
  }

  if (!internalError.empty()) {
    return fail("internal error: " + internalError + "; please report this model");
  }
  // The importer's checks should make this unreachable; if not, say so
  // rather than hand broken IR on.
  std::string verifyMessage;
  {
    ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
      if (verifyMessage.empty()) {
        llvm::raw_string_ostream os(verifyMessage);
        os << d.getLocation() << ": " << d.str();
      }
      return success();
    });
    if (failed(verify(*module))) {
      return fail("internal error: the imported IR does not verify (" +
                  verifyMessage + "); please report this model");
    }
  }
  return success();
}

OwningOpRef<ModuleOp> Importer::run() {
  OwningOpRef<ModuleOp> module;
  if (failed(runImpl(module)))
    return nullptr;
  return module;
}

//===----------------------------------------------------------------------===//
// Graphs
//===----------------------------------------------------------------------===//

LogicalResult Importer::collectDefs(const json &nodes, Scope &scope) {
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

LogicalResult Importer::importNodes(const json &nodes, Scope &scope,
                                    OpBuilder &b) {
  if (!nodes.is_array())
    return failAt(scope.path, "'nodes' must be an array");
  (void)collectDefs(nodes, scope);
  for (size_t i = 0; i < nodes.size(); ++i)
    if (failed(importNode(nodes[i], i, scope, b)))
      return failure();
  return success();
}

LogicalResult Importer::importNode(const json &j, size_t index, Scope &scope,
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
  Node n{&j, name->get<std::string>(), "", where,
         NameLoc::get(StringAttr::get(&ctx, name->get<std::string>()), scope.parentLoc),
         &scope, {}};
  if (!nodeNames.insert(n.name).second)
    return failAt(where, "duplicate node name '" + n.name + "'");
  auto op = j.find("op");
  if (op == j.end() || !op->is_string())
    return failAt(where, "node '" + n.name + "' needs a string 'op'");
  n.op = op->get<std::string>();
  auto specIt = opSpecs().find(n.op);
  if (specIt == opSpecs().end())
    return failAt(where, "node '" + n.name + "': unknown op '" + n.op + "'");
  const OpSpec &spec = specIt->second;

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
  FailureOr<SmallVector<TValue>> results = emit(n, b);
  if (failed(results))
    return failure();
  for (size_t i = 0; i < n.numOutputs; ++i)
    scope.values[(*outs)[i].get<std::string>()] = (*results)[i];
  return success();
}

FailureOr<SmallVector<TValue>>
Importer::importSubgraph(const Node &n, const std::string &name, const json &sg,
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
  Scope scope{{}, live, where + ".nodes", n.loc, {}};
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

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

FailureOr<int64_t> Importer::intAttr(const Node &n, StringRef name,
                                     std::optional<int64_t> dflt) {
  const json *a = attr(n, name);
  if (!a) {
    if (dflt)
      return *dflt;
    return failNode(n, "missing required attribute '" + name + "'");
  }
  if (!a->is_number_integer())
    return failNode(n, "attribute '" + name + "' must be an integer, got " + a->dump());
  return a->get<int64_t>();
}

FailureOr<double> Importer::floatAttr(const Node &n, StringRef name,
                                      std::optional<double> dflt) {
  const json *a = attr(n, name);
  if (!a) {
    if (dflt)
      return *dflt;
    return failNode(n, "missing required attribute '" + name + "'");
  }
  if (!a->is_number())
    return failNode(n, "attribute '" + name + "' must be a number, got " + a->dump());
  return a->get<double>();
}

FailureOr<bool> Importer::boolAttr(const Node &n, StringRef name, bool dflt) {
  const json *a = attr(n, name);
  if (!a)
    return dflt;
  if (!a->is_boolean())
    return failNode(n, "attribute '" + name + "' must be true or false, got " + a->dump());
  return a->get<bool>();
}

FailureOr<std::string> Importer::stringAttr(const Node &n, StringRef name,
                                            ArrayRef<StringRef> allowed,
                                            std::optional<StringRef> dflt) {
  const json *a = attr(n, name);
  if (!a) {
    if (dflt)
      return dflt->str();
    return failNode(n, "missing required attribute '" + name + "'");
  }
  std::string options;
  for (StringRef s : allowed)
    options += (options.empty() ? "" : ", ") + s.str();
  if (!a->is_string() ||
      !llvm::is_contained(allowed, StringRef(a->get_ref<const std::string &>())))
    return failNode(n, "attribute '" + name + "' must be one of " + options +
                           ", got " + a->dump());
  return a->get<std::string>();
}

FailureOr<SmallVector<int64_t>> Importer::intListAttr(const Node &n,
                                                      StringRef name) {
  const json *a = attr(n, name);
  if (!a)
    return failNode(n, "missing required attribute '" + name + "'");
  if (!a->is_array())
    return failNode(n, "attribute '" + name + "' must be a list of integers, got " + a->dump());
  SmallVector<int64_t> r;
  for (const json &e : *a) {
    if (!e.is_number_integer())
      return failNode(n, "attribute '" + name + "' must be a list of integers, got " + a->dump());
    r.push_back(e.get<int64_t>());
  }
  return r;
}

FailureOr<std::pair<int64_t, int64_t>>
Importer::pairAttr(const Node &n, StringRef name, std::pair<int64_t, int64_t> dflt) {
  const json *a = attr(n, name);
  if (!a)
    return dflt;
  if (a->is_number_integer())
    return std::make_pair(a->get<int64_t>(), a->get<int64_t>());
  if (a->is_array() && a->size() == 2 && (*a)[0].is_number_integer() &&
      (*a)[1].is_number_integer())
    return std::make_pair((*a)[0].get<int64_t>(), (*a)[1].get<int64_t>());
  return failNode(n, "attribute '" + name + "' must be an integer or [h, w], got " + a->dump());
}

FailureOr<Value> Importer::scalarOrParam(const Node &n, const json &j,
                                         const std::string &what, Type type,
                                         ImplicitLocOpBuilder &b) {
  if (j.is_string()) {
    const std::string &pname = j.get_ref<const std::string &>();
    auto it = params.find(pname);
    if (it == params.end())
      return failNode(n, what + " refers to '" + pname +
                             "', which is not a declared runtime parameter");
    if (it->second != type)
      return failNode(n, what + " refers to runtime parameter '" + pname +
                             "' of type " + dtypeName(it->second) + ", but needs " +
                             dtypeName(type));
    return Value(dyn::ParamReadOp::create(b, type, pname));
  }
  if (type.isInteger(32)) {
    if (!j.is_number_integer())
      return failNode(n, what + " must be an integer or a runtime parameter name, got " + j.dump());
    int64_t v = j.get<int64_t>();
    if (v < 0 || v > std::numeric_limits<int32_t>::max())
      return failNode(n, what + " " + std::to_string(v) + " is out of range");
    return Value(arith::ConstantOp::create(b, b.getI32IntegerAttr(static_cast<int32_t>(v))));
  }
  if (!j.is_number())
    return failNode(n, what + " must be a number or a runtime parameter name, got " + j.dump());
  return Value(arith::ConstantOp::create(
      b, b.getF32FloatAttr(static_cast<float>(j.get<double>()))));
}

FailureOr<int64_t> Importer::normAxis(const Node &n, int64_t axis, int64_t rank,
                                      StringRef what) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return failNode(n, llvm::formatv("{0} {1} is out of range for an input of rank {2}",
                                     what, axis, rank));
  return a;
}

//===----------------------------------------------------------------------===//
// Weights and checks
//===----------------------------------------------------------------------===//

FailureOr<TValue> Importer::weight(const Node &n, StringRef slot,
                                   ArrayRef<int64_t> expected, Type elt,
                                   ImplicitLocOpBuilder &b, bool required) {
  if (!hasWeight(n, slot)) {
    if (!required)
      return TValue{};
    return failNode(n, "missing required weight slot '" + slot + "'");
  }
  const json &w = (*n.weights)[slot.str()];
  if (!w.is_string())
    return failNode(n, "weight slot '" + slot + "' must name a tensor of the weights file");
  std::string tname = w.get<std::string>();
  const safetensors::TensorInfo *info = weightsFile->find(tname);
  if (!info)
    return failNode(n, "weight slot '" + slot + "': tensor '" + tname +
                           "' is not in the weights file '" + weightsFile->path() + "'");
  Type stored;
  switch (info->dtype) {
  case safetensors::DType::F32: stored = b.getF32Type(); break;
  case safetensors::DType::F16: stored = b.getF16Type(); break;
  case safetensors::DType::BF16: stored = b.getBF16Type(); break;
  default:
    return failNode(n, "weight slot '" + slot + "': tensor '" + tname + "' has dtype " +
                           safetensors::dtypeName(info->dtype) +
                           "; weights must be F32, F16 or BF16");
  }
  bool match = info->shape.size() == expected.size();
  for (size_t i = 0; match && i < expected.size(); ++i)
    match = expected[i] < 0 || expected[i] == info->shape[i];
  if (!match) {
    auto fmt = [](ArrayRef<int64_t> s, bool any) {
      std::string r = "[";
      for (size_t i = 0; i < s.size(); ++i)
        r += (i ? ", " : "") + (any && s[i] < 0 ? std::string("*") : std::to_string(s[i]));
      return r + "]";
    };
    return failNode(n, "weight slot '" + slot + "': tensor '" + tname + "' has shape " +
                           fmt(info->shape, false) + ", expected " + fmt(expected, true));
  }
  usedWeights.insert(tname);
  Shape shape;
  for (int64_t d : info->shape)
    shape.push_back(Dim::of(d));
  Value v = dyn::WeightOp::create(b, typeOf(shape, stored), tname);
  TensorBuilder tb(b);
  if (stored != elt)
    v = tb.convert(v, elt);
  return TValue{v, shape};
}

LogicalResult Importer::noBatchMix(const Node &n, int64_t axis, StringRef what) {
  if (n.scope->live && axis == 0)
    return failNode(n, what + " axis 0, the live batch, would mix samples; "
                              "inside gate, per-sample cond and early_exit "
                              "subgraphs samples must stay independent");
  return success();
}

FailureOr<Shape> Importer::broadcast(const Node &n, ArrayRef<const Shape *> shapes) {
  size_t rank = 0;
  for (const Shape *s : shapes)
    rank = std::max(rank, s->size());
  Shape out(rank, Dim::of(1));
  for (size_t k = 0; k < rank; ++k) {
    for (const Shape *s : shapes) {
      int64_t j = static_cast<int64_t>(k) - static_cast<int64_t>(rank - s->size());
      if (j < 0)
        continue;
      const Dim &d = (*s)[j];
      Dim &o = out[k];
      if (d.isStatic() && d.size == 1)
        continue;
      if (o.isStatic() && o.size == 1) {
        o = d;
        continue;
      }
      if (o != d) {
        std::string shapesStr;
        for (const Shape *t : shapes)
          shapesStr += (shapesStr.empty() ? "" : " and ") + formatShape(*t);
        return failNode(n, "shapes " + shapesStr + " do not broadcast: dim " +
                               formatDim(o) + " against " + formatDim(d));
      }
    }
  }
  return out;
}

LogicalResult Importer::expectFloat(const Node &n, const TValue &v, StringRef what) {
  if (!isa<FloatType>(v.elt()))
    return failNode(n, what + " must be a floating-point tensor, got " + dtypeName(v.elt()));
  return success();
}

OpFoldResult Importer::symSize(ImplicitLocOpBuilder &b, const TValue &like,
                               const Dim &d) {
  if (d.isStatic())
    return b.getIndexAttr(d.size);
  for (int64_t i = 0; i < like.rank(); ++i)
    if (like.shape[i] == d)
      return tensor::DimOp::create(b, like.v, i).getResult();
  if (!d.isAtom()) {
    // A product: the factor times each atom's size.
    Value total = arith::ConstantIndexOp::create(b, d.factor);
    for (const std::string &atom : d.atoms) {
      OpFoldResult a = symSize(b, like, Dim::named(atom));
      Value v = isa<Value>(a) ? cast<Value>(a)
                              : Value(arith::ConstantIndexOp::create(
                                    b, cast<IntegerAttr>(cast<Attribute>(a)).getInt()));
      total = arith::MulIOp::create(b, total, v);
    }
    return total;
  }
  // Model dims are read at function entry; inside an isolated region they are
  // not visible, and the importer's checks keep such shapes out. Should one
  // slip through, the import fails with an internal error instead of building
  // IR that does not verify.
  auto it = dimValues.find(d.sym);
  if (it == dimValues.end() || it->second.getParentRegion() != Value(like.v).getParentRegion()) {
    internalError = "no value for dim '" + d.sym + "'";
    return b.getIndexAttr(1);
  }
  return it->second;
}

std::pair<int64_t, int64_t> Importer::sizeBounds(const Dim &d) {
  if (d.isStatic())
    return {d.size, d.size};
  int64_t lo = d.factor, hi = d.factor;
  for (const std::string &atom : d.atoms) {
    auto it = dims.find(atom);
    if (it == dims.end())
      return {0, std::numeric_limits<int64_t>::max()};
    lo *= it->second.first;
    hi = hi > std::numeric_limits<int64_t>::max() / std::max<int64_t>(it->second.second, 1)
             ? std::numeric_limits<int64_t>::max()
             : hi * it->second.second;
  }
  return {lo, hi};
}

TValue Importer::reshapeTo(ImplicitLocOpBuilder &b, const TValue &x,
                           const Shape &shape) {
  TensorBuilder tb(b);
  SmallVector<OpFoldResult> sizes;
  for (const Dim &d : shape)
    sizes.push_back(symSize(b, x, d));
  return TValue{tb.reshape(x.v, sizes, typeOf(shape, x.elt())), shape};
}

//===----------------------------------------------------------------------===//
// Op dispatch
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> Importer::emit(Node &n, ImplicitLocOpBuilder &b) {
  StringRef op = n.op;
  if (llvm::is_contained({"relu", "silu", "sigmoid", "tanh", "exp", "gelu",
                          "logical_not", "add", "sub", "mul", "div", "greater",
                          "less", "equal", "where", "cast"},
                         op))
    return emitElementwise(n, b);
  if (op == "linear" || op == "matmul")
    return emitMatmul(n, b);
  if (op == "layer_norm" || op == "rms_norm" || op == "batch_norm" || op == "softmax")
    return emitNorm(n, b);
  if (op == "conv2d")
    return emitConv(n, b);
  if (op == "max_pool2d" || op == "avg_pool2d" || op == "global_avg_pool")
    return emitPool(n, b);
  if (llvm::is_contained({"flatten", "reshape", "transpose", "concat", "slice"}, op))
    return emitShapeOp(n, b);
  if (op.starts_with("reduce_") || op == "argmax")
    return emitReduce(n, b);
  if (op == "attention" || op == "multi_head_attention")
    return emitAttention(n, b);
  if (llvm::is_contained({"embedding", "topk", "gather", "scatter_add"}, op))
    return emitIndexing(n, b);
  if (op == "moe")
    return emitMoe(n, b);
  if (op == "gate")
    return emitGate(n, b);
  if (op == "cond")
    return emitCond(n, b);
  if (op == "early_exit")
    return emitEarlyExit(n, b);
  if (op == "block_sparse_attention")
    return emitBlockSparse(n, b);
  return failNode(n, "op is in the table but has no emitter");
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// PyTorch's type promotion for two operands: float wins over int, the wider
/// of two floats or two ints wins.
static Type promote(Type a, Type c) {
  if (a == c)
    return a;
  bool af = isa<FloatType>(a), cf = isa<FloatType>(c);
  if (af != cf)
    return af ? a : c;
  return a.getIntOrFloatBitWidth() >= c.getIntOrFloatBitWidth() ? a : c;
}

FailureOr<SmallVector<TValue>> Importer::emitElementwise(Node &n,
                                                         ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  StringRef op = n.op;
  const TValue &x = n.inputs[0];

  if (op == "cast") {
    const json *d = attr(n, "dtype");
    FailureOr<Type> to = parseDType(*d, n.path + ".attrs.dtype");
    if (failed(to))
      return failure();
    return SmallVector<TValue>{TValue{tb.convert(x.v, *to), x.shape}};
  }

  if (op == "logical_not") {
    if (!x.elt().isInteger(1))
      return failNode(n, "input must be bool, got " + dtypeName(x.elt()));
    Value r = tb.map(x.v, x.type(), [](ImplicitLocOpBuilder &ib, ValueRange a) {
      Value t = arith::ConstantOp::create(ib, ib.getBoolAttr(true));
      return Value(arith::XOrIOp::create(ib, a[0], t));
    });
    return SmallVector<TValue>{TValue{r, x.shape}};
  }

  if (n.inputs.size() == 1) {
    if (failed(expectFloat(n, x, "input")))
      return failure();
    bool tanhApprox = false;
    if (op == "gelu") {
      FailureOr<std::string> approx =
          stringAttr(n, "approximate", {"none", "tanh"}, StringRef("none"));
      if (failed(approx))
        return failure();
      tanhApprox = *approx == "tanh";
    }
    std::string act = op == "gelu" && tanhApprox ? "gelu_tanh" : op.str();
    Value r = tb.map(x.v, x.type(), [&](ImplicitLocOpBuilder &ib, ValueRange a) {
      return buildActivation(ib, act, a[0]);
    });
    return SmallVector<TValue>{TValue{r, x.shape}};
  }

  SmallVector<const Shape *> shapes;
  for (const TValue &in : n.inputs)
    shapes.push_back(&in.shape);
  FailureOr<Shape> shape = broadcast(n, shapes);
  if (failed(shape))
    return failure();

  if (op == "where") {
    const TValue &c = n.inputs[0], &a = n.inputs[1], &e = n.inputs[2];
    if (!c.elt().isInteger(1))
      return failNode(n, "the condition (input 0) must be bool, got " + dtypeName(c.elt()));
    Type elt = promote(a.elt(), e.elt());
    Value av = tb.convert(a.v, elt), ev = tb.convert(e.v, elt);
    Value r = tb.map({c.v, av, ev}, typeOf(*shape, elt),
                     [](ImplicitLocOpBuilder &ib, ValueRange s) {
                       return Value(arith::SelectOp::create(ib, s[0], s[1], s[2]));
                     });
    return SmallVector<TValue>{TValue{r, *shape}};
  }

  const TValue &y = n.inputs[1];
  Type elt = promote(x.elt(), y.elt());
  // PyTorch's true division: integers divide as floats.
  if (op == "div" && !isa<FloatType>(elt))
    elt = b.getF32Type();
  if ((op == "add" || op == "sub" || op == "mul") && elt.isInteger(1))
    return failNode(n, "arithmetic on bool tensors is not supported; cast first");
  Value xv = tb.convert(x.v, elt), yv = tb.convert(y.v, elt);
  bool isFloat = isa<FloatType>(elt);
  bool compare = op == "greater" || op == "less" || op == "equal";
  Type outElt = compare ? b.getI1Type() : elt;
  Value r = tb.map({xv, yv}, typeOf(*shape, outElt),
                   [&](ImplicitLocOpBuilder &ib, ValueRange s) -> Value {
                     Value l = s[0], rr = s[1];
                     if (op == "add")
                       return isFloat ? Value(arith::AddFOp::create(ib, l, rr))
                                      : Value(arith::AddIOp::create(ib, l, rr));
                     if (op == "sub")
                       return isFloat ? Value(arith::SubFOp::create(ib, l, rr))
                                      : Value(arith::SubIOp::create(ib, l, rr));
                     if (op == "mul")
                       return isFloat ? Value(arith::MulFOp::create(ib, l, rr))
                                      : Value(arith::MulIOp::create(ib, l, rr));
                     if (op == "div")
                       return arith::DivFOp::create(ib, l, rr);
                     if (isFloat) {
                       auto pred = op == "greater" ? arith::CmpFPredicate::OGT
                                   : op == "less"  ? arith::CmpFPredicate::OLT
                                                   : arith::CmpFPredicate::OEQ;
                       return arith::CmpFOp::create(ib, pred, l, rr);
                     }
                     auto pred = op == "greater" ? arith::CmpIPredicate::sgt
                                 : op == "less"  ? arith::CmpIPredicate::slt
                                                 : arith::CmpIPredicate::eq;
                     return arith::CmpIOp::create(ib, pred, l, rr);
                   });
  return SmallVector<TValue>{TValue{r, *shape}};
}

//===----------------------------------------------------------------------===//
// Linear, matmul
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> Importer::emitMatmul(Node &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  if (failed(expectFloat(n, x, "input")))
    return failure();
  if (n.op == "linear") {
    if (x.rank() < 1)
      return failNode(n, "input must have at least one dimension");
    const Dim &in = x.shape.back();
    if (!in.isStatic())
      return failNode(n, "the input's last dim must be static, got " + in.sym);
    FailureOr<TValue> w = weight(n, "weight", {-1, in.size}, x.elt(), b);
    if (failed(w))
      return failure();
    int64_t out = w->shape[0].size;
    FailureOr<TValue> bias = weight(n, "bias", {out}, x.elt(), b, false);
    if (failed(bias))
      return failure();
    Shape shape = x.shape;
    shape.back() = Dim::of(out);
    return SmallVector<TValue>{TValue{tb.linear(x.v, w->v, bias->v), shape}};
  }

  TValue a = n.inputs[0], c = n.inputs[1];
  if (failed(expectFloat(n, c, "input 1")))
    return failure();
  if (a.rank() < 1 || c.rank() < 1)
    return failNode(n, "matmul operands must have at least one dimension");
  // torch.matmul: a 1-D operand is promoted to a matrix, and the added dim is
  // removed from the result.
  bool aVec = a.rank() == 1, cVec = c.rank() == 1;
  if (aVec) {
    Shape s{Dim::of(1), a.shape[0]};
    a = reshapeTo(b, a, s);
  }
  if (cVec) {
    Shape s{c.shape[0], Dim::of(1)};
    c = reshapeTo(b, c, s);
  }
  const Dim &ka = a.shape.back(), &kc = c.shape[c.rank() - 2];
  if (ka != kc)
    return failNode(n, "cannot multiply " + formatShape(a.shape) + " by " +
                           formatShape(c.shape) + ": contraction dims " +
                           formatDim(ka) + " and " + formatDim(kc) + " differ");
  if (n.scope->live && c.rank() >= 1 && !c.shape.empty() && c.shape[0].sym == kLive &&
      c.rank() == 2)
    return failNode(n, "the second operand's axis 0 is the live batch: the "
                       "product would mix samples inside a per-sample subgraph");
  Shape aBatch(a.shape.begin(), a.shape.end() - 2), cBatch(c.shape.begin(), c.shape.end() - 2);
  FailureOr<Shape> batch = broadcast(n, {&aBatch, &cBatch});
  if (failed(batch))
    return failure();
  Shape shape = *batch;
  shape.push_back(a.shape[a.rank() - 2]);
  shape.push_back(c.shape.back());
  Type elt = promote(a.elt(), c.elt());
  Value r = tb.matmul(tb.convert(a.v, elt), tb.convert(c.v, elt), typeOf(shape, elt));
  TValue result{r, shape};
  if (aVec || cVec) {
    Shape squeezed = *batch;
    if (!aVec)
      squeezed.push_back(shape[shape.size() - 2]);
    if (!cVec)
      squeezed.push_back(shape.back());
    result = reshapeTo(b, result, squeezed);
  }
  return SmallVector<TValue>{result};
}

//===----------------------------------------------------------------------===//
// Norms and softmax
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> Importer::emitNorm(Node &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  if (failed(expectFloat(n, x, "input")))
    return failure();
  Type elt = x.elt();
  int64_t rank = x.rank();

  if (n.op == "softmax") {
    FailureOr<int64_t> axis = intAttr(n, "axis");
    if (failed(axis))
      return failure();
    FailureOr<int64_t> a = normAxis(n, *axis, rank);
    if (failed(a) || failed(noBatchMix(n, *a, "softmax over")))
      return failure();
    return SmallVector<TValue>{TValue{tb.softmax(x.v, *a), x.shape}};
  }

  if (n.op == "batch_norm") {
    if (rank < 2 || !x.shape[1].isStatic())
      return failNode(n, "input must be [N, C, ...] with a static channel dim C");
    int64_t c = x.shape[1].size;
    FailureOr<double> eps = floatAttr(n, "eps", 1e-5);
    FailureOr<TValue> mean = weight(n, "running_mean", {c}, elt, b);
    FailureOr<TValue> var = weight(n, "running_var", {c}, elt, b);
    FailureOr<TValue> w = weight(n, "weight", {c}, elt, b, false);
    FailureOr<TValue> bias = weight(n, "bias", {c}, elt, b, false);
    if (failed(eps) || failed(mean) || failed(var) || failed(w) || failed(bias))
      return failure();
    // Per-channel params as [C, 1, ..., 1] so that they broadcast on dim 1.
    auto channel = [&](const TValue &p) {
      Shape s{Dim::of(c)};
      for (int64_t i = 2; i < rank; ++i)
        s.push_back(Dim::of(1));
      return reshapeTo(b, p, s).v;
    };
    SmallVector<Value> ins{x.v, channel(*mean), channel(*var)};
    if (w->v)
      ins.push_back(channel(*w));
    if (bias->v)
      ins.push_back(channel(*bias));
    bool hasW = static_cast<bool>(w->v), hasB = static_cast<bool>(bias->v);
    double epsV = *eps;
    Value r = tb.map(ins, x.type(), [&](ImplicitLocOpBuilder &ib, ValueRange a) {
      Value e = arith::ConstantOp::create(ib, ib.getFloatAttr(elt, epsV));
      Value centered = arith::SubFOp::create(ib, a[0], a[1]);
      Value inv = math::RsqrtOp::create(ib, arith::AddFOp::create(ib, a[2], e));
      Value y = arith::MulFOp::create(ib, centered, inv);
      size_t k = 3;
      if (hasW)
        y = arith::MulFOp::create(ib, y, a[k++]);
      if (hasB)
        y = arith::AddFOp::create(ib, y, a[k++]);
      return y;
    });
    return SmallVector<TValue>{TValue{r, x.shape}};
  }

  // layer_norm and rms_norm over the last dim.
  if (rank < 1 || !x.shape.back().isStatic())
    return failNode(n, "the normalized (last) dim must be static");
  int64_t d = x.shape.back().size;
  bool rms = n.op == "rms_norm";
  // PyTorch's defaults: LayerNorm eps 1e-5; RMSNorm eps = float32 epsilon.
  FailureOr<double> eps =
      floatAttr(n, "eps", rms ? double(std::numeric_limits<float>::epsilon()) : 1e-5);
  FailureOr<TValue> w = weight(n, "weight", {d}, elt, b, false);
  FailureOr<TValue> bias = rms ? FailureOr<TValue>(TValue{})
                               : weight(n, "bias", {d}, elt, b, false);
  if (failed(eps) || failed(w) || failed(bias))
    return failure();
  double epsV = *eps;
  Value centered = x.v;
  if (!rms) {
    Value mean = tb.reduce(x.v, {rank - 1}, ReduceKind::Mean, /*keepDim=*/true);
    centered = tb.map({x.v, mean}, x.type(), [](ImplicitLocOpBuilder &ib, ValueRange a) {
      return Value(arith::SubFOp::create(ib, a[0], a[1]));
    });
  }
  Value sq = tb.map({centered}, x.type(), [](ImplicitLocOpBuilder &ib, ValueRange a) {
    return Value(arith::MulFOp::create(ib, a[0], a[0]));
  });
  Value ms = tb.reduce(sq, {rank - 1}, ReduceKind::Mean, /*keepDim=*/true);
  SmallVector<Value> ins{centered, ms};
  if (w->v)
    ins.push_back(w->v);
  if (bias->v)
    ins.push_back(bias->v);
  bool hasW = static_cast<bool>(w->v), hasB = static_cast<bool>(bias->v);
  Value r = tb.map(ins, x.type(), [&](ImplicitLocOpBuilder &ib, ValueRange a) {
    Value e = arith::ConstantOp::create(ib, ib.getFloatAttr(elt, epsV));
    Value inv = math::RsqrtOp::create(ib, arith::AddFOp::create(ib, a[1], e));
    Value y = arith::MulFOp::create(ib, a[0], inv);
    size_t k = 2;
    if (hasW)
      y = arith::MulFOp::create(ib, y, a[k++]);
    if (hasB)
      y = arith::AddFOp::create(ib, y, a[k++]);
    return y;
  });
  return SmallVector<TValue>{TValue{r, x.shape}};
}

//===----------------------------------------------------------------------===//
// Convolution and pooling (NCHW, as PyTorch)
//===----------------------------------------------------------------------===//

/// Output size of a convolution or pooling window; 0 when the window does not
/// fit (C++ division truncates toward zero, so check the sign first).
static int64_t convOut(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  int64_t span = in + 2 * p - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

FailureOr<SmallVector<TValue>> Importer::emitConv(Node &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  if (failed(expectFloat(n, x, "input")))
    return failure();
  if (x.rank() != 4 || !x.shape[1].isStatic() || !x.shape[2].isStatic() ||
      !x.shape[3].isStatic())
    return failNode(n, "input must be [N, C, H, W] with static C, H, W, got " +
                           formatShape(x.shape));
  auto stride = pairAttr(n, "stride", {1, 1});
  auto padding = pairAttr(n, "padding", {0, 0});
  auto dilation = pairAttr(n, "dilation", {1, 1});
  FailureOr<int64_t> groups = intAttr(n, "groups", 1);
  if (failed(stride) || failed(padding) || failed(dilation) || failed(groups))
    return failure();
  if (stride->first < 1 || stride->second < 1 || dilation->first < 1 ||
      dilation->second < 1 || padding->first < 0 || padding->second < 0)
    return failNode(n, "stride and dilation must be >= 1 and padding >= 0");
  int64_t c = x.shape[1].size, g = *groups;
  if (g < 1 || c % g != 0)
    return failNode(n, llvm::formatv("groups {0} must be >= 1 and divide the {1} input channels", g, c));
  FailureOr<TValue> w = weight(n, "weight", {-1, c / g, -1, -1}, x.elt(), b);
  if (failed(w))
    return failure();
  int64_t o = w->shape[0].size, kh = w->shape[2].size, kw = w->shape[3].size;
  if (o % g != 0)
    return failNode(n, llvm::formatv("groups {0} must divide the {1} output channels", g, o));
  FailureOr<TValue> bias = weight(n, "bias", {o}, x.elt(), b, false);
  if (failed(bias))
    return failure();
  int64_t oh = convOut(x.shape[2].size, kh, stride->first, padding->first, dilation->first);
  int64_t ow = convOut(x.shape[3].size, kw, stride->second, padding->second, dilation->second);
  if (oh < 1 || ow < 1)
    return failNode(n, "the kernel does not fit the padded input");

  Type elt = x.elt();
  Value padded = tb.padHW(x.v, padding->first, padding->second, b.getZeroAttr(elt));
  // Split channels into groups: input [N, G, C/G, H, W], weight [G, O/G, C/G, kh, kw].
  auto pType = cast<RankedTensorType>(padded.getType());
  int64_t hp = pType.getDimSize(2), wp = pType.getDimSize(3);
  TValue px{padded, {x.shape[0], Dim::of(c), Dim::of(hp), Dim::of(wp)}};
  TValue xg = reshapeTo(b, px, {x.shape[0], Dim::of(g), Dim::of(c / g), Dim::of(hp), Dim::of(wp)});
  TValue wg = reshapeTo(b, *w, {Dim::of(g), Dim::of(o / g), Dim::of(c / g), Dim::of(kh), Dim::of(kw)});
  // Loops: n g o oh ow | ci kh kw.
  MLIRContext *mctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, mctx); };
  AffineMap inMap = AffineMap::get(
      8, 0,
      {d(0), d(1), d(5), d(3) * stride->first + d(6) * dilation->first,
       d(4) * stride->second + d(7) * dilation->second},
      mctx);
  AffineMap wMap = AffineMap::get(8, 0, {d(1), d(2), d(5), d(6), d(7)}, mctx);
  AffineMap outMap = AffineMap::get(8, 0, {d(0), d(1), d(2), d(3), d(4)}, mctx);
  Shape outG{x.shape[0], Dim::of(g), Dim::of(o / g), Dim::of(oh), Dim::of(ow)};
  SmallVector<OpFoldResult> sizes{symSize(b, x, x.shape[0]), b.getIndexAttr(g),
                                  b.getIndexAttr(o / g), b.getIndexAttr(oh),
                                  b.getIndexAttr(ow)};
  Value init = tb.filled(sizes, elt, b.getZeroAttr(elt));
  SmallVector<utils::IteratorType> iters(5, utils::IteratorType::parallel);
  iters.append(3, utils::IteratorType::reduction);
  Location loc = b.getLoc();
  Value y = linalg::GenericOp::create(
                b, TypeRange{typeOf(outG, elt)}, ValueRange{xg.v, wg.v},
                ValueRange{init}, ArrayRef<AffineMap>{inMap, wMap, outMap}, iters,
                [&](OpBuilder &nb, Location, ValueRange a) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  Value p = arith::MulFOp::create(ib, a[0], a[1]);
                  linalg::YieldOp::create(ib, Value(arith::AddFOp::create(ib, a[2], p)));
                })
                .getResult(0);
  Shape outShape{x.shape[0], Dim::of(o), Dim::of(oh), Dim::of(ow)};
  TValue out = reshapeTo(b, TValue{y, outG}, outShape);
  if (bias->v) {
    TValue bc = reshapeTo(b, *bias, {Dim::of(o), Dim::of(1), Dim::of(1)});
    out.v = tb.map({out.v, bc.v}, out.type(), [](ImplicitLocOpBuilder &ib, ValueRange a) {
      return Value(arith::AddFOp::create(ib, a[0], a[1]));
    });
  }
  return SmallVector<TValue>{out};
}

FailureOr<SmallVector<TValue>> Importer::emitPool(Node &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  if (failed(expectFloat(n, x, "input")))
    return failure();
  if (x.rank() != 4 || !x.shape[2].isStatic() || !x.shape[3].isStatic())
    return failNode(n, "input must be [N, C, H, W] with static H, W, got " +
                           formatShape(x.shape));
  Type elt = x.elt();
  if (n.op == "global_avg_pool") {
    // Like ONNX GlobalAveragePool (and adaptive_avg_pool2d(1)): [N, C, 1, 1].
    Value r = tb.reduce(x.v, {2, 3}, ReduceKind::Mean, /*keepDim=*/true);
    return SmallVector<TValue>{TValue{r, {x.shape[0], x.shape[1], Dim::of(1), Dim::of(1)}}};
  }
  auto kernel = pairAttr(n, "kernel", {0, 0});
  if (failed(kernel))
    return failure();
  auto stride = pairAttr(n, "stride", *kernel);
  auto padding = pairAttr(n, "padding", {0, 0});
  if (failed(stride) || failed(padding))
    return failure();
  if (kernel->first < 1 || kernel->second < 1 || stride->first < 1 || stride->second < 1 ||
      padding->first < 0 || padding->second < 0)
    return failNode(n, "kernel and stride must be >= 1 and padding >= 0");
  if (padding->first * 2 > kernel->first || padding->second * 2 > kernel->second)
    return failNode(n, "padding must be at most half the kernel (as in PyTorch)");
  int64_t oh = convOut(x.shape[2].size, kernel->first, stride->first, padding->first, 1);
  int64_t ow = convOut(x.shape[3].size, kernel->second, stride->second, padding->second, 1);
  if (oh < 1 || ow < 1)
    return failNode(n, "the kernel does not fit the padded input");
  bool isMax = n.op == "max_pool2d";
  TypedAttr padValue = isMax ? TypedAttr(b.getFloatAttr(elt, -std::numeric_limits<double>::infinity()))
                             : TypedAttr(b.getFloatAttr(elt, 0.0));
  Value padded = tb.padHW(x.v, padding->first, padding->second, padValue);
  Shape outShape{x.shape[0], x.shape[1], Dim::of(oh), Dim::of(ow)};
  SmallVector<OpFoldResult> sizes{symSize(b, x, x.shape[0]), symSize(b, x, x.shape[1]),
                                  b.getIndexAttr(oh), b.getIndexAttr(ow)};
  Value init = tb.filled(sizes, elt, padValue);
  Value window = tb.empty({b.getIndexAttr(kernel->first), b.getIndexAttr(kernel->second)}, elt);
  auto strides = b.getI64TensorAttr({stride->first, stride->second});
  auto dil = b.getI64TensorAttr({1, 1});
  Value r;
  if (isMax)
    r = linalg::PoolingNchwMaxOp::create(b, TypeRange{typeOf(outShape, elt)},
                                         ValueRange{padded, window}, ValueRange{init},
                                         strides, dil)
            .getResult(0);
  else {
    r = linalg::PoolingNchwSumOp::create(b, TypeRange{typeOf(outShape, elt)},
                                         ValueRange{padded, window}, ValueRange{init},
                                         strides, dil)
            .getResult(0);
    // count_include_pad=True, PyTorch's default: divide by the kernel area.
    double area = static_cast<double>(kernel->first * kernel->second);
    r = tb.map({r}, typeOf(outShape, elt), [&](ImplicitLocOpBuilder &ib, ValueRange a) {
      Value k = arith::ConstantOp::create(ib, ib.getFloatAttr(elt, area));
      return Value(arith::DivFOp::create(ib, a[0], k));
    });
  }
  return SmallVector<TValue>{TValue{r, outShape}};
}

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> Importer::emitShapeOp(Node &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  int64_t rank = x.rank();

  if (n.op == "transpose") {
    FailureOr<SmallVector<int64_t>> perm = intListAttr(n, "perm");
    if (failed(perm))
      return failure();
    if (static_cast<int64_t>(perm->size()) != rank)
      return failNode(n, llvm::formatv("perm has {0} entries for an input of rank {1}",
                                       perm->size(), rank));
    SmallVector<bool> seen(rank, false);
    for (int64_t &p : *perm) {
      FailureOr<int64_t> a = normAxis(n, p, rank, "perm entry");
      if (failed(a))
        return failure();
      if (seen[*a])
        return failNode(n, "perm repeats axis " + std::to_string(*a));
      seen[*a] = true;
      p = *a;
    }
    if (n.scope->live && (*perm)[0] != 0)
      return failNode(n, "moves axis 0, the live batch: inside gate, per-sample "
                         "cond and early_exit subgraphs the batch stays first");
    Shape shape;
    for (int64_t p : *perm)
      shape.push_back(x.shape[p]);
    return SmallVector<TValue>{TValue{tb.transpose(x.v, *perm), shape}};
  }

  if (n.op == "concat") {
    FailureOr<int64_t> axis = intAttr(n, "axis");
    if (failed(axis))
      return failure();
    FailureOr<int64_t> a = normAxis(n, *axis, rank);
    if (failed(a) || failed(noBatchMix(n, *a, "concat along")))
      return failure();
    Shape shape = x.shape;
    int64_t total = 0;
    bool dynamic = false;
    SmallVector<Value> vals;
    for (auto [i, in] : llvm::enumerate(n.inputs)) {
      if (in.rank() != rank || in.elt() != x.elt())
        return failNode(n, llvm::formatv("input {0} has rank {1} and dtype {2}; all "
                                         "inputs need rank {3} and dtype {4}",
                                         i, in.rank(), dtypeName(in.elt()), rank,
                                         dtypeName(x.elt())));
      for (int64_t k = 0; k < rank; ++k)
        if (k != *a && in.shape[k] != x.shape[k])
          return failNode(n, "input " + std::to_string(i) + " has shape " +
                                 formatShape(in.shape) + ", which differs from " +
                                 formatShape(x.shape) + " off the concat axis");
      if (in.shape[*a].isStatic())
        total += in.shape[*a].size;
      else
        dynamic = true;
      vals.push_back(in.v);
    }
    if (dynamic)
      return failNode(n, "concatenating along a dynamic dim is not supported");
    shape[*a] = Dim::of(total);
    Value r = tensor::ConcatOp::create(b, typeOf(shape, x.elt()), *a, vals);
    return SmallVector<TValue>{TValue{r, shape}};
  }

  if (n.op == "slice") {
    FailureOr<int64_t> axis = intAttr(n, "axis");
    FailureOr<int64_t> start = intAttr(n, "start", 0);
    FailureOr<int64_t> end = intAttr(n, "end", std::numeric_limits<int64_t>::max());
    FailureOr<int64_t> step = intAttr(n, "step", 1);
    if (failed(axis) || failed(start) || failed(end) || failed(step))
      return failure();
    FailureOr<int64_t> a = normAxis(n, *axis, rank);
    if (failed(a) || failed(noBatchMix(n, *a, "slice along")))
      return failure();
    if (*step < 1)
      return failNode(n, "step must be >= 1 (PyTorch does not support negative steps)");
    const Dim &d = x.shape[*a];
    Shape shape = x.shape;
    // Sizes left null are the input's.
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes(rank),
        strides(rank, b.getIndexAttr(1));
    strides[*a] = b.getIndexAttr(*step);
    if (d.isStatic()) {
      // Python slice semantics: negative indices count from the end, then clamp.
      auto clampIdx = [&](int64_t i) {
        if (i < 0)
          i += d.size;
        return std::min(std::max<int64_t>(i, 0), d.size);
      };
      int64_t s = clampIdx(*start), e = clampIdx(*end);
      int64_t len = e > s ? (e - s + *step - 1) / *step : 0;
      if (len == 0)
        return failNode(n, "the slice is empty");
      shape[*a] = Dim::of(len);
      offsets[*a] = b.getIndexAttr(s);
    } else {
      // Along a dynamic dim the clamping happens at run time, unless the
      // dim's bounds decide it: x[0:1] of a batch of at least one sample is
      // one row whatever the batch.
      std::pair<int64_t, int64_t> bounds = sizeBounds(d);
      int64_t lo = bounds.first, hi = bounds.second;
      bool whole = *start >= 0 && *end >= hi;
      if (*start >= 0 && *end >= 0 && *end <= lo) {
        int64_t len = *end > *start ? (*end - *start + *step - 1) / *step : 0;
        if (len == 0)
          return failNode(n, "the slice is empty");
        shape[*a] = Dim::of(len);
        offsets[*a] = b.getIndexAttr(*start);
      } else if (whole && *start == 0 && *step == 1) {
        offsets[*a] = b.getIndexAttr(0);
      } else {
        std::string spec = d.atoms.size() == 1 && d.factor == 1 ? d.sym : "(" + d.sym + ")";
        spec += "[" + std::to_string(*start) + ":" +
                (*end == std::numeric_limits<int64_t>::max() ? "" : std::to_string(*end)) +
                (*step == 1 ? "" : ":" + std::to_string(*step)) + "]";
        shape[*a] = Dim::named(spec);
        Value size = tensor::DimOp::create(b, x.v, *a);
        Value zero = arith::ConstantIndexOp::create(b, 0);
        auto clampIdx = [&](int64_t i) -> Value {
          if (i < 0)
            return arith::MaxSIOp::create(
                b, arith::AddIOp::create(b, size, arith::ConstantIndexOp::create(b, i)), zero);
          if (i >= hi)
            return size;
          return arith::MinSIOp::create(b, size, arith::ConstantIndexOp::create(b, i));
        };
        Value s = clampIdx(*start), e = clampIdx(*end);
        Value len = arith::MaxSIOp::create(b, arith::SubIOp::create(b, e, s), zero);
        if (*step > 1)
          len = arith::CeilDivSIOp::create(b, len, arith::ConstantIndexOp::create(b, *step));
        offsets[*a] = s;
        sizes[*a] = len;
      }
    }
    for (int64_t k = 0; k < rank; ++k)
      if (!sizes[k])
        sizes[k] = symSize(b, x, shape[k]);
    Value r = tensor::ExtractSliceOp::create(b, typeOf(shape, x.elt()), x.v, offsets,
                                             sizes, strides);
    return SmallVector<TValue>{TValue{r, shape}};
  }

  // flatten and reshape compute a target shape, then share the reshape.
  Shape target;
  if (n.op == "flatten") {
    FailureOr<int64_t> sd = intAttr(n, "start_dim", 1);
    FailureOr<int64_t> ed = intAttr(n, "end_dim", -1);
    if (failed(sd) || failed(ed))
      return failure();
    if (rank == 0)
      return failNode(n, "cannot flatten a scalar");
    FailureOr<int64_t> s = normAxis(n, *sd, rank, "start_dim");
    FailureOr<int64_t> e = normAxis(n, *ed, rank, "end_dim");
    if (failed(s) || failed(e))
      return failure();
    if (*s > *e)
      return failNode(n, "start_dim comes after end_dim");
    if (n.scope->live && *s == 0 && *e > 0)
      return failNode(n, "flattening axis 0, the live batch, into other dims "
                         "would mix samples");
    // The flattened dim is the product of the dims it merges.
    int64_t prod = 1;
    std::vector<std::string> atoms;
    for (int64_t k = *s; k <= *e; ++k) {
      const Dim &d = x.shape[k];
      prod *= d.isStatic() ? d.size : d.factor;
      atoms.insert(atoms.end(), d.atoms.begin(), d.atoms.end());
    }
    for (int64_t k = 0; k < *s; ++k)
      target.push_back(x.shape[k]);
    target.push_back(Dim::product(prod, atoms));
    for (int64_t k = *e + 1; k < rank; ++k)
      target.push_back(x.shape[k]);
    return SmallVector<TValue>{reshapeTo(b, x, target)};
  }

  // reshape: entries are sizes, -1 (inferred) or dim names.
  const json *spec = attr(n, "shape");
  if (!spec->is_array())
    return failNode(n, "attribute 'shape' must be a list of sizes, -1 and dim names");
  int inferred = -1;
  for (size_t i = 0; i < spec->size(); ++i) {
    const json &e = (*spec)[i];
    if (e.is_number_integer()) {
      int64_t v = e.get<int64_t>();
      if (v == -1) {
        if (inferred >= 0)
          return failNode(n, "reshape may infer only one dim (-1)");
        inferred = static_cast<int>(i);
        target.push_back(Dim::of(-1));
      } else if (v <= 0) {
        return failNode(n, "reshape size " + std::to_string(v) + " must be positive or -1");
      } else {
        target.push_back(Dim::of(v));
      }
    } else if (e.is_string()) {
      const std::string &name = e.get_ref<const std::string &>();
      if (!dims.count(name))
        return failNode(n, "reshape uses unknown dim '" + name + "'");
      // Inside a per-sample subgraph the batch is the live batch (written
      // -1); other model dims may be named if the input has them.
      if (n.scope->live && llvm::none_of(x.shape, [&](const Dim &d) { return d.sym == name; }))
        return failNode(n, "reshape names the model dim '" + name +
                               "', which the input " + formatShape(x.shape) +
                               " of this per-sample subgraph does not have (its "
                               "batch is the live batch: write -1 for it)");
      target.push_back(Dim::named(name));
    } else {
      return failNode(n, "attribute 'shape' must be a list of sizes, -1 and dim names");
    }
  }
  // Element counts: static product and multiset of atoms on each side.
  auto split = [](const Shape &s, int64_t &prod, SmallVector<std::string> &atoms) {
    prod = 1;
    for (const Dim &d : s) {
      if (d.isStatic()) {
        if (d.size > 0)
          prod *= d.size;
      } else {
        prod *= d.factor;
        atoms.append(d.atoms.begin(), d.atoms.end());
      }
    }
    llvm::sort(atoms);
  };
  int64_t inProd, outProd;
  SmallVector<std::string> inSyms, outSyms;
  split(x.shape, inProd, inSyms);
  split(target, outProd, outSyms);
  if (inferred >= 0) {
    // -1 takes what is left: the rest of the static product times the atoms
    // the target does not name ([B, S, 6] to [-1, 6] infers B·S).
    SmallVector<std::string> left;
    std::set_difference(inSyms.begin(), inSyms.end(), outSyms.begin(), outSyms.end(),
                        std::back_inserter(left));
    if (inProd % outProd != 0 || !std::includes(inSyms.begin(), inSyms.end(),
                                                outSyms.begin(), outSyms.end()))
      return failNode(n, "cannot infer -1 reshaping " + formatShape(x.shape) +
                             " to " + formatShape(target));
    target[inferred] = Dim::product(inProd / outProd, std::vector<std::string>(left.begin(), left.end()));
    outSyms.append(left.begin(), left.end());
    llvm::sort(outSyms);
    outProd = inProd;
  }
  if (inProd != outProd || inSyms != outSyms)
    return failNode(n, "cannot reshape " + formatShape(x.shape) + " to " +
                           formatShape(target) + ": element counts differ");
  if (n.scope->live && (target.empty() || target[0] != x.shape[0]))
    return failNode(n, "inside a per-sample subgraph a reshape must keep the "
                       "batch as its first dim");
  return SmallVector<TValue>{reshapeTo(b, x, target)};
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> Importer::emitReduce(Node &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  int64_t rank = x.rank();
  FailureOr<bool> keep = boolAttr(n, "keepdim", false);
  if (failed(keep))
    return failure();
  if (n.op == "argmax") {
    if (failed(expectFloat(n, x, "input")))
      return failure();
    FailureOr<int64_t> axis = intAttr(n, "axis");
    if (failed(axis))
      return failure();
    FailureOr<int64_t> a = normAxis(n, *axis, rank);
    if (failed(a) || failed(noBatchMix(n, *a, "argmax over")))
      return failure();
    Shape shape;
    for (int64_t k = 0; k < rank; ++k)
      if (k != *a)
        shape.push_back(x.shape[k]);
    TValue r{tb.argmax(x.v, *a), shape};
    if (*keep) {
      Shape kept = x.shape;
      kept[*a] = Dim::of(1);
      r = reshapeTo(b, r, kept);
    }
    return SmallVector<TValue>{r};
  }
  FailureOr<SmallVector<int64_t>> axes = intListAttr(n, "axes");
  if (failed(axes))
    return failure();
  if (axes->empty())
    return failNode(n, "'axes' must name at least one axis");
  for (int64_t &a : *axes) {
    FailureOr<int64_t> na = normAxis(n, a, rank);
    if (failed(na) || failed(noBatchMix(n, *na, "reducing over")))
      return failure();
    a = *na;
  }
  llvm::sort(*axes);
  if (std::adjacent_find(axes->begin(), axes->end()) != axes->end())
    return failNode(n, "'axes' repeats an axis");
  ReduceKind kind = n.op == "reduce_sum"   ? ReduceKind::Sum
                    : n.op == "reduce_max" ? ReduceKind::Max
                                           : ReduceKind::Mean;
  if (kind == ReduceKind::Mean && failed(expectFloat(n, x, "input")))
    return failure();
  Shape shape;
  for (int64_t k = 0; k < rank; ++k) {
    if (!llvm::is_contained(*axes, k))
      shape.push_back(x.shape[k]);
    else if (*keep)
      shape.push_back(Dim::of(1));
  }
  return SmallVector<TValue>{TValue{tb.reduce(x.v, *axes, kind, *keep), shape}};
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> Importer::emitAttention(Node &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  FailureOr<bool> causal = boolAttr(n, "causal", false);
  if (failed(causal))
    return failure();
  UnitAttr causalAttr = *causal ? b.getUnitAttr() : UnitAttr();

  if (n.op == "attention") {
    const TValue &q = n.inputs[0], &k = n.inputs[1], &v = n.inputs[2];
    for (auto [i, t] : llvm::enumerate(n.inputs)) {
      if (failed(expectFloat(n, t, "input " + std::to_string(i))))
        return failure();
      if (t.rank() != 4)
        return failNode(n, "q, k and v must be [B, H, S, D], input " + std::to_string(i) +
                               " is " + formatShape(t.shape));
    }
    if (q.shape[0] != k.shape[0] || q.shape[1] != k.shape[1] || q.shape[3] != k.shape[3] ||
        k.shape[0] != v.shape[0] || k.shape[1] != v.shape[1] || k.shape[2] != v.shape[2])
      return failNode(n, "q " + formatShape(q.shape) + ", k " + formatShape(k.shape) +
                             " and v " + formatShape(v.shape) + " do not agree");
    if (*causal && q.shape[2] != k.shape[2])
      return failNode(n, "causal attention needs equal query and key lengths");
    FloatAttr scale;
    if (attr(n, "scale")) {
      FailureOr<double> s = floatAttr(n, "scale");
      if (failed(s))
        return failure();
      scale = b.getF64FloatAttr(*s);
    }
    Shape shape{q.shape[0], q.shape[1], q.shape[2], v.shape[3]};
    Value r = dyn::AttentionOp::create(b, typeOf(shape, q.elt()), q.v, k.v, v.v,
                                       causalAttr, scale);
    return SmallVector<TValue>{TValue{r, shape}};
  }

  // multi_head_attention: x [B, S, E], PyTorch's in/out projections.
  const TValue &x = n.inputs[0];
  if (failed(expectFloat(n, x, "input")))
    return failure();
  if (x.rank() != 3 || !x.shape[2].isStatic())
    return failNode(n, "input must be [B, S, E] with a static E, got " + formatShape(x.shape));
  int64_t e = x.shape[2].size;
  FailureOr<int64_t> heads = intAttr(n, "num_heads");
  if (failed(heads))
    return failure();
  if (*heads < 1 || e % *heads != 0)
    return failNode(n, llvm::formatv("num_heads {0} must be >= 1 and divide the embedding size {1}",
                                     *heads, e));
  int64_t hd = e / *heads;
  auto proj = [&](StringRef w, StringRef bias, const TValue &in) -> FailureOr<TValue> {
    FailureOr<TValue> wt = weight(n, w, {e, e}, in.elt(), b);
    if (failed(wt))
      return failure();
    FailureOr<TValue> bt = weight(n, bias, {e}, in.elt(), b, false);
    if (failed(bt))
      return failure();
    return TValue{tb.linear(in.v, wt->v, bt->v), in.shape};
  };
  auto heads4 = [&](const TValue &t) {
    TValue r = reshapeTo(b, t, {t.shape[0], t.shape[1], Dim::of(*heads), Dim::of(hd)});
    return TValue{tb.transpose(r.v, {0, 2, 1, 3}),
                  {t.shape[0], Dim::of(*heads), t.shape[1], Dim::of(hd)}};
  };
  FailureOr<TValue> q = proj("q_proj", "q_proj_bias", x);
  FailureOr<TValue> k = proj("k_proj", "k_proj_bias", x);
  FailureOr<TValue> v = proj("v_proj", "v_proj_bias", x);
  if (failed(q) || failed(k) || failed(v))
    return failure();
  TValue qh = heads4(*q), kh = heads4(*k), vh = heads4(*v);
  Value o = dyn::AttentionOp::create(b, qh.type(), qh.v, kh.v, vh.v, causalAttr, FloatAttr());
  Value ot = tb.transpose(o, {0, 2, 1, 3});
  TValue merged = reshapeTo(
      b, TValue{ot, {x.shape[0], x.shape[1], Dim::of(*heads), Dim::of(hd)}}, x.shape);
  FailureOr<TValue> out = proj("out_proj", "out_proj_bias", merged);
  if (failed(out))
    return failure();
  return SmallVector<TValue>{*out};
}

//===----------------------------------------------------------------------===//
// Indexing: embedding, topk, gather, scatter_add
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> Importer::emitIndexing(Node &n, ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  const TValue &x = n.inputs[0];
  auto isIndex = [](Type t) { return t.isInteger(32) || t.isInteger(64); };

  if (n.op == "embedding") {
    if (!isIndex(x.elt()))
      return failNode(n, "indices must be i32 or i64, got " + dtypeName(x.elt()));
    FailureOr<TValue> w = weight(n, "weight", {-1, -1}, b.getF32Type(), b);
    if (failed(w))
      return failure();
    Shape shape = x.shape;
    shape.push_back(w->shape[1]);
    return SmallVector<TValue>{TValue{tb.take(w->v, x.v, 0, typeOf(shape, w->elt())), shape}};
  }

  if (n.op == "topk") {
    FailureOr<int64_t> k = intAttr(n, "k");
    FailureOr<int64_t> axis = intAttr(n, "axis", -1);
    if (failed(k) || failed(axis))
      return failure();
    FailureOr<int64_t> a = normAxis(n, *axis, x.rank());
    if (failed(a) || failed(noBatchMix(n, *a, "topk over")))
      return failure();
    if (*k < 1)
      return failNode(n, "k must be >= 1");
    const Dim &d = x.shape[*a];
    if (d.isStatic() && *k > d.size)
      return failNode(n, llvm::formatv("k = {0} exceeds the size {1} of axis {2}", *k,
                                       d.size, *a));
    Shape shape = x.shape;
    shape[*a] = Dim::of(*k);
    auto top = dyn::TopKOp::create(b, typeOf(shape, x.elt()), typeOf(shape, b.getI64Type()),
                                   x.v, *k, *a);
    return SmallVector<TValue>{TValue{top.getValues(), shape}, TValue{top.getIndices(), shape}};
  }

  FailureOr<int64_t> axis = intAttr(n, "axis");
  if (failed(axis))
    return failure();
  FailureOr<int64_t> a = normAxis(n, *axis, x.rank());
  if (failed(a) || failed(noBatchMix(n, *a, n.op + " along")))
    return failure();
  const TValue &idx = n.inputs[1];
  if (!isIndex(idx.elt()))
    return failNode(n, "indices must be i32 or i64, got " + dtypeName(idx.elt()));

  if (n.op == "gather") {
    Shape shape(x.shape.begin(), x.shape.begin() + *a);
    shape.append(idx.shape.begin(), idx.shape.end());
    shape.append(x.shape.begin() + *a + 1, x.shape.end());
    return SmallVector<TValue>{TValue{tb.take(x.v, idx.v, *a, typeOf(shape, x.elt())), shape}};
  }

  // scatter_add
  const TValue &upd = n.inputs[2];
  if (idx.rank() != 1)
    return failNode(n, "indices must be 1-D, got " + formatShape(idx.shape));
  Shape expected = x.shape;
  expected[*a] = idx.shape[0];
  if (upd.shape != expected)
    return failNode(n, "updates have shape " + formatShape(upd.shape) + ", expected " +
                           formatShape(expected));
  if (upd.elt() != x.elt())
    return failNode(n, "updates must have the dtype of the data");
  Value r = dyn::ScatterAddOp::create(b, x.type(), x.v, idx.v, upd.v, *a);
  return SmallVector<TValue>{TValue{r, x.shape}};
}

//===----------------------------------------------------------------------===//
// Dynamic ops
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> Importer::emitMoe(Node &n, ImplicitLocOpBuilder &b) {
  const TValue &x = n.inputs[0];
  if (failed(expectFloat(n, x, "input")))
    return failure();
  if (x.rank() < 1 || !x.shape.back().isStatic())
    return failNode(n, "input must be [..., d] with a static model dim d");
  int64_t d = x.shape.back().size;
  FailureOr<int64_t> e = intAttr(n, "num_experts");
  FailureOr<int64_t> k = intAttr(n, "top_k");
  FailureOr<bool> normalize = boolAttr(n, "normalize", true);
  FailureOr<std::string> act = stringAttr(n, "activation", {"relu", "gelu", "silu"});
  FailureOr<bool> gated = boolAttr(n, "gated", false);
  FailureOr<bool> shared = boolAttr(n, "shared_expert", false);
  if (failed(e) || failed(k) || failed(normalize) || failed(act) || failed(gated) ||
      failed(shared))
    return failure();
  if (*e < 1)
    return failNode(n, "num_experts must be >= 1");
  if (*k < 1 || *k > *e)
    return failNode(n, llvm::formatv("top_k = {0} must be between 1 and num_experts = {1}",
                                     *k, *e));
  std::optional<double> capacity;
  if (attr(n, "capacity_factor")) {
    FailureOr<double> c = floatAttr(n, "capacity_factor");
    if (failed(c))
      return failure();
    if (!(*c > 0))
      return failNode(n, "capacity_factor must be positive");
    capacity = *c;
  }
  if (*gated != hasWeight(n, "w3"))
    return failNode(n, *gated ? "gated experts need weight slot 'w3'"
                              : "weight slot 'w3' is given but 'gated' is false");
  bool hasShared = hasWeight(n, "shared_w1") || hasWeight(n, "shared_w2");
  if (*shared && !(hasWeight(n, "shared_w1") && hasWeight(n, "shared_w2")))
    return failNode(n, "shared_expert needs weight slots 'shared_w1' and 'shared_w2'");
  if (!*shared && (hasShared || hasWeight(n, "shared_w3") || hasWeight(n, "shared_b1") ||
                   hasWeight(n, "shared_b2")))
    return failNode(n, "shared expert weights are given but 'shared_expert' is false");
  if (*shared && *gated != hasWeight(n, "shared_w3"))
    return failNode(n, *gated ? "a gated shared expert needs weight slot 'shared_w3'"
                              : "weight slot 'shared_w3' is given but 'gated' is false");

  Type elt = x.elt();
  FailureOr<TValue> router = weight(n, "router", {*e, d}, elt, b);
  FailureOr<TValue> w1 = weight(n, "w1", {*e, -1, d}, elt, b);
  if (failed(router) || failed(w1))
    return failure();
  int64_t h = w1->shape[1].size;
  FailureOr<TValue> w2 = weight(n, "w2", {*e, d, h}, elt, b);
  FailureOr<TValue> w3 = weight(n, "w3", {*e, h, d}, elt, b, false);
  FailureOr<TValue> rb = weight(n, "router_bias", {*e}, elt, b, false);
  FailureOr<TValue> b1 = weight(n, "b1", {*e, h}, elt, b, false);
  FailureOr<TValue> b2 = weight(n, "b2", {*e, d}, elt, b, false);
  if (failed(w2) || failed(w3) || failed(rb) || failed(b1) || failed(b2))
    return failure();
  TValue s1, s2, s3, sb1, sb2;
  if (*shared) {
    FailureOr<TValue> t1 = weight(n, "shared_w1", {-1, d}, elt, b);
    if (failed(t1))
      return failure();
    int64_t hs = t1->shape[0].size;
    FailureOr<TValue> t2 = weight(n, "shared_w2", {d, hs}, elt, b);
    FailureOr<TValue> t3 = weight(n, "shared_w3", {hs, d}, elt, b, false);
    FailureOr<TValue> tb1 = weight(n, "shared_b1", {hs}, elt, b, false);
    FailureOr<TValue> tb2 = weight(n, "shared_b2", {d}, elt, b, false);
    if (failed(t2) || failed(t3) || failed(tb1) || failed(tb2))
      return failure();
    s1 = *t1, s2 = *t2, s3 = *t3, sb1 = *tb1, sb2 = *tb2;
  }
  auto actAttr = dyn::ActivationAttr::get(&ctx, *act == "relu"   ? dyn::Activation::relu
                                                : *act == "gelu" ? dyn::Activation::gelu
                                                                 : dyn::Activation::silu);
  SmallVector<Type> resultTypes{x.type()};
  Shape countsShape{Dim::of(*e)};
  if (n.numOutputs == 2)
    resultTypes.push_back(typeOf(countsShape, b.getI32Type()));
  auto moe = dyn::MoeOp::create(
      b, resultTypes, x.v, router->v, w1->v, w2->v, w3->v, rb->v, b1->v, b2->v, s1.v, s2.v,
      s3.v, sb1.v, sb2.v, b.getI64IntegerAttr(*k), b.getBoolAttr(*normalize), actAttr,
      capacity ? b.getF64FloatAttr(*capacity) : FloatAttr());
  SmallVector<TValue> results{TValue{moe.getResult(), x.shape}};
  if (n.numOutputs == 2)
    results.push_back(TValue{moe.getExpertCounts(), countsShape});
  return results;
}

/// `shape` with its first `n` dims replaced by the live batch.
static Shape liveShape(const Shape &shape, size_t n) {
  Shape r{Dim::named(kLive)};
  r.append(shape.begin() + n, shape.end());
  return r;
}

FailureOr<SmallVector<TValue>> Importer::emitGate(Node &n, ImplicitLocOpBuilder &b) {
  const TValue &x = n.inputs[0];
  if (x.rank() < 1)
    return failNode(n, "input must have a leading batch dim");
  FailureOr<std::string> gran = stringAttr(n, "granularity", {"sample", "token"}, StringRef("sample"));
  if (failed(gran))
    return failure();
  bool perToken = *gran == "token";
  if (perToken && x.rank() < 2)
    return failNode(n, "per-token gating needs an input [B, S, ...]");
  FailureOr<Value> threshold =
      scalarOrParam(n, *attr(n, "threshold"), "threshold", b.getF32Type(), b);
  if (failed(threshold))
    return failure();

  // The score runs on every sample, so it is ordinary code before the gate.
  const json &subgraphs = *n.subgraphs;
  FailureOr<SmallVector<TValue>> score =
      importSubgraph(n, "score", subgraphs["score"], {x}, /*live=*/true, b);
  if (failed(score))
    return failure();
  if (score->size() != 1)
    return failNode(n, "subgraph 'score' must have one output");
  const TValue &s = (*score)[0];
  Shape expected(x.shape.begin(), x.shape.begin() + (perToken ? 2 : 1));
  if (s.shape != expected || !s.elt().isF32())
    return failNode(n, "subgraph 'score' must return f32 " + formatShape(expected) +
                           ", got " + dtypeName(s.elt()) + " " + formatShape(s.shape));

  Shape live = liveShape(x.shape, perToken ? 2 : 1);
  Type maskType = typeOf(s.shape, b.getI1Type());
  auto gate = dyn::GateOp::create(b, x.type(), n.numOutputs == 2 ? maskType : Type(),
                                  x.v, s.v, *threshold);
  Block *block = b.createBlock(&gate.getBody());
  BlockArgument arg = block->addArgument(typeOf(live, x.elt()), n.loc);
  OpBuilder inner(&ctx);
  inner.setInsertionPointToStart(block);
  FailureOr<SmallVector<TValue>> body =
      importSubgraph(n, "body", subgraphs["body"], {TValue{arg, live}}, true, inner);
  if (failed(body))
    return failure();
  if (body->size() != 1 || (*body)[0].shape != live || (*body)[0].elt() != x.elt())
    return failNode(n, "subgraph 'body' must return one value of the input's shape and dtype " +
                           formatShape(live));
  dyn::YieldOp::create(inner, n.loc, (*body)[0].v);
  b.setInsertionPointAfter(gate);
  SmallVector<TValue> results{TValue{gate.getResult(), x.shape}};
  if (n.numOutputs == 2)
    results.push_back(TValue{gate.getMask(), s.shape});
  return results;
}

FailureOr<SmallVector<TValue>> Importer::emitCond(Node &n, ImplicitLocOpBuilder &b) {
  FailureOr<std::string> gran =
      stringAttr(n, "granularity", {"scalar", "sample"}, StringRef("scalar"));
  if (failed(gran))
    return failure();
  bool perSample = *gran == "sample";
  const TValue &pred = n.inputs[0];
  if (!pred.elt().isInteger(1))
    return failNode(n, "the predicate (input 0) must be bool, got " + dtypeName(pred.elt()));
  SmallVector<TValue> operands(n.inputs.begin() + 1, n.inputs.end());
  Value predV;
  if (perSample) {
    if (pred.rank() != 1)
      return failNode(n, "a per-sample predicate must be [B], got " + formatShape(pred.shape));
    for (auto [i, op] : llvm::enumerate(operands))
      if (op.rank() < 1 || op.shape[0] != pred.shape[0])
        return failNode(n, "operand " + std::to_string(i + 1) + " " + formatShape(op.shape) +
                               " must have the predicate's batch " +
                               formatShape(pred.shape) + " as its first dim");
    predV = pred.v;
  } else {
    int64_t count = 1;
    for (const Dim &d : pred.shape)
      count = d.isStatic() ? count * d.size : -1;
    if (count != 1)
      return failNode(n, "a scalar predicate must have one element, got " + formatShape(pred.shape));
    SmallVector<Value> zeros(pred.rank(), arith::ConstantIndexOp::create(b, 0));
    predV = tensor::ExtractOp::create(b, pred.v, zeros);
  }
  // Result types are known only once a region is imported, so the op is
  // assembled from an OperationState after both regions are built.
  OperationState state(n.loc, dyn::CondOp::getOperationName());
  SmallVector<Value> operandValues{predV};
  for (const TValue &op : operands)
    operandValues.push_back(op.v);
  state.addOperands(operandValues);
  Region *thenR = state.addRegion();
  Region *elseR = state.addRegion();
  SmallVector<SmallVector<TValue>> yields;
  for (auto [name, region] : {std::make_pair("then", thenR), std::make_pair("else", elseR)}) {
    Block *block = new Block();
    region->push_back(block);
    SmallVector<TValue> blockArgs;
    for (const TValue &op : operands) {
      Shape shape = perSample ? liveShape(op.shape, 1) : op.shape;
      blockArgs.push_back(
          TValue{block->addArgument(typeOf(shape, op.elt()), n.loc), shape});
    }
    OpBuilder inner(&ctx);
    inner.setInsertionPointToStart(block);
    FailureOr<SmallVector<TValue>> out =
        importSubgraph(n, name, (*n.subgraphs)[name], blockArgs,
                       perSample || n.scope->live, inner);
    if (failed(out))
      return failure();
    SmallVector<Value> vals;
    for (const TValue &o : *out)
      vals.push_back(o.v);
    dyn::YieldOp::create(inner, n.loc, vals);
    yields.push_back(*out);
  }
  if (yields[0].size() != yields[1].size())
    return failNode(n, llvm::formatv("'then' returns {0} value(s) but 'else' returns {1}",
                                     yields[0].size(), yields[1].size()));
  if (yields[0].size() != n.numOutputs)
    return failNode(n, llvm::formatv("the node has {0} output(s) but its subgraphs return {1}",
                                     n.numOutputs, yields[0].size()));
  SmallVector<TValue> results;
  SmallVector<Type> resultTypes;
  for (size_t i = 0; i < yields[0].size(); ++i) {
    const TValue &t = yields[0][i], &e = yields[1][i];
    if (t.shape != e.shape || t.elt() != e.elt())
      return failNode(n, "output " + std::to_string(i) + ": 'then' returns " +
                             dtypeName(t.elt()) + " " + formatShape(t.shape) +
                             " but 'else' returns " + dtypeName(e.elt()) + " " +
                             formatShape(e.shape));
    Shape shape = t.shape;
    if (perSample) {
      if (shape.empty() || shape[0].sym != kLive)
        return failNode(n, "per-sample outputs must keep the live batch as their first dim");
      shape[0] = pred.shape[0];
    }
    resultTypes.push_back(typeOf(shape, t.elt()));
    results.push_back(TValue{Value(), shape});
  }
  state.addTypes(resultTypes);
  Operation *op = b.create(state);
  for (size_t i = 0; i < results.size(); ++i)
    results[i].v = op->getResult(i);
  return results;
}

FailureOr<SmallVector<TValue>> Importer::emitEarlyExit(Node &n, ImplicitLocOpBuilder &b) {
  const TValue &x = n.inputs[0];
  if (x.rank() < 1)
    return failNode(n, "input must have a leading batch dim");
  FailureOr<std::string> crit =
      stringAttr(n, "criterion", {"max_softmax", "entropy", "gate"});
  if (failed(crit))
    return failure();
  FailureOr<Value> threshold =
      scalarOrParam(n, *attr(n, "threshold"), "threshold", b.getF32Type(), b);
  if (failed(threshold))
    return failure();
  const json &stages = (*n.subgraphs)["stages"];
  if (!stages.is_array() || stages.empty())
    return failNode(n, "subgraph 'stages' must be a non-empty list of {body, head[, gate]}");
  bool gateCrit = *crit == "gate";
  Shape live = liveShape(x.shape, 1);

  OperationState state(n.loc, dyn::EarlyExitOp::getOperationName());
  state.addOperands({x.v, *threshold});
  dyn::ExitCriterion criterion = *crit == "max_softmax" ? dyn::ExitCriterion::max_softmax
                                 : *crit == "entropy"   ? dyn::ExitCriterion::entropy
                                                        : dyn::ExitCriterion::gate;
  state.addAttribute("criterion", dyn::ExitCriterionAttr::get(&ctx, criterion));
  std::optional<Dim> classes;
  Type hiddenElt = x.elt();
  for (size_t i = 0; i < stages.size(); ++i) {
    std::string stageName = "stages[" + std::to_string(i) + "]";
    const json &st = stages[i];
    if (!st.is_object())
      return failNode(n, stageName + " must be {\"body\", \"head\"[, \"gate\"]}");
    for (auto it = st.begin(); it != st.end(); ++it)
      if (it.key() != "body" && it.key() != "head" && it.key() != "gate")
        return failNode(n, stageName + ": unknown key '" + it.key() + "'");
    if (!st.contains("body") || !st.contains("head"))
      return failNode(n, stageName + " needs a 'body' and a 'head'");
    if (gateCrit != st.contains("gate"))
      return failNode(n, stageName + (gateCrit ? " needs a 'gate' subgraph (criterion is gate)"
                                               : " has a 'gate' subgraph but the criterion is not gate"));
    Region *region = state.addRegion();
    Block *block = new Block();
    region->push_back(block);
    TValue h{block->addArgument(typeOf(live, hiddenElt), n.loc), live};
    OpBuilder inner(&ctx);
    inner.setInsertionPointToStart(block);
    FailureOr<SmallVector<TValue>> body =
        importSubgraph(n, stageName + ".body", st["body"], {h}, true, inner);
    if (failed(body))
      return failure();
    // A stage may change the hidden state's shape; the next stage takes what
    // this one returns. Only the leading dim, the live batch, is shared.
    if (body->size() != 1 || (*body)[0].rank() < 1 || (*body)[0].shape[0].sym != kLive)
      return failNode(n, stageName + ".body must return one value whose leading dim is "
                                     "the batch, got " +
                             (body->size() == 1 ? formatShape((*body)[0].shape)
                                                : std::to_string(body->size()) + " values"));
    TValue next = (*body)[0];
    live = next.shape;
    hiddenElt = next.elt();
    FailureOr<SmallVector<TValue>> head =
        importSubgraph(n, stageName + ".head", st["head"], {next}, true, inner);
    if (failed(head))
      return failure();
    if (head->size() != 1 || (*head)[0].rank() != 2 || (*head)[0].shape[0].sym != kLive ||
        !(*head)[0].shape[1].isStatic() || !isa<FloatType>((*head)[0].elt()))
      return failNode(n, stageName + ".head must return float logits [batch, C] with a static C");
    const TValue &logits = (*head)[0];
    if (classes && *classes != logits.shape[1])
      return failNode(n, stageName + ".head returns " + formatDim(logits.shape[1]) +
                             " classes but stages[0].head returns " + formatDim(*classes));
    classes = logits.shape[1];
    SmallVector<Value> yields{next.v, logits.v};
    if (gateCrit) {
      FailureOr<SmallVector<TValue>> g =
          importSubgraph(n, stageName + ".gate", st["gate"], {next}, true, inner);
      if (failed(g))
        return failure();
      Shape want{Dim::named(kLive)};
      if (g->size() != 1 || (*g)[0].shape != want || !(*g)[0].elt().isF32())
        return failNode(n, stageName + ".gate must return f32 [batch]");
      yields.push_back((*g)[0].v);
    }
    dyn::YieldOp::create(inner, n.loc, yields);
  }
  Shape logitsShape{x.shape[0], *classes};
  Shape indexShape{x.shape[0]};
  Type logitsElt = cast<RankedTensorType>(
                       state.regions[0]->front().getTerminator()->getOperand(1).getType())
                       .getElementType();
  state.addTypes({typeOf(logitsShape, logitsElt), typeOf(indexShape, b.getI32Type())});
  Operation *op = b.create(state);
  return SmallVector<TValue>{TValue{op->getResult(0), logitsShape},
                             TValue{op->getResult(1), indexShape}};
}

FailureOr<SmallVector<TValue>> Importer::emitBlockSparse(Node &n, ImplicitLocOpBuilder &b) {
  const TValue &q = n.inputs[0], &k = n.inputs[1], &v = n.inputs[2];
  for (auto [i, t] : llvm::enumerate(n.inputs)) {
    if (failed(expectFloat(n, t, "input " + std::to_string(i))))
      return failure();
    if (t.rank() != 4)
      return failNode(n, "q, k and v must be [B, H, S, D], input " + std::to_string(i) +
                             " is " + formatShape(t.shape));
  }
  if (q.shape != k.shape || k.shape[0] != v.shape[0] || k.shape[1] != v.shape[1] ||
      k.shape[2] != v.shape[2])
    return failNode(n, "q " + formatShape(q.shape) + ", k " + formatShape(k.shape) +
                           " and v " + formatShape(v.shape) + " do not agree");
  FailureOr<int64_t> bs = intAttr(n, "block_size");
  FailureOr<bool> causal = boolAttr(n, "causal", false);
  if (failed(bs) || failed(causal))
    return failure();
  const Dim &s = q.shape[2];
  if (*bs < 1)
    return failNode(n, "block_size must be >= 1");
  if (!s.isStatic())
    return failNode(n, "the sequence length must be static for block-sparse attention");
  if (s.size % *bs != 0)
    return failNode(n, llvm::formatv("block_size {0} does not divide the sequence length {1}",
                                     *bs, s.size));
  FloatAttr scale;
  if (attr(n, "scale")) {
    FailureOr<double> sc = floatAttr(n, "scale");
    if (failed(sc))
      return failure();
    scale = b.getF64FloatAttr(*sc);
  }
  const json &sel = *attr(n, "selection");
  std::string where = "attribute 'selection'";
  if (!sel.is_object() || !sel.contains("kind") || !sel["kind"].is_string())
    return failNode(n, where + " must be an object with a 'kind'");
  std::string kind = sel["kind"].get<std::string>();
  auto allowOnly = [&](ArrayRef<StringRef> keys) -> LogicalResult {
    for (auto it = sel.begin(); it != sel.end(); ++it)
      if (!llvm::is_contained(keys, StringRef(it.key())))
        return failNode(n, where + " of kind '" + kind + "': unknown key '" + it.key() + "'");
    return success();
  };
  Value budget, threshold;
  IntegerAttr window, global;
  dyn::BlockSelection selKind;
  if (kind == "topk") {
    if (failed(allowOnly({"kind", "k", "pool"})))
      return failure();
    if (!sel.contains("k"))
      return failNode(n, where + " of kind 'topk' needs 'k'");
    if (sel.contains("pool") && sel["pool"] != "mean")
      return failNode(n, where + ": 'pool' must be \"mean\", the only pooling dync supports");
    FailureOr<Value> kv = scalarOrParam(n, sel["k"], "selection k", b.getI32Type(), b);
    if (failed(kv))
      return failure();
    budget = *kv;
    selKind = dyn::BlockSelection::topk;
  } else if (kind == "threshold") {
    if (failed(allowOnly({"kind", "value"})))
      return failure();
    if (!sel.contains("value"))
      return failNode(n, where + " of kind 'threshold' needs 'value'");
    FailureOr<Value> tv = scalarOrParam(n, sel["value"], "selection value", b.getF32Type(), b);
    if (failed(tv))
      return failure();
    threshold = *tv;
    selKind = dyn::BlockSelection::threshold;
  } else if (kind == "static") {
    if (failed(allowOnly({"kind", "pattern", "window", "global"})))
      return failure();
    if (!sel.contains("pattern") || sel["pattern"] != "local")
      return failNode(n, where + " of kind 'static' needs \"pattern\": \"local\"");
    auto nonNeg = [&](const char *key, int64_t dflt) -> FailureOr<int64_t> {
      if (!sel.contains(key))
        return dflt;
      if (!sel[key].is_number_integer() || sel[key].get<int64_t>() < 0)
        return failNode(n, where + ": '" + key + "' must be a non-negative integer");
      return sel[key].get<int64_t>();
    };
    FailureOr<int64_t> w = nonNeg("window", -1), g = nonNeg("global", 0);
    if (failed(w) || failed(g))
      return failure();
    if (*w < 0)
      return failNode(n, where + " of kind 'static' needs 'window'");
    window = b.getI64IntegerAttr(*w);
    global = b.getI64IntegerAttr(*g);
    selKind = dyn::BlockSelection::static_local;
  } else {
    return failNode(n, where + ": unknown kind '" + kind + "' (expected topk, threshold or static)");
  }
  int64_t nb = s.size / *bs;
  Shape layoutShape{q.shape[0], q.shape[1], Dim::of(nb), Dim::of(nb)};
  UnitAttr causalAttr = *causal ? b.getUnitAttr() : UnitAttr();
  auto select = dyn::BsaSelectOp::create(
      b, typeOf(layoutShape, b.getI1Type()), q.v, k.v, budget, threshold,
      dyn::BlockSelectionAttr::get(&ctx, selKind), b.getI64IntegerAttr(*bs), causalAttr,
      scale, window, global);
  Shape outShape{q.shape[0], q.shape[1], q.shape[2], v.shape[3]};
  Value out = dyn::BsaAttentionOp::create(b, typeOf(outShape, q.elt()), q.v, k.v, v.v,
                                          select.getLayout(), b.getI64IntegerAttr(*bs),
                                          causalAttr, scale);
  SmallVector<TValue> results{TValue{out, outShape}};
  if (n.numOutputs == 2)
    results.push_back(TValue{select.getLayout(), layoutShape});
  return results;
}

} // namespace

OwningOpRef<ModuleOp> importModel(MLIRContext &context, StringRef path,
                                  ImportDiagnostics &diags) {
  DialectRegistry registry;
  registerImportDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  Importer importer(context, path, diags);
  return importer.run();
}

} // namespace dync
