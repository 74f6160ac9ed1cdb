"""Rows that move elements without arithmetic: reshape, transpose, indexing and its adjoint,
broadcasting and its adjoint, concatenation, nearest upsampling. Each backward moves the
gradient back.

Replay forms (tl.jit, row.py): reshape, transpose and broadcast_to return views of their input
(``view=True``: nothing to write); the other forwards take an ``out`` to write into. A backward
that returns a view of ``g`` (reshape's, transpose's, sum_to's, concat's slices) makes no array
and has no form; the others write into the step's gradient arrays."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..shapes import broadcast_axes, ndarray, unbroadcast
from .modes import expand, is_raw, reduce_to, reshape, shape
from .row import Op


def _has_array_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, ndarray) and p.dtype.kind in "iu" for p in parts)


def _getitem(index: Any, x: Any, out: Any = None) -> Any:
    """x[index], or the same elements written into ``out`` (a replay's array)."""
    if out is None:
        return x[index]
    if type(index) is ndarray and index.dtype.kind in "iu":
        # rows picked by ids (an embedding's lookup), gathered straight into out; "wrap" takes
        # negative ids as indexing does, and mode="raise" would gather into a copy first
        return np.take(x, index, axis=0, mode="wrap", out=out)
    out[...] = x[index]  # a basic index's view, copied; other indices gather a new array
    return out


def _scatter(static: tuple[tuple[int, ...], Any, Any], g: Any, out: Any = None) -> Any:
    # static: (shape, index, dtype); dtype None takes the gradient's. out: a replay's array
    target, index, dtype = static
    if out is None:
        z = np.zeros(target, dtype=dtype if dtype is not None else np.asarray(g).dtype)
    else:
        z = out
        z.fill(0)
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


def _sum_to(new_shape: tuple[int, ...], x: Any, out: Any = None) -> Any:
    """unbroadcast(x, new_shape): sum_to's forward, broadcast_to's backward; or the same sum
    written into ``out`` (a replay's array of new_shape), in x's dtype as unbroadcast sums."""
    if out is None:
        return unbroadcast(x, new_shape)
    lead = x.ndim - len(new_shape)
    if lead < 0:  # a smaller array, spread as unbroadcast spreads it
        np.copyto(out, x)
        return out
    kept = out[(np.newaxis,) * lead]  # out with x's leading axes, kept as ones (a view)
    np.sum(x, axis=broadcast_axes(x.shape, new_shape), keepdims=True, dtype=x.dtype, out=kept)
    return out


def _broadcast_to_grads_into(new_shape: Any, g: Any, out: Any, bufs: Any, x: Any) -> Any:
    # (no array given: x is a float, or 0-d, or of another dtype than g, which reduce_to casts)
    return (reduce_to(g, x) if bufs[0] is None else _sum_to(x.shape, g, bufs[0]),)


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


def _upsample(factors: tuple[int, ...], x: Any, out: Any = None) -> Any:
    if out is None:
        lead = x.ndim - len(factors)
        wide = (*x.shape[:lead], *(d * s for d, s in zip(x.shape[lead:], factors)))
        out = np.empty(wide, x.dtype)
    for at in _offsets(factors):
        out[at] = x
    return out


def _upsample_backward(factors: tuple[int, ...], g: Any, out: Any, x: Any) -> Any:
    if not is_raw(g):  # graph mode: the same sum with rows (its own gradient is the upsampling)
        return (g.reshape(_blocks(shape(x), factors)).sum(_block_axes(shape(x), factors)),)
    return (_block_sums(factors, g),)


def _block_sums(factors: tuple[int, ...], g: Any, out: Any = None) -> Any:
    """The sum of each block of ``g`` (..., sH, tW): an array (..., H, W), or ``out`` (a
    replay's array) written."""
    blocks = _offsets(factors)
    first = g[next(blocks)]  # (..., H, W): the gradient's elements at offset (0, 0)
    if out is None:
        out = np.empty(first.shape, first.dtype)
    out[...] = first
    for at in blocks:
        out += g[at]
    return out


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
        view=True,  # (a copy where x's layout allows no view: a transposed x, say)
    ),
    Op(
        "transpose",
        lambda axes, x: np.transpose(x, axes),
        _transpose_backward,
        "transpose back",
        reads_data=False,
        view=True,
    ),
    # not a view row: an array or a mask as index copies (a basic index gives a view, which
    # the replay form copies into the step's array)
    Op(
        "getitem",
        _getitem,
        lambda index, g, o, x: (scatter(g, x.shape, index),),
        "scatter into zeros",
        reads_data=False,
        into=lambda index, out, x: _getitem(index, x, out),
        grads_into=lambda index, g, o, bufs, x: (_scatter((x.shape, index, None), g, bufs[0]),),
    ),
    Op(
        "scatter",
        _scatter,
        lambda s, g, o, x: (g[s[1]],),
        "gather at the index",
        reads_data=False,
        into=lambda s, out, g: _scatter(s, g, out),
        grads_into=lambda s, g, o, bufs, x: (_getitem(s[1], g, bufs[0]),),
    ),
    Op(
        "broadcast_to",
        lambda new_shape, x: np.broadcast_to(x, new_shape),
        lambda s, g, o, x: (reduce_to(g, x),),
        "sum over broadcast axes",
        reads_data=False,
        view=True,
        grads_into=_broadcast_to_grads_into,
    ),
    Op(
        "sum_to",
        _sum_to,
        lambda s, g, o, x: (expand(g, shape(x)),),
        "broadcast back",
        reads_data=False,
        into=lambda new_shape, out, x: _sum_to(new_shape, x, out),
    ),
    Op(
        "concat",
        lambda axis, *xs: np.concatenate(xs, axis=axis),
        _concat_backward,
        "slice {k}",
        reads_data=False,
        into=lambda axis, out, *xs: np.concatenate(xs, axis=axis, out=out),
    ),
    Op(
        "upsample",
        _upsample,
        _upsample_backward,
        "sum over each block",
        composite=_upsample_composite,
        into=lambda factors, out, x: _upsample(factors, x, out),
        grads_into=lambda factors, g, o, bufs, x: (_block_sums(factors, g, bufs[0]),),
    ),
]
