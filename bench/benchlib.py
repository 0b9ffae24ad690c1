"""What the benchmarks share: the results they record, peak memory, the
median of timed runs, and running a dync model with dync-run."""
import json
import os
import re
import subprocess
import time

import numpy as np

# What the charts are drawn from (written to --results as JSON): per workload,
# the median time of each system, and for dynamic workloads (fraction of the
# full work run, time) at several settings of their runtime params.
RESULTS = {"workloads": {}, "work_curves": {}}
COMPILED = set()


# Peak resident memory (MB) of each dync-run process, by model name.
RSS = {}


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
