"""dync: compile dynamic and sparse neural networks ahead of time, and run them.

    import dync, numpy as np
    lib = dync.compile("skip_mlp.json", "skip_mlp.so")   # or .onnx, .mlir, an
                                                        # onnx.ModelProto, a torch.nn.Module
    m = dync.load(lib)
    y = m(x=np.random.rand(8, 64).astype(np.float32))
    print(m.stats)                                      # what the network decided

`compile` runs the dync compiler shipped with this package; `load` maps the
compiled library with libdyncrt, the C runtime. Runs release the GIL, and
each Python thread runs on its own session, so a model can be called from
several threads at once. Inputs are passed to the runtime without a copy when
they already are C-contiguous arrays of the input's dtype (NumPy arrays, or
CPU torch tensors through DLPack); outputs are NumPy arrays over the memory
the run allocated.

Errors: every error is a `DyncError`. A compile that fails raises
`CompileError` with the compiler's diagnostics; a runtime failure raises the
class of its status (`InvalidArgumentError`, also a ValueError;
`NotFoundError`, also a LookupError; `OutOfMemoryError`, also a MemoryError;
`UnimplementedError`, also a NotImplementedError; `IncompatibleError`;
`DataLossError`; `UnavailableError`; `InternalError`) with the runtime's
message and its status name in `code`.
"""

from ._runtime import (
    DataLossError,
    DyncError,
    IncompatibleError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    OutOfMemoryError,
    UnavailableError,
    UnimplementedError,
)
from ._compile import CompileError, compile
from ._model import DimSpec, InputSpec, Model, OutputSpec, ParamSpec, load

__version__ = "0.1.0"

__all__ = [
    "compile",
    "load",
    "Model",
    "InputSpec",
    "OutputSpec",
    "ParamSpec",
    "DimSpec",
    "DyncError",
    "CompileError",
    "InvalidArgumentError",
    "NotFoundError",
    "OutOfMemoryError",
    "UnimplementedError",
    "IncompatibleError",
    "DataLossError",
    "UnavailableError",
    "InternalError",
]
