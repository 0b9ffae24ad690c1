"""Writes stackN.json: N identical transformer layers with a top-2 MoE."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples"))
from generate import Graph, Model  # noqa: E402

out, layers = sys.argv[1], int(sys.argv[2])
d, heads, experts, hidden, seq = 32, 2, 4, 64, 16
m = Model(f"stack{layers}", {"B": {"min": 1, "max": 4}},
          [{"name": "x", "dtype": "f32", "shape": ["B", seq, d]}], ["y"])
g = Graph(m, m.nodes, "")
x = "x"
for i in range(layers):
    a = g.layer_norm(x, d, f"l{i}.ln1")
    a = g.mha(a, d, heads, f"l{i}.attn", causal=True)
    x = g.node("add", [x, a], name=f"l{i}.res1")
    f = g.layer_norm(x, d, f"l{i}.ln2")
    f = g.moe(f, d, hidden, experts, 2, f"l{i}.moe")
    x = g.node("add", [x, f], name=f"l{i}.res2" if i + 1 < layers else "y")
m.write(out)
