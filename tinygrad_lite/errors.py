"""Every named error of tinygrad_lite, in one place.

Each error is defined beside the code that raises it (the engine's in ``core/errors.py``,
``DataError`` in ``data``, ``StateDictError`` in ``nn``, ``UnsupportedLayerError`` in
``interop``...); this module gathers them for ``except`` clauses and for tests. All subclass
``TinygradLiteError`` and a builtin exception (``ValueError``, ``TypeError``, ``IndexError``,
``RuntimeError`` or ``ImportError``), so ``except ValueError`` keeps working. Nothing imports
this module, so it adds no import cycle.

>>> import tinygrad_lite as tl
>>> from tinygrad_lite.errors import ShapeError
>>> try:
...     tl.Value([1.0, 2.0]) + tl.Value([1.0, 2.0, 3.0])
... except ShapeError as e:
...     print(str(e).split(";")[0])
add: shapes (2,) and (3,) do not broadcast together
"""

from __future__ import annotations

from .cli import UsageError
from .cli.expression import ExpressionError
from .core.errors import (
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
from .data.errors import DataError
from .interop.onnx import ExportError
from .interop.torch import UnsupportedLayerError
from .nn.module import CheckpointError, StateDictError
from .optional import MissingDependencyError
from .testing.errors import StrategyError
from .testing.gradcheck import GradcheckError
from .traced import JitError
from .train import TrainingError
from .viz.errors import DrawingError, RendererNotFoundError, RenderError

__all__ = [
    "AnomalyError",
    "ArgumentError",
    "CheckpointError",
    "DTypeError",
    "DataError",
    "DrawingError",
    "ExportError",
    "ExpressionError",
    "FunctionError",
    "GradcheckError",
    "GradientError",
    "InPlaceError",
    "IndexingError",
    "JitError",
    "MissingDependencyError",
    "RenderError",
    "RendererNotFoundError",
    "ShapeError",
    "StateDictError",
    "StrategyError",
    "TinygradLiteError",
    "TraceError",
    "TrainingError",
    "UnsupportedLayerError",
    "UsageError",
]
