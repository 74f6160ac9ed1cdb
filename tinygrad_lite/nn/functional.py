"""Losses and activation functions as plain functions of Values (``import ... as F``).

Every function here is composed from Value operations, so its gradient, and its second
derivative, come from the op table with no backward code of its own. Inputs may be Values,
NumPy arrays or lists; targets and labels that are not Values are constants (no gradient)
and take the dtype of the input they are compared with.

Losses take ``reduction``: ``"mean"`` (the default: the average over every element, or over
every sample for ``cross_entropy``), ``"sum"``, or ``"none"`` (the per-element losses).

>>> import numpy as np
>>> import tinygrad_lite as tl
>>> import tinygrad_lite.nn.functional as F
>>> logits = tl.Value(np.array([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]]))
>>> loss = F.cross_entropy(logits, [0, 1])
>>> loss.backward()
>>> round(loss.item(), 4), logits.grad.shape
(0.1324, (2, 3))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functions
from ..core import ArgumentError, IndexingError, ShapeError, Value, rng
from ..core.shapes import as_data

# convolution, pooling and padding (nn/functional_conv.py), exported from here as in torch
from .functional_conv import adaptive_avg_pool2d as adaptive_avg_pool2d
from .functional_conv import avg_pool1d as avg_pool1d
from .functional_conv import avg_pool2d as avg_pool2d
from .functional_conv import conv1d as conv1d
from .functional_conv import conv2d as conv2d
from .functional_conv import conv_transpose2d as conv_transpose2d
from .functional_conv import max_pool1d as max_pool1d
from .functional_conv import max_pool2d as max_pool2d
from .functional_conv import pad as pad

REDUCTIONS = ("mean", "sum", "none")


def as_value(x: Any) -> Value:
    """``x`` itself if it is a Value, else a constant Value (``requires_grad=False``) of it."""
    return x if isinstance(x, Value) else Value(x, requires_grad=False)


# ---------------------------------------------------------------- activations


def relu(x: Any) -> Value:
    """max(x, 0), elementwise."""
    return as_value(x).relu()


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Value:
    """x where x > 0, else ``negative_slope * x``."""
    return as_value(x).leaky_relu(negative_slope)


def sigmoid(x: Any) -> Value:
    """1 / (1 + exp(-x)), elementwise."""
    return as_value(x).sigmoid()


def tanh(x: Any) -> Value:
    return as_value(x).tanh()


def softplus(x: Any) -> Value:
    """log(1 + exp(x)), finite for any x, with gradient exactly sigmoid(x).

    Computed as ``r + log(exp(x - r) + exp(-r))`` with ``r = relu(x)``: the shift keeps both
    exponentials at most 1, and since the result does not depend on it, neither does the
    gradient (not even at the kink x = 0).

    >>> round(softplus(0.0).item(), 6), softplus(1000.0).item(), softplus(-1000.0).item()
    (0.693147, 1000.0, 0.0)
    """
    x = as_value(x)
    r = x.relu()
    return r + ((x - r).exp() + (-r).exp()).log()


def softmax(x: Any, axis: int = -1) -> Value:
    """exp(x) / sum(exp(x)) along ``axis`` (each slice sums to 1)."""
    return as_value(x).softmax(axis)


def log_softmax(x: Any, axis: int = -1) -> Value:
    """log(softmax(x)), computed without overflow for any x."""
    return as_value(x).log_softmax(axis)


def dropout(
    x: Any, p: float = 0.5, training: bool = True, generator: np.random.Generator | None = None
) -> Value:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).

    The scaling keeps the expected value of every element, so nothing changes at evaluation
    time, where (``training=False``) dropout is the identity. Draws from ``generator``, by
    default ``tl.rng()``.
    """
    p = check_probability(p, "dropout")
    x = as_value(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = (rng() if generator is None else generator).random(x.shape) >= p
    scale = 1.0 / (1.0 - p)
    mask = float(keep) * scale if x.ndim == 0 else keep.astype(x.dtype) * scale
    return x * mask


linear = functions.linear  # x @ weight + bias, weight (in_features, out_features): one node


# ---------------------------------------------------------------- losses


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Value:
    """Mean squared error: (input - target)^2, reduced.

    >>> mse_loss(Value([1.0, 2.0]), [0.0, 4.0]).item()
    2.5
    """
    x, t = _pair(input, target, "mse_loss", reduction)
    return _reduce((x - t) ** 2, reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Value:
    """Mean absolute error: |input - target|, reduced (its gradient at 0 is taken as 0)."""
    x, t = _pair(input, target, "l1_loss", reduction)
    return _reduce((x - t).abs(), reduction)


def binary_cross_entropy(
    input: Any, target: Any, reduction: str = "mean", eps: float | None = None
) -> Value:
    """-(t log p + (1 - t) log(1 - p)) for probabilities ``p`` (after a sigmoid).

    ``p`` is clipped to [eps, 1 - eps] so no log(0) occurs; ``eps`` defaults to the machine
    epsilon of the input's dtype (2.2e-16 for float64, 1.2e-7 for float32). Where ``p`` is
    clipped its gradient is 0: for saturated outputs prefer
    ``binary_cross_entropy_with_logits`` on the values before the sigmoid.
    """
    p, t = _pair(input, target, "binary_cross_entropy", reduction)
    if p.size and not (np.min(p.data) >= 0.0 and np.max(p.data) <= 1.0):
        raise ArgumentError(
            f"binary_cross_entropy: input holds values outside [0, 1] (min {np.min(p.data)}, "
            f"max {np.max(p.data)}); pass probabilities (apply sigmoid first) or use "
            "binary_cross_entropy_with_logits on the raw scores"
        )
    eps = float(np.finfo(p.dtype).eps) if eps is None else float(eps)
    if not 0.0 < eps < 0.5:
        raise ArgumentError(f"binary_cross_entropy: eps={eps} must be in (0, 0.5)")
    p = p.clip(eps, 1.0 - eps)
    return _reduce(-(t * p.log() + (1.0 - t) * (1.0 - p).log()), reduction)


def binary_cross_entropy_with_logits(input: Any, target: Any, reduction: str = "mean") -> Value:
    """Binary cross-entropy of sigmoid(input), computed from the logits ``input`` directly.

    Equal to ``softplus(z) - t z``: finite for logits of any size, with gradient exactly
    ``sigmoid(z) - t``.

    >>> binary_cross_entropy_with_logits(Value([1000.0, -1000.0]), [0.0, 0.0]).item()
    500.0
    """
    z, t = _pair(input, target, "binary_cross_entropy_with_logits", reduction)
    if t.requires_grad:  # a target that needs a gradient itself: the composite form
        return _reduce(softplus(z) - z * t, reduction)
    # one fused node: loss softplus(z) - t z, gradient sigmoid(z) - t
    return _reduce(functions.bce_with_logits(z, t.data), reduction)


def cross_entropy(logits: Any, labels: Any, reduction: str = "mean") -> Value:
    """Softmax cross-entropy: -sum(t * log_softmax(logits)) over the class axis (the last).

    ``labels`` are class indices of shape ``logits.shape[:-1]`` (integers, e.g. ``[0, 2]``)
    or target distributions of the logits' shape (one-hot rows, or probabilities).
    ``"mean"`` averages over the samples. Finite for logits of any size.
    """
    name = "cross_entropy"
    _check_reduction(reduction, name)
    z = as_value(logits)
    if z.ndim == 0:
        raise ShapeError(f"{name}: logits must have a class axis (the last); got a scalar")
    index = _class_indices(labels, z, name)
    if index is not None:  # one fused node, reduction included: gradient softmax(z) - one_hot
        return functions.softmax_cross_entropy(z, index, None, reduction)
    t = _class_targets(labels, z, name)
    if not t.requires_grad:  # fixed distributions: fused too
        return functions.softmax_cross_entropy(z, None, t.data, reduction)
    return _reduce(-(z.log_softmax(axis=-1) * t).sum(axis=-1), reduction)


# ---------------------------------------------------------------- shared checks


def check_probability(p: Any, op: str) -> float:
    """``p`` as a float, or ArgumentError if it is not a probability in [0, 1]."""
    try:
        value = float(p)
    except (TypeError, ValueError):
        raise ArgumentError(f"{op}: p={p!r} must be a number in [0, 1]") from None
    if not 0.0 <= value <= 1.0:
        raise ArgumentError(f"{op}: p={p!r} must be a probability in [0, 1]")
    return value


def _check_reduction(reduction: str, loss: str) -> None:
    if reduction not in REDUCTIONS:
        raise ArgumentError(f"{loss}: reduction={reduction!r}; choose one of {REDUCTIONS}")


def _reduce(loss: Value, reduction: str) -> Value:
    if reduction == "none" or loss.ndim == 0:
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _constant_like(data: Any, like: Value, loss: str) -> Value:
    """A target as a constant Value of ``like``'s kind: a Python float, or its dtype."""
    raw = as_data(data, loss)
    if type(like.data) is float and np.ndim(raw) == 0:
        raw = float(raw)
    elif type(like.data) is not float and type(raw) is not float and raw.dtype != like.dtype:
        raw = raw.astype(like.dtype)
    return Value(raw, requires_grad=False)


def _pair(input: Any, target: Any, loss: str, reduction: str) -> tuple[Value, Value]:
    """The prediction and the target of an elementwise loss, checked to have one shape."""
    _check_reduction(reduction, loss)
    x = as_value(input)
    t = target if isinstance(target, Value) else _constant_like(target, x, loss)
    if x.shape != t.shape:
        raise ShapeError(
            f"{loss}: input has shape {x.shape} but target has shape {t.shape}; they must be "
            "equal (a column (N, 1) against a vector (N,) is a common slip: reshape one)"
        )
    return x, t


def _class_indices(labels: Any, logits: Value, loss: str) -> np.ndarray | None:
    """Integer class indices of shape ``logits.shape[:-1]``, checked; None when ``labels`` are
    distributions of the logits' shape (one-hot rows or probabilities)."""
    raw = labels.data if isinstance(labels, Value) else labels
    shape, classes = logits.shape, logits.shape[-1]
    given = raw.shape if type(raw) is np.ndarray else np.shape(raw)
    if given == shape:
        return None
    if given != shape[:-1]:
        raise ShapeError(
            f"{loss}: logits have shape {shape} (classes on the last axis), so labels must be "
            f"class indices of shape {shape[:-1]} or one-hot rows of shape {shape}; "
            f"got labels of shape {given}"
        )
    index = np.asarray(raw)
    if index.dtype.kind not in "iu":
        index = np.asarray(as_data(raw, loss))
        if not np.all(index == np.round(index)):
            raise ArgumentError(f"{loss}: class labels must be whole numbers; got {index!r}")
        index = index.astype(np.intp)
    # one pass checks both ends: as unsigned integers, negative labels are huge
    if index.size and np.maximum.reduce(index.astype(np.uint64), axis=None) >= classes:
        raise IndexingError(
            f"{loss}: labels range over [{index.min():g}, {index.max():g}] but the logits "
            f"have {classes} classes (labels 0 to {classes - 1})"
        )
    return index


def _class_targets(labels: Any, logits: Value, loss: str) -> Value:
    """Target distributions of the logits' shape, as a Value (a constant unless given as a
    Value that needs a gradient itself)."""
    if isinstance(labels, Value):
        return labels
    return _constant_like(labels, logits, loss)
