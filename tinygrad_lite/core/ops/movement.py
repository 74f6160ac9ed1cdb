"""Rows that move elements without arithmetic: reshape, transpose, indexing and its adjoint,
broadcasting and its adjoint, concatenation, nearest upsampling. Each backward moves the
gradient back."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
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


# ---------------------------------------------------------------- nearest upsampling
# Each element of the last len(factors) axes repeated s times along each: (..., H, W) with
# factors (2, 3) gives (..., 2H, 3W). The composite (reshape, broadcast_to, reshape) gives the
# same numbers, but its backward sums over small interleaved axes, which NumPy does element by
# element; here both directions move whole strided slices, one per offset in an s x s block.


def _offsets(factors: tuple[int, ...]) -> Iterator[tuple[Any, ...]]:
    """For each offset in a block, the index of every element at that offset: (..., i::s, j::t)."""
    for offset in itertools.product(*(range(s) for s in factors)):
        yield (Ellipsis, *(slice(o, None, s) for o, s in zip(offset, factors)))


def _upsample(factors: tuple[int, ...], x: Any) -> Any:
    lead = x.ndim - len(factors)
    out = np.empty((*x.shape[:lead], *(d * s for d, s in zip(x.shape[lead:], factors))), x.dtype)
    for at in _offsets(factors):
        out[at] = x
    return out


def _upsample_backward(factors: tuple[int, ...], g: Any, out: Any, x: Any) -> Any:
    if not is_raw(g):  # graph mode: the same sum with rows (its own gradient is the upsampling)
        return (g.reshape(_blocks(shape(x), factors)).sum(_block_axes(shape(x), factors)),)
    blocks = _offsets(factors)
    gx = g[next(blocks)].copy()  # (..., H, W): the gradient's elements at offset (0, 0)
    for at in blocks:
        gx += g[at]
    return (gx,)


def _blocks(x_shape: tuple[int, ...], factors: tuple[int, ...]) -> tuple[int, ...]:
    """(..., H, s, W, t) for (..., H, W): the upsampled shape, each block on axes of its own."""
    lead = len(x_shape) - len(factors)
    return (*x_shape[:lead], *(n for d, s in zip(x_shape[lead:], factors) for n in (d, s)))


def _block_axes(x_shape: tuple[int, ...], factors: tuple[int, ...]) -> tuple[int, ...]:
    lead = len(x_shape) - len(factors)
    return tuple(lead + 2 * i + 1 for i in range(len(factors)))


def _upsample_composite(factors: tuple[int, ...], x: Any) -> Any:
    lead = x.ndim - len(factors)
    split = (*x.shape[:lead], *(n for d in x.shape[lead:] for n in (d, 1)))  # (..., H, 1, W, 1)
    wide = _blocks(x.shape, factors)  # (..., H, s, W, t)
    out = (*x.shape[:lead], *(d * s for d, s in zip(x.shape[lead:], factors)))
    return x.reshape(split).broadcast_to(wide).reshape(out)


ROWS = [
    Op(
        "reshape",
        lambda new_shape, x: np.reshape(x, new_shape),
        lambda s, g, o, x: (reshape(g, shape(x)),),
        "reshape back",
        reads_data=False,
    ),
    Op(
        "transpose",
        lambda axes, x: np.transpose(x, axes),
        _transpose_backward,
        "transpose back",
        reads_data=False,
    ),
    Op(
        "getitem",
        lambda index, x: x[index],
        lambda index, g, o, x: (scatter(g, x.shape, index),),
        "scatter into zeros",
        reads_data=False,
    ),
    Op("scatter", _scatter, lambda s, g, o, x: (g[s[1]],), "gather at the index", reads_data=False),
    Op(
        "broadcast_to",
        lambda new_shape, x: np.broadcast_to(x, new_shape),
        lambda s, g, o, x: (reduce_to(g, x),),
        "sum over broadcast axes",
        reads_data=False,
    ),
    Op(
        "sum_to",
        lambda new_shape, x: unbroadcast(x, new_shape),
        lambda s, g, o, x: (expand(g, shape(x)),),
        "broadcast back",
        reads_data=False,
    ),
    Op(
        "concat",
        lambda axis, *xs: np.concatenate(xs, axis=axis),
        _concat_backward,
        "slice {k}",
        reads_data=False,
    ),
    Op(
        "upsample",
        _upsample,
        _upsample_backward,
        "sum over each block",
        composite=_upsample_composite,
    ),
]
