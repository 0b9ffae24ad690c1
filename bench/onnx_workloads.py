"""O1, O2, O4, O5: workloads written in PyTorch, exported to ONNX, compiled by
dync and run next to the peers on the same file (peers.py)."""
import os
import re
import subprocess

import numpy as np

from benchlib import RSS, peak_rss, record, report_rss
from peers import export, run_openvino, run_ort, run_torch

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
model = Block().eval()
if path != "-":
    torch.onnx.export(model, (torch.randn(1, S, d),), path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "B", 1: "S"}, "y": {0: "B", 1: "S"}}, opset_version=17)
"""


def compare(build, workdir, reps, title, script, args, path, inputs, dims, flop, limit):
    """Compiles the ONNX file `path` with dync, runs it with dync-run (2
    threads, --stats) on `inputs` (name -> array, in the order of the
    module's forward), and next to it ONNX Runtime and OpenVINO on the same
    file and PyTorch eager on the module `script` exports; prints each
    peer's time, dync's ratio to it and how far their outputs agree, the
    fraction of the matmul limit (`flop` at `limit` GFLOP/s) and peak
    memory. Returns (dync ms, dync-run's output)."""
    so = path[:-5] + ".so"
    subprocess.run([os.path.join(build, "bin", "dync"), path, "-o", so] +
                   [f"--dim={k}={v}" for k, v in dims.items()], check=True)
    stem = os.path.basename(path)[:-5]
    feeds = {}
    for name, value in inputs.items():
        feeds[name] = os.path.join(workdir, f"{stem}_{name}.npy")
        np.save(feeds[name], value)
    y = os.path.join(workdir, f"{stem}_y.npy")
    run = [os.path.join(build, "bin", "dync-run"), so, "--bench", str(reps), "--threads", "2", "--stats",
           "--output", f"y={y}"]
    for name, f in feeds.items():
        run += ["--input", f"{name}={f}"]
    out = subprocess.run(run, check=True, capture_output=True, text=True).stdout
    ms = float(re.search(r"median_ms=([0-9.]+)", out).group(1))
    want = np.load(y)
    ort = run_ort(path, reps, feeds, want)
    peers = {"onnxruntime": ort[:3] if ort else None,
             "openvino": run_openvino(path, reps, feeds, want),
             "pytorch eager": run_torch(script, args, reps, feeds, want)}
    print(title)
    print(f"  dync {ms:.2f} ms")
    for name, res in peers.items():
        if res:
            peer_ms, err, version = res
            print(f"  {name} {version}: {peer_ms:.2f} ms -> dync/{name.split()[0]} {ms / peer_ms:.2f}x "
                  f"(outputs agree to {err:.1e} relative)")
        else:
            print(f"  {name}: not run")
    if flop:
        print(f"  limit {flop / (limit * 1e6):.2f} ms -> dync reaches "
              f"{100 * flop / (ms * 1e6) / limit:.1f}% of the matmul rate")
    workload = title.split(" (")[0]
    record(workload, dync=ms, **{k.replace(" ", "_"): v[0] for k, v in peers.items() if v})
    RSS[path] = peak_rss(out), ort[3] if ort else None
    report_rss(workload, *RSS[path])
    return ms, out


def o5(build, workdir, reps, small, limit):
    """W5's transformer block written in PyTorch and exported to ONNX."""
    B, S, d, heads, ffn = (1, 64, 256, 4, 1024) if small else (1, 128, 512, 8, 2048)
    path = os.path.join(workdir, "o5_block.onnx")
    args = [S, d, heads, ffn]
    script = export(EXPORT_BLOCK, args, path, "O5")
    if not script:
        return
    x = np.random.default_rng(5).standard_normal((B, S, d), dtype=np.float32)
    flop = 2 * B * S * (4 * d * d + 2 * d * ffn) + 2 * 2 * B * S * S * d
    compare(build, workdir, reps, f"O5 onnx_block (PyTorch -> ONNX) B={B} S={S} d={d} heads={heads} "
            f"ffn={ffn}", script, args, path, {"x": x}, {"S": S}, flop, limit)


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
model = MoE().eval()
if path != "-":
    torch.onnx.export(model, (torch.randn(16, d),), path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "T"}, "y": {0: "T"}}, opset_version=17)
"""


def o1(build, workdir, reps, small, limit):
    """W1's MoE FFN written in PyTorch the usual way (a loop over experts,
    torch.where, index_add) and exported to ONNX: dync raises the loop to
    dyn.moe."""
    T, d, h, E, k = (128, 128, 512, 8, 2) if small else (512, 512, 2048, 8, 2)
    path = os.path.join(workdir, "o1_moe.onnx")
    args = [d, h, E, k]
    script = export(EXPORT_MOE, args, path, "O1")
    if not script:
        return
    x = np.random.default_rng(1).standard_normal((T, d), dtype=np.float32)
    compare(build, workdir, reps, f"O1 onnx_moe (PyTorch loop over experts -> ONNX) T={T} d={d} h={h} "
            f"E={E} top-{k}", script, args, path, {"x": x}, {"T": T}, 2 * T * k * 2 * d * h, limit)


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
model = Gated().eval()
if path != "-":
    torch.onnx.export(model, (torch.randn(B, d),), path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "B"}, "y": {0: "B"}}, opset_version=17)
"""


def o4(build, workdir, reps, small, limit):
    """W4's gated blocks written in PyTorch with per-sample torch.where
    gates and exported to ONNX: dync raises each Where to dyn.gate and runs
    a block only on the samples that pass; the peers compute every block on
    every sample. Also dync with every gate open (all the work), from the
    same library through its threshold parameters."""
    B, d, blocks = (64, 256, 8) if small else (64, 1024, 8)
    path = os.path.join(workdir, "o4_gates.onnx")
    args = [B, d, blocks]
    script = export(EXPORT_GATES, args, path, "O4")
    if not script:
        return
    x = np.random.default_rng(2).standard_normal((B, d), dtype=np.float32)
    # The work run, to state the limit: one dync run's statistics.
    so = path[:-5] + ".so"
    subprocess.run([os.path.join(build, "bin", "dync"), path, "-o", so, f"--dim=B={B}"], check=True)
    xf = os.path.join(workdir, "o4_x0.npy")
    np.save(xf, x)
    run = [os.path.join(build, "bin", "dync-run"), so, "--threads", "2", "--input", f"x={xf}", "--stats"]
    out = subprocess.run(run, check=True, capture_output=True, text=True).stdout
    ran = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s*(\S+)\.samples_run = (\d+)", out, re.M)}
    work, total = sum(ran.values()), B * blocks
    ms, _ = compare(build, workdir, reps, f"O4 onnx_gates (PyTorch torch.where gates -> ONNX) B={B} d={d} "
                    f"blocks={blocks}", script, args, path, {"x": x}, {"B": B}, 2 * 2 * d * d * work, limit)
    opened = [a for g in ran for a in ("--param", f"{g}.threshold=-1e30")]
    out = subprocess.run(run[:-1] + ["--bench", str(reps)] + opened, check=True, capture_output=True,
                         text=True).stdout
    full_ms = float(re.search(r"median_ms=([0-9.]+)", out).group(1))
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
model = Bsa().eval()
if path != "-":
    x = torch.randn(1, H, S, D)
    torch.onnx.export(model, (x, x, x), path, input_names=["q", "k", "v"], output_names=["y"],
                      opset_version=17)
"""


def o2(build, workdir, reps, small, limit):
    """W2 written as a block mask over dense attention in PyTorch and
    exported to ONNX: dync raises it to block-sparse attention and computes
    the kept blocks only; the peers run the file as written (dense scores,
    the mask, the softmax)."""
    S, H, D, block, keep = (512, 4, 64, 64, 2) if small else (2048, 8, 64, 64, 4)
    path = os.path.join(workdir, "o2_bsa.onnx")
    args = [H, S, D, block, keep]
    script = export(EXPORT_BSA, args, path, "O2")
    if not script:
        return
    rng = np.random.default_rng(3)
    qkv = {n: rng.standard_normal((1, H, S, D), dtype=np.float32) for n in ("q", "k", "v")}
    # The density comes from the run; the limit is stated after it.
    ms, out = compare(build, workdir, reps, f"O2 onnx_bsa (PyTorch block mask over dense attention -> "
                      f"ONNX) B=1 H={H} S={S} D={D} block={block} top-{keep} + diagonal", script, args,
                      path, qkv, {}, 0, limit)
    computed = int(re.search(r"\.blocks_computed = (\d+)", out).group(1))
    total = int(re.search(r"\.blocks = (\d+)", out).group(1))
    flop = 2 * 2 * H * S * S * D * computed / max(total, 1)
    print(f"  work done: {computed} of {total} (query block, key block) pairs computed; limit "
          f"{flop / (limit * 1e6):.2f} ms (density x dense FLOP) -> dync reaches "
          f"{100 * flop / (ms * 1e6) / limit:.1f}% of the matmul rate")
