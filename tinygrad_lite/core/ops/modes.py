"""Helpers that let one backward rule run in both modes: on raw data and on Values.

Each picks the NumPy call for raw data (a Python float or an ndarray) and the Value method for
a Value, so a rule written with them records a differentiable graph in graph mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..shapes import fit_grad, ndarray


def is_raw(x: Any) -> bool:
    """True for raw data (a Python float or an ndarray), False for a Value. NumPy's scalars
    count as raw too: arithmetic on 0-d arrays returns them (``np.array(2.0) * 3.0``)."""
    t = type(x)
    return t is float or t is ndarray or isinstance(x, np.generic)


def data_of(x: Any) -> Any:
    """Raw data of a Value, or the raw data itself (masks are constants in both modes)."""
    return x if is_raw(x) else x.data


def div(a: Any, b: Any) -> Any:
    """a / b in both modes; on Python floats it follows IEEE 754 as arrays do (1/0 is inf,
    0/0 is nan) instead of raising ZeroDivisionError."""
    try:
        return a / b
    except ZeroDivisionError:
        with np.errstate(all="ignore"):
            return float(np.float64(a) / b)


def shape(x: Any) -> tuple[int, ...]:
    return () if type(x) is float else x.shape


def reshape(g: Any, new_shape: tuple[int, ...]) -> Any:
    if type(g) is float:
        return np.reshape(g, new_shape)
    return g.reshape(new_shape)  # the ndarray and the Value method


def expand(g: Any, new_shape: tuple[int, ...]) -> Any:
    """Broadcast ``g`` up to ``new_shape`` (the adjoint of summing)."""
    return np.broadcast_to(g, new_shape) if is_raw(g) else g.broadcast_to(new_shape)


def reduce_to(g: Any, like: Any) -> Any:
    """Sum ``g`` down to the shape of ``like`` (the adjoint of broadcasting)."""
    return fit_grad(g, like) if is_raw(g) else g.sum_to(like.shape)


def swap_last(x: Any) -> Any:
    """Matrix transpose of the last two axes (batched)."""
    if is_raw(x):
        return x.swapaxes(-1, -2)
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return x.transpose(*axes)


def keepdims_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` has with ``keepdims=True``."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))
