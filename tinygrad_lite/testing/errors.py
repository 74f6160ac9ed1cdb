"""The error of the hypothesis strategies, here so that it can be imported without hypothesis
(``tinygrad_lite.errors`` lists every named error of the library)."""

from __future__ import annotations

from ..core import TinygradLiteError


class StrategyError(TinygradLiteError, ValueError):
    """Arguments no example can satisfy: an empty range, axes of a scalar, too few grid points."""
