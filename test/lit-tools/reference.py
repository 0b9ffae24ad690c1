#!/usr/bin/python3
"""An independent reference for dync models: numpy, straight from the spec.

    reference.py MODEL.json --input NAME=FILE.npy ... --output NAME=FILE.npy ...
    reference.py --compare A.npy B.npy [--rtol R] [--atol A]

Interprets the JSON graph node by node with numpy, following the model
format's semantics (PyTorch's for the static ops). It shares no code with
dync, so a test that compares dync's output with this one can fail.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

DT = {"f32": np.float32, "f16": np.float16, "i32": np.int32, "i64": np.int64, "bool": np.bool_}


def load_weights(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        if info["dtype"] == "BF16":
            u16 = np.frombuffer(data[b:e], dtype=np.uint16).astype(np.uint32) << 16
            arr = u16.view(np.float32)
        else:
            arr = np.frombuffer(data[b:e], dtype={"F32": np.float32, "F16": np.float16}[info["dtype"]])
        out[name] = arr.reshape(info["shape"]).astype(np.float32)
    return out


def erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def pair(v, default):
    if v is None:
        return default
    return (v, v) if isinstance(v, int) else tuple(v)


def axis_of(a, rank):
    return a + rank if a < 0 else a


def promote(a, b):
    return np.result_type(a, b)


class Interpreter:
    def __init__(self, model, weights, dims, params):
        self.model = model
        self.w = weights
        self.dims = dims
        self.params = params

    def scalar(self, v):
        """A number, or the value of the runtime parameter it names."""
        return self.params[v] if isinstance(v, str) else v

    def subgraph(self, sg, args):
        env = dict(zip(sg["inputs"], args))
        self.run_graph(sg["nodes"], env)
        return [env[o] for o in sg["outputs"]]

    def weight(self, node, slot):
        name = node.get("weights", {}).get(slot)
        return None if name is None else self.w[name]

    def run_graph(self, nodes, env):
        for node in nodes:
            outs = self.run_node(node, env)
            for name, value in zip(node["outputs"], outs):
                env[name] = value
        return env

    def run_node(self, n, env):
        op = n["op"]
        a = n.get("attrs", {})
        xs = [env[i] for i in n["inputs"]]
        x = xs[0] if xs else None
        f = getattr(self, "op_" + op, None)
        if f is None:
            raise SystemExit(f"reference.py: op '{op}' is not implemented here")
        out = f(n, a, xs, x)
        return out if isinstance(out, tuple) else (out,)

    # --- static ops -----------------------------------------------------
    def op_linear(self, n, a, xs, x):
        y = x @ self.weight(n, "weight").T
        b = self.weight(n, "bias")
        return (y + b if b is not None else y).astype(np.float32)

    def op_matmul(self, n, a, xs, x):
        return np.matmul(xs[0], xs[1]).astype(np.float32)

    def _binary(self, xs, f):
        l, r = xs
        t = promote(l.dtype, r.dtype)
        return f(l.astype(t), r.astype(t))

    def op_add(self, n, a, xs, x): return self._binary(xs, np.add)
    def op_sub(self, n, a, xs, x): return self._binary(xs, np.subtract)
    def op_mul(self, n, a, xs, x): return self._binary(xs, np.multiply)

    def op_div(self, n, a, xs, x):
        l, r = xs
        if not np.issubdtype(promote(l.dtype, r.dtype), np.floating):
            return (l.astype(np.float32) / r.astype(np.float32)).astype(np.float32)
        return self._binary(xs, np.divide)

    def op_relu(self, n, a, xs, x): return np.maximum(x, 0).astype(x.dtype)
    def op_sigmoid(self, n, a, xs, x): return (1 / (1 + np.exp(-x))).astype(x.dtype)
    def op_silu(self, n, a, xs, x): return (x / (1 + np.exp(-x))).astype(x.dtype)
    def op_tanh(self, n, a, xs, x): return np.tanh(x)
    def op_exp(self, n, a, xs, x): return np.exp(x)
    def op_log(self, n, a, xs, x): return np.log(x)
    def op_sqrt(self, n, a, xs, x): return np.sqrt(x)
    def op_erf(self, n, a, xs, x): return erf(x).astype(x.dtype)
    def op_neg(self, n, a, xs, x): return -x
    def op_abs(self, n, a, xs, x): return np.abs(x)
    def op_reciprocal(self, n, a, xs, x): return (1 / x).astype(x.dtype)

    def op_pow(self, n, a, xs, x):
        l, r = xs
        if not np.issubdtype(promote(l.dtype, r.dtype), np.floating):
            return np.power(l.astype(np.float32), r.astype(np.float32))
        return self._binary(xs, np.power)

    def op_gelu(self, n, a, xs, x):
        if a.get("approximate", "none") == "tanh":
            return (0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))).astype(x.dtype)
        return (0.5 * x * (1 + erf(x / math.sqrt(2)))).astype(x.dtype)

    def op_softmax(self, n, a, xs, x):
        ax = axis_of(a["axis"], x.ndim)
        e = np.exp(x - x.max(axis=ax, keepdims=True))
        return (e / e.sum(axis=ax, keepdims=True)).astype(x.dtype)

    def op_layer_norm(self, n, a, xs, x):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        y = (x - mu) / np.sqrt(var + a.get("eps", 1e-5))
        w, b = self.weight(n, "weight"), self.weight(n, "bias")
        y = y * w if w is not None else y
        return (y + b if b is not None else y).astype(x.dtype)

    def op_rms_norm(self, n, a, xs, x):
        eps = a.get("eps", float(np.finfo(np.float32).eps))
        y = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
        w = self.weight(n, "weight")
        return (y * w if w is not None else y).astype(x.dtype)

    def op_embedding(self, n, a, xs, x):
        return self.weight(n, "weight")[x]

    def op_conv2d(self, n, a, xs, x):
        w, b = self.weight(n, "weight"), self.weight(n, "bias")
        sh, sw = pair(a.get("stride"), (1, 1))
        ph, pw = pair(a.get("padding"), (0, 0))
        dh, dw = pair(a.get("dilation"), (1, 1))
        g = a.get("groups", 1)
        N, C, H, W = x.shape
        O, Cg, KH, KW = w.shape
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        OH = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1
        OW = (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
        out = np.zeros((N, O, OH, OW), np.float64)
        og = O // g
        for gi in range(g):
            xs_ = xp[:, gi * Cg:(gi + 1) * Cg]
            ws = w[gi * og:(gi + 1) * og]
            for kh in range(KH):
                for kw in range(KW):
                    patch = xs_[:, :, kh * dh: kh * dh + sh * (OH - 1) + 1: sh, kw * dw: kw * dw + sw * (OW - 1) + 1: sw]
                    out[:, gi * og:(gi + 1) * og] += np.einsum("nchw,oc->nohw", patch, ws[:, :, kh, kw])
        if b is not None:
            out += b[None, :, None, None]
        return out.astype(np.float32)

    def op_batch_norm(self, n, a, xs, x):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        y = (x - self.weight(n, "running_mean").reshape(shape)) / np.sqrt(self.weight(n, "running_var").reshape(shape) + a.get("eps", 1e-5))
        w, b = self.weight(n, "weight"), self.weight(n, "bias")
        y = y * w.reshape(shape) if w is not None else y
        return (y + b.reshape(shape) if b is not None else y).astype(np.float32)

    def _pool(self, a, x, kind):
        kh, kw = pair(a["kernel"], None)
        sh, sw = pair(a.get("stride"), (kh, kw))
        ph, pw = pair(a.get("padding"), (0, 0))
        fill = -np.inf if kind == "max" else 0.0
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
        OH = (x.shape[2] + 2 * ph - kh) // sh + 1
        OW = (x.shape[3] + 2 * pw - kw) // sw + 1
        out = np.empty(x.shape[:2] + (OH, OW), np.float32)
        for i in range(OH):
            for j in range(OW):
                win = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                out[:, :, i, j] = win.max(axis=(2, 3)) if kind == "max" else win.sum(axis=(2, 3)) / (kh * kw)
        return out

    def op_max_pool2d(self, n, a, xs, x): return self._pool(a, x, "max")
    def op_avg_pool2d(self, n, a, xs, x): return self._pool(a, x, "avg")
    def op_global_avg_pool(self, n, a, xs, x): return x.mean(axis=(2, 3), keepdims=True)

    def op_flatten(self, n, a, xs, x):
        s, e = axis_of(a.get("start_dim", 1), x.ndim), axis_of(a.get("end_dim", -1), x.ndim)
        return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])

    def op_reshape(self, n, a, xs, x):
        return x.reshape([self.dims[d] if isinstance(d, str) else d for d in a["shape"]])

    def op_transpose(self, n, a, xs, x): return np.transpose(x, a["perm"])
    def op_concat(self, n, a, xs, x): return np.concatenate(xs, axis=a["axis"])

    def op_slice(self, n, a, xs, x):
        ax = axis_of(a["axis"], x.ndim)
        idx = [slice(None)] * x.ndim
        idx[ax] = slice(a.get("start", 0), a.get("end", None), a.get("step", 1))
        return x[tuple(idx)]

    def _reduce(self, a, x, f):
        return f(x, axis=tuple(axis_of(i, x.ndim) for i in a["axes"]), keepdims=a.get("keepdim", False)).astype(x.dtype)

    def op_reduce_mean(self, n, a, xs, x): return self._reduce(a, x, np.mean)
    def op_reduce_sum(self, n, a, xs, x): return self._reduce(a, x, np.sum)
    def op_reduce_max(self, n, a, xs, x): return self._reduce(a, x, np.max)

    def op_argmax(self, n, a, xs, x):
        return np.argmax(x, axis=axis_of(a["axis"], x.ndim), keepdims=a.get("keepdim", False)).astype(np.int64)

    def op_greater(self, n, a, xs, x): return self._binary(xs, np.greater)
    def op_less(self, n, a, xs, x): return self._binary(xs, np.less)
    def op_equal(self, n, a, xs, x): return self._binary(xs, np.equal)
    def op_logical_not(self, n, a, xs, x): return np.logical_not(x)

    def op_where(self, n, a, xs, x):
        t = promote(xs[1].dtype, xs[2].dtype)
        return np.where(xs[0], xs[1].astype(t), xs[2].astype(t))

    def op_cast(self, n, a, xs, x):
        t = DT[a["dtype"]]
        if np.issubdtype(x.dtype, np.floating) and not np.issubdtype(t, np.floating) and t is not np.bool_:
            return np.trunc(x).astype(t)
        return x.astype(t)

    def op_gather(self, n, a, xs, x):
        return np.take(xs[0], xs[1], axis=a["axis"])

    def op_topk(self, n, a, xs, x):
        ax = axis_of(a.get("axis", -1), x.ndim)
        order = np.argsort(-x, axis=ax, kind="stable")
        idx = np.take(order, np.arange(a["k"]), axis=ax)
        return np.take_along_axis(x, idx, axis=ax), idx.astype(np.int64)

    def op_attention(self, n, a, xs, x):
        q, k, v = xs
        scale = a.get("scale", 1 / math.sqrt(q.shape[-1]))
        s = (q @ np.swapaxes(k, -1, -2)) * scale
        if a.get("causal", False):
            S = s.shape[-1]
            s = np.where(np.triu(np.ones((s.shape[-2], S), bool), 1), -np.inf, s)
        e = np.exp(s - s.max(-1, keepdims=True))
        return ((e / e.sum(-1, keepdims=True)) @ v).astype(np.float32)

    def op_multi_head_attention(self, n, a, xs, x):
        B, S, E = x.shape
        H = a["num_heads"]
        def proj(name):
            y = x @ self.weight(n, name).T
            b = self.weight(n, name + "_bias")
            return y + b if b is not None else y
        heads = lambda t: t.reshape(B, S, H, E // H).transpose(0, 2, 1, 3)
        o = self.op_attention(n, {"causal": a.get("causal", False)}, [heads(proj("q_proj")), heads(proj("k_proj")), heads(proj("v_proj"))], None)
        o = o.transpose(0, 2, 1, 3).reshape(B, S, E) @ self.weight(n, "out_proj").T
        b = self.weight(n, "out_proj_bias")
        return (o + b if b is not None else o).astype(np.float32)

    # --- dynamic ops ------------------------------------------------------
    def op_moe(self, n, a, xs, x):
        E, K = a["num_experts"], a["top_k"]
        act = {"relu": lambda v: np.maximum(v, 0), "silu": lambda v: v / (1 + np.exp(-v)),
               "gelu": lambda v: 0.5 * v * (1 + erf(v / math.sqrt(2)))}[a["activation"]]
        W = lambda s: self.weight(n, s)
        flat = x.reshape(-1, x.shape[-1]).astype(np.float64)
        T = len(flat)
        logits = flat @ W("router").T + (W("router_bias") if W("router_bias") is not None else 0)
        e_ = np.exp(logits - logits.max(1, keepdims=True))
        p = e_ / e_.sum(1, keepdims=True)
        order = np.argsort(-p, axis=1, kind="stable")[:, :K]      # ties: lower index
        w = np.take_along_axis(p, order, 1)
        if a.get("normalize", True):
            w = w / w.sum(1, keepdims=True)
        kept = np.ones((T, K), bool)
        if "capacity_factor" in a or "capacity" in a:
            # The model format's order, in double precision: (T·k) · c / E;
            # or a fixed capacity.
            cap = a["capacity"] if "capacity" in a else math.ceil(float(T * K) * a["capacity_factor"] / E)
            used = np.zeros(E, int)
            for j in range(K):                                      # slot by slot
                for t in range(T):                                  # in token order
                    e = order[t, j]
                    if used[e] < cap:
                        used[e] += 1
                    else:
                        kept[t, j] = False
        def expert(e, v):
            h = v @ W("w1")[e].T + (W("b1")[e] if W("b1") is not None else 0)
            h = act(h)
            if W("w3") is not None:
                h = h * (v @ W("w3")[e].T)
            return h @ W("w2")[e].T + (W("b2")[e] if W("b2") is not None else 0)
        y = np.zeros_like(flat)
        for t in range(T):
            for j in range(K):
                if kept[t, j]:
                    y[t] += w[t, j] * expert(order[t, j], flat[t])
        if W("shared_w1") is not None:
            h = act(flat @ W("shared_w1").T + (W("shared_b1") if W("shared_b1") is not None else 0))
            if W("shared_w3") is not None:
                h = h * (flat @ W("shared_w3").T)
            y += h @ W("shared_w2").T + (W("shared_b2") if W("shared_b2") is not None else 0)
        counts = np.bincount(order[kept], minlength=E).astype(np.int32)
        return y.reshape(x.shape).astype(np.float32), counts

    def op_gate(self, n, a, xs, x):
        sgs = n["subgraphs"]
        t = np.float32(self.scalar(a["threshold"]))
        score = self.subgraph(sgs["score"], [x])[0]
        mask = score > t
        y = np.array(x, copy=True)
        if a.get("granularity", "sample") == "token":
            rows = x.reshape((-1,) + x.shape[2:])
            sel = mask.reshape(-1)
            out = np.array(rows, copy=True)
            if sel.any():
                out[sel] = self.subgraph(sgs["body"], [rows[sel]])[0]
            y = out.reshape(x.shape)
        elif mask.any():
            y[mask] = self.subgraph(sgs["body"], [x[mask]])[0]
        return y, mask

    def op_cond(self, n, a, xs, x):
        sgs = n["subgraphs"]
        pred, ops = xs[0], xs[1:]
        if a.get("granularity", "scalar") == "scalar":
            return tuple(self.subgraph(sgs["then" if bool(pred.reshape(-1)[0]) else "else"], ops))
        results = None
        for branch, sel in (("then", pred), ("else", ~pred)):
            if not sel.any():
                continue
            outs = self.subgraph(sgs[branch], [o[sel] for o in ops])
            if results is None:
                results = [np.zeros((len(pred),) + o.shape[1:], o.dtype) for o in outs]
            for r, o in zip(results, outs):
                r[sel] = o
        return tuple(results)

    def op_early_exit(self, n, a, xs, x):
        stages = n["subgraphs"]["stages"]
        t = np.float32(self.scalar(a["threshold"]))
        crit = a["criterion"]
        logits_out, index_out = None, np.zeros(len(x), np.int32)
        live = np.arange(len(x))
        h = x
        for s, st in enumerate(stages):
            h = self.subgraph(st["body"], [h])[0]
            logits = self.subgraph(st["head"], [h])[0]
            if logits_out is None:
                logits_out = np.zeros((len(x), logits.shape[1]), logits.dtype)
            if s + 1 == len(stages):
                exits = np.ones(len(h), bool)
            else:
                if crit == "gate":
                    g = self.subgraph(st["gate"], [h])[0]
                    conf = 1 / (1 + np.exp(-g))
                else:
                    e = np.exp(logits - logits.max(1, keepdims=True))
                    p = e / e.sum(1, keepdims=True)
                    if crit == "max_softmax":
                        conf = p.max(1)
                    else:
                        with np.errstate(divide="ignore", invalid="ignore"):
                            conf = np.where(p > 0, p * np.log(p), 0).sum(1)
                exits = conf >= t
            logits_out[live[exits]] = logits[exits]
            index_out[live[exits]] = s
            live, h = live[~exits], h[~exits]
            if len(live) == 0:
                break
        return logits_out, index_out

    def op_block_sparse_attention(self, n, a, xs, x):
        q, k, v = xs
        B, H, S, D = q.shape
        bs = a["block_size"]
        nb = S // bs
        causal = a.get("causal", False)
        scale = a.get("scale", 1 / math.sqrt(D))
        sel = a["selection"]
        cand = np.tril(np.ones((nb, nb), bool)) if causal else np.ones((nb, nb), bool)
        qm = q.reshape(B, H, nb, bs, D).mean(3)
        km = k.reshape(B, H, nb, bs, D).mean(3)
        s = qm @ np.swapaxes(km, -1, -2)                     # [B, H, nQ, nK]
        keep = np.zeros((B, H, nb, nb), bool)
        if sel["kind"] == "static":
            i, j = np.indices((nb, nb))
            keep[:] = cand & ((np.abs(i - j) <= sel["window"]) | (j < sel.get("global", 0)))
        elif sel["kind"] == "topk":
            K = int(self.scalar(sel["k"]))
            for bh in np.ndindex(B, H):
                for i in range(nb):
                    cands = [j for j in range(nb) if cand[i, j]]
                    ranked = sorted(cands, key=lambda j: (-s[bh][i, j], j))   # ties: lower index
                    for j in ranked[:K]:
                        keep[bh][i, j] = True
        else:
            t = self.scalar(sel["value"])
            z = np.where(cand, s * scale, -np.inf)
            e = np.exp(z - z.max(-1, keepdims=True))
            keep = cand & (e / e.sum(-1, keepdims=True) >= t)
        keep |= np.eye(nb, dtype=bool)                      # the diagonal, always
        mask = np.repeat(np.repeat(keep, bs, axis=2), bs, axis=3)
        if causal:
            mask &= np.tril(np.ones((S, S), bool))
        sc = np.where(mask, (q @ np.swapaxes(k, -1, -2)) * scale, -np.inf)
        e = np.exp(sc - sc.max(-1, keepdims=True))
        out = (e / e.sum(-1, keepdims=True)) @ v
        return out.astype(np.float32), keep

    def op_scatter_add(self, n, a, xs, x):
        data, idx, upd = xs
        out = np.array(data, copy=True)
        ax = a["axis"]
        for i, j in enumerate(idx):
            sl_out = [slice(None)] * out.ndim
            sl_upd = [slice(None)] * out.ndim
            sl_out[ax], sl_upd[ax] = j, i
            out[tuple(sl_out)] += upd[tuple(sl_upd)]
        return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model", nargs="?")
    p.add_argument("--input", action="append", default=[])
    p.add_argument("--output", action="append", default=[])
    p.add_argument("--param", action="append", default=[])
    p.add_argument("--compare", nargs=2)
    p.add_argument("--rtol", type=float, default=1e-4)
    p.add_argument("--atol", type=float, default=1e-5)
    args = p.parse_args()
    if args.compare:
        got, want = (np.load(f) for f in args.compare)
        if got.shape != want.shape or got.dtype != want.dtype:
            print(f"MISMATCH: {got.dtype}{list(got.shape)} vs {want.dtype}{list(want.shape)}")
            return 1
        if np.issubdtype(want.dtype, np.floating):
            bad = ~np.isclose(got, want, rtol=args.rtol, atol=args.atol)
        else:
            bad = got != want
        if bad.any():
            i = np.argwhere(bad)[0]
            print(f"MISMATCH at {tuple(i)}: {got[tuple(i)]} vs {want[tuple(i)]} ({bad.sum()} of {bad.size})")
            return 1
        print(f"MATCH {list(want.shape)}")
        return 0
    model = json.load(open(args.model))
    weights = load_weights(os.path.join(os.path.dirname(os.path.abspath(args.model)), model["weights"]))
    env = {}
    for spec in args.input:
        name, path = spec.split("=", 1)
        env[name] = np.load(path)
    dims = {}
    for inp in model["inputs"]:
        for d, size in zip(inp["shape"], env[inp["name"]].shape):
            if isinstance(d, str):
                dims[d] = size
    params = {p["name"]: p["default"] for p in model.get("params", [])}
    for spec in args.param:
        name, value = spec.split("=", 1)
        params[name] = float(value)
    Interpreter(model, weights, dims, params).run_graph(model["nodes"], env)
    for spec in args.output:
        name, path = spec.split("=", 1)
        np.save(path, env[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
