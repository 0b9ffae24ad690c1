#!/usr/bin/python3
"""Writes dync's example models (JSON graph + safetensors weights).

    generate.py OUTDIR [MODEL ...]

Deterministic: every model's weights come from a numpy generator seeded with
the model's name, so two runs write identical files. Sizes are small (each
weights file is well under 1 MB); the models exist to test and demonstrate,
not to be accurate.

Models:
  static_mlp          plain MLP classifier (weights stored as f16)
  moe_lm              2-layer transformer LM with top-2-of-4 MoE FFNs
  moe_lm_shared       the same with gated (SwiGLU) experts and a shared expert
  early_exit_encoder  3-stage encoder classifier, max-softmax exits; stage 2
                      has an MoE FFN and a per-sample gate (nesting)
  skip_mlp            4 residual MLP blocks behind per-sample gates; block 3
                      holds a per-sample cond inside its gate (nesting)
  skip_resnet         small ResNet (conv2d + batch_norm) with gated blocks
  bsa_lm              LM whose attention is causal block-sparse attention with
                      top-k block selection
  mixtral_lm          Mixtral-style causal LM, batch and sequence both dynamic:
                      rms_norm, causal attention, gated SiLU top-2-of-8 MoE
  branchy_cnn         BranchyNet-style CNN: three early-exit stages that
                      downsample (the hidden shape changes stage by stage)
"""

import json
import os
import struct
import sys
import zlib

import numpy as np


class Model:
    def __init__(self, name, dims, inputs, outputs, params=()):
        self.name = name
        self.dims = dims
        self.inputs = inputs
        self.outputs = outputs
        self.params = list(params)
        self.nodes = []
        self.tensors = {}
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))
        self.counter = 0

    def weight(self, name, shape, scale=None, offset=0.0, dtype=np.float32):
        if scale is None:
            fan_in = shape[-1] if len(shape) > 1 else shape[0]
            scale = 1.0 / np.sqrt(fan_in)
        value = offset + self.rng.standard_normal(shape) * scale
        self.tensors[name] = value.astype(dtype)
        return name

    def fresh(self, base):
        self.counter += 1
        return f"{base}_{self.counter}"

    def write(self, outdir):
        os.makedirs(outdir, exist_ok=True)
        weights = self.name + ".safetensors"
        graph = {
            "format": "dync-model",
            "version": 1,
            "name": self.name,
            "weights": weights,
            "dims": self.dims,
            "inputs": self.inputs,
            "params": self.params,
            "outputs": self.outputs,
            "nodes": self.nodes,
        }
        with open(os.path.join(outdir, self.name + ".json"), "w") as f:
            json.dump(graph, f, indent=1)
        write_safetensors(os.path.join(outdir, weights), self.tensors)


def write_safetensors(path, tensors):
    names = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
             np.dtype(np.int64): "I64", np.dtype(np.int32): "I32"}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        data = a.tobytes()
        header[name] = {"dtype": names[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# --- graph helpers: each returns the name of the value it produces ----------

class Graph:
    """Builds the node list of a graph or subgraph of `model`."""

    def __init__(self, model, nodes, prefix):
        self.m = model
        self.nodes = nodes
        self.prefix = prefix

    def node(self, op, inputs, attrs=None, weights=None, subgraphs=None,
             outputs=1, name=None):
        name = name or self.m.fresh(self.prefix + op)
        outs = [f"{name}.out{i}" if outputs > 1 else name for i in range(outputs)]
        n = {"name": name, "op": op, "inputs": list(inputs), "outputs": outs}
        if attrs:
            n["attrs"] = attrs
        if weights:
            n["weights"] = weights
        if subgraphs:
            n["subgraphs"] = subgraphs
        self.nodes.append(n)
        return outs if outputs > 1 else outs[0]

    def sub(self, inputs, build):
        """A subgraph {inputs, nodes, outputs}; `build(g, *inputs)` returns outputs."""
        g = Graph(self.m, [], self.prefix)
        outs = build(g, *inputs)
        if isinstance(outs, str):
            outs = [outs]
        return {"inputs": list(inputs), "nodes": g.nodes, "outputs": list(outs)}

    def linear(self, x, din, dout, name, bias=True):
        w = {"weight": self.m.weight(name + ".weight", (dout, din))}
        if bias:
            w["bias"] = self.m.weight(name + ".bias", (dout,), 0.1)
        return self.node("linear", [x], weights=w, name=name)

    def layer_norm(self, x, d, name):
        return self.node("layer_norm", [x], attrs={"eps": 1e-5}, name=name, weights={
            "weight": self.m.weight(name + ".weight", (d,), 0.1, offset=1.0),
            "bias": self.m.weight(name + ".bias", (d,), 0.1)})

    def mha(self, x, d, heads, name, causal):
        w = {}
        for p in ("q_proj", "k_proj", "v_proj", "out_proj"):
            w[p] = self.m.weight(f"{name}.{p}", (d, d))
            w[p + "_bias"] = self.m.weight(f"{name}.{p}_bias", (d,), 0.1)
        return self.node("multi_head_attention", [x], name=name, weights=w,
                         attrs={"num_heads": heads, "causal": causal})

    def moe(self, x, d, h, experts, k, name, gated=False, shared=False,
            activation="relu", counts=False):
        w = {"router": self.m.weight(name + ".router", (experts, d)),
             "w1": self.m.weight(name + ".w1", (experts, h, d)),
             "w2": self.m.weight(name + ".w2", (experts, d, h)),
             "b1": self.m.weight(name + ".b1", (experts, h), 0.1),
             "b2": self.m.weight(name + ".b2", (experts, d), 0.1)}
        if gated:
            w["w3"] = self.m.weight(name + ".w3", (experts, h, d))
        if shared:
            w["shared_w1"] = self.m.weight(name + ".shared_w1", (h, d))
            w["shared_w2"] = self.m.weight(name + ".shared_w2", (d, h))
            if gated:
                w["shared_w3"] = self.m.weight(name + ".shared_w3", (h, d))
        attrs = {"num_experts": experts, "top_k": k, "activation": activation,
                 "gated": gated, "shared_expert": shared}
        return self.node("moe", [x], attrs=attrs, weights=w, name=name,
                         outputs=2 if counts else 1)


# --- the models ---------------------------------------------------------------

def static_mlp():
    m = Model("static_mlp", {"B": {"min": 1, "max": 64}},
              [{"name": "x", "dtype": "f32", "shape": ["B", 32]}], ["logits"])
    g = Graph(m, m.nodes, "")
    h = g.linear("x", 32, 64, "fc1")
    h = g.node("relu", [h], name="act1")
    h = g.layer_norm(h, 64, "norm")
    g.node("linear", [h], name="logits", weights={
        "weight": m.weight("fc2.weight", (10, 64)), "bias": m.weight("fc2.bias", (10,), 0.1)})
    # Stored as f16, as exporters often do; dync widens to f32.
    m.tensors = {k: v.astype(np.float16) for k, v in m.tensors.items()}
    return m


def moe_lm(name="moe_lm", gated=False, shared=False):
    vocab, d, heads, h, experts, seq = 64, 32, 4, 64, 4, 16
    m = Model(name, {"B": {"min": 1, "max": 8}},
              [{"name": "tokens", "dtype": "i64", "shape": ["B", seq]}],
              ["logits", "counts0"])
    g = Graph(m, m.nodes, "")
    x = g.node("embedding", ["tokens"], name="embed",
               weights={"weight": m.weight("embed.weight", (vocab, d), 1.0)})
    for layer in range(2):
        p = f"blk{layer}"
        a = g.layer_norm(x, d, p + ".ln1")
        a = g.mha(a, d, heads, p + ".attn", causal=True)
        x = g.node("add", [x, a], name=p + ".res1")
        f = g.layer_norm(x, d, p + ".ln2")
        out = g.moe(f, d, h, experts, 2, p + ".moe", gated=gated, shared=shared,
                    activation="silu" if gated else "gelu", counts=(layer == 0))
        if layer == 0:
            f, counts = out
            m.nodes[-1]["outputs"][1] = "counts0"
        else:
            f = out
        x = g.node("add", [x, f], name=p + ".res2")
    x = g.layer_norm(x, d, "final_ln")
    g.node("linear", [x], name="logits", weights={"weight": m.weight("lm_head.weight", (vocab, d))})
    return m


def encoder_layer(g, x, d, heads, ffn, name):
    a = g.layer_norm(x, d, name + ".ln1")
    a = g.mha(a, d, heads, name + ".attn", causal=False)
    x = g.node("add", [x, a], name=name + ".res1")
    f = g.layer_norm(x, d, name + ".ln2")
    f = g.linear(f, d, ffn, name + ".fc1")
    f = g.node("gelu", [f], name=name + ".act")
    f = g.linear(f, ffn, d, name + ".fc2")
    return g.node("add", [x, f], name=name + ".res2")


def moe_transformer(name, layers, d, heads, experts, hidden, seq, batch):
    """A stack of equal pre-norm layers (causal attention, then a top-2 MoE
    FFN) on x [B, seq, d]: the C1 benchmark's model, and the repeated-layers
    test's at a small size."""
    m = Model(name, {"B": {"min": 1, "max": batch}},
              [{"name": "x", "dtype": "f32", "shape": ["B", seq, d]}], ["y"])
    g = Graph(m, m.nodes, "")
    x = "x"
    for i in range(layers):
        a = g.layer_norm(x, d, f"l{i}.ln1")
        a = g.mha(a, d, heads, f"l{i}.attn", causal=True)
        x = g.node("add", [x, a], name=f"l{i}.res1")
        f = g.layer_norm(x, d, f"l{i}.ln2")
        f = g.moe(f, d, hidden, experts, 2, f"l{i}.moe")
        x = g.node("add", [x, f], name=f"l{i}.res2" if i + 1 < layers else "y")
    return m


def early_exit_encoder():
    d, heads, ffn, seq, classes = 32, 4, 64, 8, 5
    m = Model("early_exit_encoder", {"B": {"min": 1, "max": 32}},
              [{"name": "x", "dtype": "f32", "shape": ["B", seq, d]}],
              ["logits", "exit_index"],
              [{"name": "exit_threshold", "dtype": "f32", "default": 0.6},
               {"name": "skip_threshold", "dtype": "f32", "default": 0.0}])
    g = Graph(m, m.nodes, "")
    stages = []
    for s in range(3):
        def body(sg, h, s=s):
            h = encoder_layer(sg, h, d, heads, ffn, f"stage{s}")
            if s == 1:
                # MoE inside an early-exit stage.
                f = sg.layer_norm(h, d, "stage1.moe_ln")
                f = sg.moe(f, d, ffn, 4, 1, "stage1.moe")
                h = sg.node("add", [h, f], name="stage1.moe_res")
                # A per-sample gate inside an early-exit stage.
                def score(gg, t):
                    p = gg.node("reduce_mean", [t], attrs={"axes": [1, 2]}, name="stage1.gate.pool")
                    return p
                def gbody(gg, t):
                    u = gg.linear(t, d, d, "stage1.gate.fc")
                    u = gg.node("tanh", [u], name="stage1.gate.act")
                    return gg.node("add", [t, u], name="stage1.gate.res")
                h = sg.node("gate", [h], name="stage1.gate",
                            attrs={"threshold": "skip_threshold"},
                            subgraphs={"score": sg.sub(["t"], score),
                                       "body": sg.sub(["t"], gbody)})
            return h
        def head(sg, h, s=s):
            p = sg.node("reduce_mean", [h], attrs={"axes": [1]}, name=f"head{s}.pool")
            return sg.linear(p, d, classes, f"head{s}.fc")
        stages.append({"body": g.sub([f"h{s}"], body), "head": g.sub([f"e{s}"], head)})
    g.node("early_exit", ["x"], name="exit", outputs=2,
           attrs={"criterion": "max_softmax", "threshold": "exit_threshold"},
           subgraphs={"stages": stages})
    m.nodes[-1]["outputs"] = ["logits", "exit_index"]
    return m


def skip_mlp():
    d, hidden, blocks = 64, 128, 4
    m = Model("skip_mlp", {"B": {"min": 1, "max": 64}},
              [{"name": "x", "dtype": "f32", "shape": ["B", d]}],
              ["y", "ran0"],
              [{"name": "gate_threshold", "dtype": "f32", "default": 0.5}])
    g = Graph(m, m.nodes, "")
    x = "x"
    for i in range(blocks):
        p = f"blk{i}"
        def score(sg, t, p=p):
            s = sg.linear(t, d, 1, p + ".score")
            s = sg.node("sigmoid", [s], name=p + ".score_act")
            return sg.node("reshape", [s], attrs={"shape": [-1]}, name=p + ".score_flat")
        def body(sg, t, p=p, i=i):
            u = sg.linear(t, d, hidden, p + ".fc1")
            u = sg.node("relu", [u], name=p + ".act")
            u = sg.linear(u, hidden, d, p + ".fc2")
            if i == 2:
                # A per-sample cond inside a gate: samples whose first
                # feature f has f > f² (that is, 0 < f < 1) take a tanh, the
                # others a relu.
                first = sg.node("slice", [t], attrs={"axis": 1, "start": 0, "end": 1}, name=p + ".probe")
                first = sg.node("reshape", [first], attrs={"shape": [-1]}, name=p + ".probe_flat")
                sq = sg.node("mul", [first, first], name=p + ".probe_sq")
                pred = sg.node("greater", [first, sq], name=p + ".pred")
                u = sg.node("cond", [pred, u], name=p + ".cond", attrs={"granularity": "sample"},
                            subgraphs={"then": sg.sub(["a"], lambda gg, a: gg.node("tanh", [a], name=p + ".then")),
                                       "else": sg.sub(["a"], lambda gg, a: gg.node("relu", [a], name=p + ".else"))})
            return sg.node("add", [t, u], name=p + ".res")
        out = g.node("gate", [x], name=p, attrs={"threshold": "gate_threshold"},
                     subgraphs={"score": g.sub(["t"], score), "body": g.sub(["t"], body)},
                     outputs=2 if i == 0 else 1)
        if i == 0:
            x, _ = out
            m.nodes[-1]["outputs"][1] = "ran0"
        else:
            x = out
    g.node("layer_norm", [x], name="y", attrs={"eps": 1e-5})
    return m


def skip_resnet():
    c, classes, size = 8, 10, 16
    m = Model("skip_resnet", {"B": {"min": 1, "max": 16}},
              [{"name": "image", "dtype": "f32", "shape": ["B", 3, size, size]}],
              ["logits"],
              [{"name": "gate_threshold", "dtype": "f32", "default": 0.5}])
    g = Graph(m, m.nodes, "")

    def conv_bn(gg, x, cin, cout, name, stride=1):
        y = gg.node("conv2d", [x], name=name, attrs={"stride": stride, "padding": 1},
                    weights={"weight": m.weight(name + ".weight", (cout, cin, 3, 3), 1.0 / np.sqrt(cin * 9))})
        w = {"running_mean": m.weight(name + ".bn.mean", (cout,), 0.1),
             "running_var": name + ".bn.var",
             "weight": m.weight(name + ".bn.weight", (cout,), 0.1),
             "bias": m.weight(name + ".bn.bias", (cout,), 0.1)}
        m.tensors[name + ".bn.var"] = (1.0 + 0.1 * m.rng.random(cout)).astype(np.float32)
        return gg.node("batch_norm", [y], name=name + ".bn", attrs={"eps": 1e-5}, weights=w)

    x = conv_bn(g, "image", 3, c, "stem")
    x = g.node("relu", [x], name="stem.act")
    x = g.node("max_pool2d", [x], name="stem.pool", attrs={"kernel": 2})
    for i in range(2):
        p = f"blk{i}"
        def score(sg, t, p=p):
            s = sg.node("global_avg_pool", [t], name=p + ".gap")
            s = sg.node("flatten", [s], name=p + ".flat")
            s = sg.linear(s, c, 1, p + ".score")
            s = sg.node("sigmoid", [s], name=p + ".score_act")
            return sg.node("reshape", [s], attrs={"shape": [-1]}, name=p + ".score_flat")
        def body(sg, t, p=p):
            u = conv_bn(sg, t, c, c, p + ".conv1")
            u = sg.node("relu", [u], name=p + ".act1")
            u = conv_bn(sg, u, c, c, p + ".conv2")
            u = sg.node("add", [t, u], name=p + ".res")
            return sg.node("relu", [u], name=p + ".act2")
        x = g.node("gate", [x], name=p, attrs={"threshold": "gate_threshold"},
                   subgraphs={"score": g.sub(["t"], score), "body": g.sub(["t"], body)})
    x = g.node("avg_pool2d", [x], name="pool", attrs={"kernel": 2, "stride": 2})
    x = g.node("global_avg_pool", [x], name="gap")
    x = g.node("flatten", [x], name="flat")
    g.linear(x, c, classes, "logits")
    return m


def bsa_lm():
    vocab, d, heads, seq, block = 64, 32, 2, 64, 8
    hd = d // heads
    m = Model("bsa_lm", {"B": {"min": 1, "max": 4}},
              [{"name": "tokens", "dtype": "i64", "shape": ["B", seq]}],
              ["logits", "layout"],
              [{"name": "block_budget", "dtype": "i32", "default": 2}])
    g = Graph(m, m.nodes, "")
    x = g.node("embedding", ["tokens"], name="embed",
               weights={"weight": m.weight("embed.weight", (vocab, d), 1.0)})
    h = g.layer_norm(x, d, "ln1")
    qkv = []
    for p in ("q", "k", "v"):
        t = g.linear(h, d, d, "attn." + p)
        t = g.node("reshape", [t], attrs={"shape": ["B", seq, heads, hd]}, name=f"attn.{p}.split")
        qkv.append(g.node("transpose", [t], attrs={"perm": [0, 2, 1, 3]}, name=f"attn.{p}.heads"))
    o, layout = g.node("block_sparse_attention", qkv, name="attn.bsa", outputs=2,
                       attrs={"block_size": block, "causal": True,
                              "selection": {"kind": "topk", "k": "block_budget", "pool": "mean"}})
    m.nodes[-1]["outputs"][1] = "layout"
    o = g.node("transpose", [o], attrs={"perm": [0, 2, 1, 3]}, name="attn.merge")
    o = g.node("reshape", [o], attrs={"shape": ["B", seq, d]}, name="attn.flat")
    o = g.linear(o, d, d, "attn.out")
    x = g.node("add", [x, o], name="res")
    x = g.layer_norm(x, d, "final_ln")
    g.node("linear", [x], name="logits", weights={"weight": m.weight("lm_head.weight", (vocab, d))})
    return m


def mixtral_lm():
    # Written the way Mixtral's reference code lays out a decoder layer (names
    # included), not around dync: input ids [B, S] with both dims dynamic.
    vocab, d, heads, h, experts = 64, 32, 4, 48, 8
    m = Model("mixtral_lm", {"B": {"min": 1, "max": 4}, "S": {"min": 1, "max": 16}},
              [{"name": "input_ids", "dtype": "i64", "shape": ["B", "S"]}], ["logits"])
    g = Graph(m, m.nodes, "")

    def rms_norm(x, name):
        return g.node("rms_norm", [x], attrs={"eps": 1e-5}, name=name,
                      weights={"weight": m.weight(name + ".weight", (d,), 0.1, offset=1.0)})

    x = g.node("embedding", ["input_ids"], name="embed_tokens",
               weights={"weight": m.weight("embed_tokens.weight", (vocab, d), 1.0)})
    for layer in range(2):
        p = f"layers.{layer}"
        a = rms_norm(x, p + ".input_layernorm")
        a = g.mha(a, d, heads, p + ".self_attn", causal=True)
        x = g.node("add", [x, a], name=p + ".attn_residual")
        f = rms_norm(x, p + ".post_attention_layernorm")
        f = g.moe(f, d, h, experts, 2, p + ".block_sparse_moe", gated=True, activation="silu")
        x = g.node("add", [x, f], name=p + ".moe_residual")
    x = rms_norm(x, "norm")
    g.node("linear", [x], name="logits", weights={"weight": m.weight("lm_head.weight", (vocab, d))})
    return m


def branchy_cnn():
    # BranchyNet: a CNN with an exit branch after each stage; stages halve the
    # resolution and widen the channels, each head reads its stage's output.
    chans, classes = [3, 8, 16, 16], 10
    m = Model("branchy_cnn", {"B": {"min": 1, "max": 16}},
              [{"name": "image", "dtype": "f32", "shape": ["B", 3, 16, 16]}],
              ["logits", "exit_index"],
              [{"name": "exit_threshold", "dtype": "f32", "default": 0.4}])
    g = Graph(m, m.nodes, "")
    stages = []
    for s in range(3):
        cin, cout = chans[s], chans[s + 1]
        def body(sg, h, s=s, cin=cin, cout=cout):
            y = sg.node("conv2d", [h], name=f"stage{s}.conv",
                        attrs={"stride": 2 if s < 2 else 1, "padding": 1},
                        weights={"weight": m.weight(f"stage{s}.conv.weight", (cout, cin, 3, 3),
                                                    1.0 / np.sqrt(cin * 9)),
                                 "bias": m.weight(f"stage{s}.conv.bias", (cout,), 0.1)})
            y = sg.node("relu", [y], name=f"stage{s}.act")
            if s == 1:
                y = sg.node("max_pool2d", [y], name=f"stage{s}.pool", attrs={"kernel": 2})
            return y
        def head(sg, h, s=s, cout=cout):
            p = sg.node("global_avg_pool", [h], name=f"exit{s}.gap")
            p = sg.node("flatten", [p], name=f"exit{s}.flat")
            return sg.linear(p, cout, classes, f"exit{s}.fc")
        stages.append({"body": g.sub([f"h{s}"], body), "head": g.sub([f"e{s}"], head)})
    g.node("early_exit", ["image"], name="exit", outputs=2,
           attrs={"criterion": "max_softmax", "threshold": "exit_threshold"},
           subgraphs={"stages": stages})
    m.nodes[-1]["outputs"] = ["logits", "exit_index"]
    return m


MODELS = {
    "static_mlp": static_mlp,
    "moe_lm": moe_lm,
    "moe_lm_shared": lambda: moe_lm("moe_lm_shared", gated=True, shared=True),
    "early_exit_encoder": early_exit_encoder,
    "skip_mlp": skip_mlp,
    "skip_resnet": skip_resnet,
    "bsa_lm": bsa_lm,
    "mixtral_lm": mixtral_lm,
    "branchy_cnn": branchy_cnn,
}


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    outdir, names = argv[1], argv[2:] or list(MODELS)
    for name in names:
        if name not in MODELS:
            print(f"generate.py: unknown model '{name}' (known: {', '.join(MODELS)})", file=sys.stderr)
            return 2
        MODELS[name]().write(outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
