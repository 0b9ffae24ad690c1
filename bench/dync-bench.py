#!/usr/bin/python3
"""dync benchmarks (BENCHMARKS.md): ratios from one run on this machine.

    ./dev bench [--reps N] [--workloads W1,W4] [--small]
    PYTHON bench/dync-bench.py BUILD_DIR [same options]

For each workload, compiles the model with dync and times it with
`dync-run --bench` (median of N runs), next to:
  - dync's dense execution of the same layer (every expert / every block),
  - a numpy peer (a loop over experts for MoE); `./dev bench` runs with
    PyPI's numpy, whose wheel bundles OpenBLAS (Debian's uses the reference BLAS),
  - the machine's fp32 matmul rate (numpy 1024^3), which bounds everything.
Reports median ms, ratios, the fraction of the matmul limit reached, and the
work the network decided to do (from dync-run's statistics). Not a test:
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
from generate import Graph, Model  # noqa: E402


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
    model.write(workdir)
    subprocess.run([os.path.join(build, "bin", "dync"), os.path.join(workdir, model.name + ".json"), "-o", so], check=True)
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
    stats = json.load(open(os.path.join(workdir, model.name + ".stats.json")))
    return ms, stats


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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--workloads", default="W1,W4")
    p.add_argument("--small", action="store_true", help="smaller sizes, for a quick look")
    a = p.parse_args()
    limit = sgemm_gflops()
    print(f"machine fp32 matmul rate (numpy 1024^3, BLAS: {blas_name()}): {limit:.1f} GFLOP/s")
    if limit < 50:
        print("  warning: this BLAS is far from the machine's matmul rate; the numpy peers and the"
              " limit are not meaningful. `./dev bench` runs with PyPI's numpy (OpenBLAS).")
    with tempfile.TemporaryDirectory() as work:
        for wl in a.workloads.split(","):
            {"W1": w1, "W4": w4}[wl](a.build, work, a.reps, a.small, limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
