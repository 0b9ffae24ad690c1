#!/usr/bin/python3
"""ONNX models built with onnx.helper (Debian's python3-onnx), compiled by
dync, run by dync-run, and compared with ONNX Runtime (run in its own venv:
Debian's python and PyPI's onnxruntime do not mix).

    onnx_check.py --dync DYNC --dync-run RUN --ort-python PY --workdir DIR CASE...

For each output of each case prints `MATCH case output shape` or
`MISMATCH ... max error`; integer and bool outputs must be equal. Exits 1 if
any output mismatched or a step failed.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

rng = np.random.default_rng(0)
F = T.FLOAT


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def init(name, a):
    return nh.from_array(np.asarray(a), name)


def model(name, nodes, inputs, outputs, inits, opset=17):
    g = h.make_graph(nodes, name, inputs, outputs, inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def vi(name, elt, shape):
    return h.make_tensor_value_info(name, elt, shape)


# --- cases: each returns (model, inputs, dims) --------------------------------

def case_mlp():
    """nn.Linear on 2-D (Gemm transB) and 3-D (MatMul + Add) inputs, a
    scalar constant, and a reshape spelled with Shape/Gather/Concat."""
    W1, b1, W2, b2 = randn(32, 16), randn(32), randn(32, 8), randn(8)
    nodes = [
        h.make_node("Gemm", ["x", "W1", "b1"], ["g"], transB=1, name="fc1"),
        h.make_node("Relu", ["g"], ["r"], name="act"),
        h.make_node("MatMul", ["r", "W2"], ["m"], name="fc2"),
        h.make_node("Add", ["m", "b2"], ["a"], name="bias2"),
        h.make_node("Mul", ["a", "two"], ["a2"], name="scale"),
        h.make_node("Shape", ["a2"], ["s"], name="shape"),
        h.make_node("Gather", ["s", "zero"], ["bsz"], axis=0, name="bsz"),
        h.make_node("Concat", ["bsz", "two_i", "minus1"], ["tshape"], axis=0, name="cat"),
        h.make_node("Reshape", ["a2", "tshape"], ["r3"], name="reshape"),
        h.make_node("Softmax", ["r3"], ["y"], axis=-1, name="softmax"),
    ]
    inits = [init("W1", W1), init("b1", b1), init("W2", W2), init("b2", b2),
             init("zero", np.array([0], np.int64)), init("minus1", np.array([-1], np.int64)),
             init("two_i", np.array([2], np.int64)), init("two", np.array(2.0, np.float32))]
    m = model("mlp", nodes, [vi("x", F, ["batch", 16])], [vi("y", F, None)], inits)
    return m, {"x": randn(3, 16)}, {"batch": (1, 64)}


def case_elementwise():
    """Unary math, broadcasting [B,1,8] against [4,8], comparisons, Where,
    Not, Cast, Pow by a constant, integer arithmetic."""
    c = randn(4, 8)
    nodes = [
        h.make_node("Sub", ["x", "c"], ["d"]),            # [B,4,8]
        h.make_node("Sigmoid", ["d"], ["sg"]), h.make_node("Tanh", ["d"], ["th"]),
        h.make_node("Exp", ["x"], ["ex"]), h.make_node("Log", ["ex"], ["lg"]),
        h.make_node("Sqrt", ["ex"], ["sq"]), h.make_node("Erf", ["d"], ["er"]),
        h.make_node("Neg", ["d"], ["ng"]), h.make_node("Abs", ["d"], ["ab"]),
        h.make_node("Reciprocal", ["ex"], ["rc"]), h.make_node("Pow", ["d", "p2"], ["pw"]),
        h.make_node("Div", ["d", "ex"], ["dv"]),
        h.make_node("Greater", ["d", "zero"], ["gt"]), h.make_node("Less", ["d", "zero"], ["lt"]),
        h.make_node("Not", ["gt"], ["ngt"]),
        h.make_node("Where", ["gt", "d", "ng"], ["wh"]),
        h.make_node("Cast", ["k"], ["kf"], to=T.FLOAT), h.make_node("Mul", ["kf", "x"], ["kx"]),
        h.make_node("Cast", ["gt"], ["gti"], to=T.INT64),
        h.make_node("Add", ["k", "gti"], ["ki"]), h.make_node("Equal", ["k", "ki"], ["eq"]),
        h.make_node("Div", ["k", "three"], ["kd"]),
    ]
    inits = [init("c", c), init("p2", np.array(2.0, np.float32)),
             init("zero", np.array(0.0, np.float32)), init("three", np.array(3, np.int64))]
    outs = ["sg", "th", "lg", "sq", "er", "ng", "ab", "rc", "pw", "dv", "lt", "ngt", "wh",
            "kx", "ki", "eq", "kd"]
    m = model("elementwise", nodes, [vi("x", F, ["B", 1, 8]), vi("k", T.INT64, ["B", 1, 8])],
              [vi(o, {"lt": T.BOOL, "ngt": T.BOOL, "eq": T.BOOL, "ki": T.INT64,
                          "kd": T.INT64}.get(o, F), None) for o in outs], inits)
    k = rng.integers(-7, 8, (5, 1, 8)).astype(np.int64)
    return m, {"x": randn(5, 1, 8), "k": k}, {}


def case_norms():
    """LayerNormalization, reductions with axes as an attribute (opset 17)
    and as an input (ReduceSum), keepdims both ways, ArgMax."""
    g, b = randn(8), randn(8)
    nodes = [
        h.make_node("LayerNormalization", ["x", "g", "b"], ["ln"], axis=-1, epsilon=1e-5),
        h.make_node("ReduceMean", ["x"], ["mean"], axes=[-1]),
        h.make_node("ReduceMax", ["x"], ["mx"], axes=[1], keepdims=0),
        h.make_node("ReduceSum", ["x", "ax"], ["sm"], keepdims=0),
        h.make_node("ReduceMean", ["x"], ["all"], keepdims=0),
        h.make_node("ArgMax", ["x"], ["am"], axis=-1, keepdims=0),
    ]
    inits = [init("g", g), init("b", b), init("ax", np.array([0, 2], np.int64))]
    m = model("norms", nodes, [vi("x", F, ["B", 3, 8])],
              [vi(o, T.INT64 if o == "am" else F, None)
               for o in ["ln", "mean", "mx", "sm", "all", "am"]], inits)
    return m, {"x": randn(4, 3, 8)}, {}


def case_shapes():
    """Transpose, Unsqueeze/Squeeze (axes as inputs, opset 13+), Flatten,
    Concat of tensors, Slice with negative bounds and a step, Gather of one
    index (negative), Reshape with a 0 entry, two dynamic dims."""
    nodes = [
        h.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),           # [B,8,S]
        h.make_node("Unsqueeze", ["x", "ax1"], ["u"]),                     # [B,1,S,8]
        h.make_node("Squeeze", ["u", "ax1"], ["sq"]),                      # [B,S,8]
        h.make_node("Flatten", ["x"], ["fl"], axis=2),                     # [B*S, 8]
        h.make_node("Concat", ["x", "sq"], ["cat"], axis=-1),              # [B,S,16]
        h.make_node("Slice", ["cat", "st", "en", "axs", "stp"], ["sl"]),   # [B,S,?]
        h.make_node("Gather", ["x", "idx"], ["ga"], axis=-1),              # [B,S]
        h.make_node("Reshape", ["x", "shp"], ["rs"]),                      # [B,S,2,4]
        h.make_node("Split", ["x", "spl"], ["p0", "p1"], axis=-1),         # [B,S,3], [B,S,5]
        h.make_node("Split", ["x"], ["q0", "q1", "q2"], axis=2),           # 3, 3, 2 (opset 18 rule)
    ]
    inits = [init("ax1", np.array([1], np.int64)), init("st", np.array([-12], np.int64)),
             init("en", np.array([-1], np.int64)), init("axs", np.array([2], np.int64)),
             init("stp", np.array([2], np.int64)), init("idx", np.array(-2, np.int64)),
             init("shp", np.array([0, 0, 2, 4], np.int64)), init("spl", np.array([3, 5], np.int64))]
    outs = ["t", "sq", "fl", "cat", "sl", "ga", "rs", "p0", "p1", "q0", "q1", "q2"]
    nodes[-1].attribute.append(h.make_attribute("num_outputs", 3))
    m = model("shapes", nodes, [vi("x", F, ["B", "S", 8])], [vi(o, F, None) for o in outs], inits,
              opset=18)
    return m, {"x": randn(2, 5, 8)}, {"S": (1, 16)}


def case_embedding():
    """Token ids [B, S] (both dynamic) through an embedding table, a
    projection and a mean over the sequence."""
    E, W = randn(50, 8), randn(8, 4)
    nodes = [
        h.make_node("Gather", ["E", "ids"], ["e"], axis=0),
        h.make_node("MatMul", ["e", "W"], ["p"]),
        h.make_node("ReduceMean", ["p"], ["y"], axes=[1], keepdims=0),
    ]
    m = model("embedding", nodes, [vi("ids", T.INT64, ["B", "S"])], [vi("y", F, None)],
              [init("E", E), init("W", W)])
    return m, {"ids": rng.integers(0, 50, (3, 7)).astype(np.int64)}, {"S": (1, 32)}


def case_tied_weights():
    """Weights named twice, as exporters deduplicate equal initializers
    (tied embeddings, equal biases): the embedding table and the Gemm bias
    are Identity copies of initializers."""
    nodes = [
        h.make_node("Identity", ["E"], ["E_tied"]),
        h.make_node("Identity", ["c"], ["c_tied"]),
        h.make_node("Gather", ["E_tied", "ids"], ["e"], axis=0),
        h.make_node("ReduceMean", ["e"], ["m"], axes=[1], keepdims=0),
        h.make_node("Gemm", ["m", "Wg", "c_tied"], ["y"], transB=1),
    ]
    m = model("tied_weights", nodes, [vi("ids", T.INT64, ["B", "S"])], [vi("y", F, None)],
              [init("E", randn(50, 8)), init("Wg", randn(4, 8)), init("c", randn(4))])
    return m, {"ids": rng.integers(0, 50, (3, 7)).astype(np.int64)}, {"S": (1, 32)}


def case_int_abs_neg():
    """Abs and Neg of integers (index arithmetic), i64 and i32."""
    nodes = [h.make_node("Abs", ["i"], ["a"]), h.make_node("Neg", ["i"], ["n"]),
             h.make_node("Cast", ["i"], ["i32"], to=T.INT32), h.make_node("Abs", ["i32"], ["a32"]),
             h.make_node("Neg", ["i32"], ["n32"])]
    m = model("int_abs_neg", nodes, [vi("i", T.INT64, ["N"])],
              [vi("a", T.INT64, None), vi("n", T.INT64, None), vi("a32", T.INT32, None),
               vi("n32", T.INT32, None)], [])
    return m, {"i": np.array([-5, 0, 7, -1, 3], np.int64)}, {"N": (1, 16)}


def case_conv():
    """Conv (pads 1), BatchNormalization, MaxPool, AveragePool,
    GlobalAveragePool, Flatten and Gemm: a small CNN with a dynamic batch."""
    w, cb = randn(4, 3, 3, 3), randn(4)
    s, bb, mu, var = randn(4), randn(4), randn(4), np.abs(randn(4)) + 0.5
    fw, fb = randn(5, 4), randn(5)
    nodes = [
        h.make_node("Conv", ["x", "w", "cb"], ["c"], pads=[1, 1, 1, 1], strides=[1, 1]),
        h.make_node("BatchNormalization", ["c", "s", "bb", "mu", "var"], ["bn"], epsilon=1e-5),
        h.make_node("Relu", ["bn"], ["r"]),
        h.make_node("MaxPool", ["r"], ["mp"], kernel_shape=[2, 2], strides=[2, 2]),
        h.make_node("AveragePool", ["mp"], ["ap"], kernel_shape=[2, 2], strides=[1, 1]),
        h.make_node("GlobalAveragePool", ["ap"], ["gp"]),
        h.make_node("Flatten", ["gp"], ["f"]),
        h.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1),
    ]
    inits = [init("w", w), init("cb", cb), init("s", s), init("bb", bb), init("mu", mu),
             init("var", var), init("fw", fw), init("fb", fb)]
    m = model("conv", nodes, [vi("x", F, ["N", 3, 8, 8])], [vi("y", F, None), vi("ap", F, None)],
              inits)
    return m, {"x": randn(2, 3, 8, 8)}, {}


def case_attention():
    """Scaled dot-product attention over [B, H, S, D] with B and S dynamic:
    q @ kᵀ via Transpose, Div by √D, Softmax, @ v, then Gelu (opset 20)."""
    nodes = [
        h.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
        h.make_node("MatMul", ["q", "kt"], ["s"]),
        h.make_node("Div", ["s", "sqrtd"], ["ss"]),
        h.make_node("Softmax", ["ss"], ["p"], axis=-1),
        h.make_node("MatMul", ["p", "v"], ["o"]),
        h.make_node("Gelu", ["o"], ["y"]),
    ]
    sh = ["B", 2, "S", 4]
    m = model("attention", nodes, [vi("q", F, sh), vi("k", F, sh), vi("v", F, sh)],
              [vi("y", F, None)], [init("sqrtd", np.array(2.0, np.float32))], opset=20)
    return m, {"q": randn(2, 2, 5, 4), "k": randn(2, 2, 5, 4), "v": randn(2, 2, 5, 4)}, {"S": (1, 16)}


def case_external():
    """Weights stored as external data (one file beside the model), as
    torch.onnx.export writes models over 2 GB."""
    W, b = randn(6, 4), randn(6)
    nodes = [h.make_node("Gemm", ["x", "W", "b"], ["y"], transB=1)]
    m = model("external", nodes, [vi("x", F, ["B", 4])], [vi("y", F, None)],
              [init("W", W), init("b", b)])
    return m, {"x": randn(3, 4)}, {}


def case_indexing():
    """TopK (values and indices; the largest on the last axis, the smallest
    on another), Gather by computed indices (ArgMax),
    Expand (to a larger rank and a dynamic dim), ConstantOfShape of a
    computed shape, Trilu upper and lower with k, and a causal mask built
    the dynamic way (Trilu of ConstantOfShape [S, S])."""
    nodes = [
        h.make_node("TopK", ["x", "k3"], ["tv", "ti"], axis=-1),
        h.make_node("TopK", ["x", "k2"], ["sv", "si"], axis=1, largest=0),   # the 2 smallest rows
        h.make_node("ArgMax", ["x"], ["am"], axis=1, keepdims=0),            # [B, 4] i64
        h.make_node("Gather", ["x", "am"], ["ga"], axis=1),                  # [B, B, 4, 4]
        h.make_node("Expand", ["v", "eshape"], ["ex"]),                      # [2, 3, 4]
        h.make_node("Shape", ["x"], ["xs"]),
        h.make_node("ConstantOfShape", ["xs"], ["ones"], value=h.make_tensor("one", F, [1], [1.0])),
        h.make_node("Add", ["x", "ones"], ["x1"]),
        h.make_node("Trilu", ["x", "k1"], ["up"], upper=1),
        h.make_node("Trilu", ["x"], ["lo"], upper=0),
        h.make_node("Slice", ["xs", "s1", "s2"], ["ss"]),                    # [4]
        h.make_node("Concat", ["ss", "ss"], ["mshape"], axis=0),
        h.make_node("ConstantOfShape", ["mshape"], ["mones"], value=h.make_tensor("o", F, [1], [1.0])),
        h.make_node("Trilu", ["mones"], ["causal"], upper=0),
        h.make_node("Mul", ["x", "causal"], ["masked"]),
    ]
    inits = [init("k3", np.array([3], np.int64)), init("k2", np.array([2], np.int64)), init("v", randn(1, 4)),
             init("eshape", np.array([2, 3, 1], np.int64)), init("k1", np.array(1, np.int64)),
             init("s1", np.array([1], np.int64)), init("s2", np.array([2], np.int64))]
    outs = {"tv": F, "ti": T.INT64, "sv": F, "si": T.INT64, "ga": F, "ex": F, "x1": F, "up": F, "lo": F, "masked": F}
    m = model("indexing", nodes, [vi("x", F, ["B", 4, 4])], [vi(o, t, None) for o, t in outs.items()],
              inits)
    return m, {"x": randn(3, 4, 4)}, {"B": (1, 8)}


def case_gather_scatter():
    """GatherElements (negative indices), ScatterElements (none with
    distinct indices, add with repeated ones), GatherND, ScatterND (add),
    Tile (a dynamic dim repeated too), CumSum (inclusive, exclusive,
    reverse, both; f32 and i64) -- a batch dim B that is dynamic throughout."""
    nodes = [
        h.make_node("GatherElements", ["x", "gi"], ["ge"], axis=1),
        h.make_node("ScatterElements", ["x", "si", "su"], ["se"], axis=1),
        h.make_node("ScatterElements", ["x", "ai", "su"], ["sa"], axis=1, reduction="add"),
        h.make_node("GatherND", ["t", "ni"], ["gn"]),
        h.make_node("ScatterND", ["t", "ni", "nu"], ["sn"], reduction="add"),
        h.make_node("Tile", ["x", "reps"], ["ti"]),
        h.make_node("Tile", ["t", "reps3"], ["tt"]),                        # [2B, 3, 6]
        h.make_node("CumSum", ["x", "ax1"], ["c0"]),
        h.make_node("CumSum", ["x", "ax1"], ["c1"], exclusive=1),
        h.make_node("CumSum", ["x", "axm"], ["c2"], reverse=1),
        h.make_node("CumSum", ["x", "ax0"], ["c3"], exclusive=1, reverse=1),
        h.make_node("Cast", ["x"], ["xi"], to=T.INT64),
        h.make_node("CumSum", ["xi", "ax1"], ["ci"]),
    ]
    gi = np.array([[0, -1, 2], [3, 1, -4]] * 2, np.int64)[:, :3]           # [4, 3]
    si = np.array([[4, 0], [1, 3], [2, 2], [0, 4]], np.int64)[:, :2]        # distinct per row
    si[2] = [2, 3]
    ai = np.array([[1, 1], [0, 0], [4, -1], [2, 2]], np.int64)              # repeated: add
    inits = [init("gi", gi), init("si", si), init("ai", ai), init("su", randn(4, 2)),
             init("ni", np.array([[0, 1], [2, 0], [0, 1], [-1, 2]], np.int64)),
             init("nu", randn(4, 3)), init("reps", np.array([2, 3], np.int64)),
             init("reps3", np.array([2, 1, 2], np.int64)),
             init("ax1", np.array(1, np.int64)), init("axm", np.array(-1, np.int64)),
             init("ax0", np.array(0, np.int64))]
    outs = {"ge": F, "se": F, "sa": F, "gn": F, "sn": F, "ti": F, "tt": F, "c0": F, "c1": F, "c2": F,
            "c3": F, "ci": T.INT64}
    m = model("gather_scatter", nodes, [vi("x", F, [4, 5]), vi("t", F, ["B", 3, 3])],
              [vi(o, t, None) for o, t in outs.items()], inits)
    return m, {"x": (randn(4, 5) * 4).round(), "t": randn(3, 3, 3)}, {"B": (1, 8)}


def case_one_hot():
    """OneHot on the last axis (negative indices wrap, out-of-range ones give
    a row of off values) and on a middle axis, from i64 and i32 indices,
    with float and integer values; a batch dim B that is dynamic."""
    nodes = [
        h.make_node("OneHot", ["i", "depth", "fv"], ["last"]),
        h.make_node("Cast", ["i"], ["i32"], to=T.INT32),
        h.make_node("OneHot", ["i32", "depth32", "fv"], ["mid"], axis=1),
        h.make_node("OneHot", ["i", "depth", "iv"], ["first"], axis=0),
    ]
    inits = [init("depth", np.array(5, np.int64)), init("depth32", np.array([5], np.int32)),
             init("fv", np.array([0.5, 2.0], np.float32)), init("iv", np.array([-1, 7], np.int64))]
    m = model("one_hot", nodes, [vi("i", T.INT64, ["B", 3])],
              [vi("last", F, None), vi("mid", F, None), vi("first", T.INT64, None)], inits)
    return m, {"i": np.array([[0, 4, -1], [-5, 2, 5], [7, -6, 3]], np.int64)}, {"B": (1, 8)}


def nonzero_model():
    """NonZero (a count only the run knows) feeding Transpose, GatherND and
    a reduction; NonZero of a comparison (bool) and of integers."""
    nodes = [
        h.make_node("NonZero", ["x"], ["nz"], name="nzx"),
        h.make_node("Transpose", ["nz"], ["nzt"], perm=[1, 0]),
        h.make_node("GatherND", ["x", "nzt"], ["vals"]),
        h.make_node("ReduceSum", ["vals"], ["total"], keepdims=0),
        h.make_node("Greater", ["x", "zero"], ["pos"]),
        h.make_node("NonZero", ["pos"], ["np"], name="nzp"),
        h.make_node("Cast", ["x"], ["xi"], to=T.INT32),
        h.make_node("NonZero", ["xi"], ["ni"], name="nzi"),
    ]
    outs = {"nz": T.INT64, "vals": F, "total": F, "np": T.INT64, "ni": T.INT64}
    return model("nonzero", nodes, [vi("x", F, ["B", 3, 2])], [vi(o, t, None) for o, t in outs.items()],
                 [init("zero", np.array(0.0, np.float32))])


def case_nonzero():
    own = np.random.default_rng(7)  # its own: the counts do not depend on other cases
    x = np.where(own.random((4, 3, 2)) < 0.4, 0.0, own.standard_normal((4, 3, 2))).astype(np.float32)
    return nonzero_model(), {"x": x}, {"B": (1, 8)}


def case_nonzero_none():
    """Nothing set: every count is 0."""
    return nonzero_model(), {"x": np.zeros((2, 3, 2), np.float32)}, {"B": (1, 8)}


def case_logical():
    """And, Or, Xor (broadcast), LessOrEqual and GreaterOrEqual on floats
    (with NaN, equal values) and integers."""
    nodes = [
        h.make_node("Less", ["x", "y"], ["lt"]),
        h.make_node("Greater", ["x", "zero"], ["pos"]),
        h.make_node("And", ["lt", "pos"], ["a"]),
        h.make_node("Or", ["lt", "pos"], ["o"]),
        h.make_node("Xor", ["lt", "row"], ["xo"]),
        h.make_node("LessOrEqual", ["x", "y"], ["le"]),
        h.make_node("GreaterOrEqual", ["x", "y"], ["ge"]),
        h.make_node("Cast", ["x"], ["xi"], to=T.INT64),
        h.make_node("Cast", ["y"], ["yi"], to=T.INT64),
        h.make_node("LessOrEqual", ["xi", "yi"], ["lei"]),
    ]
    outs = {o: T.BOOL for o in ("a", "o", "xo", "le", "ge", "lei")}
    m = model("logical", nodes, [vi("x", F, ["B", 4]), vi("y", F, ["B", 4])],
              [vi(o, t, None) for o, t in outs.items()],
              [init("zero", np.array(0.0, np.float32)), init("row", np.array([True, False, True, False]))])
    x = np.array([[1, 2, 3, np.nan], [0, -1, 5, 2], [2, 2, -3, 0]], np.float32)
    y = np.array([[1, 3, 2, 1], [0, np.nan, 5, 1], [3, 2, -4, 0]], np.float32)
    return m, {"x": x, "y": y}, {"B": (1, 8)}


def contrib_moe(act, normalize, biases, k=2):
    """ONNX Runtime's com.microsoft.MoE, routed by x @ Wr, as ORT's model
    builders write Mixtral-like layers."""
    E, d, inter, T = 4, 8, 12, ["T"]
    w1, w2 = randn(E, inter, d) * 0.3, randn(E, d, inter) * 0.3
    inits = [init("wr", randn(d, E)), init("w1", w1), init("w2", w2)]
    ins = ["x", "logits", "w1", "b1" if biases else "", "w2", "b2" if biases else ""]
    if biases:
        inits += [init("b1", randn(E, inter) * 0.1), init("b2", randn(E, d) * 0.1)]
    nodes = [h.make_node("MatMul", ["x", "wr"], ["logits"], name="router"),
             h.make_node("MoE", ins, ["y"], domain="com.microsoft", name="experts", k=k,
                         activation_type=act, normalize_routing_weights=int(normalize))]
    g = h.make_graph(nodes, "contrib_moe", [vi("x", F, T + [d])], [vi("y", F, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17), h.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    return m, {"x": randn(7, d)}, {"T": (1, 32)}


def case_contrib_moe():
    return contrib_moe("relu", normalize=False, biases=True)


def case_contrib_moe_silu():
    return contrib_moe("silu", normalize=True, biases=False)


def case_contrib_moe_top1():
    return contrib_moe("relu", normalize=True, biases=True, k=1)


def case_if():
    """If on a scalar predicate (the batch's mean above a threshold) around a
    residual block: the then branch reads an outer tensor and a constant
    weight, the else branch passes x through; inputs on both sides."""
    W = randn(8, 8)
    then_g = h.make_graph([h.make_node("MatMul", ["x", "W"], ["m"]), h.make_node("Relu", ["m"], ["r"]),
                           h.make_node("Add", ["x", "r"], ["t_out"])], "then", [],
                          [vi("t_out", F, None)])
    else_g = h.make_graph([h.make_node("Mul", ["x", "half"], ["e_out"])], "else", [],
                          [vi("e_out", F, None)])
    nodes = [h.make_node("ReduceMean", ["x"], ["mean"], keepdims=0),
             h.make_node("Greater", ["mean", "zero"], ["p"]),
             h.make_node("If", ["p"], ["y"], then_branch=then_g, else_branch=else_g, name="skip")]
    inits = [init("W", W), init("zero", np.array(0.0, np.float32)), init("half", np.array(0.5, np.float32))]
    m = model("if", nodes, [vi("x", F, ["B", 8])], [vi("y", F, None)], inits)
    return m, {"x": np.abs(randn(3, 8))}, {}


def case_if_else():
    """The same model on an input whose mean is negative: the else branch."""
    m, _, dims = case_if()
    return m, {"x": -np.abs(randn(4, 8))}, dims


def torch_case(module, inputs, dynamic_axes, run, opset=17, dims=None):
    """`module` exported by torch.onnx.export (Debian's python3-torch) on
    `inputs` with `dynamic_axes`; returns the model, the inputs to run it on
    (`run`: other sizes than the export saw), no dims, and PyTorch's own
    outputs on them as a second reference."""
    import io
    import torch
    torch.manual_seed(0)
    module.eval()
    names = list(inputs)
    args = tuple(torch.from_numpy(inputs[n]) for n in names)
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, args, buf, input_names=names, output_names=["y"],
                          dynamic_axes=dynamic_axes, opset_version=opset)
        want = module(*(torch.from_numpy(run[n]) for n in names)).numpy()
    return onnx.load_from_string(buf.getvalue()), run, dims or {}, {"y": want}


def case_torch_mlp():
    """nn.Sequential MLP: Linear, GELU (exported as Erf arithmetic),
    LayerNorm, Linear, softmax; dynamic batch."""
    import torch.nn as nn
    m = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.LayerNorm(32), nn.Linear(32, 8),
                      nn.Softmax(dim=-1))
    return torch_case(m, {"x": randn(5, 16)}, {"x": {0: "batch"}, "y": {0: "batch"}},
                      {"x": randn(9, 16)})


def case_torch_block():
    """A transformer block the way it is usually written: token embedding,
    multi-head self-attention with view/transpose/reshape on x.size(),
    residuals, LayerNorm, a GELU MLP; batch and sequence both dynamic."""
    import torch
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self, vocab=40, d=16, heads=2):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.qkv = nn.Linear(d, 3 * d)
            self.out = nn.Linear(d, d)
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.heads, self.d = heads, d

        def forward(self, ids):
            x = self.emb(ids)
            b, s = x.size(0), x.size(1)
            q, k, v = self.qkv(self.ln1(x)).split(self.d, dim=-1)
            q = q.view(b, s, self.heads, -1).transpose(1, 2)
            k = k.view(b, s, self.heads, -1).transpose(1, 2)
            v = v.view(b, s, self.heads, -1).transpose(1, 2)
            att = torch.softmax(q @ k.transpose(-2, -1) / (self.d // self.heads) ** 0.5, dim=-1)
            o = (att @ v).transpose(1, 2).reshape(b, s, -1)
            x = x + self.out(o)
            return x + self.mlp(self.ln2(x))

    ids = rng.integers(0, 40, (2, 7)).astype(np.int64)
    run = rng.integers(0, 40, (3, 5)).astype(np.int64)
    return torch_case(Block(), {"ids": ids}, {"ids": {0: "batch", 1: "seq"},
                                              "y": {0: "batch", 1: "seq"}}, {"ids": run})


def case_torch_gpt():
    """A GPT-style causal LM layer as nanoGPT writes it: token and position
    embeddings (torch.arange -> Range over the dynamic length), a causal
    mask buffer sliced to the length (mask[:, :, :t, :t]) and applied with
    masked_fill, softmax, a head. The length is bounded by the mask (--dim T
    up to 32)."""
    import torch
    import torch.nn as nn

    class Causal(nn.Module):
        def __init__(self, d=16, heads=2, maxlen=32, vocab=50):
            super().__init__()
            self.emb, self.pos = nn.Embedding(vocab, d), nn.Embedding(maxlen, d)
            self.qkv, self.o, self.ln = nn.Linear(d, 3 * d), nn.Linear(d, d), nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)
            self.heads, self.d = heads, d
            self.register_buffer("mask", torch.tril(torch.ones(maxlen, maxlen)).view(1, 1, maxlen, maxlen))

        def forward(self, ids):
            b, t = ids.size()
            pos = torch.arange(0, t, dtype=torch.long).unsqueeze(0)
            x = self.emb(ids) + self.pos(pos)
            q, k, v = self.qkv(self.ln(x)).split(self.d, dim=2)
            q, k, v = (z.view(b, t, self.heads, -1).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / (self.d // self.heads) ** 0.5)
            att = att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf"))
            y = (torch.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(b, t, self.d)
            return self.head(x + self.o(y))

    ids = rng.integers(0, 50, (2, 7)).astype(np.int64)
    run = rng.integers(0, 50, (3, 11)).astype(np.int64)
    return torch_case(Causal(), {"ids": ids}, {"ids": {0: "B", 1: "T"}, "y": {0: "B", 1: "T"}},
                      {"ids": run}, dims={"T": (1, 32)})


def case_torch_moe_lm():
    """A small MoE causal LM end to end: token and position embeddings, two
    pre-norm blocks of nanoGPT's causal attention and a Mixtral-style MoE
    FFN (the loop over experts on the [B * S, d] tokens), a final norm and
    the LM head; batch and sequence dynamic, the length bounded by the
    mask (--dim T up to 32)."""
    import torch
    import torch.nn as nn
    loop, _, _ = moe_modules()

    class Block(nn.Module):
        def __init__(self, d, heads, maxlen):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.moe = loop(d=d, h=2 * d, n=4, k=2)
            self.heads, self.d = heads, d
            self.register_buffer("mask", torch.tril(torch.ones(maxlen, maxlen)).view(1, 1, maxlen, maxlen))

        def forward(self, x):
            b, t, _ = x.size()
            q, k, v = self.qkv(self.ln1(x)).split(self.d, dim=2)
            q, k, v = (z.view(b, t, self.heads, -1).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / (self.d // self.heads) ** 0.5)
            att = att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf"))
            y = (torch.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(b, t, self.d)
            x = x + self.o(y)
            return x + self.moe(self.ln2(x))

    class LM(nn.Module):
        def __init__(self, vocab=50, d=16, heads=2, maxlen=32):
            super().__init__()
            self.emb, self.pos = nn.Embedding(vocab, d), nn.Embedding(maxlen, d)
            self.blocks = nn.ModuleList([Block(d, heads, maxlen) for _ in range(2)])
            self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)

        def forward(self, ids):
            t = ids.size(1)
            x = self.emb(ids) + self.pos(torch.arange(0, t, dtype=torch.long).unsqueeze(0))
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln(x))

    ids = rng.integers(0, 50, (2, 7)).astype(np.int64)
    run = rng.integers(0, 50, (3, 13)).astype(np.int64)
    return torch_case(LM(), {"ids": ids}, {"ids": {0: "B", 1: "T"}, "y": {0: "B", 1: "T"}},
                      {"ids": run}, dims={"B": (1, 8), "T": (1, 32)})


def skip_module():
    """A block skipped on a data-dependent condition, written with Python
    control flow and exported through torch.jit.script (an ONNX If)."""
    import torch
    import torch.nn as nn

    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.score = nn.Linear(8, 8), nn.Linear(8, 1)
            with torch.no_grad():
                self.score.weight.fill_(1.0 / 8)
                self.score.bias.zero_()

        def forward(self, x):
            if torch.sigmoid(self.score(x)).mean() > 0.5:
                x = x + torch.relu(self.fc(x))
            return x

    return torch.jit.script(Skip())


def case_torch_skip_on():
    """The scripted skip block on inputs that run it (positive mean)."""
    return torch_case(skip_module(), {"x": randn(3, 8)}, {"x": {0: "B"}, "y": {0: "B"}},
                      {"x": np.abs(randn(5, 8))})


def case_torch_skip_off():
    """The scripted skip block on inputs that skip it (negative mean)."""
    return torch_case(skip_module(), {"x": randn(3, 8)}, {"x": {0: "B"}, "y": {0: "B"}},
                      {"x": -np.abs(randn(2, 8))})


def case_torch_cnn():
    """Conv, BatchNorm, ReLU, MaxPool, AdaptiveAvgPool2d(1), flatten, Linear."""
    import torch.nn as nn
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1, groups=2), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
    return torch_case(m, {"x": randn(2, 3, 8, 8)}, {"x": {0: "batch"}, "y": {0: "batch"}},
                      {"x": randn(3, 3, 8, 8)})


EXTERNAL = {"external"}

def moe_modules():
    """Mixture-of-experts layers written the way popular libraries write
    them (HF Mixtral, Qwen2-MoE, Switch Transformer), for export."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Expert(nn.Module):  # SwiGLU, as Mixtral's block_sparse_moe experts
        def __init__(self, d, h):
            super().__init__()
            self.w1 = nn.Linear(d, h, bias=False)
            self.w2 = nn.Linear(h, d, bias=False)
            self.w3 = nn.Linear(d, h, bias=False)

        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class LoopMoE(nn.Module):
        """Mixtral: softmax router, top-2, renormalized weights, a loop over
        experts selecting tokens with torch.where, index_add back."""
        def __init__(self, d=16, h=32, n=4, k=2):
            super().__init__()
            self.gate = nn.Linear(d, n, bias=False)
            self.experts = nn.ModuleList([Expert(d, h) for _ in range(n)])
            self.k = k

        def forward(self, x):
            b, s, d = x.shape
            x = x.view(-1, d)
            probs = F.softmax(self.gate(x), dim=-1)
            w, idx = torch.topk(probs, self.k, dim=-1)
            w = w / w.sum(dim=-1, keepdim=True)
            out = torch.zeros_like(x)
            for e, expert in enumerate(self.experts):
                tok, slot = torch.where(idx == e)
                out = out.index_add(0, tok, expert(x[tok]) * w[tok, slot, None])
            return out.view(b, s, d)

    class DenseMoE(nn.Module):
        """Every expert on every token, weighted by the top-k weights
        scattered into a dense [tokens, experts] matrix; plus a shared
        expert scaled by its own sigmoid gate (Qwen2-MoE)."""
        def __init__(self, d=16, h=32, n=4, k=2):
            super().__init__()
            self.gate = nn.Linear(d, n, bias=False)
            self.experts = nn.ModuleList([Expert(d, h) for _ in range(n)])
            self.shared = Expert(d, h)
            self.shared_gate = nn.Linear(d, 1, bias=False)
            self.k = k

        def forward(self, x):
            probs = F.softmax(self.gate(x), dim=-1)
            w, idx = torch.topk(probs, self.k, dim=-1)
            dense = torch.zeros_like(probs).scatter(1, idx, w)
            out = torch.sigmoid(self.shared_gate(x)) * self.shared(x)
            for e, expert in enumerate(self.experts):
                out = out + dense[:, e:e + 1] * expert(x)
            return out

    class SwitchMoE(nn.Module):
        """Switch Transformer: top-1 routing with an expert capacity; a
        token's place in its expert's queue is a cumulative sum of the
        one-hot routing, and tokens past the capacity are dropped."""
        def __init__(self, d=16, h=32, n=4, capacity=3):
            super().__init__()
            self.gate = nn.Linear(d, n, bias=False)
            self.experts = nn.ModuleList(
                [nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, d)) for _ in range(n)])
            self.n, self.capacity = n, capacity

        def forward(self, x):
            probs = F.softmax(self.gate(x), dim=-1)
            p, e = probs.max(dim=-1)
            onehot = (e[:, None] == torch.arange(self.n)[None, :]).to(x.dtype)
            place = torch.cumsum(onehot, dim=0) * onehot
            kept = (place > 0) & (place <= self.capacity)
            out = torch.zeros_like(x)
            for i, expert in enumerate(self.experts):
                tok = torch.nonzero(kept[:, i]).squeeze(-1)
                out = out.index_add(0, tok, expert(x[tok]) * p[tok, None])
            return out

    return LoopMoE, DenseMoE, SwitchMoE


def case_torch_moe_loop():
    loop, _, _ = moe_modules()
    return torch_case(loop(), {"x": randn(2, 5, 16)},
                      {"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}},
                      {"x": randn(3, 7, 16)}, dims={"batch": (1, 4), "seq": (1, 16)})


def case_torch_moe_dense():
    _, dense, _ = moe_modules()
    return torch_case(dense(), {"x": randn(6, 16)}, {"x": {0: "tokens"}, "y": {0: "tokens"}},
                      {"x": randn(11, 16)}, dims={"tokens": (1, 64)})


def case_torch_moe_switch():
    _, _, switch = moe_modules()
    return torch_case(switch(), {"x": randn(8, 16)}, {"x": {0: "tokens"}, "y": {0: "tokens"}},
                      {"x": randn(13, 16)}, dims={"tokens": (1, 64)})


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dync", required=True)
    p.add_argument("--dync-run", required=True)
    p.add_argument("--ort-python", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--dync-flag", action="append", default=[],
                   help="passed to dync (e.g. --target=cuda-emulated)")
    p.add_argument("cases", nargs="+")
    args = p.parse_args()
    # They import this file as a module: only here, not at the top.
    import onnx_attention_cases
    import onnx_exit_cases
    import onnx_gate_cases
    import onnx_loop_cases
    CASES.update(onnx_loop_cases.CASES)
    CASES.update(onnx_gate_cases.CASES)
    CASES.update(onnx_exit_cases.CASES)
    CASES.update(onnx_attention_cases.CASES)
    bad = 0
    for name in args.cases:
        d = os.path.join(args.workdir, name)
        os.makedirs(d, exist_ok=True)
        m, inputs, dims, *torch_out = CASES[name]()

        path = os.path.join(d, name + ".onnx")
        if name in EXTERNAL:
            onnx.save(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                      location=name + ".data", size_threshold=0)
        else:
            onnx.save(m, path)
        cmd = [args.dync, path, "-o", os.path.join(d, name + ".so")] + args.dync_flag
        for k, (lo, hi) in dims.items():
            cmd.append(f"--dim={k}={lo}:{hi}")
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0 or r.stderr:
            print(f"FAILED {name}: dync: {r.stderr.strip()}")
            bad += 1
            continue
        run = [args.dync_run, os.path.join(d, name + ".so")]
        for k, v in inputs.items():
            np.save(os.path.join(d, k + ".npy"), v)
            run += ["--input", f"{k}={os.path.join(d, k + '.npy')}"]
        outs = [o.name for o in m.graph.output]
        for o in outs:
            run += ["--output", f"{o}={os.path.join(d, o + '.dync.npy')}"]
        r = subprocess.run(run, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAILED {name}: dync-run: {r.stderr.strip()}")
            bad += 1
            continue
        ort = ("import sys, numpy as np, onnxruntime as ort\n"
               "d, path, ins, outs = sys.argv[1], sys.argv[2], sys.argv[3].split(','), sys.argv[4].split(',')\n"
               "s = ort.InferenceSession(path, providers=['CPUExecutionProvider'])\n"
               "res = s.run(outs, {i: np.load(f'{d}/{i}.npy') for i in ins})\n"
               "[np.save(f'{d}/{o}.ort.npy', r) for o, r in zip(outs, res)]\n")
        r = subprocess.run([args.ort_python, "-c", ort, d, path, ",".join(inputs), ",".join(outs)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAILED {name}: onnxruntime: {r.stderr.strip()[-500:]}")
            bad += 1
            continue
        for o, want in (torch_out[0].items() if torch_out else ()):
            got = np.load(os.path.join(d, o + ".dync.npy"))
            ok = got.shape == want.shape and float(np.max(np.abs(got - want))) <= 1e-4 + 1e-4 * float(
                np.max(np.abs(want)))
            print(f"{'MATCH' if ok else 'MISMATCH'} {name} {o} {list(want.shape)} against PyTorch")
            bad += not ok
        for o in outs:
            got = np.load(os.path.join(d, o + ".dync.npy"))
            want = np.load(os.path.join(d, o + ".ort.npy"))
            shape = list(want.shape)
            if got.shape != want.shape:
                print(f"MISMATCH {name} {o}: shape {list(got.shape)}, onnxruntime {shape}")
                bad += 1
            elif np.issubdtype(want.dtype, np.floating):
                err = float(np.max(np.abs(got - want))) if got.size else 0.0
                tol = 1e-4 + 1e-4 * float(np.max(np.abs(want))) if want.size else 1e-4
                ok = err <= tol
                print(f"{'MATCH' if ok else 'MISMATCH'} {name} {o} {shape}" +
                      ("" if ok else f" max error {err}"))
                bad += not ok
            else:
                ok = np.array_equal(got.astype(want.dtype), want)
                print(f"{'MATCH' if ok else 'MISMATCH'} {name} {o} {shape} exact")
                bad += not ok
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
