#!/usr/bin/python3
"""dync benchmarks (BENCHMARKS.md): ratios from one run on this machine.

    ./dev bench [--reps N] [--workloads W1,W2,W3,W4,W5,O1,O2,O4,O5,C1] [--small]
    PYTHON bench/dync-bench.py BUILD_DIR [same options]

For each workload, compiles the model with dync and times it with
`dync-run --bench` (median of N runs), next to:
  - dync's dense execution of the same layer (every expert / every block),
  - a numpy peer (a loop over experts for MoE); `./dev bench` runs with
    PyPI's numpy, whose wheel bundles OpenBLAS (Debian's uses the reference BLAS),
  - the machine's fp32 matmul rate (numpy 1024^3), which bounds everything;
and O5 / O1 / O2 / O4: W5's block, W1's MoE FFN, W2's block-sparse attention
and W4's gated blocks written in PyTorch (the MoE as a loop over experts
with torch.where and index_add, the attention as a block mask over dense
attention, the gates as torch.where per sample), exported to ONNX, compiled
by dync and run by ONNX Runtime (PyPI) on the same file; W2's dense attention
against ONNX Runtime's on a PyTorch export.
Reports median ms, ratios, the fraction of the matmul limit reached, the
work the network decided to do (from dync-run's statistics), and peak
resident memory: dync-run's, and ONNX Runtime's in a process of its own
(with what python, numpy and ORT take before the session). Not a test:
these machines are shared and noisy.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
from generate import Graph, Model, moe_transformer  # noqa: E402

from benchlib import (RESULTS, RSS, blas_name, median_ms, record, report_rss,  # noqa: E402
                      run_dync, sgemm_gflops)
from onnx_workloads import o1, o2, o4, o5  # noqa: E402
from peers import export, run_ort  # noqa: E402


def moe_model(name, T, d, h, E, k):
    m = Model(name, {"T": {"min": 1, "max": T}}, [{"name": "x", "dtype": "f32", "shape": ["T", d]}], ["y"])
    Graph(m, m.nodes, "").moe("x", d, h, E, k, "moe", activation="relu")
    m.nodes[-1]["outputs"] = ["y"]
    return m


def w1(build, workdir, reps, small, limit):
    T, d, h, E, k = (128, 128, 512, 8, 2) if small else (512, 512, 2048, 8, 2)
    x = np.random.default_rng(1).standard_normal((T, d), dtype=np.float32)
    sparse = moe_model("w1_moe", T, d, h, E, k)
    ms, stats = run_dync(build, sparse, workdir, {"x": x}, reps)
    dense_ms, _ = run_dync(build, moe_model("w1_dense", T, d, h, E, E), workdir, {"x": x}, reps)
    w = sparse.tensors
    def numpy_moe():
        logits = x @ w["moe.router"].T
        p = np.exp(logits - logits.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
        top = np.argsort(-p, 1)[:, :k]
        y = np.zeros_like(x)
        for e in range(E):
            rows, slot = np.nonzero(top == e)
            if len(rows):
                hh = np.maximum(x[rows] @ w["moe.w1"][e].T + w["moe.b1"][e], 0)
                y[rows] += (hh @ w["moe.w2"][e].T + w["moe.b2"][e]) * p[rows, e][:, None]
        return y
    np_ms = median_ms(numpy_moe, reps)
    flop = 2 * T * k * 2 * d * h
    tokens = [stats[f"moe.expert_tokens[{e}]"] for e in range(E)]
    print(f"W1 moe_ffn T={T} d={d} h={h} E={E} top-{k}")
    print(f"  dync sparse {ms:.2f} ms | dync dense (all {E} experts) {dense_ms:.2f} ms -> "
          f"dense/sparse {dense_ms / ms:.2f}x (work ratio {E / k:.1f}x)")
    print(f"  numpy loop over experts {np_ms:.2f} ms -> dync/numpy {ms / np_ms:.2f}x")
    print(f"  limit {flop / (limit * 1e6):.2f} ms at {limit:.1f} GFLOP/s -> dync reaches "
          f"{100 * flop / (ms * 1e6) / limit:.1f}% of the matmul rate")
    print(f"  work done: tokens per expert {tokens} (sum {sum(tokens)} = T*k)")
    record("W1 MoE FFN", dync=ms, dync_dense=dense_ms, numpy=np_ms)
    report_rss("W1 MoE FFN", RSS.get("w1_moe"))


def skip_model(name, B, d, blocks, always):
    m = Model(name, {"B": {"min": 1, "max": B}}, [{"name": "x", "dtype": "f32", "shape": ["B", d]}], ["y"],
              [{"name": "t", "dtype": "f32", "default": 0.5}])
    g = Graph(m, m.nodes, "")
    x = "x"
    for i in range(blocks):
        p = f"blk{i}"
        def body(sg, t, p=p):
            u = sg.linear(t, d, d, p + ".fc1")
            u = sg.node("relu", [u], name=p + ".act")
            u = sg.linear(u, d, d, p + ".fc2")
            return sg.node("add", [t, u], name=p + ".res")
        if always:
            x = body(g, x)
            continue
        def score(sg, t, p=p, i=i):
            # Half the samples (those with a positive first feature) skip
            # half the blocks (the odd ones).
            f = sg.node("slice", [t], attrs={"axis": 1, "start": 0, "end": 1}, name=p + ".probe")
            f = sg.node("reshape", [f], attrs={"shape": [-1]}, name=p + ".flat")
            return sg.node("mul", [f, f], name=p + ".sq") if i % 2 == 0 else sg.node("sigmoid", [f], name=p + ".sig")
        x = g.node("gate", [x], name=p, attrs={"threshold": "t" if i % 2 else -1.0},
                   subgraphs={"score": g.sub(["t"], score), "body": g.sub(["t"], body)})
    g.node("tanh", [x], name="y")
    return m


def w4(build, workdir, reps, small, limit):
    B, d, blocks = (64, 256, 8) if small else (64, 1024, 8)
    x = np.random.default_rng(2).standard_normal((B, d), dtype=np.float32)
    ms, stats = run_dync(build, skip_model("w4_gated", B, d, blocks, False), workdir, {"x": x}, reps)
    dense_ms, _ = run_dync(build, skip_model("w4_dense", B, d, blocks, True), workdir, {"x": x}, reps)
    ran = sum(stats.get(f"blk{i}.samples_run", 0) for i in range(blocks))
    total = B * blocks
    flop = 2 * 2 * d * d * ran
    print(f"W4 skip_gate B={B} d={d} blocks={blocks}")
    print(f"  dync gated {ms:.2f} ms | dync ungated {dense_ms:.2f} ms -> ungated/gated {dense_ms / ms:.2f}x "
          f"(work ratio {total / max(ran, 1):.2f}x: {ran} of {total} (sample, block) pairs ran)")
    print(f"  limit {flop / (limit * 1e6):.2f} ms -> dync reaches {100 * flop / (ms * 1e6) / limit:.1f}% of the matmul rate")
    record("W4 skip gates", dync=ms, dync_dense=dense_ms)
    report_rss("W4 skip gates", RSS.get("w4_gated"))
    # The odd blocks' gate: t=-1 runs every block, t=0.5 skips them for half
    # the samples, t=1.1 for all; the even blocks always run.
    curve = [(ran / total, ms)]  # t=0.5, the default, ran above
    for t in (-1.0, 1.1):
        t_ms, t_stats = run_dync(build, skip_model("w4_gated", B, d, blocks, False), workdir, {"x": x}, reps,
                                 [f"t={t}"])
        t_ran = sum(t_stats.get(f"blk{i}.samples_run", 0) for i in range(blocks))
        curve.append((t_ran / total, t_ms))
    curve.sort(reverse=True)
    print("  time against work: " + ", ".join(f"{f:.2f} of the work in {t:.2f} ms" for f, t in curve))
    RESULTS["work_curves"]["W4 skip gates"] = {"points": curve, "full_ms": dense_ms}


def bsa_model(name, S, H, D, block, budget, dense):
    shape = [1, H, S, D]
    m = Model(name, {}, [{"name": n, "dtype": "f32", "shape": shape} for n in ("q", "k", "v")],
              ["o"] if dense else ["o", "layout"])
    g = Graph(m, m.nodes, "")
    if dense:
        g.node("attention", ["q", "k", "v"], name="o")
    else:
        g.node("block_sparse_attention", ["q", "k", "v"], name="bsa", outputs=2,
               attrs={"block_size": block, "causal": False,
                      "selection": {"kind": "topk", "k": budget, "pool": "mean"}})
        m.nodes[-1]["outputs"] = ["o", "layout"]
    return m


def w2(build, workdir, reps, small, limit):
    S, H, D, block, budget = (512, 4, 64, 64, 2) if small else (2048, 8, 64, 64, 4)
    rng = np.random.default_rng(3)
    qkv = {n: rng.standard_normal((1, H, S, D), dtype=np.float32) for n in ("q", "k", "v")}
    ms, stats = run_dync(build, bsa_model("w2_bsa", S, H, D, block, budget, False), workdir, qkv, reps)
    dense_ms, _ = run_dync(build, bsa_model("w2_dense", S, H, D, block, budget, True), workdir, qkv, reps)
    dense_out = np.load(os.path.join(workdir, "out.npy"))
    ort = ort_attention(workdir, reps, qkv, dense_out)  # the inputs' .npy are run_dync's
    def numpy_dense():
        s = qkv["q"] @ qkv["k"].transpose(0, 1, 3, 2) / np.sqrt(D)
        p = np.exp(s - s.max(-1, keepdims=True))
        return (p / p.sum(-1, keepdims=True)) @ qkv["v"]
    np_ms = median_ms(numpy_dense, reps)
    computed = stats.get("bsa.blocks_computed", 0)
    total = stats.get("bsa.blocks", 0)
    density = computed / max(total, 1)
    flop = 2 * 2 * H * S * S * D * density
    print(f"W2 bsa B=1 H={H} S={S} D={D} block={block} top-{budget} key blocks per query block")
    print(f"  dync block-sparse {ms:.2f} ms | dync dense attention {dense_ms:.2f} ms -> dense/sparse "
          f"{dense_ms / ms:.2f}x (work ratio {1 / max(density, 1e-9):.2f}x)")
    print(f"  numpy dense attention {np_ms:.2f} ms -> dync sparse/numpy dense {ms / np_ms:.2f}x")
    ort_ms = ort_rss = None
    if ort:
        ort_ms, err, version, ort_rss = ort
        print(f"  onnxruntime {version} dense attention (PyTorch -> ONNX, same q, k, v) {ort_ms:.2f} ms -> "
              f"dync dense/ort {dense_ms / ort_ms:.2f}x, dync sparse/ort {ms / ort_ms:.2f}x "
              f"(dense outputs agree to {err:.1e} relative)")
    print(f"  limit {flop / (limit * 1e6):.2f} ms (density x dense FLOP) -> dync reaches "
          f"{100 * flop / (ms * 1e6) / limit:.1f}% of the matmul rate")
    print(f"  work done: {computed} of {total} (query block, key block) pairs computed")
    record("W2 block-sparse attention", dync=ms, dync_dense=dense_ms, numpy_dense=np_ms,
           onnxruntime_dense=ort_ms)
    report_rss("W2 block-sparse attention", RSS.get("w2_bsa"), label=" (block-sparse)")
    report_rss("W2 dense attention", RSS.get("w2_dense"), ort_rss, label=" (dense)")


EXPORT_ATTENTION = r"""
import sys, torch, torch.nn as nn
path = sys.argv[1]
class Attention(nn.Module):
    def forward(self, q, k, v):
        return torch.softmax(q @ k.transpose(-2, -1) / q.size(-1) ** 0.5, dim=-1) @ v
x = torch.randn(1, 2, 128, 64)
torch.onnx.export(Attention(), (x, x, x), path, input_names=["q", "k", "v"], output_names=["o"],
                  dynamic_axes={n: {0: "B", 1: "H", 2: "S"} for n in ("q", "k", "v", "o")}, opset_version=17)
"""


def ort_attention(workdir, reps, qkv, want):
    """Dense attention written in PyTorch, exported to ONNX and run by ONNX
    Runtime on the same q, k, v (their .npy files in `workdir`): run_ort's
    result, or None without ONNX Runtime or the export."""
    path = os.path.join(workdir, "w2_attention.onnx")
    if not export(EXPORT_ATTENTION, [], path, "W2's ONNX Runtime peer"):
        return None
    return run_ort(path, reps, {n: os.path.join(workdir, n + ".npy") for n in qkv}, want)


def encoder_stack(name, B, S, d, heads, ffn, layers, exits):
    m = Model(name, {"B": {"min": 1, "max": B}}, [{"name": "x", "dtype": "f32", "shape": ["B", S, d]}],
              ["logits", "exit_index"] if exits else ["logits"],
              [{"name": "exit_threshold", "dtype": "f32", "default": 0.5}] if exits else [])
    g = Graph(m, m.nodes, "")
    classes = 10
    def layer(sg, h, i):
        a = sg.layer_norm(h, d, f"l{i}.ln1")
        a = sg.mha(a, d, heads, f"l{i}.attn", causal=False)
        h = sg.node("add", [h, a], name=f"l{i}.res1")
        f = sg.layer_norm(h, d, f"l{i}.ln2")
        f = sg.linear(f, d, ffn, f"l{i}.fc1")
        f = sg.node("gelu", [f], attrs={"approximate": "tanh"}, name=f"l{i}.act")
        f = sg.linear(f, ffn, d, f"l{i}.fc2")
        return sg.node("add", [h, f], name=f"l{i}.res2")
    def head(sg, h, i):
        p = sg.node("reduce_mean", [h], attrs={"axes": [1]}, name=f"head{i}.pool")
        return sg.linear(p, d, classes, f"head{i}.fc")
    if not exits:
        h = "x"
        for i in range(layers):
            h = layer(g, h, i)
        head(g, h, layers - 1)
        m.nodes[-1]["outputs"] = ["logits"]
        return m
    stages = [{"body": g.sub([f"h{i}"], lambda sg, h, i=i: layer(sg, h, i)),
               "head": g.sub([f"e{i}"], lambda sg, h, i=i: head(sg, h, i))} for i in range(layers)]
    g.node("early_exit", ["x"], name="exit", outputs=2,
           attrs={"criterion": "max_softmax", "threshold": "exit_threshold"},
           subgraphs={"stages": stages})
    m.nodes[-1]["outputs"] = ["logits", "exit_index"]
    return m


def w3(build, workdir, reps, small, limit):
    B, S, d, heads, ffn, layers = (8, 32, 64, 4, 256, 4) if small else (32, 128, 256, 4, 1024, 12)
    x = np.random.default_rng(4).standard_normal((B, S, d), dtype=np.float32)
    # The heads are untrained: the threshold is the median confidence of the
    # last head in a full-depth run, so that some samples leave early and
    # some go deep (decided per sample, at run time).
    sparse = encoder_stack("w3_exit", B, S, d, heads, ffn, layers, True)
    full_ms, full_stats = run_dync(build, sparse, workdir, {"x": x}, reps, ["exit_threshold=1.01"])
    out = np.load(os.path.join(workdir, "out.npy"))
    p = np.exp(out - out.max(1, keepdims=True))
    conf = (p / p.sum(1, keepdims=True)).max(1)
    threshold = float(np.median(conf))
    ms, stats = run_dync(build, sparse, workdir, {"x": x}, reps, [f"exit_threshold={threshold}"])
    depth = [stats.get(f"exit.stage{i}_samples", 0) for i in range(layers)]
    mean_depth = sum(depth) / B
    print(f"W3 early_exit B={B} S={S} d={d} heads={heads} ffn={ffn} layers={layers}")
    print(f"  dync with exits {ms:.2f} ms | dync full depth (threshold 1.01) {full_ms:.2f} ms -> "
          f"full/exits {full_ms / ms:.2f}x (work ratio {layers / max(mean_depth, 1e-9):.2f}x: mean depth "
          f"{mean_depth:.2f} of {layers})")
    print(f"  work done: samples computed per stage {depth} (threshold {threshold:.3f})")
    record("W3 early exit", dync=ms, dync_full_depth=full_ms)
    report_rss("W3 early exit", RSS.get("w3_exit"))
    curve = [(1.0, full_ms), (mean_depth / layers, ms)]
    for q in (0.1, 0.9):
        t = float(np.quantile(conf, q))
        q_ms, q_stats = run_dync(build, sparse, workdir, {"x": x}, reps, [f"exit_threshold={t}"])
        q_depth = sum(q_stats.get(f"exit.stage{i}_samples", 0) for i in range(layers)) / B
        curve.append((q_depth / layers, q_ms))
    curve.sort()
    print("  time against work: " + ", ".join(f"{f:.2f} of the work in {t:.2f} ms" for f, t in curve))
    RESULTS["work_curves"]["W3 early exit"] = {"points": curve, "full_ms": full_ms}


def w5(build, workdir, reps, small, limit):
    B, S, d, heads, ffn = (1, 64, 256, 4, 1024) if small else (1, 128, 512, 8, 2048)
    x = np.random.default_rng(5).standard_normal((B, S, d), dtype=np.float32)
    model = encoder_stack("w5_block", B, S, d, heads, ffn, 1, False)
    ms, _ = run_dync(build, model, workdir, {"x": x}, reps)
    w = model.tensors
    def ln(t, name):
        mu = t.mean(-1, keepdims=True)
        var = ((t - mu) ** 2).mean(-1, keepdims=True)
        return (t - mu) / np.sqrt(var + 1e-5) * w[name + ".weight"] + w[name + ".bias"]
    def numpy_block():
        a = ln(x, "l0.ln1")
        hd = d // heads
        def proj(p):
            t = a @ w[f"l0.attn.{p}"].T + w[f"l0.attn.{p}_bias"]
            return t.reshape(B, S, heads, hd).transpose(0, 2, 1, 3)
        q, k, v = proj("q_proj"), proj("k_proj"), proj("v_proj")
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd)
        pr = np.exp(s - s.max(-1, keepdims=True))
        o = ((pr / pr.sum(-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(B, S, d)
        h = x + o @ w["l0.attn.out_proj"].T + w["l0.attn.out_proj_bias"]
        f = ln(h, "l0.ln2") @ w["l0.fc1.weight"].T + w["l0.fc1.bias"]
        f = 0.5 * f * (1 + np.tanh(np.sqrt(2 / np.pi) * (f + 0.044715 * f ** 3)))
        h = h + f @ w["l0.fc2.weight"].T + w["l0.fc2.bias"]
        return h.mean(1) @ w["head0.fc.weight"].T + w["head0.fc.bias"]
    np_ms = median_ms(numpy_block, reps)
    got = np.load(os.path.join(workdir, "out.npy"))
    err = float(np.abs(got - numpy_block()).max() / max(np.abs(numpy_block()).max(), 1e-30))
    flop = 2 * B * S * (4 * d * d + 2 * d * ffn) + 2 * 2 * B * S * S * d
    print(f"W5 static_block B={B} S={S} d={d} heads={heads} ffn={ffn}")
    print(f"  dync {ms:.2f} ms | numpy {np_ms:.2f} ms -> dync/numpy {ms / np_ms:.2f}x "
          f"(outputs agree to {err:.1e} relative)")
    record("W5 static block", dync=ms, numpy=np_ms)
    report_rss("W5 static block", RSS.get("w5_block"))
    print(f"  limit {flop / (limit * 1e6):.2f} ms -> dync reaches {100 * flop / (ms * 1e6) / limit:.1f}% of the matmul rate")


def c1(build, workdir, reps, small, limit):
    layers, d, heads, E, h, S = (2, 128, 4, 4, 256, 32) if small else (12, 512, 8, 4, 1024, 128)
    m = moe_transformer("c1_moe_transformer", layers, d, heads, E, h, S, 8)
    m.write(workdir)
    so = os.path.join(workdir, m.name + ".so")
    t0 = time.perf_counter()
    subprocess.run([os.path.join(build, "bin", "dync"), os.path.join(workdir, m.name + ".json"), "-o", so],
                   check=True)
    seconds = time.perf_counter() - t0
    print(f"C1 compile: {layers}-layer MoE transformer d={d} heads={heads} experts={E} hidden={h}")
    print(f"  dync -o model.so: {seconds:.1f} s, {os.path.getsize(so) / 1e6:.2f} MB (weights not embedded)")
    RESULTS["compile_s"] = seconds


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--workloads", default="W1,W2,W3,W4,W5,O1,O2,O4,O5,C1")
    p.add_argument("--small", action="store_true", help="smaller sizes, for a quick look")
    p.add_argument("--results", help="write the results as JSON here (./dev bench: build/bench/results.json)")
    a = p.parse_args()
    limit = sgemm_gflops()
    print(f"machine fp32 matmul rate (numpy 1024^3, BLAS: {blas_name()}): {limit:.1f} GFLOP/s")
    if limit < 50:
        print("  warning: this BLAS is far from the machine's matmul rate; the numpy peers and the"
              " limit are not meaningful. `./dev bench` runs with PyPI's numpy (OpenBLAS).")
    with tempfile.TemporaryDirectory() as work:
        for wl in a.workloads.split(","):
            {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "O1": o1, "O2": o2, "O4": o4, "O5": o5, "C1": c1}[wl](
                a.build, work, a.reps, a.small, limit)
    if a.results:
        RESULTS["limit_gflops"] = limit
        os.makedirs(os.path.dirname(os.path.abspath(a.results)), exist_ok=True)
        with open(a.results, "w") as f:
            json.dump(RESULTS, f, indent=1)
        print(f"results: {a.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
