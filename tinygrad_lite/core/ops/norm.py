"""The normalisation row: ``standardize``, the heart of batch and layer normalisation.

``standardize`` maps ``x`` to ``(x - mean) / sqrt(var + eps)``, the mean and the (biased)
variance taken over ``axes``: over the batch and the spatial axes for batch norm, over the
last axes for layer norm. Written with plain rows it is ten nodes, each a pass over the
input with a temporary of its size; as one row it is one node whose backward is the closed
form (Ioffe & Szegedy 2015, section 3)

    dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sqrt(var + eps)

with ``x_hat`` the output and the means over ``axes``. It names its plain composite, and
``tests/test_fused.py`` holds the two equal in value and in first and second derivatives.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .fused import Kept
from .modes import is_raw
from .row import Op, scratch


class Standardize(NamedTuple):
    """The static arguments of ``standardize``: the axes the statistics are taken over
    (non-negative, sorted), ``eps`` added to the variance, and ``1 / sqrt(var + eps)``, which
    the forward keeps for the backward."""

    axes: tuple[int, ...]
    eps: float
    kept: Kept


def _standardize(static: Standardize, x: Any, out: Any = None) -> Any:
    # out: the array a replay form writes into (None: a new one), its square in a scratch array
    axes, eps, kept = static
    # (x - mean): the one temporary, then the output
    xc = np.subtract(x, x.mean(axis=axes, keepdims=True), out=out)
    sq = None  # np.square's new array; a replay form's scratch array, C-ordered as xc is
    if out is not None and xc.flags.c_contiguous:  # (a mean over another layout adds in
        sq = scratch(out, "square", xc.shape, xc.dtype)  # another order: then a new one)
    var = np.square(xc, out=sq).mean(axis=axes, keepdims=True)  # biased: divided by the count
    rstd = 1.0 / np.sqrt(var + eps)  # the statistics' shape: small
    kept.keep(x, rstd)
    xc *= rstd
    return xc


def _inverse_std(static: Standardize, x: Any) -> Any:
    """1 / sqrt(var + eps) of ``x`` over the axes: as Values in graph mode (it depends on
    ``x``, so the second derivative goes through it), else the forward's, or recomputed."""
    axes, eps, kept = static
    if not is_raw(x):
        xc = x - x.mean(axes, keepdims=True)
        return ((xc * xc).mean(axes, keepdims=True) + eps) ** -0.5
    rstd = kept.take(x)
    if rstd is None:
        var = np.square(x - x.mean(axis=axes, keepdims=True)).mean(axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt(var + eps)
    return rstd


def _standardize_backward(static: Standardize, g: Any, out: Any, x: Any, t: Any = None) -> Any:
    # t: the array a replay form writes the gradient into (None: a new one)
    axes = static.axes
    rstd = _inverse_std(static, x)
    if not is_raw(g):  # graph mode: the same formula with rows, differentiable again
        gm = g.mean(axes, keepdims=True)
        gxm = (g * out).mean(axes, keepdims=True)
        return ((g - gm - out * gxm) * rstd,)
    t = np.multiply(g, out, out=t)
    gxm = t.mean(axis=axes, keepdims=True)  # mean(g x_hat)
    np.multiply(out, gxm, out=t)  # in place from here: one temporary the size of x
    t += g.mean(axis=axes, keepdims=True)
    np.subtract(g, t, out=t)
    t *= rstd
    return (t,)


def _standardize_composite(static: Standardize, x: Any) -> Any:
    axes, eps, _ = static
    xc = x - x.mean(axes, keepdims=True)
    var = (xc * xc).mean(axes, keepdims=True)
    return xc / (var + eps).sqrt()


ROWS = [
    Op(
        "standardize",
        _standardize,
        _standardize_backward,
        "x standardize Jacobian",
        composite=_standardize_composite,
        into=lambda static, out, x: _standardize(static, x, out),
        grads_into=lambda static, g, out, bufs, x: _standardize_backward(
            static, g, out, x, bufs[0]
        ),
    ),
]
