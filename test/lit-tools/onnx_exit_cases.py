"""Early exits for onnx_check.py: a chain of Ifs on a confidence, as
scripted PyTorch writes it (BranchyNet-style: `if bool(softmax(l).max() >
t): return l` after each stage's head) and as onnx.helper graphs that put
the confidence exactly on the threshold (`>` and `>=`), and the near misses
that must stay conds: thresholds that differ, a dynamic batch, a stage that
reads an earlier stage's tensor, a confidence that is not a softmax."""
import numpy as np
from onnx import TensorProto as T
from onnx import helper as h

from onnx_check import F, init, model, randn, torch_case, vi


def exit_module(criterion="max"):
    """x [1, 8] -> the logits [1, 4] of the first confident head of three.
    Stage k is relu(x W_k), W_k the identity; head k is a_k x[:4] with
    a = 1, 4, 16: the confidence grows stage by stage, and x[0] decides
    where the sample leaves."""
    import torch
    import torch.nn as nn

    class Exit(nn.Module):
        def __init__(self):
            super().__init__()
            self.stages = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)])
            self.heads = nn.ModuleList([nn.Linear(8, 4) for _ in range(3)])
            with torch.no_grad():
                for k in range(3):
                    self.stages[k].weight.copy_(torch.eye(8))
                    self.stages[k].bias.zero_()
                    self.heads[k].weight.copy_(torch.eye(4, 8) * 4.0 ** k)
                    self.heads[k].bias.fill_(0.1 * k)

        def forward(self, x):
            h = torch.relu(self.stages[0](x))
            logits = self.heads[0](h)
            if bool(torch.softmax(logits, -1).max() > 0.9):
                return logits
            h = torch.relu(self.stages[1](h))
            logits = self.heads[1](h)
            if bool(torch.softmax(logits, -1).max() > 0.9):
                return logits
            h = torch.relu(self.stages[2](h))
            return self.heads[2](h)

    class Entropy(Exit):  # DeeBERT's test: the entropy of the prediction
        def forward(self, x):
            h = torch.relu(self.stages[0](x))
            logits = self.heads[0](h)
            p = torch.softmax(logits, -1)
            if bool(-(p * torch.log(p)).sum() < 0.3):
                return logits
            h = torch.relu(self.stages[1](h))
            logits = self.heads[1](h)
            p = torch.softmax(logits, -1)
            if bool(-(p * torch.log(p)).sum() < 0.3):
                return logits
            h = torch.relu(self.stages[2](h))
            return self.heads[2](h)

    return torch.jit.script(Entropy() if criterion == "entropy" else Exit())


def branchy_cnn_module():
    """BranchyNet: x [1, 3, 16, 16] through three conv stages, the later two
    pooling (the hidden state changes shape: [1, 8, 16, 16], [1, 16, 8, 8],
    [1, 16, 4, 4]), a head on the pooled features after each; no biases, so
    the logits scale with x and the input's scale decides the exit."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(3)
            self.c0 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.c1 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
            self.c2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
            self.h0, self.h1, self.h2 = (nn.Linear(c, 4, bias=False) for c in (8, 16, 16))

        def forward(self, x):
            h = torch.relu(self.c0(x))
            logits = self.h0(h.mean((2, 3)))
            if bool(torch.softmax(logits, -1).max() > 0.8):
                return logits
            h = F.max_pool2d(torch.relu(self.c1(h)), 2)
            logits = self.h1(h.mean((2, 3)))
            if bool(torch.softmax(logits, -1).max() > 0.8):
                return logits
            h = F.max_pool2d(torch.relu(self.c2(h)), 2)
            return self.h2(h.mean((2, 3)))

    return torch.jit.script(Branchy())


def branchy_case(scale):
    x = (np.abs(randn(1, 3, 16, 16)) * scale).astype(np.float32)
    return torch_case(branchy_cnn_module(), {"x": x}, {}, {"x": x})


def case_torch_branchy_small():
    """Small inputs: no head is confident, the sample runs every stage."""
    return branchy_case(0.01)


def case_torch_branchy_large():
    """Large inputs: the first head is confident."""
    return branchy_case(100.0)


def exit_case(lead, dynamic=False, criterion="max"):
    x = np.zeros((1, 8), np.float32)
    x[0, 0] = lead
    x[0, 4:] = 1.0
    axes = {"x": {0: "B"}, "y": {0: "B"}} if dynamic else {}
    return torch_case(exit_module(criterion), {"x": x}, axes, {"x": x},
                      dims={"B": (1, 4)} if dynamic else None)


def case_torch_exit_0():
    """x[0] = 5: head 0 is confident (0.98), the sample leaves at stage 0."""
    return exit_case(5.0)


def case_torch_exit_1():
    """x[0] = 2: head 0 is not (0.71), head 1 is (0.99): stage 1."""
    return exit_case(2.0)


def case_torch_exit_2():
    """x[0] = 0.1: no head is confident; the last stage answers."""
    return exit_case(0.1)


def case_torch_exit_entropy_1():
    """The entropy test (< 0.3): head 0's entropy is 0.92, head 1's 0.01."""
    return exit_case(2.0, criterion="entropy")


def case_torch_exit_entropy_2():
    """No head is sure enough: the last stage answers."""
    return exit_case(0.1, criterion="entropy")


def case_torch_exit_batch():
    """A dynamic batch: the If decides for the whole batch (the max over
    every sample), an early exit for each sample; it stays a chain of conds."""
    return exit_case(2.0, dynamic=True)


def helper_exit(name, cmps=("Greater", "Greater"), thresholds=(0.5, 0.5), skip=False,
                confidence="softmax", x0=0.0):
    """Three stages on x [1, 4] with two classes: h_k = tanh(h_{k-1} W),
    logits_k = h_k V + b_k (b_0 = 0, so at x = 0 head 0's confidence is
    exactly 0.5). `skip`: stage 2 adds x, a tensor of stage 0's scope."""
    def test(k, logits, scope):
        nodes = []
        if confidence == "softmax":
            nodes.append(h.make_node("Softmax", [logits], [f"{scope}p{k}"], axis=-1))
            conf_in = f"{scope}p{k}"
        else:
            conf_in = logits
        t = h.make_tensor(f"{scope}t{k}", T.FLOAT, [], [thresholds[k]])
        nodes += [h.make_node("ReduceMax", [conf_in], [f"{scope}c{k}"], keepdims=0),
                  h.make_node("Constant", [], [f"{scope}tc{k}"], value=t),
                  h.make_node(cmps[k], [f"{scope}c{k}", f"{scope}tc{k}"], [f"{scope}g{k}"]),
                  h.make_node("Cast", [f"{scope}g{k}"], [f"{scope}q{k}"], to=T.BOOL)]
        return nodes

    def stage(k, h_in):
        nodes = [h.make_node("MatMul", [h_in, "W"], [f"hw{k}"])]
        if skip and k == 2:
            nodes += [h.make_node("Add", [f"hw{k}", "x"], [f"hs{k}"])]
            nodes += [h.make_node("Tanh", [f"hs{k}"], [f"h{k}"])]
        else:
            nodes += [h.make_node("Tanh", [f"hw{k}"], [f"h{k}"])]
        nodes += [h.make_node("MatMul", [f"h{k}", "V"], [f"hv{k}"]),
                  h.make_node("Add", [f"hv{k}", f"b{k}"], [f"l{k}"])]
        return nodes

    last = h.make_graph(stage(2, "h1"), "else1", [], [vi("l2", F, None)])
    then1 = h.make_graph([h.make_node("Identity", ["l1"], ["then1_y"])], "then1", [],
                         [vi("then1_y", F, None)])
    else0 = h.make_graph(stage(1, "h0") + test(1, "l1", "e0_") +
                         [h.make_node("If", ["e0_q1"], ["if1_y"], then_branch=then1,
                                      else_branch=last)],
                         "else0", [], [vi("if1_y", F, None)])
    then0 = h.make_graph([h.make_node("Identity", ["l0"], ["then0_y"])], "then0", [],
                         [vi("then0_y", F, None)])
    nodes = stage(0, "x") + test(0, "l0", "") + [
        h.make_node("If", ["q0"], ["y"], then_branch=then0, else_branch=else0, name="exit")]
    inits = [init("W", randn(4, 4) * 0.5), init("V", randn(4, 2)),
             init("b0", np.zeros(2, np.float32)), init("b1", np.array([2.0, -2.0], np.float32)),
             init("b2", np.array([-1.0, 1.0], np.float32))]
    m = model(name, nodes, [vi("x", F, [1, 4])], [vi("y", F, None)], inits)
    x = np.zeros((1, 4), np.float32)
    x[0, 0] = x0
    return m, {"x": x}, {}


def case_exit_boundary_gt():
    """Head 0's confidence is exactly the threshold 0.5: `>` is false, the
    sample goes on to stage 1 (whose bias makes it confident)."""
    return helper_exit("exit_boundary_gt")


def case_exit_boundary_ge():
    """The same with `>=`: the sample leaves at stage 0."""
    return helper_exit("exit_boundary_ge", cmps=("GreaterOrEqual", "GreaterOrEqual"))


def case_exit_thresholds_differ():
    """0.5 at stage 0, 0.99 at stage 1: one threshold cannot say both, a cond."""
    return helper_exit("exit_thresholds_differ", thresholds=(0.5, 0.99))


def case_exit_reads_earlier():
    """Stage 2 reads x (a skip from before stage 0): a cond."""
    return helper_exit("exit_reads_earlier", skip=True)


def case_exit_not_softmax():
    """The confidence is the largest logit, not a probability: a cond."""
    return helper_exit("exit_not_softmax", confidence="logit", thresholds=(1.0, 1.0), x0=0.3)


CASES = {n[5:]: f for n, f in dict(globals()).items() if n.startswith("case_")}
