"""The named exceptions of the engine (the layers above define their own beside the code
that raises them: ``DataError`` in ``data``, ``StateDictError`` in ``nn``...).

Every mistake a user can make raises one of these, with a message that names the operation,
the shapes or values involved, and what would fix it. Each class also subclasses the builtin
exception a Python user would expect (ValueError for bad shapes, TypeError for bad types...),
so ``except ValueError`` keeps working.
"""

from __future__ import annotations

from typing import Any


class TinygradLiteError(Exception):
    """Base class of every error tinygrad_lite raises on purpose."""


class ShapeError(TinygradLiteError, ValueError):
    """Shapes that do not fit an operation, e.g. ``matmul: (2, 3) @ (4, 5)``."""


class IndexingError(TinygradLiteError, IndexError):
    """An index that does not fit the shape of the Value it indexes."""


class DTypeError(TinygradLiteError, TypeError):
    """Data of a type tinygrad_lite cannot hold (strings, complex numbers, objects...)."""


class GradientError(TinygradLiteError, RuntimeError):
    """A backward pass that cannot run: no gradient needed, or no seed for a non-scalar."""


class AnomalyError(GradientError):
    """Under ``tl.detect_anomaly()``: a backward rule made a gradient that is NaN or infinite.

    ``value`` is the Value whose backward rule made it (or whose gradient arrived non-finite)
    and ``parent`` the input it was sent to (None when it arrived so): ``viz.draw_backward(out,
    mark=error)`` marks them.
    """

    def __init__(self, message: str, value: Any = None, parent: Any = None) -> None:
        super().__init__(message)
        self.value = value
        self.parent = parent


class FunctionError(TinygradLiteError, RuntimeError):
    """A user-defined ``tl.Function`` whose backward returns the wrong count or shapes."""


class ArgumentError(TinygradLiteError, ValueError):
    """An argument outside the values a function accepts (``p=1.5``, ``lr=-1``, ``min > max``)."""


class InPlaceError(GradientError):
    """Data that the forward pass read or made was changed in place before backward read it."""


class TraceError(TinygradLiteError, RuntimeError):
    """A step ``tl.jit`` cannot replay (the reason says what it did); it runs eagerly, and
    ``tl.jit`` says why in a warning. ``written``: the step writes into data it holds (found
    when a later call is traced again), which no replay can repeat, rather than doing
    something other than at its trace."""

    def __init__(self, message: str, *, written: bool = False) -> None:
        super().__init__(message)
        self.written = written
