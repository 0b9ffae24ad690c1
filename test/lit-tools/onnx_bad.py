#!/usr/bin/python3
"""Writes ONNX models that dync must refuse, each with a clear message:
    onnx_bad.py DIR
"""
import os
import sys

import numpy as np
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
F = T.FLOAT


def save(name, nodes, inputs, outputs, inits=(), opset=17):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    with open(os.path.join(d, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


x = h.make_tensor_value_info("x", F, ["B", 4])
y = h.make_tensor_value_info("y", F, None)
# Every unsupported op is named, with its nodes, in one message.
save("unsupported", [h.make_node("Einsum", ["x"], ["nz"], equation="ij->ji", name="e1"),
                     h.make_node("Einsum", ["x"], ["nz2"], equation="ij->ji", name="e2"),
                     h.make_node("Det", ["x"], ["dt"], name="det"),
                     h.make_node("Relu", ["x"], ["y"], name="ok")],
     [x], [y], [nh.from_array(np.array(0, np.int64), "ax")])
save("opset12", [h.make_node("Relu", ["x"], ["y"])], [x], [y], opset=12)
save("no_shape", [h.make_node("Relu", ["x"], ["y"])], [h.make_tensor_value_info("x", F, None)], [y])
save("string_input", [h.make_node("Identity", ["s"], ["y"])],
     [h.make_tensor_value_info("s", T.STRING, [2])], [y])
# Gather of a computed tensor by computed indices: not yet, named.
save("gather", [h.make_node("Relu", ["x"], ["r"]),
                h.make_node("Cast", ["x"], ["i"], to=T.INT64),
                h.make_node("Gather", ["r", "i"], ["y"], axis=1, name="pick")], [x], [y])
# A reshape target computed from data cannot be followed.
save("reshape_data", [h.make_node("Cast", ["x"], ["i"], to=T.INT64),
                      h.make_node("Reshape", ["x", "i"], ["y"], name="rs")], [x], [y])
save("gemm_alpha", [h.make_node("Gemm", ["x", "w"], ["y"], alpha=2.0, transB=1, name="fc")],
     [x], [y], [nh.from_array(np.ones((3, 4), np.float32), "w")])
bad = nh.from_array(np.ones((3, 4), np.float32), "w")
bad.raw_data = bad.raw_data[:20]
save("truncated", [h.make_node("Gemm", ["x", "w"], ["y"], transB=1, name="fc")], [x], [y], [bad])
ext = nh.from_array(np.ones((3, 4), np.float32), "w")
ext.ClearField("raw_data")
ext.data_location = T.EXTERNAL
for k, v in (("location", "gone.bin"), ("offset", "0"), ("length", "48")):
    e = ext.external_data.add()
    e.key, e.value = k, v
save("external_gone", [h.make_node("Gemm", ["x", "w"], ["y"], transB=1, name="fc")], [x], [y], [ext])
save("ok", [h.make_node("Relu", ["x"], ["y"], name="act")], [x], [y])
with open(os.path.join(d, "garbage.onnx"), "wb") as f:
    f.write(b"\x08\x07\x12\xff\xff\xff\xff\x0fnot a model")

# One model per node-level error: (name, nodes, extra inputs, initializers).
x3 = h.make_tensor_value_info("x3", F, ["B", 4, 4])
img = h.make_tensor_value_info("img", F, ["N", 2, 6, 6])
k = h.make_tensor_value_info("k", T.INT64, ["B", 4])
w44 = nh.from_array(np.ones((4, 4), np.float32), "w44")
v4 = nh.from_array(np.ones(4, np.float32), "v4")
cw = nh.from_array(np.ones((2, 2, 3, 3), np.float32), "cw")
c2 = [nh.from_array(np.ones(2, np.float32), n) for n in ("s", "bb", "mu", "var")]


def i64(name, v):
    return nh.from_array(np.array(v, np.int64), name)


NODE_CASES = [
    ("gelu_approx", [h.make_node("Gelu", ["x"], ["y"], approximate="fast", name="n")], [x], []),
    ("shape_add", [h.make_node("Shape", ["x"], ["s"]), h.make_node("Add", ["s", "s"], ["t"]),
                   h.make_node("Reshape", ["x", "t"], ["y"], name="rs")], [x], []),
    ("shape_bcast", [h.make_node("Shape", ["x3"], ["s"]), h.make_node("Mul", ["s", "two"], ["y"], name="n")],
     [x3], [i64("two", [2, 2])]),
    ("cast_string", [h.make_node("Cast", ["x"], ["y"], to=T.STRING, name="n")], [x], []),
    ("gemm_b", [h.make_node("Gemm", ["x", "x"], ["y"], transB=1, name="n")], [x], []),
    ("ln_axis", [h.make_node("LayerNormalization", ["x3", "v4"], ["y"], axis=1, name="n")], [x3], [v4]),
    ("ln_scale", [h.make_node("LayerNormalization", ["x", "x"], ["y"], name="n")], [x], []),
    ("argmax_last", [h.make_node("ArgMax", ["x"], ["y"], select_last_index=1, name="n")], [x], []),
    ("reshape_zero", [h.make_node("Reshape", ["x", "s"], ["y"], name="n")], [x], [i64("s", [0, 0, 0])]),
    ("reshape_two", [h.make_node("Reshape", ["x", "s"], ["y"], name="n")], [x], [i64("s", [-1, -1])]),
    ("reshape_infer", [h.make_node("Reshape", ["x", "s"], ["y"], name="n")], [x], [i64("s", [3, -1])]),
    ("reshape_count", [h.make_node("Reshape", ["x", "s"], ["y"], name="n")], [x], [i64("s", [0, 5])]),
    ("reshape_neg", [h.make_node("Reshape", ["x", "s"], ["y"], name="n")], [x], [i64("s", [0, -4])]),
    ("squeeze", [h.make_node("Squeeze", ["x", "a"], ["y"], name="n")], [x], [i64("a", [1])]),
    ("slice_len", [h.make_node("Slice", ["x", "st", "en", "ax"], ["y"], name="n")], [x],
     [i64("st", [0]), i64("en", [2]), i64("ax", [0, 1])]),
    ("slice_dynamic", [h.make_node("Shape", ["x"], ["s"]), h.make_node("Slice", ["x", "s", "z"], ["y"], name="n")],
     [x], [i64("z", [0, 0])]),
    ("slice_step0", [h.make_node("Shape", ["x"], ["s"]),
                     h.make_node("Slice", ["s", "z", "one", "z", "z"], ["y"], name="n")],
     [x], [i64("z", [0]), i64("one", [1])]),
    ("slice_negstep", [h.make_node("Slice", ["x", "st", "en", "ax", "stp"], ["y"], name="n")], [x],
     [i64("st", [3]), i64("en", [0]), i64("ax", [1]), i64("stp", [-1])]),
    ("gather_range", [h.make_node("Shape", ["x"], ["s"]), h.make_node("Gather", ["s", "i"], ["y"], name="n")],
     [x], [i64("i", 5)]),
    ("conv_weight", [h.make_node("Conv", ["img", "img"], ["y"], name="n")], [img], []),
    ("conv_3d", [h.make_node("Conv", ["img", "w44"], ["y"], name="n")], [img], [w44]),
    ("conv_pads", [h.make_node("Conv", ["img", "cw"], ["y"], pads=[1, 0, 0, 0], name="n")], [img], [cw]),
    ("bn_train", [h.make_node("BatchNormalization", ["img", "s", "bb", "mu", "var"], ["y"], training_mode=1,
                              name="n")], [img], c2),
    ("bn_const", [h.make_node("BatchNormalization", ["img", "img", "bb", "mu", "var"], ["y"], name="n")],
     [img], c2),
    ("pool_pads", [h.make_node("MaxPool", ["img"], ["y"], kernel_shape=[2, 2], pads=[1, 0, 0, 0], name="n")],
     [img], []),
    ("pool_ceil", [h.make_node("MaxPool", ["img"], ["y"], kernel_shape=[2, 2], ceil_mode=1, name="n")], [img], []),
    ("avgpool_pad", [h.make_node("AveragePool", ["img"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                 name="n")], [img], []),
    ("undefined_input", [h.make_node("Relu", ["nothere"], ["y"], name="n")], [x], []),
    ("ln_outputs", [h.make_node("LayerNormalization", ["x", "v4"], ["y", "mean"], name="n")], [x], [v4]),
    ("scatter_reduction", [h.make_node("ScatterElements", ["x", "i", "x"], ["y"], reduction="avg", name="n")],
     [x], [i64("i", [[0, 1, 2, 3]])]),
    ("scatter_rank", [h.make_node("ScatterElements", ["x", "i", "x"], ["y"], name="n")], [x], [i64("i", [0])]),
    ("gather_elements_rank", [h.make_node("GatherElements", ["x", "i"], ["y"], name="n")], [x],
     [i64("i", [0, 1])]),
    ("gather_elements_axis", [h.make_node("GatherElements", ["x", "i"], ["y"], axis=-3, name="n")], [x],
     [i64("i", [[0]])]),
    ("gathernd_batch", [h.make_node("GatherND", ["x", "i"], ["y"], batch_dims=1, name="n")], [x],
     [i64("i", [[0]])]),
    ("gathernd_depth", [h.make_node("GatherND", ["x", "i"], ["y"], name="n")], [x], [i64("i", [[0, 0, 0]])]),
    ("scatternd_rank", [h.make_node("ScatterND", ["x", "i", "v4"], ["y"], name="n")], [x],
     [i64("i", [[0]]), v4]),
    ("tile_count", [h.make_node("Tile", ["x", "r"], ["y"], name="n")], [x], [i64("r", [2])]),
    ("tile_negative", [h.make_node("Tile", ["x", "r"], ["y"], name="n")], [x], [i64("r", [1, -1])]),
    ("onehot_depth", [h.make_node("OneHot", ["k", "d", "v"], ["y"], name="n")], [k],
     [i64("d", 0), i64("v", [0, 1])]),
    ("onehot_float", [h.make_node("OneHot", ["x", "d", "v"], ["y"], name="n")], [x],
     [i64("d", 3), i64("v", [0, 1])]),
    ("onehot_values", [h.make_node("OneHot", ["k", "d", "v"], ["y"], name="n")], [k],
     [i64("d", 3), i64("v", [0, 1, 2])]),
    ("onehot_axis", [h.make_node("OneHot", ["k", "d", "v"], ["y"], axis=3, name="n")], [k],
     [i64("d", 3), i64("v", [0, 1])]),
    ("cumsum_axis", [h.make_node("CumSum", ["x", "a"], ["y"], name="n")], [x], [i64("a", 2)]),
    ("nonzero_scalar", [h.make_node("NonZero", ["s0"], ["y"], name="n")], [h.make_tensor_value_info("s0", F, [])],
     []),
    ("and_float", [h.make_node("And", ["x", "x"], ["y"], name="n")], [x], []),
    ("le_types", [h.make_node("LessOrEqual", ["x", "i"], ["y"], name="n")], [x], [i64("i", [1, 2, 3, 4])]),
    ("gather_elements_float", [h.make_node("GatherElements", ["x", "f"], ["y"], name="n")], [x],
     [nh.from_array(np.zeros((1, 1), np.float32), "f")]),
    ("scatter_update_type", [h.make_node("ScatterElements", ["x", "i", "i"], ["y"], name="n")], [x],
     [i64("i", [[0]])]),
    ("gathernd_float", [h.make_node("GatherND", ["x", "f"], ["y"], name="n")], [x],
     [nh.from_array(np.zeros((1, 1), np.float32), "f")]),
    ("gathernd_dynamic", [h.make_node("GatherND", ["x", "id"], ["y"], name="n")],
     [x, h.make_tensor_value_info("id", T.INT64, ["B", "K"])], []),
    ("scatternd_update_type", [h.make_node("ScatterND", ["x", "i", "u"], ["y"], name="n")], [x],
     [i64("i", [[0]]), i64("u", [[1, 2, 3, 4]])]),
    ("cumsum_scalar", [h.make_node("CumSum", ["s0", "a"], ["y"], name="n")],
     [h.make_tensor_value_info("s0", F, [])], [i64("a", 0)]),
    ("cumsum_axes", [h.make_node("CumSum", ["x", "a"], ["y"], name="n")], [x], [i64("a", [0, 1])]),
]
for name, nodes, ins, inits in NODE_CASES:
    save(name, nodes, ins, [y], inits)
save("no_outputs", [h.make_node("Relu", ["x"], ["y"])], [x], [])
save("output_undefined", [h.make_node("Relu", ["x"], ["r"])], [x], [h.make_tensor_value_info("z", F, None)])
save("sequence_input", [h.make_node("Identity", ["s"], ["y"])],
     [h.make_tensor_sequence_value_info("s", F, None)], [y])
save("dim_zero", [h.make_node("Relu", ["x"], ["y"])], [h.make_tensor_value_info("x", F, [0, 4])], [y])
save("int_huge", [h.make_node("Reshape", ["x", "s"], ["y"])], [x], [y], [i64("s", np.zeros(5000, np.int64))])
save("complex_init", [h.make_node("Add", ["x", "c"], ["y"])], [x], [y],
     [nh.from_array(np.ones(4, np.complex64), "c")])
neg = T(name="c", data_type=F, dims=[-3])
save("bad_shape_init", [h.make_node("Add", ["x", "c"], ["y"])], [x], [y], [neg])
save("const_attr", [h.make_node("Constant", [], ["c"], value_string="no"),
                    h.make_node("Add", ["x", "c"], ["y"])], [x], [y])
few = T(name="c", data_type=F, dims=[4], float_data=[1.0, 2.0])
save("few_values", [h.make_node("Add", ["x", "c"], ["y"])], [x], [y], [few])
save("no_shape_input", [h.make_node("Unsqueeze", ["x"], ["y"], name="n")], [x], [y])
save("no_input", [h.make_node("Relu", [""], ["y"], name="n")], [x], [y])
short = nh.from_array(np.ones((3, 4), np.float32), "w")
short.ClearField("raw_data")
short.data_location = T.EXTERNAL
for k, v in (("location", "short.bin"), ("offset", "0"), ("length", "48")):
    e = short.external_data.add()
    e.key, e.value = k, v
with open(os.path.join(d, "short.bin"), "wb") as f:
    f.write(b"\0" * 20)
save("external_short", [h.make_node("Gemm", ["x", "w"], ["y"], transB=1, name="fc")], [x], [y], [short])
save("split_dynamic", [h.make_node("Split", ["x"], ["y", "z"], axis=0, name="n")], [x], [y])
save("split_count", [h.make_node("Split", ["x", "sp"], ["y", "z"], axis=1, name="n")], [x], [y],
     [i64("sp", [1, 1, 2])])
save("split_data", [h.make_node("Cast", ["x"], ["i"], to=T.INT64),
                    h.make_node("Shape", ["i"], ["s"]),
                    h.make_node("Mul", ["s", "s"], ["sp"]),
                    h.make_node("Split", ["x", "sp"], ["y", "z"], axis=1, name="n")], [x], [y])
shape_b = [h.make_node("Shape", ["x"], ["s"]), h.make_node("Gather", ["s", "i0"], ["b"], axis=0)]
save("range_scalars", [h.make_node("Range", ["v2", "v2", "v2"], ["y"], name="n")], [x], [y],
     [i64("v2", [1, 2])])
save("range_delta", [h.make_node("Range", ["z0", "ten", "z0"], ["y"], name="n")], [x], [y],
     [i64("z0", 0), i64("ten", 10)])
save("range_start", shape_b + [h.make_node("Range", ["one", "b", "one"], ["y"], name="n")], [x], [y],
     [i64("i0", 0), i64("one", 1)])
save("slice_to_size", shape_b + [h.make_node("Unsqueeze", ["b", "a0"], ["b1"]),
                                 h.make_node("Slice", ["w44", "one", "b1", "a0"], ["y"], name="n")],
     [x], [y], [i64("i0", 0), i64("one", [1]), i64("a0", [0]), w44])
save("slice_exceeds", shape_b + [h.make_node("Unsqueeze", ["b", "a0"], ["b1"]),
                                 h.make_node("Slice", ["w44", "z", "b1", "a0"], ["y"], name="n")],
     [x], [y], [i64("i0", 0), i64("z", [0]), i64("a0", [0]), w44])
pz = [h.make_node("ReduceMean", ["x"], ["m"], keepdims=0), h.make_node("Greater", ["m", "zf"], ["p"])]
zf = nh.from_array(np.array(0.0, np.float32), "zf")
br = h.make_graph([h.make_node("Relu", ["x"], ["o"])], "b", [], [h.make_tensor_value_info("o", F, None)])
save("if_no_else", pz + [h.make_node("If", ["p"], ["y"], then_branch=br, name="n")], [x], [y], [zf])
bad_br = h.make_graph([h.make_node("Relu", ["ghost"], ["o2"])], "b2", [], [h.make_tensor_value_info("o2", F, None)])
save("if_undefined", pz + [h.make_node("If", ["p"], ["y"], then_branch=br, else_branch=bad_br, name="n")],
     [x], [y], [zf])
shape_k = [h.make_node("Shape", ["x"], ["s"]), h.make_node("Gather", ["s", "i0"], ["kk"], axis=0)]
xi = h.make_tensor_value_info("xi", T.INT64, ["B", 4])
save("topk_smallest", [h.make_node("TopK", ["xi", "k1"], ["y", "idx"], largest=0, name="n")], [xi], [y],
     [i64("k1", [1])])
save("topk_k", shape_k + [h.make_node("TopK", ["x", "kk"], ["y", "idx"], name="n")], [x], [y], [i64("i0", [0])])
save("trilu_rank", [h.make_node("Trilu", ["v1"], ["y"], name="n")], [x], [y],
     [nh.from_array(np.ones(20, np.float32), "v1")])
save("trilu_k", shape_k + [h.make_node("Trilu", ["x", "kk"], ["y"], name="n")], [x], [y], [i64("i0", 0)])
save("expand_bad", [h.make_node("Expand", ["x", "es"], ["y"], name="n")], [x], [y], [i64("es", [3])])
save("cos_value", [h.make_node("ConstantOfShape", ["cs"], ["y"], value=h.make_tensor("v", T.DOUBLE, [1], [1.0]),
                               name="n")], [x], [y], [i64("cs", [2])])
save("cos_f16", [h.make_node("ConstantOfShape", ["cs"], ["y"], value=nh.from_array(np.ones(1, np.float16), "v"),
                             name="n")], [x], [y], [i64("cs", [2])])
# Found by fuzz-onnx-import: a node with fewer inputs or outputs than its op
# requires was read past its end (a protobuf CHECK abort).
save("shape_no_input", [h.make_node("Shape", [], ["y"], name="n")], [x], [y])
save("relu_no_output", [h.make_node("Relu", ["x"], [], name="n")], [x], [y])
save("shape_mul_overflow", [h.make_node("Mul", ["big", "big"], ["s"]),
                            h.make_node("Reshape", ["x", "s"], ["y"], name="n")], [x], [y],
     [i64("big", [1 << 40, 1 << 40])])


def contrib_moe(name, attrs=None, fc1=(4, 12, 4), fc2=(4, 4, 12), router=(4, 4), router_from="x",
                extra=(), bias=None, b1=None):
    """com.microsoft.MoE with one thing wrong; x is [B, 4], 4 experts."""
    ins = ["x", "logits", "w1", "b1" if b1 else "", "w2", ""] + list(extra)
    inits = [nh.from_array(np.ones(router, np.float32), "wr"), nh.from_array(np.ones(fc1, np.float32), "w1"),
             nh.from_array(np.ones(fc2, np.float32), "w2")]
    nodes = [h.make_node("MatMul", [router_from, "wr"], ["mm" if bias else "logits"])]
    if bias:
        nodes.append(h.make_node("Add", ["mm", "rb"], ["logits"]))
    if bias:
        inits.append(nh.from_array(np.ones(bias, np.float32), "rb"))
    if b1:
        inits.append(nh.from_array(np.ones(b1, np.float32), "b1"))
    for e in extra:
        inits.append(nh.from_array(np.ones(fc1, np.float32), e))
    a = {"k": 2, "activation_type": "relu"}
    a.update(attrs or {})
    nodes.append(h.make_node("MoE", ins, ["y"], domain="com.microsoft", name="n", **a))
    g = h.make_graph(nodes, name, [x, h.make_tensor_value_info("x2", F, ["B", 4])], [y], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17), h.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    with open(os.path.join(d, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


contrib_moe("moe_gelu", {"activation_type": "gelu"})
contrib_moe("moe_identity", {"activation_type": "identity"})
contrib_moe("moe_sparse_mixer", {"use_sparse_mixer": 1})
contrib_moe("moe_swiglu_fusion", {"swiglu_fusion": 1})
contrib_moe("moe_fc3", extra=["", "w3"])
contrib_moe("moe_router_input", router_from="x2")
contrib_moe("moe_router_bias", bias=(1, 4))
contrib_moe("moe_k", {"k": 5})
contrib_moe("moe_fc1_shape", fc1=(4, 12, 5))
contrib_moe("moe_inner", fc2=(4, 4, 10))
contrib_moe("moe_b1", b1=(4, 7))
contrib_moe("moe_fc1_rank", fc1=(48, 4))


# Loop and sequences.
def loop_body(nodes, inputs, outputs):
    return h.make_graph(nodes, "body", inputs, outputs)


bi = h.make_tensor_value_info("i", T.INT64, [])
bc = h.make_tensor_value_info("c", T.BOOL, [])
bx = h.make_tensor_value_info("xb", F, None)
bco = h.make_tensor_value_info("c_out", T.BOOL, [])
bxo = h.make_tensor_value_info("x_out", F, None)
three = nh.from_array(np.array(3, np.int64), "three")
true = nh.from_array(np.array(True), "true")
pass_cond = h.make_node("Identity", ["c"], ["c_out"])
# The carried value grows: [B, 4] -> [B, 8].
save("loop_grows", [h.make_node("Loop", ["three", "", "x"], ["y"], name="n", body=loop_body(
    [pass_cond, h.make_node("Concat", ["xb", "xb"], ["x_out"], axis=1)], [bi, bc, bx], [bco, bxo]))],
     [x], [y], [three])
# No trip count and a condition that stays true.
save("loop_forever", [h.make_node("Loop", ["", "true", "x"], ["y"], name="n", body=loop_body(
    [pass_cond, h.make_node("Relu", ["xb"], ["x_out"])], [bi, bc, bx], [bco, bxo]))],
     [x], [y], [true])
# A scan output of a loop whose body computes its condition.
save("loop_while_scan", [h.make_node("Loop", ["three", "true", "x"], ["y", "s"], name="n", body=loop_body(
    [h.make_node("Relu", ["xb"], ["x_out"]), h.make_node("ReduceMax", ["x_out"], ["m"], keepdims=0),
     h.make_node("Less", ["m", "ten"], ["c_out"])], [bi, bc, bx],
    [bco, bxo, h.make_tensor_value_info("x_out", F, None)]))],
     [x], [y, h.make_tensor_value_info("s", F, None)],
     [three, true, nh.from_array(np.array(10.0, np.float32), "ten")])
# A scan output with a trip count computed from data.
save("loop_data_trip", [h.make_node("ReduceMax", ["x"], ["m"], keepdims=0),
                        h.make_node("Cast", ["m"], ["t"], to=T.INT64),
                        h.make_node("Loop", ["t", "", "x"], ["y", "s"], name="n", body=loop_body(
    [pass_cond, h.make_node("Relu", ["xb"], ["x_out"])], [bi, bc, bx],
    [bco, bxo, h.make_tensor_value_info("x_out", F, None)]))],
     [x], [y, h.make_tensor_value_info("s", F, None)])
# The body's inputs do not match the node's loop-carried values.
save("loop_arity", [h.make_node("Loop", ["three", "", "x"], ["y"], name="n", body=loop_body(
    [pass_cond], [bi, bc], [bco]))], [x], [y], [three])
# A sequence carried by a loop that does not start empty.
save("loop_seq_start", [h.make_node("SequenceConstruct", ["x"], ["s0"]),
                        h.make_node("Loop", ["three", "", "s0"], ["s"], name="n", body=loop_body(
    [pass_cond, h.make_node("SequenceInsert", ["sb", "i"], ["s_out"])],
    [bi, bc, h.make_tensor_sequence_value_info("sb", F, None)],
    [bco, h.make_tensor_sequence_value_info("s_out", F, None)])),
                        h.make_node("ConcatFromSequence", ["s"], ["y"], axis=0)], [x], [y], [three])
# The body reads the carried sequence other than by appending to it.
save("loop_seq_read", [h.make_node("SequenceEmpty", [], ["s0"], dtype=F),
                       h.make_node("Loop", ["three", "", "s0"], ["s"], name="n", body=loop_body(
    [pass_cond, h.make_node("SequenceLength", ["sb"], ["len"], name="len"),
     h.make_node("SequenceInsert", ["sb", "x"], ["s_out"])],
    [bi, bc, h.make_tensor_sequence_value_info("sb", F, None)],
    [bco, h.make_tensor_sequence_value_info("s_out", F, None)])),
                       h.make_node("ConcatFromSequence", ["s"], ["y"], axis=0)], [x], [y], [three])
# SequenceAt past the end.
save("seq_at_range", [h.make_node("SequenceConstruct", ["x", "x"], ["s"]),
                      h.make_node("SequenceAt", ["s", "three"], ["y"], name="n")], [x], [y], [three])
zero = nh.from_array(np.array(0, np.int64), "zero")
relu_body = loop_body([pass_cond, h.make_node("Relu", ["xb"], ["x_out"])], [bi, bc, bx], [bco, bxo])
save("loop_no_body", [h.make_node("Loop", ["three", "", "x"], ["y"], name="n")], [x], [y], [three])
save("loop_one_input", [h.make_node("Loop", ["three"], ["y"], name="n", body=relu_body)], [x], [y],
     [three])
save("loop_outputs", [h.make_node("Loop", ["three", "", "x"], ["y", "y2"], name="n", body=relu_body)],
     [x], [y], [three])
save("loop_trip_float", [h.make_node("ReduceMax", ["x"], ["m"], keepdims=0),
                         h.make_node("Loop", ["m", "", "x"], ["y"], name="n", body=relu_body)], [x], [y])
save("loop_cond_vector", [h.make_node("Greater", ["x", "fzero"], ["c0"]),
                          h.make_node("Loop", ["three", "c0", "x"], ["y"], name="n", body=relu_body)],
     [x], [y], [three, nh.from_array(np.array(0.0, np.float32), "fzero")])
save("loop_no_init", [h.make_node("Loop", ["three", "", ""], ["y"], name="n", body=relu_body)], [x], [y],
     [three])
save("loop_body_output", [h.make_node("Loop", ["three", "", "x"], ["y"], name="n", body=loop_body(
    [pass_cond], [bi, bc, bx], [bco, h.make_tensor_value_info("ghost", F, None)]))], [x], [y], [three])
save("loop_body_cond", [h.make_node("Loop", ["three", "true", "x"], ["y"], name="n", body=loop_body(
    [h.make_node("Relu", ["xb"], ["x_out"]), h.make_node("Greater", ["x_out", "fzero"], ["c_out"])],
    [bi, bc, bx], [h.make_tensor_value_info("c_out", T.BOOL, None), bxo]))], [x], [y],
     [three, true, nh.from_array(np.array(0.0, np.float32), "fzero")])
seq_vi = h.make_tensor_sequence_value_info
save("loop_seq_keep", [h.make_node("SequenceEmpty", [], ["s0"], dtype=F),
                       h.make_node("Loop", ["three", "", "s0"], ["s"], name="n", body=loop_body(
    [pass_cond], [bi, bc, seq_vi("sb", F, None)], [bco, seq_vi("sb", F, None)])),
                       h.make_node("ConcatFromSequence", ["s"], ["y"], axis=0)], [x], [y], [three])
save("loop_scan_nonzero", [h.make_node("Loop", ["three", "", "x"], ["y", "s"], name="n", body=loop_body(
    [pass_cond, h.make_node("Relu", ["xb"], ["x_out"]), h.make_node("NonZero", ["x_out"], ["nz"])],
    [bi, bc, bx], [bco, bxo, h.make_tensor_value_info("nz", T.INT64, None)]))],
     [x], [y, h.make_tensor_value_info("s", T.INT64, None)], [three])
save("loop_seq_position", [h.make_node("SequenceEmpty", [], ["s0"], dtype=F),
                           h.make_node("Loop", ["three", "", "s0"], ["s"], name="n", body=loop_body(
    [pass_cond, h.make_node("SequenceInsert", ["sb", "x", "zero"], ["s_out"], name="ins")],
    [bi, bc, seq_vi("sb", F, None)], [bco, seq_vi("s_out", F, None)])),
                           h.make_node("ConcatFromSequence", ["s"], ["y"], axis=0)], [x], [y], [three, zero])
append_body = loop_body([pass_cond, h.make_node("SequenceInsert", ["sb", "x"], ["s_out"])],
                        [bi, bc, seq_vi("sb", F, None)], [bco, seq_vi("s_out", F, None)])
save("seq_insert_stacked", [h.make_node("SequenceEmpty", [], ["s0"], dtype=F),
                            h.make_node("Loop", ["three", "", "s0"], ["s"], body=append_body),
                            h.make_node("SequenceInsert", ["s", "x"], ["s2"], name="n"),
                            h.make_node("ConcatFromSequence", ["s2"], ["y"], axis=0)], [x], [y], [three])
save("seq_at_stacked", [h.make_node("Shape", ["x"], ["shape"]),
                        h.make_node("Gather", ["shape", "zero"], ["t"]),
                        h.make_node("SequenceEmpty", [], ["s0"], dtype=F),
                        h.make_node("Loop", ["t", "", "s0"], ["s"], body=append_body),
                        h.make_node("SequenceAt", ["s", "one"], ["y"], name="n")], [x], [y],
     [zero, nh.from_array(np.array(1, np.int64), "one")])
save("seq_not_seq", [h.make_node("SequenceAt", ["x", "zero"], ["y"], name="n")], [x], [y], [zero])
save("seq_position_pair", [h.make_node("SequenceConstruct", ["x", "x"], ["s"]),
                           h.make_node("SequenceAt", ["s", "pair"], ["y"], name="n")], [x], [y],
     [nh.from_array(np.array([0, 1], np.int64), "pair")])
save("seq_concat_no_axis", [h.make_node("SequenceConstruct", ["x", "x"], ["s"]),
                            h.make_node("ConcatFromSequence", ["s"], ["y"], name="n")], [x], [y])
save("seq_concat_empty", [h.make_node("SequenceEmpty", [], ["s"], dtype=F),
                          h.make_node("ConcatFromSequence", ["s"], ["y"], name="n", axis=0)], [x], [y])
save("seq_stack_rank", [h.make_node("ReduceMax", ["x"], ["m"], keepdims=0),
                        h.make_node("SequenceConstruct", ["x", "m"], ["s"]),
                        h.make_node("ConcatFromSequence", ["s"], ["y"], name="n", axis=2, new_axis=1)],
     [x], [y])
