"""Skip gates for onnx_check.py: an If on a score around a residual block,
as scripted PyTorch writes it (SkipNet-style: a sigmoid score of the pooled
input, `if bool(score.mean() > t): x = x + block(x)`) and as onnx.helper
graphs that put the decision exactly on the threshold, use Less(t, score),
and the near misses that must stay a cond: `>=`, the block in the
else_branch, a block that mixes samples, a block that reads another
tensor."""
import numpy as np
from onnx import TensorProto as T
from onnx import helper as h

from onnx_check import F, init, model, randn, torch_case, vi


def gate_module(op):
    """x [B, S, 16] -> x + block(x) when the score passes, else x."""
    import torch
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(16, 32), nn.Linear(32, 16)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))

    class Gt(nn.Module):
        def __init__(self):
            super().__init__()
            self.g, self.block = nn.Linear(16, 1), Block()
            with torch.no_grad():  # the score follows the sign of x's mean
                self.g.weight.fill_(0.25)
                self.g.bias.zero_()

        def forward(self, x):
            score = torch.sigmoid(self.g(x.mean(1)))
            if bool(score.mean() > 0.5):
                x = x + self.block(x)
            return x

    class Ge(Gt):
        def forward(self, x):
            score = torch.sigmoid(self.g(x.mean(1)))
            if bool(score.mean() >= 0.5):
                x = x + self.block(x)
            return x

    return torch.jit.script({"gt": Gt, "ge": Ge}[op]())


def resnet_gate_module():
    """A gated ResNet block (SkipNet on a CNN): x [B, 8, 8, 8] + two 3x3
    convolutions when the score of the pooled input passes."""
    import torch
    import torch.nn as nn

    class GatedResidual(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
            self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
            self.g = nn.Linear(8, 1)
            with torch.no_grad():  # the score follows the sign of x's mean
                self.g.weight.fill_(0.25)
                self.g.bias.zero_()

        def forward(self, x):
            score = torch.sigmoid(self.g(x.mean((2, 3))))
            if bool(score.mean() > 0.5):
                x = x + self.conv2(torch.relu(self.conv1(x)))
            return x

    return torch.jit.script(GatedResidual())


def resnet_gate_case(sign):
    return torch_case(resnet_gate_module(), {"x": randn(2, 8, 8, 8)},
                      {"x": {0: "B"}, "y": {0: "B"}},
                      {"x": sign * (np.abs(randn(3, 8, 8, 8)) + 0.5)}, dims={"B": (1, 8)})


def case_torch_resnet_gate_run():
    """The gated ResNet block on inputs whose score passes."""
    return resnet_gate_case(1.0)


def case_torch_resnet_gate_skip():
    """The gated ResNet block on inputs whose score fails."""
    return resnet_gate_case(-1.0)


def gate_case(op, sign):
    return torch_case(gate_module(op), {"x": randn(2, 5, 16)},
                      {"x": {0: "B", 1: "S"}, "y": {0: "B", 1: "S"}},
                      {"x": sign * (np.abs(randn(3, 7, 16)) + 0.5)},
                      dims={"B": (1, 8), "S": (1, 32)})


def case_torch_gate_run():
    """The score passes: every sample runs the block."""
    return gate_case("gt", 1.0)


def case_torch_gate_skip():
    """The score fails: the block is skipped."""
    return gate_case("gt", -1.0)


def case_torch_gate_ge():
    """`>=` is not the gate's strict test: it stays a cond."""
    return gate_case("ge", 1.0)


def helper_gate(name, cmp, then_nodes, else_nodes, score, extra_inputs=()):
    """If(cmp) on a score input s [1] around x [B, 4]; the branches given."""
    body_out = vi("then_y", F, None)
    then_g = h.make_graph(then_nodes, "then", [], [body_out])
    else_g = h.make_graph(else_nodes, "else", [], [vi("else_y", F, None)])
    nodes = [cmp, h.make_node("If", ["p"], ["y"], then_branch=then_g, else_branch=else_g,
                              name="skip")]
    inits = [init("W", randn(4, 4) * 0.5), init("half", np.array(0.5, np.float32))]
    inputs = [vi("x", F, ["B", 4]), vi("s", F, [1])] + [vi(n, F, ["B", 4]) for n in extra_inputs]
    m = model(name, nodes, inputs, [vi("y", F, None)], inits)
    run = {"x": randn(3, 4), "s": np.array([score], np.float32)}
    for n in extra_inputs:
        run[n] = randn(3, 4)
    return m, run, {"B": (1, 8)}


def block(x="x", out="then_y"):
    """x + tanh(x W), the block the then_branch runs."""
    return [h.make_node("MatMul", [x, "W"], ["xw"]), h.make_node("Tanh", ["xw"], ["t"]),
            h.make_node("Add", [x, "t"], [out])]


def passthrough(out):
    return [h.make_node("Identity", ["x"], ["x1"]), h.make_node("Identity", ["x1"], [out])]


def case_gate_boundary():
    """The score is exactly the threshold: Greater is false, the block is skipped."""
    return helper_gate("gate_boundary", h.make_node("Greater", ["s", "half"], ["p"]), block(),
                       passthrough("else_y"), 0.5)


def case_gate_less():
    """Less(t, score) is score > t: raised; 0.75 passes."""
    return helper_gate("gate_less", h.make_node("Less", ["half", "s"], ["p"]), block(),
                       passthrough("else_y"), 0.75)


def case_gate_else_block():
    """The block in the else_branch (it runs when score <= t): a cond."""
    return helper_gate("gate_else_block", h.make_node("Greater", ["s", "half"], ["p"]),
                       passthrough("then_y"), block(out="else_y"), 0.25)


def case_gate_mixes_samples():
    """The block adds the batch mean: the gate's body could not see only
    the samples that run it, so it stays a cond."""
    nodes = [h.make_node("MatMul", ["x", "W"], ["xw"]),
             h.make_node("ReduceMean", ["xw"], ["m"], axes=[0], keepdims=1),
             h.make_node("Add", ["x", "m"], ["then_y"])]
    return helper_gate("gate_mixes_samples", h.make_node("Greater", ["s", "half"], ["p"]), nodes,
                       passthrough("else_y"), 0.75)


def case_gate_reads_other():
    """The block reads another tensor than x: a cond."""
    nodes = [h.make_node("MatMul", ["x", "W"], ["xw"]), h.make_node("Add", ["xw", "z"], ["then_y"])]
    return helper_gate("gate_reads_other", h.make_node("Greater", ["s", "half"], ["p"]), nodes,
                       passthrough("else_y"), 0.75, extra_inputs=("z",))


def dense_gate_module(kind):
    """Per-sample gates written densely, as a traced export keeps them:
    `torch.where((score > t)[:, None], x + block(x), x)`. The score is a
    sigmoid of a Linear whose weights are all 0.25, so it passes for rows
    whose sum is positive and sits exactly on 0.5 for a row of zeros."""
    import torch
    import torch.nn as nn

    def mlp(d):
        return nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))

    def gate(d, out=1):
        g = nn.Linear(d, out)
        with torch.no_grad():
            g.weight.fill_(0.25)
            g.bias.zero_()
        return g

    class Stack(nn.Module):  # W4's form: residual blocks, each with its gate
        def __init__(self):
            super().__init__()
            self.gates = nn.ModuleList([gate(16) for _ in range(3)])
            self.blocks = nn.ModuleList([mlp(16) for _ in range(3)])

        def forward(self, x):
            for g, blk in zip(self.gates, self.blocks):
                s = torch.sigmoid(g(x)).squeeze(-1)
                x = torch.where((s > 0.5)[:, None], x + blk(x), x)
            return x

    class One(nn.Module):
        def __init__(self, op="gt"):
            super().__init__()
            self.op, self.g, self.block = op, gate(16), mlp(16)

        def forward(self, x):
            s = torch.sigmoid(self.g(x)).squeeze(-1)
            if self.op == "ge":
                return torch.where((s >= 0.5)[:, None], x + self.block(x), x)
            if self.op == "lt":  # the block where the score is not below t
                return torch.where((s < 0.5)[:, None], x, x + self.block(x))
            if self.op == "mix":  # the block adds the batch mean
                return torch.where((s > 0.5)[:, None], x + x.mean(0, keepdim=True), x)
            return torch.where((s > 0.5)[:, None], x + self.block(x), x)

    class Seq(nn.Module):  # x [B, S, d], one score per sample
        def __init__(self):
            super().__init__()
            self.g, self.block = gate(16), mlp(16)

        def forward(self, x):
            s = torch.sigmoid(self.g(x.mean(1))).squeeze(-1)
            return torch.where((s > 0.5)[:, None, None], x + self.block(x), x)

    class PerFeature(nn.Module):  # a mask per feature, not per sample
        def __init__(self):
            super().__init__()
            self.g, self.block = gate(16, 16), mlp(16)

        def forward(self, x):
            return torch.where(torch.sigmoid(self.g(x)) > 0.5, x + self.block(x), x)

    class Tokens(nn.Module):  # a score per token (Mixture-of-Depths-like)
        def __init__(self, mix=False):
            super().__init__()
            self.mix, self.g, self.ln, self.block = mix, gate(16), nn.LayerNorm(16), mlp(16)

        def forward(self, x):
            s = torch.sigmoid(self.g(x)).squeeze(-1)  # [B, S]
            if self.mix:  # the block mixes tokens: a softmax over the sequence
                y = x + torch.softmax(x, dim=1)
            else:
                y = x + self.block(self.ln(x))
            return torch.where((s > 0.5)[..., None], y, x)

    if kind == "tokens":
        return Tokens()
    if kind == "tokens_mix":
        return Tokens(mix=True)
    if kind == "stack":
        return Stack()
    if kind == "seq":
        return Seq()
    if kind == "per_feature":
        return PerFeature()
    return One(kind)


def dense_rows(b=4, *rest):
    """Rows whose sums are positive, negative, zero, positive, ..."""
    x = np.abs(randn(b, *rest, 16)) + 0.1
    for i in range(b):
        x[i] *= (1.0, -1.0, 0.0, 1.0)[i % 4]
    return x


def dense_gate_case(kind, rest=()):
    axes = {0: "B", 1: "S"} if rest else {0: "B"}
    return torch_case(dense_gate_module(kind), {"x": dense_rows(2, *rest)},
                      {"x": axes, "y": axes}, {"x": dense_rows(4, *rest)},
                      dims={"B": (1, 64), "S": (1, 32)} if rest else {"B": (1, 64)})


def case_torch_dense_gate():
    """Three gated residual blocks: two of the four samples pass each gate
    (the one of zeros sits on the threshold, and `>` fails it)."""
    return dense_gate_case("stack")


def case_torch_dense_gate_one():
    return dense_gate_case("gt")


def case_torch_dense_gate_ge():
    """`>=`: the sample of zeros passes too."""
    return dense_gate_case("ge")


def case_torch_dense_gate_lt():
    """`Where(score < t, x, block)`: the block where the score is >= t."""
    return dense_gate_case("lt")


def case_torch_dense_gate_seq():
    """x [B, S, 16] with one score per sample."""
    return dense_gate_case("seq", (5,))


def token_rows(b, s):
    """x [b, s, 16] whose tokens' sums are positive, negative, zero, ... in
    turn: a third of them pass, the zeros sit on the threshold."""
    x = np.abs(randn(b, s, 16)) + 0.1
    for i in range(b):
        for j in range(s):
            x[i, j] *= (1.0, -1.0, 0.0)[(i * s + j) % 3]
    return x


def token_gate_case(kind):
    axes = {0: "B", 1: "S"}
    return torch_case(dense_gate_module(kind), {"x": token_rows(2, 3)}, {"x": axes, "y": axes},
                      {"x": token_rows(2, 6)}, dims={"B": (1, 8), "S": (1, 32)})


def case_torch_token_gate():
    """A score per token: 4 of the 12 tokens run the block (LayerNorm, MLP)."""
    return token_gate_case("tokens")


def case_torch_token_gate_mixes():
    """The block's softmax runs over the sequence (axis 1): a per-token body
    could not compute it, so it stays a Where."""
    return token_gate_case("tokens_mix")


def case_torch_dense_gate_mixes():
    """The block reads the batch mean: it stays a Where."""
    return dense_gate_case("mix")


def case_torch_dense_gate_per_feature():
    """A mask per feature: it stays a Where."""
    return dense_gate_case("per_feature")


CASES = {n[5:]: f for n, f in dict(globals()).items() if n.startswith("case_")}
