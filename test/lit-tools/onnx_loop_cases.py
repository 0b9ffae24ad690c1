"""ONNX Loop and Sequence cases for onnx_check.py: graphs built with
onnx.helper, and scripted PyTorch loops exported by torch.onnx.export (a
`for` over a dynamic range, a `while` whose condition short-circuits through
an If, list appends stacked or concatenated after the loop)."""
import numpy as np
from onnx import TensorProto as T
from onnx import helper as h

from onnx_check import F, init, model, randn, torch_case, vi

I64 = T.INT64
BOOL = T.BOOL


def rnn_body(scan):
    """h' = tanh(h W + x[i]) over the rows of x; optionally h' as a scan
    output too. The condition passes through Identity, as exporters write."""
    nodes = [h.make_node("Gather", ["x", "i"], ["xi"], axis=0),
             h.make_node("MatMul", ["h", "W"], ["hw"]),
             h.make_node("Add", ["hw", "xi"], ["pre"]),
             h.make_node("Tanh", ["pre"], ["h_out"]),
             h.make_node("Identity", ["c"], ["c_out"])]
    outs = [vi("c_out", BOOL, []), vi("h_out", F, None)]
    if scan:
        nodes.append(h.make_node("Mul", ["h_out", "two"], ["scan"]))
        outs.append(vi("scan", F, None))
    return h.make_graph(nodes, "body", [vi("i", I64, []), vi("c", BOOL, []), vi("h", F, None)], outs)


def case_loop_for():
    """A recurrence over the dynamic leading dim of x [T, B, 8]: the trip
    count is Shape(x)[0], h is carried, h·2 is a scan output [T, B, 8]."""
    nodes = [h.make_node("Shape", ["x"], ["shape"]),
             h.make_node("Gather", ["shape", "zero"], ["t"]),
             h.make_node("Gather", ["x", "zero"], ["h0"], axis=0),
             h.make_node("Loop", ["t", "true", "h0"], ["h", "hs"], body=rnn_body(True), name="rnn")]
    inits = [init("W", randn(8, 8) * 0.5), init("zero", np.array(0, np.int64)),
             init("true", np.array(True)), init("two", np.array(2.0, np.float32))]
    m = model("loop_for", nodes, [vi("x", F, ["T", "B", 8])], [vi("h", F, None), vi("hs", F, None)],
              inits)
    return m, {"x": randn(5, 3, 8)}, {"T": (1, 16), "B": (1, 8)}


def case_loop_constant_trip():
    """The same recurrence with a constant trip count of 3 (x has more rows)."""
    nodes = [h.make_node("Gather", ["x", "zero"], ["h0"], axis=0),
             h.make_node("Loop", ["three", "", "h0"], ["h"], body=rnn_body(False), name="rnn")]
    inits = [init("W", randn(8, 8) * 0.5), init("zero", np.array(0, np.int64)),
             init("three", np.array(3, np.int64))]
    m = model("loop_constant_trip", nodes, [vi("x", F, ["T", "B", 8])], [vi("h", F, None)], inits)
    return m, {"x": randn(6, 2, 8)}, {"T": (3, 16)}


def while_model(with_trip):
    """Doubles x while max|x| < 10 (at most 4 times with a trip count), and
    counts the iterations in a carried int64."""
    body = h.make_graph(
        [h.make_node("Mul", ["xb", "two"], ["x_out"]),
         h.make_node("Add", ["n", "one"], ["n_out"]),
         h.make_node("Abs", ["x_out"], ["a"]),
         h.make_node("ReduceMax", ["a"], ["mx"], keepdims=0),
         h.make_node("Less", ["mx", "ten"], ["c_out"])],
        "body", [vi("i", I64, []), vi("c", BOOL, []), vi("xb", F, None), vi("n", I64, [])],
        [vi("c_out", BOOL, []), vi("x_out", F, None), vi("n_out", I64, [])])
    nodes = [h.make_node("Abs", ["x"], ["ax"]),
             h.make_node("ReduceMax", ["ax"], ["m0"], keepdims=0),
             h.make_node("Less", ["m0", "ten"], ["c0"]),
             h.make_node("Loop", ["four" if with_trip else "", "c0", "x", "zero"], ["y", "count"],
                         body=body, name="grow")]
    inits = [init("two", np.array(2.0, np.float32)), init("ten", np.array(10.0, np.float32)),
             init("one", np.array(1, np.int64)), init("zero", np.array(0, np.int64)),
             init("four", np.array(4, np.int64))]
    return model("while", nodes, [vi("x", F, ["B", 4])], [vi("y", F, None), vi("count", I64, None)],
                 inits)


def case_loop_while():
    """A while loop (no trip count): 0.3 doubles 6 times before it passes 10."""
    x = np.full((2, 4), 0.05, np.float32)
    x[1, 2] = 0.3
    return while_model(False), {"x": x}, {}


def case_loop_while_trip():
    """The same loop stopped by its trip count of 4 first."""
    x = np.full((3, 4), 0.05, np.float32)
    return while_model(True), {"x": x}, {}


def case_loop_while_none():
    """The condition is false on entry: no iteration, the initial values."""
    return while_model(False), {"x": np.full((2, 4), 20.0, np.float32)}, {}


def case_sequence_ops():
    """Sequences known at import: SequenceConstruct, SequenceInsert at a
    negative position, SequenceAt, SequenceLength, ConcatFromSequence both
    stacking (new_axis) and concatenating."""
    nodes = [h.make_node("Relu", ["x"], ["a"]),
             h.make_node("Neg", ["x"], ["b"]),
             h.make_node("SequenceConstruct", ["a", "b"], ["s0"]),
             h.make_node("SequenceInsert", ["s0", "x", "minus_one"], ["s1"]),
             h.make_node("SequenceAt", ["s1", "one"], ["second"]),
             h.make_node("SequenceLength", ["s1"], ["len"]),
             h.make_node("ConcatFromSequence", ["s1"], ["stacked"], axis=-1, new_axis=1),
             h.make_node("ConcatFromSequence", ["s1"], ["cat"], axis=1),
             h.make_node("SequenceEmpty", [], ["e"]),
             h.make_node("SequenceInsert", ["e", "b"], ["e1"]),
             h.make_node("ConcatFromSequence", ["e1"], ["single"], axis=1)]
    inits = [init("minus_one", np.array(-1, np.int64)), init("one", np.array(1, np.int64))]
    m = model("sequence_ops", nodes, [vi("x", F, ["B", 4])],
              [vi(o, F, None) for o in ("second", "stacked", "cat", "single")] + [vi("len", I64, None)],
              inits)
    return m, {"x": randn(3, 4)}, {}


def loop_modules():
    """Scripted PyTorch loops, exported through torch.jit.script."""
    import torch
    import torch.nn as nn

    class Recurrent(nn.Module):  # for over a dynamic range, carried state
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 8)

        def forward(self, x):
            h = x[0]
            for i in range(x.size(0)):
                h = torch.tanh(self.lin(h) + x[i])
            return h

    class Grow(nn.Module):  # while with `and`: an If inside the body
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 8)

        def forward(self, x):
            i = 0
            while bool(x.abs().max() < 10.0) and i < 20:
                x = self.lin(x) * 2.0
                i += 1
            return x

    class Stack(nn.Module):  # outs.append(h) in the loop, stacked after it
        def __init__(self, cat):
            super().__init__()
            self.lin, self.cat = nn.Linear(8, 8), cat

        def forward(self, x):
            outs = []
            h = x[0]
            for i in range(x.size(0)):
                h = torch.tanh(self.lin(h) + x[i])
                outs.append(h)
            if self.cat:
                return torch.cat(outs, 1)
            return torch.stack(outs, 1)

    return Recurrent, Grow, Stack


def case_torch_loop_for():
    import torch
    recurrent, _, _ = loop_modules()
    return torch_case(torch.jit.script(recurrent()), {"x": randn(3, 2, 8)},
                      {"x": {0: "T", 1: "B"}, "y": {0: "B"}}, {"x": randn(7, 4, 8)},
                      dims={"T": (1, 32), "B": (1, 8)})


def case_torch_loop_while():
    import torch
    _, grow, _ = loop_modules()
    return torch_case(torch.jit.script(grow()), {"x": randn(2, 8)}, {"x": {0: "B"}, "y": {0: "B"}},
                      {"x": randn(5, 8) * 0.1}, dims={"B": (1, 8)})


def case_torch_loop_stack():
    import torch
    _, _, stack = loop_modules()
    return torch_case(torch.jit.script(stack(False)), {"x": randn(3, 2, 8)},
                      {"x": {0: "T", 1: "B"}, "y": {0: "B", 1: "T"}}, {"x": randn(6, 3, 8)},
                      dims={"T": (1, 32), "B": (1, 8)})


def case_torch_loop_cat():
    import torch
    _, _, stack = loop_modules()
    return torch_case(torch.jit.script(stack(True)), {"x": randn(3, 2, 8)},
                      {"x": {0: "T", 1: "B"}, "y": {0: "B"}}, {"x": randn(5, 2, 8)},
                      dims={"T": (1, 32), "B": (1, 8)})


CASES = {n[5:]: f for n, f in dict(globals()).items() if n.startswith("case_")}
