"""Fixtures for the dync Python package's tests (pytest; run by ./dev test).

The package under test is whichever `import dync` finds: ./dev test installs
it with `pip install .` into build/py-venv and runs these tests there.
Reference results come from test/lit-tools/reference.py, a numpy interpreter
of the model format that shares no code with dync.
"""
import importlib.util
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Every bundled example (examples/generate.py) and the input sizes it runs at.
EXAMPLES = {
    "static_mlp": {"B": 5},
    "moe_lm": {"B": 3},
    "moe_lm_shared": {"B": 2},
    "early_exit_encoder": {"B": 6},
    "skip_mlp": {"B": 8},
    "skip_resnet": {"B": 3},
    "bsa_lm": {"B": 2},
    "mixtral_lm": {"B": 2, "S": 5},
    "branchy_cnn": {"B": 4},
}


def _load_reference():
    spec = importlib.util.spec_from_file_location("dync_reference",
                                                  ROOT / "test" / "lit-tools" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference_module = _load_reference()


@pytest.fixture(scope="session")
def examples(tmp_path_factory):
    """The example models (JSON + safetensors), generated once."""
    out = tmp_path_factory.mktemp("examples")
    subprocess.run([sys.executable, str(ROOT / "examples" / "generate.py"), str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return out


_compiled = {}


@pytest.fixture(scope="session")
def compiled(examples, tmp_path_factory):
    """compiled(name) -> path of the example's library, compiled once."""
    import dync

    out = tmp_path_factory.mktemp("compiled")

    def get(name):
        if name not in _compiled:
            _compiled[name] = dync.compile(examples / f"{name}.json", out / f"{name}.so")
        return _compiled[name]

    return get


def example_inputs(model_json, sizes, seed=0):
    """Inputs for a model: floats ~ N(0, 1), token ids in [0, 64), booleans."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for inp in model_json["inputs"]:
        shape = [sizes.get(d, model_json["dims"][d]["max"]) if isinstance(d, str) else d
                 for d in inp["shape"]]
        dt = inp["dtype"]
        if dt in ("f32", "f16"):
            inputs[inp["name"]] = rng.standard_normal(shape).astype(
                np.float32 if dt == "f32" else np.float16)
        elif dt == "bool":
            inputs[inp["name"]] = rng.random(shape) < 0.5
        else:
            inputs[inp["name"]] = rng.integers(0, 64, shape).astype(
                np.int32 if dt == "i32" else np.int64)
    return inputs


def reference(model_path, inputs, params=None):
    """Every output of the model by the numpy reference interpreter."""
    import json

    model = json.loads(pathlib.Path(model_path).read_text())
    weights = reference_module.load_weights(str(pathlib.Path(model_path).parent / model["weights"]))
    dims = {}
    for inp in model["inputs"]:
        for d, size in zip(inp["shape"], inputs[inp["name"]].shape):
            if isinstance(d, str):
                dims[d] = size
    values = {p["name"]: p["default"] for p in model.get("params", [])}
    values.update(params or {})
    env = dict(inputs)
    reference_module.Interpreter(model, weights, dims, values).run_graph(model["nodes"], env)
    return {name: env[name] for name in model["outputs"]}


def assert_matches(got, want, rtol=1e-4, atol=1e-5):
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if np.issubdtype(want.dtype, np.floating):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    else:
        np.testing.assert_array_equal(got, want)


def save_safetensors(path, tensors):
    """A safetensors file of f32 tensors."""
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        data = np.ascontiguousarray(a, np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(blobs))
