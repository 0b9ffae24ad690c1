#!/usr/bin/python3
"""Writes MoE layers exported from PyTorch (torch.onnx.export, opset 17) for
the raising tests: the loops over experts libraries write, and near misses
that must not become dyn.moe.

    moe_exports.py OUTDIR

Each model has input x [T, 16] (T dynamic) and output y; x.npy is an input.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
D, H, E = 16, 32, 4


class SwiGLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.w1, self.w2, self.w3 = nn.Linear(D, H, bias=False), nn.Linear(H, D, bias=False), nn.Linear(D, H, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


def ffn():
    return nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, D))


class Loop(nn.Module):
    """The loop over experts; `variant` makes it a near miss."""
    def __init__(self, expert, k=2, normalize=True, variant=""):
        super().__init__()
        self.gate = nn.Linear(D, E, bias=False)
        self.experts = nn.ModuleList([expert() for _ in range(E)])
        self.k, self.normalize, self.variant = k, normalize, variant

    def forward(self, x):
        p = F.softmax(self.gate(x), dim=-1)
        w, idx = torch.topk(p, self.k, dim=-1)
        if self.normalize:
            w = w / w.sum(dim=-1, keepdim=True)
        other = x * 2.0
        out = torch.zeros_like(x)
        experts = list(enumerate(self.experts))
        if self.variant == "missing_expert":
            experts = experts[:-1]
        for e, expert in experts:
            tok, slot = torch.where(idx == e)
            rows = other[tok] if self.variant == "other_rows" else x[tok]
            y = expert(rows)
            if self.variant != "unweighted":
                y = y * w[tok, slot, None]
            if self.variant == "same_expert" and e == 1:
                tok, slot = torch.where(idx == 0)
            out = out.index_add(0, tok, y)
        return out


class Dense(nn.Module):
    """Every expert on every token, weighted by the top-k weights scattered
    into [tokens, experts] (Qwen2-MoE's reference form); optionally plus a
    shared expert scaled by its own sigmoid gate."""
    def __init__(self, shared=False, variant=""):
        super().__init__()
        self.gate = nn.Linear(D, E, bias=False)
        self.experts = nn.ModuleList([SwiGLU() for _ in range(E)])
        self.shared = SwiGLU() if shared else None
        self.shared_gate = nn.Linear(D, 1, bias=False)
        self.variant = variant

    def forward(self, x):
        w, idx = torch.topk(F.softmax(self.gate(x), dim=-1), 2, dim=-1)
        dense = torch.zeros(x.shape[0], E).scatter(1, idx, w)
        out = torch.sigmoid(self.shared_gate(x)) * self.shared(x) if self.shared else torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            col = 0 if self.variant == "wrong_column" and e == 1 else e
            out = out + dense[:, col:col + 1] * expert(x)
        return out


class Switch(nn.Module):
    """Switch Transformer: top-1 routing, at most `capacity` tokens per
    expert in token order (a cumulative sum of the one-hot routing), the
    rest dropped; `variant` picks a spelling or makes it a near miss."""
    def __init__(self, capacity=2, variant=""):
        super().__init__()
        self.gate = nn.Linear(D, E, bias=False)
        self.experts = nn.ModuleList([ffn() for _ in range(E)])
        self.capacity, self.variant = capacity, variant

    def routing(self, x):
        probs = F.softmax(self.gate(x), dim=-1)
        if self.variant == "hf":
            # HF SwitchTransformersTop1Router: F.one_hot, cumsum <= capacity.
            pmax = torch.max(probs, dim=-1).values
            onehot = F.one_hot(torch.argmax(probs, dim=-1), num_classes=E)
            return pmax, onehot * (torch.cumsum(onehot, dim=-2) <= self.capacity)
        pmax, e = probs.max(dim=-1)
        onehot = (e[:, None] == torch.arange(E)[None, :]).to(x.dtype)
        if self.variant == "near_unmasked":
            return pmax, torch.cumsum(onehot, dim=0) <= self.capacity
        if self.variant == "near_axis1":
            place = torch.cumsum(onehot, dim=1) * onehot
            return pmax, (place > 0) & (place <= self.capacity)
        place = torch.cumsum(onehot, dim=0) * onehot
        if self.variant == "lt":
            return pmax, (place > 0) & (place < self.capacity + 0.5)
        return pmax, (place > 0) & (place <= self.capacity)

    def forward(self, x):
        pmax, kept = self.routing(x)
        out = torch.zeros_like(x)
        for i, expert in enumerate(self.experts):
            tok = torch.nonzero(kept[:, i]).squeeze(-1)
            y = expert(x[tok])
            if self.variant != "unweighted":
                y = y * pmax[tok, None]
            out = out.index_add(0, tok, y)
        return out

    def assignments(self, x):
        """The kept assignments, as PyTorch computes them."""
        return int(self.routing(x)[1].sum())


class Residual(nn.Module):
    """x + moe(layer_norm(x)): the sum is added to again."""
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(D)
        self.moe = Loop(SwiGLU)

    def forward(self, x):
        return x + self.moe(self.norm(x))


models = {
    "residual": Residual(),
    "dense": Dense(),
    "dense_shared": Dense(shared=True),
    "near_dense_wrong_column": Dense(variant="wrong_column"),
    "swiglu": Loop(SwiGLU),
    "relu_bias": Loop(ffn, normalize=False),
    "top1": Loop(ffn, k=1, normalize=False),
    "near_unweighted": Loop(SwiGLU, variant="unweighted"),
    "near_missing_expert": Loop(SwiGLU, variant="missing_expert"),
    "near_other_rows": Loop(SwiGLU, variant="other_rows"),
    "switch": Switch(),
    "switch_hf": Switch(variant="hf"),
    "switch_lt": Switch(variant="lt"),
    "switch_unweighted": Switch(variant="unweighted"),
    "near_switch_unmasked": Switch(variant="near_unmasked"),
    "near_switch_axis1": Switch(variant="near_axis1"),
    "near_switch_zero_capacity": Switch(capacity=0),
}
torch.manual_seed(0)
x = torch.randn(9, D)
np.save(os.path.join(out, "x.npy"), x.numpy())
for name, m in models.items():
    m.eval()
    with torch.no_grad():
        torch.onnx.export(m, (torch.randn(5, D),), os.path.join(out, name + ".onnx"), input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "T"}, "y": {0: "T"}}, opset_version=17)
        np.save(os.path.join(out, name + ".torch.npy"), m(x).numpy())
        if isinstance(m, Switch):
            with open(os.path.join(out, name + ".kept"), "w") as f:
                print("assignments", m.assignments(x), file=f)
