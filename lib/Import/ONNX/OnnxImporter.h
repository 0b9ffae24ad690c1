//===- OnnxImporter.h - the ONNX front end ----------------------*- C++ -*-===//
//
// Reads an ONNX model (protobuf, through Debian's libonnx) and builds the
// same dyn-level IR as the JSON front end, with the shared model-building
// layer (Builder/): each ONNX node is translated to dync's op vocabulary and
// presented as a NodeView (OnnxNodeView), or folded at import time when it
// only computes shapes (Shape, Gather of a shape, Concat of sizes...).
//
// Initializers and float Constant nodes become the model's weights: small
// ones are inlined as constants, the others are written to a safetensors
// file beside the output and bound like any dync model's weights.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_LIB_IMPORT_ONNX_ONNXIMPORTER_H
#define DYNC_LIB_IMPORT_ONNX_ONNXIMPORTER_H

#include "Builder/GraphBuilder.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <onnx/onnx_pb.h>

namespace dync::import {

/// A sequence (an ONNX sequence of tensors): its tensors known one by one at
/// import (SequenceConstruct, SequenceInsert), or the tensors a Loop appended
/// to it, one per iteration, stacked along a new leading dim. Inside a Loop's
/// body, the sequence carried in (`carried`: nothing known of it) and the one
/// tensor the body appends to it.
struct OnnxSequence {
  SmallVector<TValue> elements;
  std::optional<TValue> stacked;
  bool carried = false;
  std::optional<TValue> appended;
};

/// A value of the ONNX graph as the importer knows it: a tensor of the IR,
/// or a small integer tensor known at import time (a shape, axes: each
/// element a static or symbolic size), or a float constant not yet in the IR,
/// or a sequence.
struct OnnxValue {
  std::optional<TValue> tensor;
  /// Known integers; `scalar` if a 0-d tensor.
  std::optional<SmallVector<Dim>> ints;
  bool scalar = false;
  /// The shape of known integers read from a tensor of rank 2 or more
  /// (indices); empty otherwise (0-d if `scalar`, else 1-d).
  SmallVector<int64_t> intsShape;
  /// The element width known integers are materialized with: 1 (bool), 32
  /// or 64 (the width of the initializer they were read from; shapes 64).
  unsigned intsBits = 64;
  /// A float constant (its data in OnnxImporter::floatConsts).
  bool isFloatConst = false;
  std::optional<OnnxSequence> seq;
};

/// A float initializer or Constant: data converted to f32 with its shape.
struct FloatConst {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

class OnnxImporter;

/// Input `i` of `node`, or "" (no value) if it has fewer inputs: for code
/// that reads a graph before every node's arity is checked (the raising).
inline const std::string &inputOf(const onnx::NodeProto &node, int i) {
  static const std::string none;
  return i >= 0 && i < node.input_size() ? node.input(i) : none;
}

/// `v` (a tensor of one element) as a scalar of its element type.
Value scalarOf(ImplicitLocOpBuilder &b, const TValue &v);
/// True if every dim of `v` is a static 1.
bool oneElement(const TValue &v);
/// The names a graph reads that it does not define (ONNX subgraphs see the
/// enclosing graph's values by name), in first-use order, appended to `out`.
void freeNames(const onnx::GraphProto &g, std::set<std::string> defined,
               std::vector<std::string> &out);

/// The outer value `branch` returns unchanged (its only output, through
/// Identity nodes, with no other node in it), or "".
std::string passedThrough(const onnx::GraphProto &branch);

/// A comparison with a float constant, as `value REL threshold` (REL one of
/// Greater, GreaterOrEqual, Less, LessOrEqual; operands swapped if the
/// constant came first).
struct ThresholdTest {
  std::string value, rel, thresholdName;
  const FloatConst *threshold;
};

/// One expert of a raised MoE: the names of its transposed MatMul weights
/// ([out, in]) and biases.
struct MoeExpert {
  std::string w1, w2, w3, b1, b2;
  std::string act; // "silu" or "relu"
};

/// An ONNX node presented to the op builders: the dync op it maps to and
/// the attributes its translation set, in dync's terms.
class OnnxNodeView : public NodeView {
public:
  using Attr = std::variant<int64_t, double, bool, std::string, SmallVector<int64_t>,
                            std::pair<int64_t, int64_t>, Type>;
  OnnxNodeView(OnnxImporter &importer, mlir::Location loc) : NodeView(loc), importer(importer) {}

  bool hasAttr(StringRef name) const override { return attrs.count(name.str()); }
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
  bool hasWeight(StringRef slot) const override { return weights.count(slot.str()); }
  FailureOr<std::string> weightTensor(StringRef slot) override;
  FailureOr<SmallVector<TValue>> importSubgraph(StringRef role, ArrayRef<TValue> args, bool live,
                                                mlir::OpBuilder &b) override;
  FailureOr<size_t> numStages(bool gateCriterion) override;

  /// A view of the same node for one more dync op it is built with (the
  /// slices of a Split, the add after a Gemm): messages name the node.
  OnnxNodeView part(StringRef dyncOp) const {
    OnnxNodeView v(importer, loc);
    v.name = name;
    v.path = path;
    v.sourceOp = sourceOp;
    v.op = dyncOp.str();
    v.proto = proto;
    return v;
  }

  std::string excerpt() const override;

  OnnxImporter &importer;
  /// The node itself, for the excerpt under a message.
  const onnx::NodeProto *proto = nullptr;
  std::map<std::string, Attr> attrs;
  std::map<std::string, std::string> weights; // slot -> weights-file tensor
  /// An If's branches and the outer values they read (passed as operands).
  const onnx::GraphProto *thenBranch = nullptr, *elseBranch = nullptr;
  std::vector<std::string> captures;

private:
  template <typename T> FailureOr<T> get(StringRef name, std::optional<T> dflt);
};

class OnnxImporter {
public:
  OnnxImporter(mlir::MLIRContext &ctx, StringRef path, const OnnxImportOptions &options,
               ImportDiagnostics &diags)
      : g(ctx, path.str(), diags), ctx(ctx), path(path.str()), options(options) {}

  mlir::OwningOpRef<mlir::ModuleOp> run();

  GraphBuilder g;

  // Used by the translations (OnnxOps.cpp). -------------------------------------
  LogicalResult failNode(const NodeView &n, const llvm::Twine &msg) { return g.failNode(n, msg); }
  /// Input `i` of the node as an IR tensor (materializing constants).
  FailureOr<TValue> tensorInput(OnnxNodeView &n, const onnx::NodeProto &node, int i,
                                ImplicitLocOpBuilder &b);
  /// Input `i` as known integers, or failure naming what was expected.
  FailureOr<SmallVector<Dim>> intsInput(OnnxNodeView &n, const onnx::NodeProto &node, int i,
                                        StringRef what);
  bool hasInput(const onnx::NodeProto &node, int i) const {
    return i < node.input_size() && !node.input(i).empty();
  }
  /// The name of a float constant among the weights (written to the
  /// weights file), or empty if input `i` is not one.
  std::string weightInput(const onnx::NodeProto &node, int i);
  const FloatConst *floatConst(const onnx::NodeProto &node, int i);
  /// Builds `n` (its op, attributes and inputs set) with the shared builder
  /// and binds its results to the node's outputs.
  LogicalResult emit(OnnxNodeView &n, const onnx::NodeProto &node, ImplicitLocOpBuilder &b);
  /// Binds the node's outputs to the results of the dync op built for it.
  LogicalResult bindResults(OnnxNodeView &n, const onnx::NodeProto &node,
                            ArrayRef<TValue> results);
  void bind(const onnx::NodeProto &node, int i, OnnxValue v) { values[node.output(i)] = std::move(v); }
  void bind(const onnx::NodeProto &node, int i, TValue t) {
    OnnxValue v;
    v.tensor = std::move(t);
    values[node.output(i)] = std::move(v);
  }
  /// The weights-file tensor holding the transpose of the 2-D float
  /// constant `name` (made for MatMul and Gemm operands before the weights
  /// are written), or empty.
  std::string transposedWeight(const std::string &name) const;
  static std::optional<Type> elementType(int32_t onnxType, mlir::MLIRContext &ctx);
  /// The float constant a name stands for (itself, or through Identity).
  const std::string &canonical(const std::string &name) const {
    auto it = aliases.find(name);
    return it == aliases.end() ? name : it->second;
  }

  /// An MoE layer exported as a loop over experts, recognized before
  /// translation (OnnxRaiseMoe.cpp): the value it reads, its routing and
  /// experts, and the weights-file tensors of dyn.moe's slots.
  struct RaisedMoe {
    std::string name = "moe", x, router, routerBias, weightsValue, activation;
    /// The dense formulation's term the experts are added to (none: zeros).
    std::string base;
    int64_t numExperts = 0, topK = 0;
    /// The shape the sum's zeros are made with, when it is not x's own
    /// (Shape(x)): it must be x's shape when the node is translated, else
    /// the node is translated as it is.
    std::string zerosShape;
    /// A fixed number of assignments per expert (Switch); 0: dropless.
    int64_t capacity = 0;
    bool normalize = false, gated = false;
    std::vector<MoeExpert> experts;
    std::map<std::string, std::string> weights;
  };
  LogicalResult raiseMoes(const onnx::GraphProto &graph);
  /// com.microsoft.MoE as a RaisedMoe (OnnxContribMoe.cpp); "" on success,
  /// else why it cannot be.
  std::string prepareContribMoe(const onnx::NodeProto &node, RaisedMoe &moe);
  LogicalResult translateContribMoe(OnnxNodeView &, const onnx::NodeProto &,
                                    ImplicitLocOpBuilder &);
  LogicalResult translateRaisedMoe(OnnxNodeView &n, const onnx::NodeProto &node,
                                   const RaisedMoe &moe, ImplicitLocOpBuilder &b);
  /// Whether the zeros a raised MoE's sum starts from have x's shape.
  bool zerosFitRaisedMoe(const RaisedMoe &moe) const;
  /// Input values by name as known so far (integer constants, tensors).
  const std::map<std::string, OnnxValue> &knownValues() const { return values; }
  const FloatConst *floatConstNamed(const std::string &name) const {
    auto it = floatConsts.find(canonical(name));
    return it == floatConsts.end() ? nullptr : &it->second;
  }
  /// The value `name` as an IR tensor (materializing constants).
  FailureOr<TValue> tensorInputNamed(OnnxNodeView &n, const std::string &name,
                                     ImplicitLocOpBuilder &b);

  /// The translation of one ONNX op type (OnnxOps.cpp).
  using Translate = LogicalResult (OnnxImporter::*)(OnnxNodeView &, const onnx::NodeProto &,
                                                    ImplicitLocOpBuilder &);
  static const std::map<std::string, Translate> &translations();

  LogicalResult translateUnary(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateBinary(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateWhere(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateLogical(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateCast(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateIdentity(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateMatMul(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateGemm(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateSoftmax(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateLayerNorm(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateReduce(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateArgMax(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateShape(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateReshape(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateUnsqueeze(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateSqueeze(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateFlatten(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateTranspose(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateConcat(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateSlice(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateTopK(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateExpand(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateConstantOfShape(OnnxNodeView &, const onnx::NodeProto &,
                                         ImplicitLocOpBuilder &);
  LogicalResult translateTrilu(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateNonZero(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateOneHot(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateRange(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateSplit(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateGather(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  // OnnxGatherScatter.cpp
  LogicalResult translateGatherElements(OnnxNodeView &, const onnx::NodeProto &,
                                        ImplicitLocOpBuilder &);
  LogicalResult translateGatherND(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateScatterElements(OnnxNodeView &, const onnx::NodeProto &,
                                         ImplicitLocOpBuilder &);
  LogicalResult translateScatterND(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateTile(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateCumSum(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateConv(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateBatchNorm(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translatePool(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateIf(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  /// Builds an If that gates a block on a score (OnnxRaiseGate.cpp) as
  /// dyn.gate; false, with nothing changed, if it is not one.
  bool raiseGate(OnnxNodeView &n, const onnx::NodeProto &node, ImplicitLocOpBuilder &b);
  /// Builds `Where(score > t, x + block(x), x)` with a per-sample score
  /// (OnnxRaiseGate.cpp) as dyn.gate; false, with nothing changed, if it is
  /// not one.
  bool raiseDenseGate(OnnxNodeView &n, const onnx::NodeProto &node, ImplicitLocOpBuilder &b);
  /// True if every node of `slice` computes each row of its result from the
  /// same row of its inputs whatever their rank (a per-token gate's body).
  bool rowWise(const onnx::GraphProto &slice) const;
  /// Builds `softmax(q @ kᵀ · scale [masked with -inf]) @ v`
  /// (OnnxRaiseAttention.cpp) as dyn.attention (no mask, or a causal one
  /// from a constant lower triangle) or dyn.bsa.attention (a layout of
  /// blocks expanded); false, with nothing changed, if it is none of them.
  bool raiseAttention(OnnxNodeView &n, const onnx::NodeProto &node, ImplicitLocOpBuilder &b);
  /// Whether the positions kept (`keep`, or where it is false if not
  /// `keepIf`) are a constant lower triangle of ones sliced from its corner;
  /// nothing if `keep` is not a constant mask at all.
  std::optional<bool> isCausalMask(const std::string &keep, bool keepIf) const;
  /// The layout [B, H, nq, nk] that `mask` expands to blocks of
  /// `blockSize`, or null.
  const TValue *blockLayout(const std::string &mask, const TValue &q, const Shape &kShape,
                            int64_t &blockSize) const;
  /// The value of a one-element constant, or of scalar arithmetic on such
  /// constants (`D ** 0.5`), or nothing.
  std::optional<double> constantScalar(const std::string &name, int depth = 0) const;
  /// Builds a chain of Ifs on a confidence (OnnxRaiseExit.cpp) as
  /// dyn.early_exit; false, with nothing changed, if it is not one.
  bool raiseEarlyExit(OnnxNodeView &n, const onnx::NodeProto &first, ImplicitLocOpBuilder &b);
  // OnnxLoop.cpp
  LogicalResult translateLoop(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateSequence(OnnxNodeView &, const onnx::NodeProto &, ImplicitLocOpBuilder &);
  LogicalResult translateConcatFromSequence(OnnxNodeView &, const onnx::NodeProto &,
                                            ImplicitLocOpBuilder &);
  /// The sequence input 0 of `node` holds; the one a Loop's body carries
  /// only if `inBody` (an append to it).
  FailureOr<OnnxSequence *> sequenceInput(OnnxNodeView &n, const onnx::NodeProto &node,
                                          bool inBody);
  /// Helpers of the raising (OnnxRaiseGate.cpp).
  /// `cmp` as `value REL t`, t a one-element float constant, or nothing.
  std::optional<ThresholdTest> thresholdTest(const onnx::NodeProto &cmp) const;
  /// A gate's body: `graph` imported on the live rows `live` of `xName`,
  /// returning a value of that type; null, with the diagnostics as they
  /// were, if it cannot be one.
  std::unique_ptr<mlir::Block> gateBody(OnnxNodeView &n, const onnx::GraphProto &graph,
                                        const std::string &path, const std::string &xName,
                                        const Shape &live, Type elt);
  /// The IR tensor `name` is bound to (not a constant), or null.
  const TValue *importedTensor(const std::string &name) const;
  /// True if `name` is a constant or weight (built again in a region).
  bool isConstantValue(const std::string &name) const {
    return values.count(name) && !importedTensor(name);
  }
  /// The node of the graph being imported that defined `name`, or null.
  const onnx::NodeProto *producerOf(const std::string &name) const {
    auto it = producers.find(name);
    return it == producers.end() ? nullptr : it->second;
  }
  using NodeLookup = std::function<const onnx::NodeProto *(const std::string &)>;
  /// The nodes that compute `targets` from `from` and constants, as the
  /// graph `out` (each node after what it reads; outputs `targets`); false
  /// if they read another tensor or hold a subgraph.
  bool sliceGraph(const NodeLookup &find, const std::string &from,
                  ArrayRef<std::string> targets, onnx::GraphProto &out) const;
  /// Declares the f32 runtime parameter `<node>.threshold` (a unique name)
  /// with `value` as its default, and reads it.
  Value thresholdParam(OnnxNodeView &n, float value, ImplicitLocOpBuilder &b);
  /// Imports an If branch into the region `b` builds in, its captured outer
  /// values bound to `args`; returns the branch's outputs.
  FailureOr<SmallVector<TValue>> importBranch(OnnxNodeView &n, const onnx::GraphProto &graph,
                                              const std::string &path, ArrayRef<TValue> args,
                                              mlir::OpBuilder &b);

  /// Attributes of the ONNX node.
  const onnx::AttributeProto *attr(const onnx::NodeProto &node, StringRef name) const;
  int64_t intAttr(const onnx::NodeProto &node, StringRef name, int64_t dflt) const;
  float floatAttr(const onnx::NodeProto &node, StringRef name, float dflt) const;
  std::optional<SmallVector<int64_t>> intsAttr(const onnx::NodeProto &node, StringRef name) const;

  int64_t opset = 0;
  /// The node that defined each value imported so far (the latest of a
  /// name, so a branch's own definitions are seen inside it).
  std::map<std::string, const onnx::NodeProto *> producers;
  /// True while a per-sample subgraph (a gate's body) is imported: axis 0
  /// of its values is the live batch.
  bool importingLive = false;
  /// Graphs raising builds from parts of the model's (the stages of an
  /// early exit); `producers` points into them.
  std::deque<onnx::GraphProto> synthesized;
  /// The module being built (for the runtime parameters raising declares).
  mlir::ModuleOp moduleOp;
  /// A tensor of the entry block, for sizes read from the model's dims.
  TValue anyTensor;

private:
  LogicalResult runImpl(mlir::OwningOpRef<mlir::ModuleOp> &module);
  LogicalResult readConstants(const onnx::GraphProto &graph);
  LogicalResult readTensor(const onnx::TensorProto &t, const std::string &where);
  LogicalResult checkSupported(const onnx::GraphProto &graph);
  LogicalResult writeWeights();
  LogicalResult importInputs(const onnx::GraphProto &graph, std::vector<EntryInput> &inputs);
  LogicalResult importNode(const onnx::NodeProto &node, const std::string &where,
                           mlir::OpBuilder &b);

  mlir::MLIRContext &ctx;
  std::string path;
  const OnnxImportOptions &options;
  onnx::ModelProto model;
  std::map<std::string, OnnxValue> values;
  /// Float initializers and constants, by name, and which go to the file.
  std::map<std::string, FloatConst> floatConsts;
  /// Names that an Identity gives a float constant (exporters deduplicate
  /// equal initializers that way), to the constant's own name.
  std::map<std::string, std::string> aliases;
  std::vector<std::string> weightOrder;
  /// MoE sums built as dyn.moe, by the value of the last Add of the sum.
  std::map<std::string, RaisedMoe> raisedMoes;
  /// Why a com.microsoft.MoE node (by its output) cannot be built.
  std::map<std::string, std::string> contribMoeErrors;
  std::unique_ptr<safetensors::File> weightsFile;
};

} // namespace dync::import

#endif // DYNC_LIB_IMPORT_ONNX_ONNXIMPORTER_H
