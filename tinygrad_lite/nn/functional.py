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

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import functions
from ..checks import constant, flag
from ..core import (
    OPS,
    ArgumentError,
    DTypeError,
    IndexingError,
    ShapeError,
    Value,
    apply,
    effect,
    random_leaf,
    rng,
)
from ..core.ops.attention import Attention
from ..core.ops.fused import Kept
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


def as_value(x: Any, owner: str = "as_value") -> Value:
    """``x`` itself if it is a Value, else a constant Value (``requires_grad=False``) of it;
    data that cannot be one raises a DTypeError naming ``owner``."""
    return constant(owner, x)


# ---------------------------------------------------------------- activations


def relu(x: Any) -> Value:
    """max(x, 0), elementwise."""
    return as_value(x, "relu").relu()


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Value:
    """x where x > 0, else ``negative_slope * x``."""
    return as_value(x, "leaky_relu").leaky_relu(negative_slope)


def sigmoid(x: Any) -> Value:
    """1 / (1 + exp(-x)), elementwise."""
    return as_value(x, "sigmoid").sigmoid()


def tanh(x: Any) -> Value:
    return as_value(x, "tanh").tanh()


def softplus(x: Any) -> Value:
    """log(1 + exp(x)), finite for any x, with gradient exactly sigmoid(x).

    Computed as ``r + log(exp(x - r) + exp(-r))`` with ``r = relu(x)``: the shift keeps both
    exponentials at most 1, and since the result does not depend on it, neither does the
    gradient (not even at the kink x = 0).

    >>> round(softplus(0.0).item(), 6), softplus(1000.0).item(), softplus(-1000.0).item()
    (0.693147, 1000.0, 0.0)
    """
    x = as_value(x, "softplus")
    r = x.relu()
    return r + ((x - r).exp() + (-r).exp()).log()


def softmax(x: Any, axis: int = -1) -> Value:
    """exp(x) / sum(exp(x)) along ``axis`` (each slice sums to 1)."""
    return as_value(x, "softmax").softmax(axis)


def log_softmax(x: Any, axis: int = -1) -> Value:
    """log(softmax(x)), computed without overflow for any x."""
    return as_value(x, "log_softmax").log_softmax(axis)


def dropout(
    x: Any, p: float = 0.5, training: bool = True, generator: np.random.Generator | None = None
) -> Value:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).

    The scaling keeps the expected value of every element, so nothing changes at evaluation
    time, where (``training=False``) dropout is the identity. Draws from ``generator``, by
    default ``tl.rng()``.
    """
    p = check_probability(p, "dropout")
    x = as_value(x, "dropout")
    if not flag("dropout", "training", training) or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    shape, dtype, scale = x.shape, x.dtype, 1.0 / (1.0 - p)

    def draw() -> Any:  # a random leaf: a traced step (tl.jit) draws a fresh mask on replay
        keep = (rng() if generator is None else generator).random(shape) >= p
        return float(keep) * scale if not shape else keep.astype(dtype) * scale

    return x * random_leaf(draw)


linear = functions.linear  # x @ weight + bias, weight (in_features, out_features): one node


# ---------------------------------------------------------------- normalisation, GELU, 2-d
# dropout, upsampling: torch's functions, arguments and layouts (channels on axis 1)

_SQRT_HALF = 0.7071067811865476  # 1 / sqrt(2)


def gelu(input: Any, approximate: str = "none") -> Value:
    """GELU, ``x * Phi(x)`` with Phi the standard normal CDF: ``0.5 x (1 + erf(x / sqrt(2)))``
    (torch's default), or its tanh approximation with ``approximate="tanh"`` (``Value.gelu``).

    >>> round(gelu(Value(1.0)).item(), 6), round(gelu(Value(1.0), approximate="tanh").item(), 6)
    (0.841345, 0.841192)
    """
    x = as_value(input)
    if approximate == "tanh":
        return x.gelu()
    if approximate != "none":
        raise ArgumentError(
            f"gelu: approximate={approximate!r}; choose 'none' (exact, with erf) or 'tanh'"
        )
    return 0.5 * x * (1.0 + (x * _SQRT_HALF).erf())


def batch_norm(
    input: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Value:
    """Batch normalisation of ``input`` (N, C, ...) per channel C, as ``torch.nn.functional``.

    ``training=True`` normalises with the batch's mean and biased variance over every axis
    but the channel axis, and updates ``running_mean`` and ``running_var`` in place (when
    given) by ``(1 - momentum) * running + momentum * batch``, the variance unbiased (divided
    by n - 1) as torch does. ``training=False`` normalises with the running statistics.
    Then ``weight`` and ``bias`` (C,) scale and shift each channel.

    >>> x = Value(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> mean, var = np.zeros(2), np.ones(2)
    >>> batch_norm(x, mean, var, training=True, eps=0.0).data
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> mean, var      # 0.1 of the batch's mean and of its unbiased variance (2 and 200)
    (array([0.2, 2. ]), array([ 1.1, 20.9]))
    """
    x = as_value(input)
    name = "batch_norm"
    if x.ndim < 2:
        raise ShapeError(
            f"{name}: input of shape {x.shape} needs a batch axis and a channel axis (N, C, ...)"
        )
    channels = x.shape[1]
    running_mean = _channel_stat(running_mean, "running_mean", channels, x, name)
    running_var = _channel_stat(running_var, "running_var", channels, x, name)
    weight = _channel_param(weight, "weight", channels, x, name)
    bias = _channel_param(bias, "bias", channels, x, name)
    eps = _non_negative(eps, "eps", name)
    shape = (channels,) + (1,) * (x.ndim - 2)  # per channel, broadcasting over (N, C, ...)
    if not training:
        if running_mean is None or running_var is None:
            raise ArgumentError(
                f"{name}: training=False normalises with running_mean and running_var; pass "
                "both, or training=True to normalise with the batch's own statistics"
            )
        # y = (x - mean) rstd w + b = x scale + shift: two passes over x, as torch computes it
        scale: Any = 1.0 / np.sqrt(running_var + eps)  # (C,)
        if weight is not None:
            scale = weight * scale
        shift = -running_mean * scale
        if bias is not None:
            shift = shift + bias
        return x * _per_channel(scale, shape) + _per_channel(shift, shape)
    momentum = _non_negative(momentum, "momentum", name)
    axes = (0, *range(2, x.ndim))  # every axis but the channels'
    count = x.size // channels  # values per channel
    if count < 2:
        raise ShapeError(
            f"{name}: training needs more than one value per channel to take a variance; input "
            f"of shape {x.shape} has {count}. Use a batch of 2 or more, or eval mode"
        )
    y = functions.standardize(x, axes, eps)
    if running_mean is not None or running_var is not None:
        # an effect: a traced step (tl.jit) updates the statistics on replay too
        effect(update_running_stats, x, axes, count, running_mean, running_var, momentum)
    if weight is not None:
        y = y * _per_channel(weight, shape)
    if bias is not None:
        y = y + _per_channel(bias, shape)
    return y


def layer_norm(
    input: Any,
    normalized_shape: int | Sequence[int],
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Value:
    """Layer normalisation: each sample standardized over its last axes, those of
    ``normalized_shape`` (mean and biased variance), then scaled by ``weight`` and shifted by
    ``bias`` (both of ``normalized_shape``), as ``torch.nn.functional.layer_norm``.

    >>> layer_norm(Value(np.array([[1.0, 2.0, 3.0]])), 3, eps=0.0).data.round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """
    name = "layer_norm"
    x = as_value(input)
    shape = _shape_tuple(normalized_shape, name)
    k = len(shape)
    if x.shape[x.ndim - k :] != shape or k > x.ndim:
        raise ShapeError(
            f"{name}: input of shape {x.shape} does not end in normalized_shape {shape}; "
            "normalized_shape names the last axes of the input (e.g. the features)"
        )
    for what, p in (("weight", weight), ("bias", bias)):
        if p is not None and np.shape(p.data if isinstance(p, Value) else p) != shape:
            raise ShapeError(
                f"{name}: {what} has shape {np.shape(p.data if isinstance(p, Value) else p)}; "
                f"it must be normalized_shape {shape}"
            )
    y = functions.standardize(x, tuple(range(x.ndim - k, x.ndim)), _non_negative(eps, "eps", name))
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def dropout2d(input: Any, p: float = 0.5, training: bool = True) -> Value:
    """Channel dropout: zero whole channels of (N, C, H, W) with probability ``p`` and scale
    the others by 1/(1-p), so the expected value is kept; the identity when not training.

    A 3-D input is read as (N, C, L), as torch does today. Draws from ``tl.rng()``.
    """
    p = check_probability(p, "dropout2d")
    x = as_value(input)
    if x.ndim not in (3, 4):
        raise ShapeError(
            f"dropout2d: input of shape {x.shape}; expected (N, C, H, W) or (N, C, L). For "
            "element-wise dropout use dropout"
        )
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    shape, dtype = x.shape[:2] + (1,) * (x.ndim - 2), x.dtype  # (N, C, 1, 1): per channel

    def draw() -> Any:  # a random leaf: a traced step (tl.jit) draws a fresh mask on replay
        keep = rng().random(shape) >= p
        return keep.astype(dtype) * (1.0 / (1.0 - p))

    return x * random_leaf(draw)


def interpolate(input: Any, scale_factor: int | Sequence[int], mode: str = "nearest") -> Value:
    """Upsample (N, C, *spatial) by whole ``scale_factor`` s (one, or one per spatial axis),
    repeating each element s times along each axis (``mode="nearest"``, the one mode here).

    >>> interpolate(Value(np.array([[[1.0, 2.0]]])), 2).data
    array([[[1., 1., 2., 2.]]])
    """
    x = as_value(input)
    if x.ndim < 3:
        raise ShapeError(
            f"interpolate: input of shape {x.shape}; expected (N, C, L), (N, C, H, W) or "
            "(N, C, D, H, W): a batch axis, a channel axis, then the axes to upsample"
        )
    spatial = x.shape[2:]
    factors = check_upsampling(scale_factor, mode, "interpolate", len(spatial))
    if all(s == 1 for s in factors):
        return x
    # one node: each element repeated, its gradient the sum over each s x s block
    return apply(OPS["upsample"], factors, x)


def check_upsampling(
    scale_factor: Any, mode: str, op: str, axes: int | None = None
) -> tuple[int, ...]:
    """The whole factors (>= 1) of ``scale_factor``, one per spatial axis when their number
    ``axes`` is given; ArgumentError for a mode other than "nearest" or another factor."""
    if mode != "nearest":
        raise ArgumentError(
            f"{op}: mode={mode!r} is not supported; only 'nearest' (repeat each element)"
        )
    several = isinstance(scale_factor, (tuple, list))
    factors = tuple(scale_factor) if several else (scale_factor,)
    for s in factors:
        number = isinstance(s, (int, float, np.integer, np.floating)) and not isinstance(s, bool)
        if not number or not np.isfinite(s) or s != int(s) or s < 1:
            raise ArgumentError(
                f"{op}: scale_factor={scale_factor!r}: only whole factors >= 1 are supported "
                "(nearest-neighbour upsampling repeats each element s times)"
            )
    if axes is None:
        return tuple(int(s) for s in factors)
    if several and len(factors) != axes:
        raise ShapeError(
            f"{op}: scale_factor={scale_factor!r} gives {len(factors)} factors for {axes} "
            "spatial axes; give one number, or one per spatial axis"
        )
    return tuple(int(s) for s in factors) * (1 if several else axes)


def _channel_stat(stat: Any, what: str, channels: int, x: Value, op: str) -> np.ndarray | None:
    """A running statistic: None, or a float array of shape (C,) (updated in place)."""
    if stat is None:
        return None
    arr = stat.data if isinstance(stat, Value) else stat
    if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":
        raise ArgumentError(
            f"{op}: {what} must be a float NumPy array of shape ({channels},) or None; got "
            f"{type(arr).__name__}"
        )
    if arr.shape != (channels,):
        raise ShapeError(
            f"{op}: {what} has shape {arr.shape} but the input {x.shape} has {channels} "
            f"channels (axis 1); it must have shape ({channels},)"
        )
    return arr


def _channel_param(p: Any, what: str, channels: int, x: Value, op: str) -> Any:
    """``weight`` or ``bias``: None, or a Value or an array of shape (C,)."""
    if p is None:
        return None
    given = np.shape(p.data if isinstance(p, Value) else p)
    if given != (channels,):
        raise ShapeError(
            f"{op}: {what} has shape {given} but the input {x.shape} has {channels} channels "
            f"(axis 1); it must have shape ({channels},)"
        )
    return p if isinstance(p, Value) else np.asarray(p, dtype=x.dtype)


def _per_channel(p: Any, shape: tuple[int, ...]) -> Any:
    """A (C,) Value or array reshaped to broadcast over (N, C, ...)."""
    return p.reshape(shape) if isinstance(p, Value) else np.reshape(p, shape)


def update_running_stats(
    data: np.ndarray,
    axes: tuple[int, ...],
    count: int,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    momentum: float,
) -> None:
    """running = (1 - momentum) running + momentum batch, in place; the variance unbiased."""
    mean = data.mean(axis=axes)  # (C,)
    if running_mean is not None:
        running_mean *= 1.0 - momentum
        running_mean += momentum * mean
    if running_var is not None:
        shape = (len(mean),) + (1,) * (data.ndim - 2)
        var = np.square(data - mean.reshape(shape)).sum(axis=axes) / (count - 1)
        running_var *= 1.0 - momentum
        running_var += momentum * var


def _non_negative(x: Any, what: str, op: str) -> float:
    try:
        value = float(x)
    except (TypeError, ValueError):
        raise ArgumentError(f"{op}: {what}={x!r} must be a number >= 0") from None
    if not value >= 0.0:
        raise ArgumentError(f"{op}: {what}={x!r} must be a number >= 0")
    return value


def _shape_tuple(shape: Any, op: str) -> tuple[int, ...]:
    """An int or a sequence of ints as a shape tuple of positive sizes."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not dims or not all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in dims
    ):
        raise ShapeError(
            f"{op}: normalized_shape={shape!r} must be a positive int or a tuple of them"
        )
    return tuple(int(d) for d in dims)


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
    z = as_value(logits, "cross_entropy")
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ShapeError(
            f"{name}: logits of shape {z.shape} have no class axis with a class on it; give "
            "one score per class on the last axis: (classes,) or (N, classes)"
        )
    if z.size == 0 and reduction == "mean":  # no sample: as mean() of nothing, nan and a warning
        return _reduce(cross_entropy(z, labels, "none"), "mean")
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
        if isinstance(p, (str, bytes)):
            raise TypeError(op)
        value = float(p)
    except (TypeError, ValueError, OverflowError):
        raise ArgumentError(f"{op}: p={p!r} must be a number in [0, 1]") from None
    if not 0.0 <= value <= 1.0:
        raise ArgumentError(f"{op}: p={p!r} must be a probability in [0, 1]")
    return value


def _check_reduction(reduction: str, loss: str) -> None:
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ArgumentError(f"{loss}: reduction={reduction!r}; choose one of {REDUCTIONS}")


def _reduce(loss: Value, reduction: str) -> Value:
    if reduction == "none" or loss.ndim == 0:
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _constant_like(data: Any, like: Value, loss: str) -> Value:
    """A target as a constant Value of ``like``'s kind: a Python float, or its dtype."""
    raw = constant(loss, data).data
    if type(like.data) is float and np.ndim(raw) == 0:
        raw = float(raw)
    elif type(like.data) is not float and type(raw) is not float and raw.dtype != like.dtype:
        raw = raw.astype(like.dtype)
    return Value(raw, requires_grad=False)


def _pair(input: Any, target: Any, loss: str, reduction: str) -> tuple[Value, Value]:
    """The prediction and the target of an elementwise loss, checked to have one shape."""
    _check_reduction(reduction, loss)
    x = as_value(input, loss)
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
    try:
        given = raw.shape if type(raw) is np.ndarray else np.shape(raw)
    except ValueError:  # ragged lists
        raise ShapeError(f"{loss}: labels {raw!r} are ragged; give one label per row") from None
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


# ---------------------------------------------------------------- embeddings


def embedding(ids: Any, weight: Value, padding_idx: int | None = None) -> Value:
    """Rows of ``weight`` (num_embeddings, dim) at the integer ``ids``: shape ``(*ids.shape, dim)``.

    The backward adds each position's gradient into its row (repeated ids add up); the row
    ``padding_idx`` gets no gradient, as in PyTorch.

    >>> w = Value(np.arange(6.0).reshape(3, 2))
    >>> embedding([2, 0, 2], w).data.tolist()
    [[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]
    """
    if not isinstance(weight, Value) or weight.ndim != 2:
        shape = weight.shape if isinstance(weight, Value) else np.shape(weight)
        raise ShapeError(f"embedding: weight must be a 2-d Value (num, dim); got shape {shape}")
    num = weight.shape[0]
    index = check_token_ids(ids, num, "embedding")
    pad = check_padding_idx(padding_idx, num)
    rows = weight[index]  # (*ids.shape, dim)
    if pad is None or not np.any(index == pad):
        return rows
    # the padding positions read the row as a constant, so no gradient reaches it
    return functions.where((index == pad)[..., None], weight.data[pad], rows)


def check_token_ids(ids: Any, num_embeddings: int, layer: str) -> np.ndarray:
    """``ids`` as an integer array in [0, num_embeddings), or a named error."""
    raw = np.asarray(ids.data if isinstance(ids, Value) else ids)
    if raw.dtype.kind not in "iu":
        raise DTypeError(
            f"{layer}: token ids must be integers; got dtype {raw.dtype} "
            f"(convert with ids.astype(np.int64) if they are whole numbers)"
        )
    if raw.size and (raw.min() < 0 or raw.max() >= num_embeddings):
        raise IndexingError(
            f"{layer}: token ids range over [{raw.min()}, {raw.max()}] but the table has "
            f"{num_embeddings} rows (ids 0 to {num_embeddings - 1}); grow num_embeddings or "
            "map unknown tokens to a reserved id"
        )
    return raw


def check_padding_idx(padding_idx: Any, num_embeddings: int) -> int | None:
    """``padding_idx`` as a row in [0, num_embeddings) (negative counts from the end), or None."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise ArgumentError(f"Embedding: padding_idx={padding_idx!r} must be an int or None")
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise IndexingError(
            f"Embedding: padding_idx={padding_idx} is outside the table's {num_embeddings} rows "
            f"(use 0 to {num_embeddings - 1}, or a negative index from the end)"
        )
    return int(padding_idx) % num_embeddings


# ---------------------------------------------------------------- attention


def scaled_dot_product_attention(
    query: Any, key: Any, value: Any, attn_mask: Any = None, is_causal: bool = False
) -> Value:
    """softmax(q k^T / sqrt(E) + mask) v, over the last two axes, as ``torch``'s function.

    ``query`` (..., L, E), ``key`` (..., S, E), ``value`` (..., S, Ev) give (..., L, Ev); leading
    axes broadcast. ``attn_mask`` (broadcasting to (..., L, S)) is a bool mask where True marks
    the pairs that take part, or a float mask added to the scores (``-inf`` shuts a pair out);
    ``is_causal=True`` lets position i see positions 0..i only.

    >>> q = Value(np.eye(2)[None])  # (1, 2, 2)
    >>> out = scaled_dot_product_attention(q, q, Value(np.array([[[1.0], [3.0]]])), is_causal=True)
    >>> out.data[0, :, 0].round(4).tolist()  # the first position sees only itself
    [1.0, 2.3395]
    """
    out, _ = attention(query, key, value, attn_mask, is_causal, "scaled_dot_product_attention")
    return out


def attention(
    query: Any, key: Any, value: Any, attn_mask: Any, is_causal: bool, op: str
) -> tuple[Value, Value]:
    """``scaled_dot_product_attention`` and its weights softmax(q k^T / sqrt(E) + mask)."""
    q, k, v = as_value(query), as_value(key), as_value(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ShapeError(
            f"{op}: query {q.shape}, key {k.shape} and value {v.shape} need at least 2 axes "
            "(..., length, features)"
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(
            f"{op}: query {q.shape} and key {k.shape} must share the feature size (last axis), "
            f"key and value {v.shape} the source length (second to last axis)"
        )
    length, source = q.shape[-2], k.shape[-2]
    axes = list(range(k.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    scores = (q @ k.transpose(*axes)) * (1.0 / np.sqrt(q.shape[-1]))  # (..., L, S)
    if is_causal:
        if attn_mask is not None:
            raise ArgumentError(f"{op}: give attn_mask or is_causal=True, not both")
        attn_mask = np.tril(np.ones((length, source), dtype=bool))
    if attn_mask is not None:
        mask = np.asarray(attn_mask.data if isinstance(attn_mask, Value) else attn_mask)
        try:
            np.broadcast_shapes(mask.shape, scores.shape)
        except ValueError:
            raise ShapeError(
                f"{op}: attn_mask has shape {mask.shape} but the scores have shape "
                f"{scores.shape} (..., L, S); give a mask of shape (L, S) = {(length, source)} "
                "or one that broadcasts to the scores"
            ) from None
        if mask.dtype == np.bool_:
            scores = functions.where(mask, scores, -np.inf)
        else:
            scores = scores + mask.astype(scores.dtype)
    weights = scores.softmax(axis=-1)  # (..., L, S)
    return weights @ v, weights


def multi_head_attention(
    query: Any, key: Any = None, value: Any = None, *, num_heads: int, mask: Any = None
) -> Value:
    """Every head's softmax(q k^T / sqrt(d) + mask) v in one node (the ``attention`` row),
    with the heads side by side in the features: head j owns features j d .. (j + 1) d - 1,
    d = E / num_heads, as ``MultiheadAttention`` lays them out.

    ``query`` (N, L, E), ``key`` and ``value`` (N, S, E); or ``query`` alone (N, L, 3E): the
    queries, keys and values of self-attention side by side, so the heads are read in place
    with no split. ``mask``: a float array added to the scores, broadcasting to
    (N, num_heads, L, S). Gives (N, L, E): the same numbers as splitting the heads and calling
    ``scaled_dot_product_attention`` on each, with fewer nodes and copies.

    >>> qkv = Value(np.ones((1, 3, 12)))  # (N, L, 3E): E = 4 as 2 heads of 2
    >>> multi_head_attention(qkv, num_heads=2).shape
    (1, 3, 4)
    """
    name = "multi_head_attention"
    if isinstance(num_heads, bool) or not isinstance(num_heads, (int, np.integer)) or num_heads < 1:
        raise ArgumentError(f"{name}: num_heads={num_heads!r} must be a positive whole number")
    packed = key is None and value is None
    if (key is None) != (value is None):
        raise ArgumentError(f"{name}: give key and value both, or neither (packed query)")
    xs = [as_value(x, name) for x in ((query,) if packed else (query, key, value))]
    if any(x.ndim != 3 for x in xs):
        raise ShapeError(
            f"{name}: inputs of shapes {[x.shape for x in xs]} must be 3-d: (N, L, 3E) packed, "
            "or query (N, L, E) with key and value (N, S, E)"
        )
    e = xs[0].shape[-1] // 3 if packed else xs[0].shape[-1]
    n, length, source = xs[0].shape[0], xs[0].shape[1], xs[-1].shape[1]
    if packed and xs[0].shape[-1] % 3:
        raise ShapeError(f"{name}: packed input {xs[0].shape} must end in 3E (q, k, v)")
    if not packed and not (
        all(x.shape[0] == n and x.shape[-1] == e for x in xs) and xs[1].shape == xs[2].shape
    ):
        raise ShapeError(
            f"{name}: query {xs[0].shape}, key {xs[1].shape} and value {xs[2].shape} must be "
            "(N, L, E), (N, S, E) and (N, S, E)"
        )
    if e % num_heads:
        raise ArgumentError(f"{name}: {e} features do not split into num_heads={num_heads}")
    m = None
    if mask is not None:
        m = np.asarray(mask.data if isinstance(mask, Value) else mask)
        if m.dtype.kind != "f":
            raise DTypeError(f"{name}: mask has dtype {m.dtype}; give a float mask (-inf hides)")
        try:
            np.broadcast_shapes(m.shape, (n, num_heads, length, source))
        except ValueError:
            raise ShapeError(
                f"{name}: mask {m.shape} does not broadcast to the scores "
                f"(N, num_heads, L, S) = {(n, num_heads, length, source)}"
            ) from None
        m = m.astype(xs[0].dtype)
    static = (int(num_heads), 1.0 / float(np.sqrt(e // num_heads)), m, Kept())
    return apply(OPS["attention"], Attention(*static), *xs)
