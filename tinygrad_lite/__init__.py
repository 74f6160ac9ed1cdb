"""tinygrad_lite: a reverse-mode autograd engine you can read in one sitting.

>>> import tinygrad_lite as tl
>>> w = tl.Value(0.5, name="w")
>>> loss = (w * 4.0 - 3.0) ** 2
>>> loss.backward()
>>> w.grad
-8.0
"""

from . import nn, optim  # the layers above the core, so `tl.nn.Linear` works
from .autograd import concat, grad, linear, stack, weighted_sum, where
from .engine import Value
from .errors import (
    ArgumentError,
    CheckpointError,
    DTypeError,
    FunctionError,
    GradcheckError,
    GradientError,
    IndexingError,
    ShapeError,
    StateDictError,
    TinygradLiteError,
)
from .function import Context, Function
from .grad_mode import enable_grad, is_grad_enabled, manual_seed, no_grad, rng

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "CheckpointError",
    "StateDictError",
    "Context",
    "DTypeError",
    "Function",
    "FunctionError",
    "GradcheckError",
    "GradientError",
    "IndexingError",
    "ShapeError",
    "TinygradLiteError",
    "Value",
    "concat",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "linear",
    "manual_seed",
    "nn",
    "optim",
    "no_grad",
    "rng",
    "stack",
    "weighted_sum",
    "where",
]
