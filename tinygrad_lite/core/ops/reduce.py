"""Rows that reduce over axes: ``sum``, ``max``, and the normalisations ``softmax`` and
``log_softmax`` (a reduction and an elementwise step in one row).

``sum`` and ``max`` take ``(axes, keepdims)`` as their static arguments (``axes`` a sorted tuple
of non-negative axes, or None for all); the softmaxes take their one axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .elementwise import exp
from .modes import data_of, expand, is_raw, keepdims_shape, reshape, shape
from .row import Op


def _sum(static: tuple[Any, bool], x: Any) -> Any:
    axis, keepdims = static
    return np.sum(x, axis=axis, keepdims=keepdims)


def _sum_backward(static: tuple[Any, bool], g: Any, out: Any, x: Any) -> Any:
    axis, _ = static
    return (expand(reshape(g, keepdims_shape(shape(x), axis)), shape(x)),)


def _max(static: tuple[Any, bool], x: Any) -> Any:
    axis, keepdims = static
    return np.max(x, axis=axis, keepdims=keepdims)


def _max_backward(static: tuple[Any, bool], g: Any, out: Any, x: Any) -> Any:
    # every element equal to the maximum shares the gradient equally (like torch.amax)
    axis, _ = static
    kshape = keepdims_shape(shape(x), axis)
    xd = np.asarray(data_of(x))
    mask = xd == np.reshape(data_of(out), kshape)
    share = (mask / mask.sum(axis=axis, keepdims=True)).astype(xd.dtype)
    return (expand(reshape(g, kshape), shape(x)) * share,)


def _softmax(axis: int, x: Any) -> Any:
    e = x - x.max(axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _log_softmax(axis: int, x: Any) -> Any:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(x: Any, axis: int) -> Any:
    """Softmax in both modes (the fused cross-entropy's backward recomputes it)."""
    return _softmax(axis, x) if is_raw(x) else x.softmax(axis)


ROWS = [
    Op("sum", _sum, _sum_backward, "copy to every summed element", reads_data=False),
    Op("max", _max, _max_backward, "to the maximum (ties share)"),
    Op(
        "softmax",
        _softmax,
        lambda axis, g, o, x: (o * (g - (g * o).sum(axis=axis, keepdims=True)),),
        "x softmax Jacobian",
    ),
    Op(
        "log_softmax",
        _log_softmax,
        lambda axis, g, o, x: (g - exp(o) * g.sum(axis=axis, keepdims=True),),
        "x (1 - softmax)",
    ),
]
