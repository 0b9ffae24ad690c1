"""Writes stackN.json: N identical transformer layers with a top-2 MoE (the
C1 benchmark's model, small)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples"))
from generate import moe_transformer  # noqa: E402

out, layers = sys.argv[1], int(sys.argv[2])
moe_transformer(f"stack{layers}", layers, d=32, heads=2, experts=4, hidden=64, seq=16, batch=4).write(out)
