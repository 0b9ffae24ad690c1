"""dync.compile: runs the dync compiler that ships with the package.

The compiler is a separate program (bin/dync beside this file), as the
`iree.compiler.tools` functions run iree-compile: a compile never shares a
process with the caller's LLVM, threads or signal handlers, and its
diagnostics are exactly the command line's.
"""

from __future__ import annotations

import atexit
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from ._runtime import DyncError

PathLike = Union[str, "os.PathLike[str]"]

_SUFFIXES = (".json", ".onnx", ".mlir")
_TARGETS = ("cpu", "cuda")


class CompileError(DyncError):
    """The compiler refused the model. `diagnostics` holds its messages (which
    name the node at fault), `returncode` its exit status, `command` the
    command line that ran."""

    def __init__(self, message: str, diagnostics: str = "", returncode: int = 1,
                 command: Sequence[str] = ()):
        super().__init__(message)
        self.code = None
        self.diagnostics = diagnostics
        self.returncode = returncode
        self.command = list(command)


def compiler_path() -> pathlib.Path:
    """The dync compiler this package runs: $DYNC_COMPILER if set, else the
    one installed with the package."""
    override = os.environ.get("DYNC_COMPILER")
    path = pathlib.Path(override) if override else pathlib.Path(__file__).parent / "bin" / "dync"
    if not path.exists():
        raise DyncError(f"the dync compiler is not at {path} (a broken installation; "
                        "reinstall the package, or set DYNC_COMPILER)")
    return path


_temp_dirs: list = []


def _temp_dir() -> pathlib.Path:
    """A directory removed when the interpreter exits."""
    if not _temp_dirs:
        _temp_dirs.append(tempfile.mkdtemp(prefix="dync-"))
        atexit.register(shutil.rmtree, _temp_dirs[0], True)
    return pathlib.Path(tempfile.mkdtemp(dir=_temp_dirs[0]))


def _is_onnx_proto(model: Any) -> bool:
    return type(model).__name__ == "ModelProto" and hasattr(model, "SerializeToString")


def _is_torch_module(model: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _export_torch(module: Any, path: pathlib.Path, example_inputs: Any,
                  input_names: Optional[Sequence[str]], output_names: Optional[Sequence[str]],
                  dynamic_axes: Optional[Mapping[str, Any]], opset_version: int) -> None:
    import torch

    if example_inputs is None:
        raise TypeError("compiling a torch.nn.Module needs example_inputs (a tensor or a tuple "
                        "of tensors to export it with)")
    args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, str(path), input_names=list(input_names or []) or None,
                          output_names=list(output_names or []) or None,
                          dynamic_axes=dict(dynamic_axes) if dynamic_axes else None,
                          opset_version=opset_version)


def _dim_flag(name: str, bounds: Union[int, Tuple[int, int], Sequence[int]]) -> str:
    if isinstance(bounds, int):
        return f"--dim={name}={bounds}"
    lo, hi = bounds
    return f"--dim={name}={lo}:{hi}"


def compile(model: Any, output: Optional[PathLike] = None, *, target: str = "cpu",
            dims: Optional[Mapping[str, Union[int, Tuple[int, int]]]] = None,
            embed_weights: bool = False, opt_level: int = 2, cpu: Optional[str] = None,
            mattr: Optional[str] = None, memory_budget: Optional[Union[int, str]] = None,
            example_inputs: Any = None, input_names: Optional[Sequence[str]] = None,
            output_names: Optional[Sequence[str]] = None,
            dynamic_axes: Optional[Mapping[str, Any]] = None, opset_version: int = 17,
            cuda_arch: Optional[Sequence[str]] = None,
            extra_args: Sequence[str] = ()) -> pathlib.Path:
    """Compiles a model into a model library and returns the library's path.

    model: a path to a `.json` (dync's model format), `.onnx` or `.mlir`
        file; an `onnx.ModelProto`; or a `torch.nn.Module`, exported with
        `torch.onnx.export(model, example_inputs, input_names=...,
        output_names=..., dynamic_axes=..., opset_version=...)` first.
    output: where to write the library (`model.so`); its weights go beside it
        (`model.safetensors`) unless `embed_weights`. Default: a temporary
        directory removed when the interpreter exits.
    target: "cpu", or "cuda": GPU kernels in a fatbin, which needs the CUDA
        toolkit to compile and a CUDA driver and device to load (see
        docs/CUDA.md; never run on a GPU yet).
    cuda_arch: for "cuda", the GPU architectures (default ["sm_80", "sm_90"]).
    dims: bounds of the symbolic dims of an ONNX model, {name: (min, max)} or
        {name: max}; dims not given get 1:4096 (see docs/ONNX.md).
    opt_level, cpu, mattr, memory_budget: as dync's -O, --cpu, --mattr and
        --memory-budget (bytes, or a string such as "512M").
    extra_args: more command-line options for the compiler.

    Raises CompileError (with the compiler's diagnostics) if the compiler
    refuses the model, FileNotFoundError for a missing model file.
    """
    if target not in _TARGETS:
        raise ValueError(f"target {target!r} is not supported; dync compiles for: "
                         + ", ".join(_TARGETS))
    work: Optional[pathlib.Path] = None
    if isinstance(model, (str, os.PathLike)):
        source = pathlib.Path(model)
        if not source.exists():
            raise FileNotFoundError(f"no model at {source}")
        if source.suffix not in _SUFFIXES:
            raise ValueError(f"{source}: dync compiles {', '.join(_SUFFIXES)} files, not "
                             f"'{source.suffix or source.name}'")
    elif _is_onnx_proto(model):
        work = _temp_dir()
        source = work / "model.onnx"
        source.write_bytes(model.SerializeToString())
    elif _is_torch_module(model):
        work = _temp_dir()
        source = work / "model.onnx"
        _export_torch(model, source, example_inputs, input_names, output_names, dynamic_axes,
                      opset_version)
    else:
        raise TypeError("dync.compile takes a path to a .json, .onnx or .mlir model, an "
                        f"onnx.ModelProto or a torch.nn.Module, not {type(model).__name__}")

    if output is None:
        out = (work or _temp_dir()) / (source.stem + ".so")
    else:
        out = pathlib.Path(output)
    command = [str(compiler_path()), str(source), "-o", str(out), f"-O{int(opt_level)}"]
    for name, bounds in (dims or {}).items():
        command.append(_dim_flag(name, bounds))
    if target != "cpu":
        command.append(f"--target={target}")
    if cuda_arch:
        if target != "cuda":
            raise ValueError("cuda_arch applies to target='cuda'")
        command.append("--cuda-arch=" + ",".join(cuda_arch))
    if embed_weights:
        command.append("--embed-weights")
    if cpu:
        command.append(f"--cpu={cpu}")
    if mattr:
        command.append(f"--mattr={mattr}")
    if memory_budget is not None:
        command.append(f"--memory-budget={memory_budget}")
    command.extend(extra_args)
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0:
        diagnostics = done.stderr.strip()
        raise CompileError(f"dync could not compile {source}:\n{diagnostics}", diagnostics,
                           done.returncode, command)
    return out
