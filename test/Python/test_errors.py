"""Every error the package raises: compile errors with the compiler's
diagnostics, and each runtime status as its exception class."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import dync
from conftest import save_safetensors


def test_exception_classes():
    """Each status has its class, under DyncError and the builtin a caller
    would catch; `code` is the status name."""
    expected = {
        dync.InvalidArgumentError: ("invalid argument", ValueError),
        dync.NotFoundError: ("not found", LookupError),
        dync.OutOfMemoryError: ("out of memory", MemoryError),
        dync.UnimplementedError: ("unimplemented", NotImplementedError),
        dync.IncompatibleError: ("incompatible", dync.DyncError),
        dync.DataLossError: ("data loss", dync.DyncError),
        dync.UnavailableError: ("unavailable", dync.DyncError),
        dync.InternalError: ("internal", dync.DyncError),
    }
    for cls, (code, builtin) in expected.items():
        assert issubclass(cls, dync.DyncError) and issubclass(cls, builtin)
        assert cls.code == code
    assert issubclass(dync.DyncError, RuntimeError)
    assert issubclass(dync.CompileError, dync.DyncError)


# --- compile ---------------------------------------------------------------

BAD_OP = {"format": "dync-model", "version": 1, "name": "bad", "weights": "bad.safetensors",
          "dims": {"B": {"min": 1, "max": 4}},
          "inputs": [{"name": "x", "dtype": "f32", "shape": ["B", 4]}], "outputs": ["y"],
          "nodes": [{"name": "mystery", "op": "frobnicate", "inputs": ["x"], "outputs": ["y"]}]}


def test_compile_error_carries_the_diagnostics(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps(BAD_OP))
    save_safetensors(tmp_path / "bad.safetensors", {})
    with pytest.raises(dync.CompileError) as info:
        dync.compile(tmp_path / "bad.json", tmp_path / "bad.so")
    e = info.value
    assert "mystery" in e.diagnostics and "frobnicate" in e.diagnostics
    assert e.diagnostics in str(e)
    assert e.returncode != 0 and e.command[1] == str(tmp_path / "bad.json")
    assert not (tmp_path / "bad.so").exists()


def test_compile_option_errors(tmp_path, examples):
    with pytest.raises(FileNotFoundError, match="no model at"):
        dync.compile(tmp_path / "missing.json")
    (tmp_path / "model.txt").write_text("{}")
    with pytest.raises(ValueError, match=r"dync compiles \.json, \.onnx, \.mlir files, not '\.txt'"):
        dync.compile(tmp_path / "model.txt")
    with pytest.raises(TypeError, match="not int"):
        dync.compile(42)
    with pytest.raises(ValueError, match="target 'tpu' is not supported; dync compiles for: cpu, cuda"):
        dync.compile(examples / "static_mlp.json", target="tpu")
    with pytest.raises(ValueError, match="cuda_arch applies to target='cuda'"):
        dync.compile(examples / "static_mlp.json", cuda_arch=["sm_90"])
    with pytest.raises(dync.CompileError, match="--memory-budget"):
        dync.compile(examples / "static_mlp.json", tmp_path / "m.so", memory_budget="lots")


def test_compiler_missing(monkeypatch, examples):
    monkeypatch.setenv("DYNC_COMPILER", "/nonexistent/dync")
    with pytest.raises(dync.DyncError, match="the dync compiler is not at /nonexistent/dync"):
        dync.compile(examples / "static_mlp.json")


def test_default_output_is_temporary(examples):
    path = dync.compile(examples / "static_mlp.json")
    assert path.exists() and path.suffix == ".so"
    # A JSON model's weights stay where they are (their path is recorded).
    assert dync.load(path)(np.zeros((1, 32), np.float32)).shape == (1, 10)


def test_embed_weights(examples, tmp_path):
    lib = dync.compile(examples / "static_mlp.json", tmp_path / "m.so", embed_weights=True)
    assert not (tmp_path / "m.safetensors").exists()
    assert dync.load(lib)(np.zeros((2, 32), np.float32)).shape == (2, 10)


# --- run: each status ------------------------------------------------------


@pytest.fixture
def mlp(compiled):
    return dync.load(compiled("static_mlp"))


def test_invalid_argument(mlp):
    x = np.zeros((2, 32), np.float32)
    cases = [
        (lambda: mlp(np.zeros((2, 31), np.float32)), "input 'x' dim 1 must be 32, got 31"),
        (lambda: mlp(np.zeros((65, 32), np.float32)), "outside its bounds"),
        (lambda: mlp(np.zeros((2, 32, 1), np.float32)), "input 'x'"),
        (lambda: mlp(np.zeros((2, 32), np.int64)), "input 'x' is int64; the model takes f32"),
        (lambda: mlp(), "missing input 'x'"),
        (lambda: mlp(x, x), "the model takes 1 input\\(s\\), got 2 positional"),
        (lambda: mlp(x, x=x), "input 'x' given twice"),
        (lambda: mlp(y=x), "the model has no input 'y' \\(it has: x\\)"),
        (lambda: mlp.run({"x": [["a"]]}), "input 'x'"),
        (lambda: mlp.session.run([x, x], {}), "the model takes 1 input\\(s\\), got 2"),
        (lambda: mlp.session.run([x.T], {}), "input 'x' is not a C-contiguous array on the CPU"),
        (lambda: mlp.session.run([x.astype(np.float64)], {}),
         "input 'x' is float64; the model takes f32"),
    ]
    for call, message in cases:
        with pytest.raises(dync.InvalidArgumentError, match=message) as info:
            call()
        assert info.value.code == "invalid argument"


def test_i32_param_value(examples, compiled):
    m = dync.load(compiled("bsa_lm"))
    tokens = np.zeros((1, m.inputs[0].shape[1] if isinstance(m.inputs[0].shape[1], int) else 16),
                      np.int64)
    with pytest.raises(dync.InvalidArgumentError, match="runtime parameter 'block_budget' is i32; "
                                                        "2.5 is not a 32-bit integer"):
        m(tokens, params={"block_budget": 2.5})


def test_not_found(tmp_path, mlp, compiled):
    with pytest.raises(dync.NotFoundError, match="cannot load model '.*missing.so': no such file"):
        dync.load(tmp_path / "missing.so")
    with pytest.raises(dync.NotFoundError,
                       match="the model has no runtime parameter 'nope' \\(it has: none\\)"):
        mlp(np.zeros((1, 32), np.float32), params={"nope": 1.0})
    with pytest.raises(dync.NotFoundError):
        dync.load(compiled("static_mlp"), weights=tmp_path / "missing.safetensors")


def test_incompatible(tmp_path, examples, compiled):
    with pytest.raises(dync.IncompatibleError, match="is not a model compiled by dync"):
        dync.load(dync._runtime.__file__)
    # Weights of another model: same names are missing or of other shapes.
    with pytest.raises((dync.IncompatibleError, dync.NotFoundError)):
        dync.load(compiled("static_mlp"), weights=examples / "skip_mlp.safetensors")


def test_data_loss(tmp_path, compiled):
    (tmp_path / "garbage.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(dync.DataLossError) as info:
        dync.load(compiled("static_mlp"), weights=tmp_path / "garbage.safetensors")
    assert info.value.code == "data loss"


def fake_model(tmp_path, manifest):
    """A library that looks like a model to the loader, with this manifest."""
    cc = shutil.which("cc") or shutil.which("gcc")
    src = tmp_path / "fake.c"
    text = json.dumps(manifest).replace("\\", "\\\\").replace('"', '\\"')
    src.write_text(f'const char dync_manifest[] = "{text}";\n'
                   "void dync_entry(void **args, void *results) {}\n")
    lib = tmp_path / f"fake{abs(hash(text))}.so"
    subprocess.run([cc, "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
    return lib


def test_data_loss_and_unimplemented_manifests(tmp_path):
    with pytest.raises(dync.DataLossError, match="malformed manifest"):
        dync.load(fake_model(tmp_path, {"abi_version": 2, "args": [1]}))
    with pytest.raises(dync.UnimplementedError, match="unsupported dtype"):
        dync.load(fake_model(tmp_path, {"abi_version": 2, "args": [
            {"kind": "input", "name": "x", "dtype": "f64", "shape": [2]}]}))
    with pytest.raises(dync.IncompatibleError, match="model ABI version 1"):
        dync.load(fake_model(tmp_path, {"abi_version": 1}))


def test_out_of_memory(examples, compiled, tmp_path):
    """An allocation that fails inside the model's code (the runtime's test
    hook fails the first) raises OutOfMemoryError; the next run succeeds."""
    script = f"""
import numpy as np, dync
m = dync.load({str(compiled('moe_lm'))!r}, threads=1)
tokens = (np.arange(32).reshape(2, 16) % 64).astype(np.int64)
try:
    m(tokens)
except dync.OutOfMemoryError as e:
    print("OOM", e.code, "|", e)
"""
    env = dict(os.environ, DYNC_FAIL_ALLOCATION_AFTER="0")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "OOM out of memory | " in done.stdout
    assert "ran out of memory" in done.stdout


def test_cuda_model_without_a_driver(tmp_path, examples):
    """A CUDA model compiles (with the toolkit) and loading it without a
    driver raises UnavailableError naming what is missing. In a subprocess:
    the runtime looks for the driver once per process."""
    if not (shutil.which("ptxas") or os.path.exists("/usr/local/cuda/bin/ptxas")):
        pytest.skip("no CUDA toolkit (ptxas) on this machine")
    lib = dync.compile(examples / "static_mlp.json", tmp_path / "m.so", target="cuda",
                       cuda_arch=["sm_80"])
    code = ("import dync\n"
            "try:\n"
            f"    dync.load({str(lib)!r})\n"
            "except dync.UnavailableError as e:\n"
            "    print('unavailable', e)\n")
    env = dict(os.environ, DYNC_CUDA_DRIVER=str(tmp_path / "no-driver.so"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "unavailable" in out.stdout and "no CUDA driver" in out.stdout, out.stdout + out.stderr
    cpu = dync.load(dync.compile(examples / "static_mlp.json", tmp_path / "c.so"))
    assert cpu.device == "cpu"
