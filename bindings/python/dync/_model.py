"""dync.load and dync.Model: run a compiled model from Python."""

from __future__ import annotations

import os
import threading
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

import numpy as np

from . import _runtime
from ._runtime import InvalidArgumentError

PathLike = Union[str, "os.PathLike[str]"]

# How each dync dtype is exchanged (bf16 as its bits: NumPy has no bfloat16).
_NUMPY_DTYPES = {
    "f32": np.dtype(np.float32),
    "f16": np.dtype(np.float16),
    "bf16": np.dtype(np.uint16),
    "i32": np.dtype(np.int32),
    "i64": np.dtype(np.int64),
    "bool": np.dtype(np.bool_),
}


class InputSpec(NamedTuple):
    """An input: its dtype ("f32", "i64", ...) and shape, where a dynamic
    size is the name of its dim (see Model.dims for the bounds)."""
    name: str
    dtype: str
    shape: Tuple[Union[int, str], ...]


class OutputSpec(NamedTuple):
    name: str
    dtype: str
    rank: int


class ParamSpec(NamedTuple):
    """A runtime parameter (a threshold, a k, ...): "f32" or "i32", and the
    value a run uses unless it is given one."""
    name: str
    dtype: str
    default: float


class DimSpec(NamedTuple):
    """A dynamic dim and the sizes the model was compiled for (inclusive)."""
    name: str
    min: int
    max: int


def _as_array(value: Any, spec: InputSpec) -> np.ndarray:
    """`value` as a C-contiguous array of the input's dtype: itself if it is
    one already (no copy), else converted. Array inputs are converted only
    without changing their kind, or from one float type to another; Python
    lists and scalars are converted like np.asarray(value, dtype)."""
    want = _NUMPY_DTYPES[spec.dtype]
    if isinstance(value, np.ndarray):
        array = value
    elif hasattr(value, "__dlpack__"):
        if hasattr(value, "detach"):  # a torch tensor that may require grad
            value = value.detach()
        try:
            array = np.from_dlpack(value)
        except (BufferError, RuntimeError, TypeError):
            array = np.asarray(value)
    else:
        try:
            return np.ascontiguousarray(np.asarray(value, dtype=want))
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"input '{spec.name}': {e}") from None
    if array.dtype != want:
        both_float = array.dtype.kind == "f" and want.kind == "f"
        if not (both_float or np.can_cast(array.dtype, want, "safe")):
            raise InvalidArgumentError(
                f"input '{spec.name}' is {array.dtype}; the model takes {spec.dtype} "
                f"({want}), and {array.dtype} does not convert to it without loss")
        array = array.astype(want)
    return np.ascontiguousarray(array)


class Model:
    """A compiled model (a library `dync` wrote), loaded and ready to run.

    Call it with the inputs by name (or in order): `y = m(x=array)` returns
    the output, or a tuple of outputs in the model's order. `m.run({...},
    params={...})` returns a dict by output name. The signature is in
    `m.inputs`, `m.outputs`, `m.params` and `m.dims`; what the network
    decided in the calling thread's last run is in `m.stats`.
    """

    def __init__(self, path: PathLike, weights: Optional[PathLike] = None,
                 threads: Optional[int] = None):
        self._model = _runtime.Model(os.fspath(path),
                                     os.fspath(weights) if weights is not None else None)
        self.path = self._model.path
        self.inputs: List[InputSpec] = [InputSpec(n, d, tuple(s)) for n, d, s in self._model.inputs]
        self.outputs: List[OutputSpec] = [OutputSpec(*o) for o in self._model.outputs]
        self.params: List[ParamSpec] = [ParamSpec(*p) for p in self._model.params]
        self.dims: List[DimSpec] = [DimSpec(*d) for d in self._model.dims]
        self._input_names = [i.name for i in self.inputs]
        self._stat_names = list(self._model.stat_names)
        #: "cpu", or "cuda" for a model compiled with target="cuda".
        self.device: str = self._model.device
        #: Bytes of weights the runtime copied when it loaded the model: the
        #: weights of Linear layers and MoE experts packed in the panels the
        #: CPU's matmul kernel streams, misaligned tensors, a CUDA model's
        #: copies. Every other weight is read where the weights file is mapped.
        self.weight_copy_bytes: int = self._model.weight_copy_bytes
        if threads is not None and threads < 1:
            raise InvalidArgumentError(f"threads must be at least 1, got {threads}")
        self._threads = threads
        self._local = threading.local()

    def __repr__(self) -> str:
        ins = ", ".join(f"{i.name}: {i.dtype}{list(i.shape)}" for i in self.inputs)
        outs = ", ".join(o.name for o in self.outputs)
        return f"<dync.Model {os.path.basename(self.path)} ({ins}) -> ({outs})>"

    @property
    def session(self) -> "_runtime.Session":
        """The calling thread's session (created at its first run)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = _runtime.Session(self._model)
            if self._threads is not None:
                session.threads = self._threads
            self._local.session = session
        return session

    @property
    def threads(self) -> int:
        """Threads a run uses (the caller included); default: the processors
        available to the process."""
        return self.session.threads

    @threads.setter
    def threads(self, n: int) -> None:
        self._threads = n
        self.session.threads = n

    def _arrays(self, named: Mapping[str, Any]) -> List[np.ndarray]:
        unknown = [k for k in named if k not in self._input_names]
        if unknown:
            raise InvalidArgumentError(
                f"the model has no input {', '.join(repr(k) for k in unknown)} "
                f"(it has: {', '.join(self._input_names)})")
        missing = [n for n in self._input_names if n not in named]
        if missing:
            raise InvalidArgumentError(f"missing input {', '.join(repr(n) for n in missing)}")
        return [_as_array(named[spec.name], spec) for spec in self.inputs]

    def run(self, inputs: Mapping[str, Any],
            params: Optional[Mapping[str, float]] = None) -> Dict[str, np.ndarray]:
        """Runs the model; returns {output name: array}. `params` sets runtime
        parameters for this run only (the others take their defaults)."""
        results = self.session.run(self._arrays(inputs), dict(params or {}))
        return {o.name: r for o, r in zip(self.outputs, results)}

    def __call__(self, *args: Any, params: Optional[Mapping[str, float]] = None,
                 **kwargs: Any) -> Union[np.ndarray, Tuple[np.ndarray, ...]]:
        """m(x, y) or m(x=..., y=...): the output, or a tuple of the outputs."""
        if len(args) > len(self._input_names):
            raise InvalidArgumentError(
                f"the model takes {len(self._input_names)} input(s), got {len(args)} positional")
        named = dict(zip(self._input_names, args))
        twice = [k for k in kwargs if k in named]
        if twice:
            raise InvalidArgumentError(f"input {twice[0]!r} given twice")
        named.update(kwargs)
        results = self.session.run(self._arrays(named), dict(params or {}))
        return results[0] if len(results) == 1 else tuple(results)

    @property
    def stats(self) -> Dict[str, int]:
        """The counters of the calling thread's last run: samples that ran each
        gate, samples per exit stage, tokens per expert, attention blocks
        computed... (as `dync-run --stats` prints them; 0 before any run)."""
        return dict(zip(self._stat_names, self.session.stats()))

    @property
    def parallel_loops(self) -> int:
        """Parallel loops of the calling thread's last run that more than one
        thread took part in."""
        return self.session.parallel_loops


def load(path: PathLike, weights: Optional[PathLike] = None,
         threads: Optional[int] = None) -> Model:
    """Loads a compiled model library (`dync.compile` or `dync model -o
    model.so`) and maps its weights: from `weights`, else the embedded ones,
    the path recorded at compile time, or the file of that name next to the
    library. `threads`: per run, the caller included (default: the
    processors available)."""
    return Model(path, weights, threads)
