"""dync.compile from an onnx.ModelProto and from a torch.nn.Module."""
import numpy as np
import pytest

import dync


def test_onnx_model_proto(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
         helper.make_node("Add", ["h", "b"], ["z"], name="add"),
         helper.make_node("Relu", ["z"], ["y"], name="relu")],
        "proto",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m = dync.load(dync.compile(proto, tmp_path / "proto.so", dims={"batch": (1, 16)}))
    assert m.dims == [dync.DimSpec("batch", 1, 16)]
    assert m.inputs == [dync.InputSpec("x", "f32", ("batch", 8))]
    x = rng.standard_normal((5, 8)).astype(np.float32)
    np.testing.assert_allclose(m(x), np.maximum(x @ w + b, 0), rtol=1e-5, atol=1e-6)
    with pytest.raises(dync.InvalidArgumentError, match="outside its bounds \\[1, 16\\]"):
        m(np.zeros((17, 8), np.float32))


def test_onnx_unsupported_op_is_a_compile_error():
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Det", ["x"], ["y"], name="determinant")], "bad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(dync.CompileError) as info:
        dync.compile(proto)
    assert "Det" in info.value.diagnostics and "determinant" in info.value.diagnostics


def test_torch_module_round_trip(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = torch.nn.LayerNorm(16)
            self.fc1 = torch.nn.Linear(16, 32)
            self.fc2 = torch.nn.Linear(32, 16)

        def forward(self, x):
            return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.norm(x))))

    module = Block()
    example = torch.randn(2, 7, 16)
    lib = dync.compile(module, tmp_path / "block.so", example_inputs=example,
                       input_names=["x"], output_names=["y"],
                       dynamic_axes={"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}},
                       dims={"batch": (1, 8), "seq": (1, 32)})
    m = dync.load(lib)
    assert m.inputs == [dync.InputSpec("x", "f32", ("batch", "seq", 16))]
    for shape in [(1, 1, 16), (3, 5, 16), (8, 32, 16)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            want = module(x).numpy()
        np.testing.assert_allclose(m(x), want, rtol=1e-4, atol=1e-5)


def test_torch_module_needs_example_inputs():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="needs example_inputs"):
        dync.compile(torch.nn.Linear(2, 2))
