#!/usr/bin/python3
"""Writes MoE layers exported from PyTorch (torch.onnx.export, opset 17) for
the raising tests: the loops over experts libraries write, and near misses
that must not become dyn.moe.

    moe_exports.py OUTDIR

Each model has input x [T, 16] (T dynamic) and output y; x.npy is an input.
The HF blocks take x [B, S, 16] (x3.npy).
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
        # zeros of a fixed 9 rows (the export's constant): the sum's shape is
        # not the MoE's [T, d].
        out = torch.zeros(9, D) if self.variant == "zeros_fixed" else torch.zeros_like(x)
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
        if self.variant == "near_bool_place":  # place.bool() is 0 or 1: nothing is dropped
            return pmax, (place > 0) & (place.bool().to(x.dtype) <= self.capacity)
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


class HFMixtral(nn.Module):
    """transformers' MixtralSparseMoeBlock (v4.36-4.44) as it is written:
    [B, S, d] viewed as tokens, F.one_hot(...).permute(2, 1, 0) as the expert
    mask, torch.where(expert_mask[e]) giving (slot, token), x[None, tok],
    in-place index_add_ into zeros((B * S, d)); with `shared`, Qwen2-MoE's
    shared expert scaled by its own sigmoid gate."""
    def __init__(self, shared=False):
        super().__init__()
        self.num_experts, self.top_k = E, 2
        self.gate = nn.Linear(D, E, bias=False)
        self.experts = nn.ModuleList([SwiGLU() for _ in range(E)])
        self.shared = shared
        if shared:
            self.shared_expert = SwiGLU()
            self.shared_expert_gate = nn.Linear(D, 1, bias=False)

    def forward(self, hidden_states):
        batch_size, sequence_length, hidden_dim = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden_dim)
        router_logits = self.gate(hidden_states)
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
        routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        routing_weights = routing_weights.to(hidden_states.dtype)
        final_hidden_states = torch.zeros((batch_size * sequence_length, hidden_dim), dtype=hidden_states.dtype)
        expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts).permute(2, 1, 0)
        for expert_idx in range(self.num_experts):
            expert_layer = self.experts[expert_idx]
            idx, top_x = torch.where(expert_mask[expert_idx])
            current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
            current_hidden_states = expert_layer(current_state) * routing_weights[top_x, idx, None]
            final_hidden_states.index_add_(0, top_x, current_hidden_states.to(hidden_states.dtype))
        if self.shared:
            shared_output = self.shared_expert(hidden_states)
            shared_output = torch.sigmoid(self.shared_expert_gate(hidden_states)) * shared_output
            final_hidden_states = final_hidden_states + shared_output
        return final_hidden_states.reshape(batch_size, sequence_length, hidden_dim)


class Stacked(nn.Module):
    """Experts' weights stacked in [E, ...] parameters and a scripted loop
    over them (torch.jit.script): the exporter unrolls `for e in range(E)`
    (E a constant) and folds each w[e] into an initializer of its own."""
    def __init__(self):
        super().__init__()
        self.gate = nn.Linear(D, E, bias=False)
        self.w1 = nn.Parameter(torch.randn(E, H, D) * 0.2)
        self.w2 = nn.Parameter(torch.randn(E, D, H) * 0.2)
        self.w3 = nn.Parameter(torch.randn(E, H, D) * 0.2)
        self.num_experts = E

    def forward(self, x):
        p = F.softmax(self.gate(x), dim=-1)
        w, idx = torch.topk(p, 2, dim=-1)
        w = w / w.sum(dim=-1, keepdim=True)
        out = torch.zeros_like(x)
        for e in range(self.num_experts):
            tok, slot = torch.where(idx == e)
            xs = x[tok]
            hidden = F.silu(xs @ self.w1[e].t()) * (xs @ self.w3[e].t())
            out = out.index_add(0, tok, (hidden @ self.w2[e].t()) * w[tok, slot, None])
        return out


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
    "near_zeros_fixed": Loop(SwiGLU, variant="zeros_fixed"),
    "scripted_stacked": torch.jit.script(Stacked()),
    "switch": Switch(),
    "switch_hf": Switch(variant="hf"),
    "switch_lt": Switch(variant="lt"),
    "switch_unweighted": Switch(variant="unweighted"),
    "near_switch_unmasked": Switch(variant="near_unmasked"),
    "near_switch_axis1": Switch(variant="near_axis1"),
    "near_switch_zero_capacity": Switch(capacity=0),
    "near_switch_bool_place": Switch(variant="near_bool_place"),
}
# [B, S, d] inputs (x3.npy: 3 x 3 = 9 tokens).
models3d = {
    "hf_mixtral": HFMixtral(),
    "hf_qwen2": HFMixtral(shared=True),
}
torch.manual_seed(0)
x3 = torch.randn(3, 3, D)
np.save(os.path.join(out, "x3.npy"), x3.numpy())
for name, m in models3d.items():
    m.eval()
    with torch.no_grad():
        torch.onnx.export(m, (torch.randn(2, 5, D),), os.path.join(out, name + ".onnx"), input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "B", 1: "S"}, "y": {0: "B", 1: "S"}},
                          opset_version=17)
        np.save(os.path.join(out, name + ".torch.npy"), m(x3).numpy())

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
