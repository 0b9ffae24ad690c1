#!/usr/bin/python3
"""Differential testing: random valid models, compiled by dync and run,
against the independent numpy reference.

    differential.py --dync DYNC --dync-run RUN --workdir DIR
                    [--seed S] [--count N] [--keep-going]

Model i comes from random_models.generate(S + i). For each, prints one line
(MATCH, MISMATCH, REJECTED: dync refused a valid model, CRASHED: dync or
dync-run died, UNBOUNDED: the memory budget check found no bound on a buffer
of the model's plan) and at the end the counts. Exits non-zero if any model did not
match. A long run is `--count 1000`; CI runs a fixed-seed batch.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from random_models import generate  # noqa: E402


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if not header:
        header["unused"] = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
        blobs.append(np.zeros(1, np.float32).tobytes())
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dync", required=True)
    p.add_argument("--dync-run", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--keep-going", action="store_true")
    args = p.parse_args()
    counts = {"MATCH": 0, "MISMATCH": 0, "REJECTED": 0, "CRASHED": 0, "UNBOUNDED": 0}
    decisions = 0
    for i in range(args.count):
        seed = args.seed + i
        d = os.path.join(args.workdir, f"m{seed}")
        os.makedirs(d, exist_ok=True)
        model, weights, inputs, sizes, _ = generate(seed)
        path = os.path.join(d, model["name"] + ".json")
        with open(path, "w") as f:
            json.dump(model, f, indent=1)
        write_safetensors(os.path.join(d, model["weights"]), weights)
        given = []
        for name, value in inputs.items():
            npy = os.path.join(d, name + ".given.npy")
            np.save(npy, value)
            given += ["--input", f"{name}={npy}"]
        cmd = [sys.executable, os.path.join(here, "e2e.py"), "--dync", args.dync,
               "--dync-run", args.dync_run, path, os.path.join(d, "run"),
               "--rtol", "2e-3", "--atol", "2e-4"] + given
        for k, v in sizes.items():
            cmd += ["--dim", f"{k}={v}"]
        ran = subprocess.run(cmd, capture_output=True, text=True)
        out = ran.stdout + ran.stderr
        if ran.returncode == 0:
            verdict = "MATCH"
            decisions += out.count("VALUES ")
            # Every buffer of a valid model's plan has a bound: a budget of
            # one byte must be refused for its size, not for want of a bound.
            budget = subprocess.run([args.dync, path, "--emit=lowered", "-o", os.devnull,
                                     "--memory-budget=1"], capture_output=True, text=True)
            if "over the budget" not in budget.stderr:
                verdict = "UNBOUNDED"
                out = budget.stderr
        elif "MISMATCH" in out:
            verdict = "MISMATCH"
        elif "dync failed with exit code 1" in out or "dync wrote to stderr" in out:
            verdict = "REJECTED"
        else:
            verdict = "CRASHED"
        counts[verdict] += 1
        ops = sorted({n["op"] for n in model["nodes"]})
        print(f"{verdict} seed {seed} dims {sizes} ops {' '.join(ops)}")
        if verdict != "MATCH":
            detail = [l for l in out.splitlines() if "MISMATCH" in l or "error" in l]
            for line in detail[:5]:
                print("    " + line)
            if not args.keep_going:
                break
    print("models {0}: {1} matched, {2} mismatched, {3} rejected, {4} crashed, {5} unbounded; "
          "{6} integer outputs (decisions) compared exactly".format(
              sum(counts.values()), counts["MATCH"], counts["MISMATCH"], counts["REJECTED"],
              counts["CRASHED"], counts["UNBOUNDED"], decisions))
    sys.exit(0 if counts["MATCH"] == sum(counts.values()) else 1)


if __name__ == "__main__":
    main()
