#!/usr/bin/python3
"""Compile a model with dync, run it with dync-run, and compare every output
with the independent numpy reference (reference.py).

    e2e.py --dync DYNC --dync-run RUN MODEL.json WORKDIR [--dim NAME=SIZE ...]
           [--seed N] [--rtol R] [--atol A] [--input NAME=FILE.npy ...]

Inputs are drawn from a seeded generator: floats ~ N(0, 1), integer inputs
uniform in [0, --int-high); --input gives one instead (a test that places
values exactly on a decision boundary). Prints one 'MATCH name [shape]' or
'MISMATCH ...' line per output and exits non-zero on any mismatch.
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
p = argparse.ArgumentParser()
p.add_argument("--dync", required=True)
p.add_argument("--dync-run", required=True)
p.add_argument("model")
p.add_argument("workdir")
p.add_argument("--dim", action="append", default=[])
p.add_argument("--param", action="append", default=[])
p.add_argument("--input", action="append", default=[], help="NAME=FILE.npy instead of a drawn input")
p.add_argument("--no-compile", action="store_true", help="reuse WORKDIR/model.so")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--dync-flag", action="append", default=[], help="passed to dync (e.g. --mattr=...)")
p.add_argument("--threads", type=int, help="dync-run --threads; prints THREADS N SPLIT K")
p.add_argument("--int-high", type=int, default=2)
p.add_argument("--rtol", type=float, default=1e-4)
p.add_argument("--atol", type=float, default=1e-5)
args = p.parse_args()

os.makedirs(args.workdir, exist_ok=True)
model = json.load(open(args.model))
dims = {k: int(v) for k, v in (d.split("=") for d in args.dim)}
for name, bound in model.get("dims", {}).items():
    dims.setdefault(name, bound["max"])
rng = np.random.default_rng(args.seed)
given = dict(i.split("=", 1) for i in args.input)
inputs = []
for inp in model["inputs"]:
    if inp["name"] in given:
        inputs.append((inp["name"], given[inp["name"]]))
        continue
    shape = [dims[d] if isinstance(d, str) else d for d in inp["shape"]]
    dt = inp["dtype"]
    if dt in ("f32", "f16"):
        value = rng.standard_normal(shape).astype(np.float32 if dt == "f32" else np.float16)
    elif dt == "bool":
        value = rng.random(shape) < 0.5
    else:
        value = rng.integers(0, args.int_high, shape).astype(np.int32 if dt == "i32" else np.int64)
    path = os.path.join(args.workdir, inp["name"] + ".in.npy")
    np.save(path, value)
    inputs.append((inp["name"], path))

so = os.path.join(args.workdir, "model.so")
if not args.no_compile:
    compiled = subprocess.run([args.dync, args.model, "-o", so] + args.dync_flag,
                              capture_output=True, text=True)
    sys.stderr.write(compiled.stderr)
    if compiled.returncode != 0:
        sys.exit(f"dync failed with exit code {compiled.returncode}")
    # A valid model compiles without a word: any warning is a bug to fix
    # (it once printed LLVM's "Unhandled parameter attribute" for every model).
    if compiled.stderr.strip():
        sys.exit("dync wrote to stderr while compiling a valid model")
run = [args.dync_run, so]
ref = [sys.executable, os.path.join(here, "reference.py"), args.model]
for name, path in inputs:
    run += ["--input", f"{name}={path}"]
    ref += ["--input", f"{name}={path}"]
run += ["--stats-json", os.path.join(args.workdir, "stats.json")]
for spec in args.param:
    run += ["--param", spec]
    ref += ["--param", spec]
for out in model["outputs"]:
    run += ["--output", f"{out}={os.path.join(args.workdir, out + '.dync.npy')}"]
    ref += ["--output", f"{out}={os.path.join(args.workdir, out + '.ref.npy')}"]
if args.threads:
    run += ["--threads", str(args.threads), "--stats"]
ran = subprocess.run(run, capture_output=True, text=True)
sys.stderr.write(ran.stderr)
if ran.returncode != 0:
    sys.exit(f"dync-run failed with exit code {ran.returncode}")
if args.threads:
    # "threads: N (parallel loops split among them: K)"
    line = next(l for l in ran.stdout.splitlines() if l.startswith("threads:"))
    n, k = re.match(r"threads: (\d+) \(parallel loops split among them: (\d+)\)", line).groups()
    print(f"THREADS {n} SPLIT {k}")
subprocess.run(ref, check=True)
failed = 0
for out in model["outputs"]:
    got, want = (np.load(os.path.join(args.workdir, f"{out}.{k}.npy")) for k in ("dync", "ref"))
    if got.shape != want.shape or got.dtype != want.dtype:
        print(f"MISMATCH {out}: {got.dtype}{list(got.shape)} vs reference {want.dtype}{list(want.shape)}")
        failed += 1
        continue
    if np.issubdtype(want.dtype, np.floating):
        bad = ~np.isclose(got, want, rtol=args.rtol, atol=args.atol)
    else:
        bad = got != want
    if bad.any():
        i = tuple(np.argwhere(bad)[0])
        print(f"MISMATCH {out} at {i}: {got[i]} vs reference {want[i]} ({bad.sum()} of {bad.size} differ)")
        failed += 1
    else:
        print(f"MATCH {out} {list(want.shape)}")
        if not np.issubdtype(want.dtype, np.floating):
            # Decisions (masks, exit indices): print them so tests can check
            # what the network decided, not only that dync agrees.
            print(f"VALUES {out}: {' '.join(str(int(v)) for v in got.reshape(-1))}")
# The runtime's statistics of the run: what was computed.
for name, value in json.load(open(os.path.join(args.workdir, "stats.json"))).items():
    print(f"STAT {name} = {value}")
sys.exit(1 if failed else 0)
