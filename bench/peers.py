"""The peers dync is measured against, each in a process of its own: ONNX
Runtime and OpenVINO (PyPI, in ./dev bench's venv) on the same ONNX file,
and PyTorch eager (Debian's python3-torch) on the module the file was
exported from, with the same weights."""
import json
import os
import subprocess
import sys

import numpy as np

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


def rel_err(out, want):
    got = np.load(out)
    if got.shape != want.shape:
        return float("inf")
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))


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
    return res["ms"], rel_err(out, want), res["version"], (res["base_mb"], res["peak_mb"])


# OpenVINO in a process of its own: the CPU plugin, 2 threads, f32 (it
# would pick bf16 on a CPU that has it).
OV_RUN = r"""
import json, sys, time, numpy as np, openvino as ov
path, reps, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
feeds = {kv.split("=", 1)[0]: np.load(kv.split("=", 1)[1]) for kv in sys.argv[4:]}
compiled = ov.Core().compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": 2,
                                                 "INFERENCE_PRECISION_HINT": "f32"})
req = compiled.create_infer_request()
np.save(out, next(iter(req.infer(feeds).values())))
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    req.infer(feeds)
    times.append((time.perf_counter() - t0) * 1e3)
print(json.dumps({"ms": sorted(times)[len(times) // 2], "version": ov.__version__}))
"""

# PyTorch eager on the module an ONNX file was exported from: the export
# script run with path "-" builds `model` (same seed, same weights) and
# does not export. 2 threads; OMP_WAIT_POLICY=PASSIVE, as torch's OpenMP
# threads spinning fight OpenBLAS's on 2 cores; the BLAS it loaded is named.
TORCH_RUN = r"""
import json, os, sys, time, numpy as np, torch
script, reps, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sep = sys.argv.index("--")
inputs = [torch.from_numpy(np.load(f)) for f in sys.argv[4:sep]]
sys.argv = [script] + sys.argv[sep + 1:] + ["-"]
scope = {"__name__": "peer"}
exec(open(script).read(), scope)
model = scope["model"]
torch.set_num_threads(2)
with torch.no_grad():
    np.save(out, model(*inputs).numpy())
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        model(*inputs)
        times.append((time.perf_counter() - t0) * 1e3)
blas = sorted({os.path.basename(l.split()[-1]) for l in open("/proc/self/maps")
               if "blas" in l.lower() and l.split()[-1].startswith("/")})
print(json.dumps({"ms": sorted(times)[len(times) // 2], "version": torch.__version__,
                  "blas": ", ".join(blas) or "none found"}))
"""


def run_openvino(path, reps, feeds, want):
    """OpenVINO on `path`: (median ms, relative difference from `want`,
    version), or None without OpenVINO."""
    out = path[:-5] + ".ov.npy"
    r = subprocess.run([sys.executable, "-c", OV_RUN, path, str(reps), out] +
                       [f"{k}={v}" for k, v in feeds.items()], capture_output=True, text=True)
    if r.returncode != 0:
        print("  OpenVINO did not run:", (r.stderr.strip().splitlines() or ["?"])[-1])
        return None
    res = json.loads(r.stdout)
    return res["ms"], rel_err(out, want), res["version"]


def run_torch(script, args, reps, feeds, want):
    """PyTorch eager (Debian's) on the module `script` exports, built with
    `args`, on the .npy files `feeds` in the order of its forward's
    arguments: (median ms, relative difference from `want`, "version, BLAS"),
    or None."""
    out = script[:-3] + ".torch.npy"
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    r = subprocess.run(["/usr/bin/python3", "-c", TORCH_RUN, script, str(reps), out] +
                       list(feeds.values()) + ["--"] + [str(a) for a in args],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print("  PyTorch eager did not run:", (r.stderr.strip().splitlines() or ["?"])[-1])
        return None
    res = json.loads(r.stdout.strip().splitlines()[-1])
    return res["ms"], rel_err(out, want), f"{res['version']}, BLAS {res['blas']}"


def export(script, args, path, name):
    """Exports the module `script` defines, built with `args`, to `path`
    with Debian's python3-torch; returns the script's file (for run_torch),
    or None if the export failed."""
    py = path[:-5] + ".py"
    with open(py, "w") as f:
        f.write(script)
    r = subprocess.run(["/usr/bin/python3", py] + [str(a) for a in args] + [path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"{name} skipped: exporting with Debian's python3-torch failed:", r.stderr.strip()[-300:])
        return None
    return py
