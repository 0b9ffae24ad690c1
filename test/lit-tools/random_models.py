#!/usr/bin/python3
"""Random valid dynamic models for differential testing.

    from random_models import generate
    model, weights, inputs, dims, params = generate(seed)

Each model is written in the dync model format from the spec, not from dync:
a random stack of blocks over an input [B, d] or [B, S, d] (B and S
dynamic), where a block is static layers (linear, activations, norms,
residuals), a MoE layer (top-k, gated or not, shared expert, capacity), a
per-sample or per-token gate, a per-sample cond, an early exit whose stages
may change the hidden width, or block-sparse attention (top-k, threshold or
static selection). Blocks nest: gate bodies and cond branches hold blocks,
early-exit stages hold blocks. Inputs are drawn at random, and some samples
are placed exactly on a decision boundary: a gate score equal to its
threshold, a cond comparing equal values.

The returned inputs are numpy arrays keyed by input name; dims are the sizes
chosen for this run (within the declared bounds); params are runtime
parameter values to set.
"""
import numpy as np

ACTS = ["relu", "gelu", "silu", "tanh", "sigmoid"]
# Dyadic thresholds: means of equal values stay exactly on them.
THRESHOLDS = [-0.5, 0.0, 0.25, 0.5]


class Builder:
    def __init__(self, rng):
        self.rng = rng
        self.nodes_stack = [[]]
        self.weights = {}
        self.counter = 0
        self.params = []
        self.boundaries = []  # (kind, info) to place inputs on

    @property
    def nodes(self):
        return self.nodes_stack[-1]

    def fresh(self, base):
        self.counter += 1
        return f"{base}{self.counter}"

    def node(self, op, inputs, attrs=None, weights=None, subgraphs=None, outputs=1):
        name = self.fresh(op + "_")
        outs = [f"{name}.o{i}" for i in range(outputs)]
        n = {"name": name, "op": op, "inputs": list(inputs), "outputs": outs}
        if attrs:
            n["attrs"] = attrs
        if weights:
            n["weights"] = weights
        if subgraphs:
            n["subgraphs"] = subgraphs
        self.nodes.append(n)
        return outs if outputs > 1 else outs[0]

    def weight(self, shape, scale=None):
        name = self.fresh("w")
        fan = shape[-1] if len(shape) > 1 else 4
        s = scale if scale is not None else 1.0 / np.sqrt(fan)
        self.weights[name] = (self.rng.standard_normal(shape) * s).astype(np.float32)
        return name

    def sub(self, inputs, build):
        self.nodes_stack.append([])
        outs = build(*inputs)
        nodes = self.nodes_stack.pop()
        if isinstance(outs, str):
            outs = [outs]
        return {"inputs": list(inputs), "nodes": nodes, "outputs": list(outs)}

    # --- layers --------------------------------------------------------------
    def linear(self, x, din, dout, bias=True):
        w = {"weight": self.weight((dout, din))}
        if bias:
            w["bias"] = self.weight((dout,), 0.1)
        return self.node("linear", [x], weights=w)

    def static_block(self, x, d):
        """A residual MLP or a norm: shape-preserving."""
        kind = self.rng.integers(0, 3)
        if kind == 0:
            h = self.linear(x, d, d)
            h = self.node(str(self.rng.choice(ACTS)), [h])
            return self.node("add", [x, h])
        if kind == 1:
            return self.node("layer_norm", [x], attrs={"eps": 1e-5},
                             weights={"weight": self.weight((d,), 0.1), "bias": self.weight((d,), 0.1)})
        return self.node("rms_norm", [x], attrs={"eps": 1e-6}, weights={"weight": self.weight((d,), 0.1)})

    def first_feature(self, x, rank):
        """x[..., 0:1] averaged to one score per sample: [B]."""
        f = self.node("slice", [x], attrs={"axis": -1, "start": 0, "end": 1})
        axes = list(range(1, rank))
        return self.node("reduce_mean", [f], attrs={"axes": axes})

    # --- dynamic blocks ----------------------------------------------------------
    def moe(self, x, d):
        e = int(self.rng.integers(2, 6))
        k = int(self.rng.integers(1, e + 1))
        h = int(self.rng.choice([4, 8, 12]))
        gated = bool(self.rng.integers(0, 2))
        shared = bool(self.rng.integers(0, 2))
        attrs = {"num_experts": e, "top_k": k, "activation": str(self.rng.choice(["relu", "gelu", "silu"])),
                 "gated": gated, "shared_expert": shared, "normalize": bool(self.rng.integers(0, 2))}
        r = self.rng.random()
        if r < 0.25:
            attrs["capacity_factor"] = float(self.rng.choice([0.5, 1.0, 1.25]))
        elif r < 0.4:
            attrs["capacity"] = int(self.rng.choice([1, 2, 3]))
        w = {"router": self.weight((e, d)), "w1": self.weight((e, h, d)), "w2": self.weight((e, d, h))}
        if gated:
            w["w3"] = self.weight((e, h, d))
        if self.rng.random() < 0.5:
            w["b1"] = self.weight((e, h), 0.1)
            w["b2"] = self.weight((e, d), 0.1)
        if shared:
            w["shared_w1"] = self.weight((h, d))
            w["shared_w2"] = self.weight((d, h))
            if gated:
                w["shared_w3"] = self.weight((h, d))
        y = self.node("moe", [x], attrs=attrs, weights=w)
        return self.node("add", [x, y])

    def gate(self, x, d, rank, depth):
        threshold = float(self.rng.choice(THRESHOLDS))
        per_token = rank == 3 and self.rng.random() < 0.3
        use_param = self.rng.random() < 0.5
        t = threshold
        if use_param:
            pname = self.fresh("gate_t")
            self.params.append({"name": pname, "dtype": "f32", "default": threshold})
            t = pname

        def score(a):
            f = self.node("slice", [a], attrs={"axis": -1, "start": 0, "end": 1})
            if per_token:
                return self.node("reduce_mean", [f], attrs={"axes": [2]})
            return self.node("reduce_mean", [f], attrs={"axes": list(range(1, rank))})

        def body(a):
            # A per-token gate's body sees the selected tokens as rows [N, d].
            return self.blocks(a, d, 2 if per_token else rank, depth + 1, count=1)

        self.boundaries.append(("feature0", threshold, per_token))
        return self.node("gate", [x], attrs={"threshold": t, "granularity": "token" if per_token else "sample"},
                         subgraphs={"score": self.sub(["a"], score), "body": self.sub(["a"], body)})

    def cond(self, x, d, rank, depth):
        f0 = self.node("slice", [x], attrs={"axis": -1, "start": 0, "end": 1})
        f1 = self.node("slice", [x], attrs={"axis": -1, "start": 1, "end": 2})
        axes = list(range(1, rank))
        s0 = self.node("reduce_mean", [f0], attrs={"axes": axes})
        s1 = self.node("reduce_mean", [f1], attrs={"axes": axes})
        p = self.node("greater", [s0, s1])
        self.boundaries.append(("equal01", None, False))

        def branch(a):
            return self.blocks(a, d, rank, depth + 1, count=1)
        return self.node("cond", [p, x], attrs={"granularity": "sample"},
                         subgraphs={"then": self.sub(["a"], branch), "else": self.sub(["a"], branch)})

    def early_exit(self, x, d, rank, depth):
        classes = int(self.rng.integers(2, 6))
        crit = str(self.rng.choice(["max_softmax", "entropy", "gate"]))
        pname = self.fresh("exit_t")
        default = {"max_softmax": 0.6, "entropy": -0.8, "gate": 0.5}[crit]
        self.params.append({"name": pname, "dtype": "f32", "default": default})
        stages = []
        width = d
        nstages = int(self.rng.integers(2, 4))
        for s in range(nstages):
            nxt = int(self.rng.choice([width, max(2, width // 2), width + 2]))

            def body(a, win=width, wout=nxt):
                h = self.linear(a, win, wout)
                h = self.node(str(self.rng.choice(ACTS)), [h])
                if wout == win and self.rng.random() < 0.5:
                    h = self.blocks(h, wout, rank, depth + 1, count=1)
                return h

            def pooled(a):
                return self.node("reduce_mean", [a], attrs={"axes": [1]}) if rank == 3 else a

            def head(a, w=nxt):
                return self.linear(pooled(a), w, classes)

            def gate_sub(a, w=nxt):
                g = self.linear(pooled(a), w, 1)
                return self.node("reshape", [g], attrs={"shape": [-1]})

            st = {"body": self.sub([f"h{s}"], body), "head": self.sub([f"e{s}"], head)}
            if crit == "gate":
                st["gate"] = self.sub([f"g{s}"], gate_sub)
            stages.append(st)
            width = nxt
        outs = self.node("early_exit", [x], attrs={"criterion": crit, "threshold": pname},
                         subgraphs={"stages": stages}, outputs=2)
        return outs  # (logits, exit_index): ends the stack

    def blocks(self, x, d, rank, depth, count):
        for _ in range(count):
            choice = self.rng.random()
            if depth >= 2 or choice < 0.35:
                x = self.static_block(x, d)
            elif choice < 0.55:
                x = self.moe(x, d)
            elif choice < 0.75:
                x = self.gate(x, d, rank, depth)
            else:
                x = self.cond(x, d, rank, depth)
        return x


def bsa_model(b, rng):
    """Block-sparse attention on [B, S, E] with a static S."""
    heads = int(rng.choice([1, 2]))
    hd = int(rng.choice([4, 8]))
    block = int(rng.choice([4, 8]))
    seq = block * int(rng.integers(2, 5))
    e = heads * hd
    x = "x"
    qkv = []
    for _ in range(3):
        t = b.linear(x, e, e)
        t = b.node("reshape", [t], attrs={"shape": ["B", seq, heads, hd]})
        qkv.append(b.node("transpose", [t], attrs={"perm": [0, 2, 1, 3]}))
    kind = rng.integers(0, 3)
    if kind == 0:
        sel = {"kind": "topk", "k": int(rng.integers(1, seq // block + 1)), "pool": "mean"}
    elif kind == 1:
        sel = {"kind": "threshold", "value": float(rng.choice([0.1, 0.3]))}
    else:
        sel = {"kind": "static", "pattern": "local", "window": int(rng.integers(0, 2)), "global": int(rng.integers(0, 2))}
    o, layout = b.node("block_sparse_attention", qkv, outputs=2,
                       attrs={"block_size": block, "causal": bool(rng.integers(0, 2)), "selection": sel})
    o = b.node("transpose", [o], attrs={"perm": [0, 2, 1, 3]})
    o = b.node("reshape", [o], attrs={"shape": ["B", seq, e]})
    return b.node("add", [x, o]), layout, seq, e


def generate(seed):
    rng = np.random.default_rng(seed)
    b = Builder(rng)
    max_b, max_s = 6, 5
    dims = {"B": {"min": 1, "max": max_b}}
    sizes = {"B": int(rng.integers(1, max_b + 1))}
    outputs = []
    if rng.random() < 0.15:
        y, layout, seq, d = bsa_model(b, rng)
        inputs_spec = [{"name": "x", "dtype": "f32", "shape": ["B", seq, d]}]
        outputs = [y, layout]
        shape = (sizes["B"], seq, d)
        rank = 3
    else:
        rank = int(rng.choice([2, 3]))
        d = int(rng.choice([4, 6, 8]))
        if rank == 3:
            dims["S"] = {"min": 1, "max": max_s}
            sizes["S"] = int(rng.integers(1, max_s + 1))
            inputs_spec = [{"name": "x", "dtype": "f32", "shape": ["B", "S", d]}]
            shape = (sizes["B"], sizes["S"], d)
        else:
            inputs_spec = [{"name": "x", "dtype": "f32", "shape": ["B", d]}]
            shape = (sizes["B"], d)
        h = b.blocks("x", d, rank, 0, count=int(rng.integers(1, 4)))
        if rng.random() < 0.3:
            logits, index = b.early_exit(h, d, rank, 0)
            outputs = [logits, index]
        else:
            outputs = [h]
    model = {"format": "dync-model", "version": 1, "name": f"random{seed}",
             "weights": f"random{seed}.safetensors", "dims": dims, "inputs": inputs_spec,
             "params": b.params, "outputs": outputs, "nodes": b.nodes}

    # Inputs, with some samples on the decision boundaries.
    x = rng.standard_normal(shape).astype(np.float32)
    for kind, threshold, per_token in b.boundaries:
        for s in range(shape[0]):
            if rng.random() < 0.4:
                if kind == "feature0":
                    if per_token and len(shape) == 3:
                        x[s, rng.integers(0, shape[1]), 0] = threshold
                    else:
                        x[s, ..., 0] = threshold
                else:
                    x[s, ..., 1] = x[s, ..., 0]
    return model, b.weights, {"x": x}, sizes, {}
