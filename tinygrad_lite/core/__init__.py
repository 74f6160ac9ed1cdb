"""The engine: Value, the op table, the backward walk, grad modes. It imports NumPy and the
standard library only, and nothing above it (``tests/test_layers.py`` holds it to that).

The names here are the core's public face for the layers above it (``functions``, ``nn``,
``viz``, ``testing``): they read the graph and record nodes through these, never through a
Value's private slots.
"""

from .autograd import backward_steps, grad
from .backward import Step, Term
from .errors import (
    AnomalyError,
    ArgumentError,
    DTypeError,
    FunctionError,
    GradientError,
    IndexingError,
    InPlaceError,
    ShapeError,
    TinygradLiteError,
    TraceError,
)
from .function import Call, Context, Function
from .grad_mode import detect_anomaly, enable_grad, is_grad_enabled, manual_seed, no_grad, rng
from .graph import local_label, operands, rerun, toposort, value_text
from .listen import effect, note_call, note_state, refuse
from .ops import OPS, Op, number
from .tracing import random_leaf
from .value import Value, apply, data_of, lift

__all__ = [
    "OPS",
    "AnomalyError",
    "ArgumentError",
    "Call",
    "Context",
    "DTypeError",
    "Function",
    "FunctionError",
    "GradientError",
    "IndexingError",
    "InPlaceError",
    "Op",
    "ShapeError",
    "Step",
    "Term",
    "TinygradLiteError",
    "TraceError",
    "Value",
    "apply",
    "backward_steps",
    "data_of",
    "detect_anomaly",
    "effect",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "lift",
    "local_label",
    "manual_seed",
    "no_grad",
    "note_call",
    "note_state",
    "number",
    "operands",
    "random_leaf",
    "refuse",
    "rerun",
    "rng",
    "toposort",
    "value_text",
]
