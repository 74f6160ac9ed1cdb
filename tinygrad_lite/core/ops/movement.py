"""Rows that move elements without arithmetic: reshape, transpose, indexing and its adjoint,
broadcasting and its adjoint, concatenation. Each backward moves the gradient back."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..shapes import ndarray, unbroadcast
from .modes import expand, is_raw, reduce_to, reshape, shape
from .row import Op


def _has_array_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, ndarray) and p.dtype.kind in "iu" for p in parts)


def _scatter(static: tuple[tuple[int, ...], Any, Any], g: Any) -> Any:
    # static: (shape, index, dtype); dtype None takes the gradient's
    target, index, dtype = static
    z = np.zeros(target, dtype=dtype if dtype is not None else np.asarray(g).dtype)
    if type(index) is ndarray and index.ndim > 1 and index.dtype.kind in "iu":
        # rows picked by an array of ids (an embedding's lookup): the same sum over one flat
        # list of rows, which np.add.at runs about twice as fast as over a nested one
        np.add.at(z, index.reshape(-1), np.reshape(g, (index.size, *target[1:])))
    elif _has_array_index(index):
        np.add.at(z, index, g)  # repeated integer indices add up
    else:
        z[index] = g  # basic and boolean indices touch each element at most once
    return z


def scatter(g: Any, target: tuple[int, ...], index: Any) -> Any:
    """A zero array of shape ``target`` with ``g`` added at ``index`` (the adjoint of x[index])."""
    if not is_raw(g):
        return g.scatter_to(target, index)
    return _scatter((target, index, np.asarray(g).dtype), g)


def _transpose_backward(axes: tuple[int, ...], g: Any, out: Any, x: Any) -> Any:
    return (g.transpose(tuple(int(i) for i in np.argsort(axes))),)


def _concat_backward(axis: int, g: Any, out: Any, *xs: Any) -> Any:
    grads, start = [], 0
    for x in xs:
        n = x.shape[axis]
        idx = (slice(None),) * (axis % out.ndim) + (slice(start, start + n),)
        grads.append(g[idx])
        start += n
    return tuple(grads)


ROWS = [
    Op(
        "reshape",
        lambda new_shape, x: np.reshape(x, new_shape),
        lambda s, g, o, x: (reshape(g, shape(x)),),
        "reshape back",
    ),
    Op("transpose", lambda axes, x: np.transpose(x, axes), _transpose_backward, "transpose back"),
    Op(
        "getitem",
        lambda index, x: x[index],
        lambda index, g, o, x: (scatter(g, x.shape, index),),
        "scatter into zeros",
    ),
    Op("scatter", _scatter, lambda s, g, o, x: (g[s[1]],), "gather at the index"),
    Op(
        "broadcast_to",
        lambda new_shape, x: np.broadcast_to(x, new_shape),
        lambda s, g, o, x: (reduce_to(g, x),),
        "sum over broadcast axes",
    ),
    Op(
        "sum_to",
        lambda new_shape, x: unbroadcast(x, new_shape),
        lambda s, g, o, x: (expand(g, shape(x)),),
        "broadcast back",
    ),
    Op("concat", lambda axis, *xs: np.concatenate(xs, axis=axis), _concat_backward, "slice {k}"),
]
