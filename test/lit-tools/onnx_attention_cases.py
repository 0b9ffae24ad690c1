"""Attention for onnx_check.py, as one writes it in PyTorch for export:
plain, causal (a tril mask), and block-sparse: dense attention under a mask
made of blocks, the layout chosen at run time (a TopK over pooled block
scores, scattered into a bool layout, expanded to the positions); and the
near misses that must stay op by op: a layout shared by the heads, a finite
fill value, a banded mask, an upper triangle."""
import numpy as np

from onnx_check import randn, torch_case


def bsa_module(kind):
    import torch
    import torch.nn as nn

    class Bsa(nn.Module):
        """q, k, v [B, H, S, D]; each query block keeps the `keep` key
        blocks whose pooled scores are largest."""
        def __init__(self, bs=16, keep=2):
            super().__init__()
            self.bs, self.keep = bs, keep

        def layout(self, q, k):
            B, H, S, D = q.shape
            nb = S // self.bs
            qb = q.reshape(B, H, nb, self.bs, D).mean(3)
            kb = k.reshape(B, H, nb, self.bs, D).mean(3)
            if kind == "heads_shared":  # one layout for every head
                qb, kb = qb.mean(1, keepdim=True), kb.mean(1, keepdim=True)
            idx = (qb @ kb.transpose(-1, -2)).topk(self.keep, dim=-1).indices
            return torch.zeros(qb.shape[0], qb.shape[1], nb, nb).scatter(-1, idx, 1.0) > 0

        def forward(self, q, k, v):
            B, H, S, D = q.shape
            nb = S // self.bs
            if kind == "causal":
                mask = torch.ones(S, S).tril() > 0
            elif kind == "upper":  # keys at or after the query: no causal mask
                mask = torch.ones(S, S).triu() > 0
            elif kind == "window":  # a band of 8 keys around the query
                i = torch.arange(S)
                mask = (i[:, None] - i[None, :]).abs() < 8
            elif kind == "dense":
                return torch.softmax((q @ k.transpose(-1, -2)) / D ** 0.5, -1) @ v
            else:
                lay = self.layout(q, k)
                mask = lay[:, :, :, None, :, None].expand(lay.shape[0], lay.shape[1], nb, self.bs, nb,
                                                         self.bs).reshape(lay.shape[0], lay.shape[1], S, S)
            att = (q @ k.transpose(-1, -2)) / D ** 0.5
            fill = -1e9 if kind == "finite_fill" else float("-inf")
            att = att.masked_fill(~mask, fill)
            return torch.softmax(att, -1) @ v

    return Bsa()


def bsa_case(kind, b=1, dynamic=False):
    qkv = {n: randn(b, 2, 64, 8) for n in ("q", "k", "v")}
    axes = {n: {0: "B"} for n in ("q", "k", "v", "y")} if dynamic else {}
    run = {n: randn(3, 2, 64, 8) for n in ("q", "k", "v")} if dynamic else qkv
    return torch_case(bsa_module(kind), qkv, axes, run, dims={"B": (1, 4)} if dynamic else None)


def case_torch_bsa():
    """B=1, H=2, S=64 in blocks of 16: each query block keeps 2 of 4."""
    return bsa_case("topk")


def case_torch_bsa_batch():
    """The same with the batch dynamic (3 at run time)."""
    return bsa_case("topk", 2, dynamic=True)


def case_torch_bsa_heads_shared():
    """One layout for both heads ([B, 1, nq, nk]), broadcast by the masking."""
    return bsa_case("heads_shared")


def case_torch_bsa_finite_fill():
    """masked_fill(-1e9): the masked scores are not exactly dropped; dense."""
    return bsa_case("finite_fill")


def case_torch_attention():
    """Plain attention: dyn.attention."""
    return bsa_case("dense")


def case_torch_attention_causal():
    """A causal mask from tril: dyn.attention {causal}."""
    return bsa_case("causal")


def case_torch_attention_upper():
    """The upper triangle is not causal: op by op."""
    return bsa_case("upper")


def case_torch_attention_window():
    """A band around the diagonal: op by op."""
    return bsa_case("window")


CASES = {n[5:]: f for n, f in dict(globals()).items() if n.startswith("case_")}
