"""The text of a drawing's boxes: what a Value's data or gradient looks like in a few lines."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core import number

__all__ = ["number", "summary"]


def summary(data: Any) -> list[str]:
    """A few lines that describe a Value's data (or a gradient): the number itself for a
    scalar, the elements of a tiny array, otherwise shape, dtype and statistics."""
    if type(data) is float or np.ndim(data) == 0:
        return [number(data)]
    arr = np.asarray(data)
    head = f"{'x'.join(str(n) for n in arr.shape)} {arr.dtype}"
    if arr.size == 0:
        return [head, "empty"]
    if arr.size <= 4:
        return [head, "[" + ", ".join(number(x) for x in arr.ravel()) + "]"]
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return [head, "no finite values"]
    return [
        head,
        f"mean {number(finite.mean())}  std {number(finite.std())}",
        f"min {number(finite.min())}  max {number(finite.max())}",
    ]
