"""The error the data helpers raise."""

from __future__ import annotations

from ..core import TinygradLiteError


class DataError(TinygradLiteError, ValueError):
    """Data, or an argument that describes data, that cannot be used: a split that leaves a
    part empty, a batch size of 0, labels outside the known classes, a corrupt IDX file..."""
