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
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
from generate import Graph, Model, moe_transformer  # noqa: E402


# What the charts are drawn from (written to --results as JSON): per workload,
# the median time of each system, and for dynamic workloads (fraction of the
# full work run, time) at several settings of their runtime params.
RESULTS = {"workloads": {}, "work_curves": {}}
COMPILED = set()


# Peak resident memory (MB) of each dync-run process, by model name.
RSS = {}

# ONNX Runtime in a process of its own (2 threads), so that its peak
# resident memory is its own: the interpreter, numpy and ORT (the baseline,
# before the session), then the session and its runs. It times the runs as
# median_ms does and saves the first output.
ORT_RUN = r"""
import json, sys, time, numpy as np, onnxruntime as ort
def hwm():  # this address space's peak, as dync-run reports it (VmHWM)
    return next(float(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
path, reps, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
feeds = {kv.split("=", 1)[0]: np.load(kv.split("=", 1)[1]) for kv in sys.argv[4:]}
base = hwm()
opts = ort.SessionOptions()
opts.intra_op_num_threads = 2
sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
np.save(out, sess.run(None, feeds)[0])
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    sess.run(None, feeds)
    times.append((time.perf_counter() - t0) * 1e3)
print(json.dumps({"ms": sorted(times)[len(times) // 2], "base_mb": base, "peak_mb": hwm(),
                  "version": ort.__version__}))
"""


def run_ort(path, reps, feeds, want):
    """ONNX Runtime on `path` with the .npy files `feeds` (name -> path):
    (median ms, relative difference of its first output from `want`,
    version, (baseline MB, peak MB)), or None without ONNX Runtime."""
    out = path[:-5] + ".ort.npy"
    r = subprocess.run([sys.executable, "-c", ORT_RUN, path, str(reps), out] +
                       [f"{k}={v}" for k, v in feeds.items()], capture_output=True, text=True)
    if r.returncode != 0:
        print("  ONNX Runtime did not run:", (r.stderr.strip().splitlines() or ["?"])[-1])
        return None
    res = json.loads(r.stdout)
    got = np.load(out)
    err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))
    return res["ms"], err, res["version"], (res["base_mb"], res["peak_mb"])


def report_rss(workload, dync_mb, ort=None, label=""):
    if dync_mb is None:
        return
    RESULTS.setdefault("peak_rss_mb", {})[workload] = {
        "dync": dync_mb, **({"onnxruntime": ort[1], "onnxruntime before the session": ort[0]} if ort else {})}
    line = f"  peak RSS{label}: dync-run {dync_mb:.0f} MB"
    if ort:
        line += f" | onnxruntime process {ort[1]:.0f} MB ({ort[0]:.0f} MB of it python, numpy and ORT before the session)"
    print(line)


def record(workload, **times):
    RESULTS["workloads"].setdefault(workload, {}).update(
        {k.replace("_", " "): v for k, v in times.items() if v is not None})


def median_ms(fn, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return sorted(ts)[len(ts) // 2]


def sgemm_gflops():
    a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
    a @ a
    ms = median_ms(lambda: a @ a, 5)
    return 2 * 1024 ** 3 / (ms * 1e6)


def blas_name():
    try:
        return np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except Exception:  # numpy < 1.26 (Debian 12's) has no dicts mode
        return "unknown (Debian's numpy: the reference BLAS)"


def run_dync(build, model, workdir, inputs, reps, params=()):
    so = os.path.join(workdir, model.name + ".so")
    if model.name not in COMPILED:  # a param sweep runs one library
        model.write(workdir)
        subprocess.run([os.path.join(build, "bin", "dync"), os.path.join(workdir, model.name + ".json"), "-o", so],
                       check=True)
        COMPILED.add(model.name)
    args = [os.path.join(build, "bin", "dync-run"), so, "--bench", str(reps),
            "--stats-json", os.path.join(workdir, model.name + ".stats.json")]
    for name, value in inputs.items():
        path = os.path.join(workdir, name + ".npy")
        np.save(path, value)
        args += ["--input", f"{name}={path}", "--output", f"{model.outputs[0]}={os.path.join(workdir, 'out.npy')}"]
    for p in params:
        args += ["--param", p]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    ms = float(re.search(r"median_ms=([0-9.]+)", out).group(1))
    RSS[model.name] = peak_rss(out)
    stats = json.load(open(os.path.join(workdir, model.name + ".stats.json")))
    return ms, stats


def peak_rss(dync_run_stdout):
    m = re.search(r"peak_rss_mb=([0-9.]+)", dync_run_stdout)
    return float(m.group(1)) if m else None


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


EXPORT_BLOCK = r"""
import sys, torch, torch.nn as nn
S, d, heads, ffn, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.manual_seed(0)
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, ffn), nn.GELU(), nn.Linear(ffn, d))
    def forward(self, x):
        b, s = x.size(0), x.size(1)
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (t.view(b, s, heads, -1).transpose(1, 2) for t in (q, k, v))
        att = torch.softmax(q @ k.transpose(-2, -1) / (d // heads) ** 0.5, dim=-1)
        x = x + self.out((att @ v).transpose(1, 2).reshape(b, s, -1))
        return x + self.mlp(self.ln2(x))
torch.onnx.export(Block().eval(), (torch.randn(1, S, d),), path, input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "B", 1: "S"}, "y": {0: "B", 1: "S"}}, opset_version=17)
"""


def dync_vs_ort(build, workdir, reps, path, x, dims):
    """Compiles the ONNX file with dync, runs it with dync-run and with ONNX
    Runtime (2 threads each) on input x; returns (dync ms, ORT ms, relative
    difference, ORT version), the ORT ones None without ONNX Runtime. Both
    peak memories go to RSS[path]."""
    so = path[:-5] + ".so"
    subprocess.run([os.path.join(build, "bin", "dync"), path, "-o", so] +
                   [f"--dim={k}={v}" for k, v in dims.items()], check=True)
    np.save(os.path.join(workdir, "x.npy"), x)
    out = subprocess.run([os.path.join(build, "bin", "dync-run"), so, "--bench", str(reps), "--threads", "2",
                          "--input", f"x={os.path.join(workdir, 'x.npy')}",
                          "--output", f"y={os.path.join(workdir, 'y.npy')}"],
                         check=True, capture_output=True, text=True).stdout
    ms = float(re.search(r"median_ms=([0-9.]+)", out).group(1))
    ort = run_ort(path, reps, {"x": os.path.join(workdir, "x.npy")},
                  np.load(os.path.join(workdir, "y.npy")))
    if ort is None:
        RSS[path] = peak_rss(out), None
        return ms, None, None, None
    ort_ms, err, version, ort_rss = ort
    RSS[path] = peak_rss(out), ort_rss
    return ms, ort_ms, err, version


def report_vs_ort(title, ms, ort_ms, err, version, flop, limit, path):
    workload = title.split(" (")[0].split(" T=")[0].split(" S=")[0]
    record(workload, dync=ms, onnxruntime=ort_ms)
    if ort_ms is None:
        print(f"{title}: dync {ms:.2f} ms; ONNX Runtime not installed in this python")
        return
    print(f"{title}, ORT {version}")
    print(f"  dync {ms:.2f} ms | onnxruntime {ort_ms:.2f} ms -> dync/ort {ms / ort_ms:.2f}x "
          f"(outputs agree to {err:.1e} relative)")
    print(f"  limit {flop / (limit * 1e6):.2f} ms -> dync reaches {100 * flop / (ms * 1e6) / limit:.1f}% "
          "of the matmul rate")
    report_rss(workload, *RSS.get(path, (None, None)))


def export(script, args, path, name):
    r = subprocess.run(["/usr/bin/python3", "-c", script] + [str(a) for a in args] + [path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"{name} skipped: exporting with Debian's python3-torch failed:", r.stderr.strip()[-300:])
        return False
    return True


def o5(build, workdir, reps, small, limit):
    """W5's transformer block written in PyTorch and exported to ONNX: the
    same .onnx file compiled by dync and run by ONNX Runtime (2 threads)."""
    B, S, d, heads, ffn = (1, 64, 256, 4, 1024) if small else (1, 128, 512, 8, 2048)
    path = os.path.join(workdir, "o5_block.onnx")
    if not export(EXPORT_BLOCK, [S, d, heads, ffn], path, "O5"):
        return
    x = np.random.default_rng(5).standard_normal((B, S, d), dtype=np.float32)
    ms, ort_ms, err, version = dync_vs_ort(build, workdir, reps, path, x, {"S": S})
    flop = 2 * B * S * (4 * d * d + 2 * d * ffn) + 2 * 2 * B * S * S * d
    report_vs_ort(f"O5 onnx_block (PyTorch -> ONNX) B={B} S={S} d={d} heads={heads} ffn={ffn}",
                  ms, ort_ms, err, version, flop, limit, path)


EXPORT_MOE = r"""
import sys, torch, torch.nn as nn, torch.nn.functional as F
d, h, E, k, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.manual_seed(0)
class MoE(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate = nn.Linear(d, E, bias=False)
        self.experts = nn.ModuleList([nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, d))
                                      for _ in range(E)])
    def forward(self, x):
        p = F.softmax(self.gate(x), dim=-1)
        w, idx = torch.topk(p, k, dim=-1)
        out = torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            tok, slot = torch.where(idx == e)
            out = out.index_add(0, tok, expert(x[tok]) * w[tok, slot, None])
        return out
torch.onnx.export(MoE().eval(), (torch.randn(16, d),), path, input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "T"}, "y": {0: "T"}}, opset_version=17)
"""


def o1(build, workdir, reps, small, limit):
    """W1's MoE FFN written in PyTorch the usual way (a loop over experts,
    torch.where, index_add) and exported to ONNX: dync raises the loop to
    dyn.moe; against ONNX Runtime on the same file."""
    T, d, h, E, k = (128, 128, 512, 8, 2) if small else (512, 512, 2048, 8, 2)
    path = os.path.join(workdir, "o1_moe.onnx")
    if not export(EXPORT_MOE, [d, h, E, k], path, "O1"):
        return
    x = np.random.default_rng(1).standard_normal((T, d), dtype=np.float32)
    ms, ort_ms, err, version = dync_vs_ort(build, workdir, reps, path, x, {"T": T})
    report_vs_ort(f"O1 onnx_moe (PyTorch loop over experts -> ONNX) T={T} d={d} h={h} E={E} top-{k}",
                  ms, ort_ms, err, version, 2 * T * k * 2 * d * h, limit, path)


EXPORT_GATES = r"""
import sys, torch, torch.nn as nn
B, d, blocks, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.manual_seed(0)
class Gated(nn.Module):
    # W4 written in PyTorch: per-sample gates as torch.where, as a traced
    # export keeps them. The even blocks' score x0^2 always passes -1; the
    # odd blocks' sigmoid(x0) passes 0.5 for the samples with x0 > 0.
    def __init__(self):
        super().__init__()
        self.fc1 = nn.ModuleList([nn.Linear(d, d) for _ in range(blocks)])
        self.fc2 = nn.ModuleList([nn.Linear(d, d) for _ in range(blocks)])
    def forward(self, x):
        for i in range(blocks):
            f = x[:, 0]
            s, t = (f * f, -1.0) if i % 2 == 0 else (torch.sigmoid(f), 0.5)
            x = torch.where((s > t)[:, None], x + self.fc2[i](torch.relu(self.fc1[i](x))), x)
        return torch.tanh(x)
torch.onnx.export(Gated().eval(), (torch.randn(B, d),), path, input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "B"}, "y": {0: "B"}}, opset_version=17)
"""


def o4(build, workdir, reps, small, limit):
    """W4's gated blocks written in PyTorch with per-sample torch.where
    gates and exported to ONNX: dync raises each Where to dyn.gate and runs
    a block only on the samples that pass; ONNX Runtime computes every
    block on every sample. Also dync with every gate open (all the work),
    from the same library through its threshold parameters."""
    B, d, blocks = (64, 256, 8) if small else (64, 1024, 8)
    path = os.path.join(workdir, "o4_gates.onnx")
    if not export(EXPORT_GATES, [B, d, blocks], path, "O4"):
        return
    x = np.random.default_rng(2).standard_normal((B, d), dtype=np.float32)
    ms, ort_ms, err, version = dync_vs_ort(build, workdir, reps, path, x, {"B": B})
    so = path[:-5] + ".so"
    run = [os.path.join(build, "bin", "dync-run"), so, "--threads", "2",
           "--input", f"x={os.path.join(workdir, 'x.npy')}", "--stats"]
    out = subprocess.run(run, check=True, capture_output=True, text=True).stdout
    ran = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s*(\S+)\.samples_run = (\d+)", out, re.M)}
    total = B * blocks
    opened = [a for g in ran for a in ("--param", f"{g}.threshold=-1e30")]
    out = subprocess.run(run[:-1] + ["--bench", str(reps)] + opened, check=True, capture_output=True,
                         text=True).stdout
    full_ms = float(re.search(r"median_ms=([0-9.]+)", out).group(1))
    work = sum(ran.values())
    flop = 2 * 2 * d * d * work
    report_vs_ort(f"O4 onnx_gates (PyTorch torch.where gates -> ONNX) B={B} d={d} blocks={blocks}",
                  ms, ort_ms, err, version, flop, limit, path)
    print(f"  {len(ran)} Where gates raised; {work} of {total} (sample, block) pairs ran; dync with every "
          f"gate open {full_ms:.2f} ms -> {ms / full_ms:.2f} of the time for {work / total:.2f} of the work")


EXPORT_BSA = r"""
import sys, torch, torch.nn as nn
H, S, D, bs, keep = (int(a) for a in sys.argv[1:6])
path = sys.argv[6]
class Bsa(nn.Module):
    # W2 written in PyTorch over dense attention: each query block keeps the
    # `keep` key blocks with the largest pooled scores, and its diagonal.
    def forward(self, q, k, v):
        B, nb = q.shape[0], S // bs
        qb = q.reshape(B, H, nb, bs, D).mean(3)
        kb = k.reshape(B, H, nb, bs, D).mean(3)
        idx = (qb @ kb.transpose(-1, -2)).topk(keep, dim=-1).indices
        layout = (torch.zeros(B, H, nb, nb).scatter(-1, idx, 1.0) + torch.eye(nb)) > 0
        mask = layout[:, :, :, None, :, None].expand(B, H, nb, bs, nb, bs).reshape(B, H, S, S)
        att = (q @ k.transpose(-1, -2)) / D ** 0.5
        return torch.softmax(att.masked_fill(~mask, float("-inf")), -1) @ v
x = torch.randn(1, H, S, D)
torch.onnx.export(Bsa(), (x, x, x), path, input_names=["q", "k", "v"], output_names=["y"], opset_version=17)
"""


def o2(build, workdir, reps, small, limit):
    """W2 written as a block mask over dense attention in PyTorch and
    exported to ONNX: dync raises it to block-sparse attention and computes
    the kept blocks only; ONNX Runtime runs the file as written (dense
    scores, the mask, the softmax)."""
    S, H, D, block, keep = (512, 4, 64, 64, 2) if small else (2048, 8, 64, 64, 4)
    path = os.path.join(workdir, "o2_bsa.onnx")
    if not export(EXPORT_BSA, [H, S, D, block, keep], path, "O2"):
        return
    so = path[:-5] + ".so"
    subprocess.run([os.path.join(build, "bin", "dync"), path, "-o", so], check=True)
    rng = np.random.default_rng(3)
    feeds = {}
    for n in ("q", "k", "v"):
        feeds[n] = os.path.join(workdir, f"o2_{n}.npy")
        np.save(feeds[n], rng.standard_normal((1, H, S, D), dtype=np.float32))
    run = [os.path.join(build, "bin", "dync-run"), so, "--threads", "2",
           "--output", f"y={os.path.join(workdir, 'o2_y.npy')}"]
    for n, f in feeds.items():
        run += ["--input", f"{n}={f}"]
    out = subprocess.run(run + ["--bench", str(reps), "--stats"], check=True, capture_output=True,
                         text=True).stdout
    ms = float(re.search(r"median_ms=([0-9.]+)", out).group(1))
    computed = int(re.search(r"\.blocks_computed = (\d+)", out).group(1))
    total = int(re.search(r"\.blocks = (\d+)", out).group(1))
    density = computed / max(total, 1)
    flop = 2 * 2 * H * S * S * D * density
    ort = run_ort(path, reps, feeds, np.load(os.path.join(workdir, "o2_y.npy")))
    print(f"O2 onnx_bsa (PyTorch block mask over dense attention -> ONNX) B=1 H={H} S={S} D={D} "
          f"block={block} top-{keep} + diagonal")
    ort_ms = None
    if ort:
        ort_ms, err, version, _ = ort
        print(f"  dync {ms:.2f} ms | onnxruntime {version} {ort_ms:.2f} ms (the file as written: dense "
              f"scores and mask) -> dync/ort {ms / ort_ms:.2f}x (outputs agree to {err:.1e} relative)")
    else:
        print(f"  dync {ms:.2f} ms; ONNX Runtime not installed in this python")
    print(f"  limit {flop / (limit * 1e6):.2f} ms (density x dense FLOP) -> dync reaches "
          f"{100 * flop / (ms * 1e6) / limit:.1f}% of the matmul rate")
    print(f"  work done: {computed} of {total} (query block, key block) pairs computed")
    record("O2 onnx_bsa", dync=ms, onnxruntime=ort_ms)


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
