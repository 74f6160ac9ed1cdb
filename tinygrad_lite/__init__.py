"""tinygrad_lite: a reverse-mode autograd engine you can read in one sitting.

>>> import tinygrad_lite as tl
>>> w = tl.Value(0.5, name="w")
>>> loss = (w * 4.0 - 3.0) ** 2
>>> loss.backward()
>>> w.grad
-8.0
"""

from . import allocator, nn, optim  # the layers above the core, so `tl.nn.Linear` works
from .core import (
    AnomalyError,
    ArgumentError,
    Context,
    DTypeError,
    Function,
    FunctionError,
    GradientError,
    IndexingError,
    InPlaceError,
    ShapeError,
    Step,
    Term,
    TinygradLiteError,
    Value,
    backward_steps,
    detect_anomaly,
    enable_grad,
    grad,
    is_grad_enabled,
    manual_seed,
    no_grad,
    rng,
)
from .data.errors import DataError
from .functions import concat, linear, stack, weighted_sum, where
from .nn.module import CheckpointError, StateDictError
from .optional import MissingDependencyError
from .testing.gradcheck import GradcheckError
from .traced import JitError, jit
from .train import TrainingError

__version__ = "0.1.0"

allocator.keep_freed_memory()  # freed memory kept for the next step: see allocator.py

__all__ = [
    "AnomalyError",
    "ArgumentError",
    "CheckpointError",
    "Context",
    "DTypeError",
    "DataError",
    "Function",
    "FunctionError",
    "GradcheckError",
    "GradientError",
    "IndexingError",
    "JitError",
    "InPlaceError",
    "MissingDependencyError",
    "ShapeError",
    "StateDictError",
    "Step",
    "Term",
    "TinygradLiteError",
    "TrainingError",
    "Value",
    "backward_steps",
    "concat",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "jit",
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
