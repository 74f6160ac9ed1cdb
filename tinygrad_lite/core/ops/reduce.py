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
from .row import Op, reused, scratch, scratch_like


def _sum(static: tuple[Any, bool], x: Any, out: Any = None) -> Any:
    axis, keepdims = static
    return np.sum(x, axis=axis, keepdims=keepdims, out=out)


def _sum_backward(static: tuple[Any, bool], g: Any, out: Any, x: Any) -> Any:
    # a broadcast view of g: no array made, so no replay form is needed
    axis, _ = static
    return (expand(reshape(g, keepdims_shape(shape(x), axis)), shape(x)),)


def _max(static: tuple[Any, bool], x: Any, out: Any = None) -> Any:
    axis, keepdims = static
    return np.max(x, axis=axis, keepdims=keepdims, out=out)


def _max_backward(static: tuple[Any, bool], g: Any, out: Any, x: Any) -> Any:
    # every element equal to the maximum shares the gradient equally (like torch.amax)
    axis, _ = static
    kshape = keepdims_shape(shape(x), axis)
    xd = np.asarray(data_of(x))
    mask = xd == np.reshape(data_of(out), kshape)
    share = (mask / mask.sum(axis=axis, keepdims=True)).astype(xd.dtype)
    return (expand(reshape(g, kshape), shape(x)) * share,)


def _softmax(axis: int, x: Any, out: Any = None) -> Any:
    # out: a replay's array to write into, with the row sums in a scratch array of its own
    sums = reused(out, "softmax", keepdims_shape(x.shape, axis), x.dtype)
    e = np.subtract(x, x.max(axis=axis, keepdims=True, out=sums), out=out)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True, out=sums)
    return e


def _log_softmax(axis: int, x: Any, out: Any = None) -> Any:
    sums = exps = None
    if out is not None:  # a replay's array to write into, and scratch arrays for the rest
        sums = scratch(out, "log_softmax", keepdims_shape(x.shape, axis), x.dtype)
        exps = scratch_like(out, "log_softmax exp", out)  # laid out as the plain rule's
    shifted = np.subtract(x, x.max(axis=axis, keepdims=True, out=sums), out=out)
    total = np.exp(shifted, out=exps).sum(axis=axis, keepdims=True, out=sums)
    return np.subtract(shifted, np.log(total, out=sums), out=out)


def softmax(x: Any, axis: int) -> Any:
    """Softmax in both modes (the fused cross-entropy's backward recomputes it)."""
    return _softmax(axis, x) if is_raw(x) else x.softmax(axis)


# ---------------------------------------------------------------- replay forms (tl.jit)
# The backward rules above, writing into the arrays a traced step allocated once: the same
# operations in the same order (row.py). ``bufs[0]`` is None where the plain rule's gradient
# has another dtype than the input's; the plain rule then makes it.


def _max_grads_into(static: tuple[Any, bool], g: Any, out: Any, bufs: Any, x: Any) -> Any:
    if bufs[0] is None:
        return _max_backward(static, g, out, x)
    axis, _ = static
    kshape = keepdims_shape(x.shape, axis)
    mask = np.equal(x, np.reshape(out, kshape), out=scratch(out, "max mask", x.shape, np.bool_))
    count = np.sum(mask, axis=axis, keepdims=True, out=scratch(out, "max count", kshape, np.int_))
    share = np.divide(mask, count, out=bufs[0])  # float64's quotient, rounded as astype does
    return (np.multiply(np.reshape(g, kshape), share, out=share),)


def _softmax_backward(axis: int, g: Any, o: Any, x: Any) -> Any:
    return (o * (g - (g * o).sum(axis=axis, keepdims=True)),)


def _softmax_grads_into(axis: int, g: Any, o: Any, bufs: Any, x: Any) -> Any:
    if bufs[0] is None:
        return _softmax_backward(axis, g, o, x)
    go = np.multiply(g, o, out=bufs[0])
    sums = scratch(o, "softmax grad", keepdims_shape(o.shape, axis), go.dtype)
    np.subtract(g, np.sum(go, axis=axis, keepdims=True, out=sums), out=go)
    return (np.multiply(o, go, out=go),)


def _log_softmax_backward(axis: int, g: Any, o: Any, x: Any) -> Any:
    return (g - exp(o) * g.sum(axis=axis, keepdims=True),)


def _log_softmax_grads_into(axis: int, g: Any, o: Any, bufs: Any, x: Any) -> Any:
    if bufs[0] is None:
        return _log_softmax_backward(axis, g, o, x)
    sums = scratch(o, "log_softmax grad", keepdims_shape(o.shape, axis), g.dtype)
    np.sum(g, axis=axis, keepdims=True, out=sums)
    e = np.exp(o, out=bufs[0])
    e *= sums
    return (np.subtract(g, e, out=e),)


ROWS = [
    Op(
        "sum",
        _sum,
        _sum_backward,
        "copy to every summed element",
        reads_data=False,
        into=lambda static, out, x: _sum(static, x, out),
    ),
    Op(
        "max",
        _max,
        _max_backward,
        "to the maximum (ties share)",
        into=lambda static, out, x: _max(static, x, out),
        grads_into=_max_grads_into,
    ),
    Op(
        "softmax",
        _softmax,
        _softmax_backward,
        "x softmax Jacobian",
        into=lambda axis, out, x: _softmax(axis, x, out),
        grads_into=_softmax_grads_into,
    ),
    Op(
        "log_softmax",
        _log_softmax,
        _log_softmax_backward,
        "x (1 - softmax)",
        into=lambda axis, out, x: _log_softmax(axis, x, out),
        grads_into=_log_softmax_grads_into,
    ),
]
