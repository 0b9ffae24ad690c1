#!/usr/bin/python3
"""Writes generated seed inputs for the fuzz targets next to the committed
ones: the example models (JSON), weights files, .npy files, MLIR test
inputs split at `// -----`, and manifests of compiled models.

    seeds.py SRC_ROOT BUILD_DIR OUT_DIR
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

src, build, out = sys.argv[1:4]
for t in ("json_import", "onnx_import", "mlir_pipeline", "safetensors", "npy", "runtime"):
    os.makedirs(os.path.join(out, t), exist_ok=True)
    for f in glob.glob(os.path.join(src, "fuzz", "corpus", t, "*")):
        with open(f, "rb") as i, open(os.path.join(out, t, os.path.basename(f)), "wb") as o:
            o.write(i.read())

ex = os.path.join(out, "examples")
subprocess.run([sys.executable, os.path.join(src, "examples", "generate.py"), ex], check=True)
for f in glob.glob(os.path.join(ex, "*.json")):
    name = os.path.basename(f)
    model = json.load(open(f))
    model["weights"] = "w.safetensors"  # the fuzz target's own weights file
    json.dump(model, open(os.path.join(out, "json_import", name), "w"))
for f in glob.glob(os.path.join(ex, "*.safetensors"))[:3]:
    data = open(f, "rb").read()
    open(os.path.join(out, "safetensors", os.path.basename(f)), "wb").write(data[:4096])
for i, a in enumerate([np.zeros((2, 3), np.float32), np.arange(5, dtype=np.int64),
                       np.ones((1, 2, 2), np.float16), np.array([True, False])]):
    np.save(os.path.join(out, "npy", f"seed{i}.npy"), a)
for f in glob.glob(os.path.join(src, "test", "Dialect", "Dyn", "*.mlir")) + \
         glob.glob(os.path.join(src, "test", "Passes", "*.mlir")):
    parts = re.split(r"^// -----$", open(f).read(), flags=re.M)
    for k, p in enumerate(parts[:12]):
        open(os.path.join(out, "mlir_pipeline", f"{os.path.basename(f)}.{k}.mlir"), "w").write(p)
# ONNX models: the ones the ONNX tests refuse and a few they compile.
subprocess.run([sys.executable, os.path.join(src, "test", "lit-tools", "onnx_bad.py"),
                os.path.join(out, "onnx_import")], check=True)
sys.path.insert(0, os.path.join(src, "test", "lit-tools"))
import onnx_check  # noqa: E402
for name in ("mlp", "elementwise", "shapes", "conv", "gather_scatter", "nonzero", "logical"):
    m, _, _ = onnx_check.CASES[name]()
    open(os.path.join(out, "onnx_import", name + ".onnx"), "wb").write(m.SerializeToString())
import onnx_loop_cases  # noqa: E402
for name in ("loop_for", "loop_while", "sequence_ops"):
    m, _, _ = onnx_loop_cases.CASES[name]()
    open(os.path.join(out, "onnx_import", name + ".onnx"), "wb").write(m.SerializeToString())
import onnx_gate_cases  # noqa: E402
for name in ("gate_boundary", "gate_mixes_samples", "gate_reads_other"):
    m, _, _ = onnx_gate_cases.CASES[name]()
    open(os.path.join(out, "onnx_import", name + ".onnx"), "wb").write(m.SerializeToString())
m = onnx_gate_cases.CASES["torch_dense_gate"]()[0]
open(os.path.join(out, "onnx_import", "torch_dense_gate.onnx"), "wb").write(m.SerializeToString())
import onnx_attention_cases  # noqa: E402
m = onnx_attention_cases.CASES["torch_bsa_batch"]()[0]
open(os.path.join(out, "onnx_import", "torch_bsa_batch.onnx"), "wb").write(m.SerializeToString())
import onnx_exit_cases  # noqa: E402
for name in ("exit_boundary_gt", "exit_thresholds_differ", "exit_reads_earlier"):
    m, _, _ = onnx_exit_cases.CASES[name]()
    open(os.path.join(out, "onnx_import", name + ".onnx"), "wb").write(m.SerializeToString())
# MoE layers exported from PyTorch, which the importer raises to dyn.moe (and
# a near miss it must leave alone).
with tempfile.TemporaryDirectory() as moe:
    subprocess.run([sys.executable, os.path.join(src, "test", "lit-tools", "moe_exports.py"), moe],
                   check=True, capture_output=True)
    for name in ("swiglu", "relu_bias", "dense_shared", "near_unweighted"):
        shutil.copy(os.path.join(moe, name + ".onnx"), os.path.join(out, "onnx_import", "moe_" + name + ".onnx"))
# Manifests of compiled models, each with some input bytes after a NUL.
for f in ("static_mlp", "skip_mlp"):
    so = os.path.join(ex, f + ".so")
    if subprocess.run([os.path.join(build, "bin", "dync"), os.path.join(ex, f + ".json"), "--emit=codegen",
                       "-o", so + ".mlir"], capture_output=True).returncode == 0:
        text = open(so + ".mlir").read()
        m = re.search(r'dyn\.manifest = "((?:[^"\\]|\\.)*)"', text)
        if m:
            # MLIR escapes a string's bytes as \XX (hex).
            manifest = re.sub(r"\\([0-9a-fA-F]{2})", lambda e: chr(int(e.group(1), 16)),
                              m.group(1))
            # Weights are not available to the fuzz target: drop them.
            j = json.loads(manifest)
            j["args"] = [a for a in j["args"] if a.get("kind") != "weight"]
            data = json.dumps(j).encode() + b"\0" + bytes(range(32))
            open(os.path.join(out, "runtime", f + ".manifest"), "wb").write(data)
