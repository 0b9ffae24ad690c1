"""Every example model compiles and runs from Python, and matches the
independent numpy reference."""
import json
import subprocess

import numpy as np
import pytest

import dync
from conftest import EXAMPLES, assert_matches, example_inputs, reference


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_matches_reference(name, examples, compiled):
    model_json = json.loads((examples / f"{name}.json").read_text())
    m = dync.load(compiled(name))
    inputs = example_inputs(model_json, EXAMPLES[name])
    got = m.run(inputs)
    want = reference(examples / f"{name}.json", inputs)
    assert list(got) == model_json["outputs"]
    for out in model_json["outputs"]:
        assert_matches(got[out], want[out])


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_signature(name, examples, compiled):
    """inputs/outputs/params/dims say what the JSON model declares."""
    model_json = json.loads((examples / f"{name}.json").read_text())
    m = dync.load(compiled(name))
    assert [(i.name, i.dtype, list(i.shape)) for i in m.inputs] == [
        (i["name"], i["dtype"], i["shape"]) for i in model_json["inputs"]]
    assert [o.name for o in m.outputs] == model_json["outputs"]
    # f32 parameters hold the f32 nearest the JSON's default.
    assert {p.name: (p.dtype, p.default) for p in m.params} == {
        p["name"]: (p.get("dtype", "f32"), float(np.float32(p["default"])))
        for p in model_json.get("params", [])}
    assert {d.name: (d.min, d.max) for d in m.dims} == {
        k: (v["min"], v["max"]) for k, v in model_json["dims"].items()}


def test_positional_call_and_single_output(examples, compiled):
    """m(x) returns the only output; m(x=...) the same values."""
    model_json = json.loads((examples / "static_mlp.json").read_text())
    m = dync.load(compiled("static_mlp"))
    inputs = example_inputs(model_json, {"B": 3}, seed=4)
    (x,) = inputs.values()
    y = m(x)
    assert isinstance(y, np.ndarray)
    np.testing.assert_array_equal(y, m(**inputs))
    assert_matches(y, reference(examples / "static_mlp.json", inputs)[model_json["outputs"][0]])


def test_compile_mlir(examples, tmp_path):
    """A .mlir file (dync's dyn-level IR, as `dync --emit=mlir` writes it)
    compiles like the model it came from."""
    mlir = tmp_path / "static_mlp.mlir"
    subprocess.run([str(dync._compile.compiler_path()), str(examples / "static_mlp.json"),
                    "--emit=mlir", "-o", str(mlir)], check=True)
    m = dync.load(dync.compile(mlir, tmp_path / "from_mlir.so"))
    model_json = json.loads((examples / "static_mlp.json").read_text())
    inputs = example_inputs(model_json, {"B": 4}, seed=2)
    want = reference(examples / "static_mlp.json", inputs)
    got = m.run(inputs)
    for name in want:
        assert_matches(got[name], want[name])
