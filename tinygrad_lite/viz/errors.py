"""The errors of the drawings."""

from __future__ import annotations

from ..core import TinygradLiteError


class RendererNotFoundError(TinygradLiteError, RuntimeError):
    """Neither the ``dot`` program nor the WebAssembly Graphviz can run here."""


class RenderError(TinygradLiteError, RuntimeError):
    """Graphviz ran but could not draw the graph (or took longer than the timeout)."""


class DrawingError(TinygradLiteError, ValueError):
    """A bad argument to a drawing function: not a Value, not a module of the model..."""
