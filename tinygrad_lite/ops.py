"""The op table: every primitive's forward rule and backward rule (its vector-Jacobian
product), side by side.

A forward rule is ``forward(ctx, *inputs) -> output`` on raw data (Python floats or ndarrays);
``ctx`` holds the op's static arguments (an axis, an index, an exponent), recorded once when the
node is made.

A backward rule is ``backward(ctx, g, out, *inputs) -> one gradient per input`` (``None`` for
an input that has no gradient). It is written once and runs in two modes:

* raw mode (``backward()``): ``g``, ``out`` and the inputs are raw data; nothing is recorded;
* graph mode (``tl.grad(..., create_graph=True)``): they are Values, so the same rule builds a
  differentiable graph of the gradient, which gives higher-order derivatives for free.

Rules therefore use operators (``+ - * / ** @``), methods that Values and ndarrays share
(``.sum .reshape .transpose .shape``) and the few helpers below that pick the right
implementation for each mode. Gradients come back in the shape the rule finds natural; the
engine sums broadcast axes away in one place (``shapes.fit_grad``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .shapes import fit_grad, ndarray, unbroadcast

Rule = Callable[..., Any]


class Op(NamedTuple):
    name: str
    forward: Rule
    backward: Rule
    constant: int | None = None  # for ops made by with_constant: which input is the number


# Binary rules receive ``need = (a_needs_grad, b_needs_grad)`` as their ctx and compute only
# the gradients that are needed: a matmul with data on one side does half the work.


# ---------------------------------------------------------------- helpers for both modes


def _raw(x: Any) -> bool:
    t = type(x)
    return t is float or t is ndarray


def data_of(x: Any) -> Any:
    """Raw data of a Value, or the raw data itself (masks are constants in both modes)."""
    return x if _raw(x) else x.data


def shape(x: Any) -> tuple[int, ...]:
    return () if type(x) is float else x.shape


def reshape(g: Any, new_shape: tuple[int, ...]) -> Any:
    if type(g) is float:
        return np.reshape(g, new_shape)
    return g.reshape(new_shape)  # the ndarray and the Value method


def expand(g: Any, new_shape: tuple[int, ...]) -> Any:
    """Broadcast ``g`` up to ``new_shape`` (the adjoint of summing)."""
    return np.broadcast_to(g, new_shape) if _raw(g) else g.broadcast_to(new_shape)


def reduce_to(g: Any, like: Any) -> Any:
    """Sum ``g`` down to the shape of ``like`` (the adjoint of broadcasting)."""
    return fit_grad(g, like) if _raw(g) else g.sum_to(like.shape)


def exp(x: Any) -> Any:
    return _exp(None, x) if _raw(x) else x.exp()


def log(x: Any) -> Any:
    return _log(None, x) if _raw(x) else x.log()


def softmax(x: Any, axis: int) -> Any:
    return _softmax(axis, x) if _raw(x) else x.softmax(axis)


def sigmoid(x: Any) -> Any:
    return _sigmoid(None, x) if _raw(x) else x.sigmoid()


def power(a: Any, b: Any) -> Any:
    return _pow(None, a, b) if _raw(a) and _raw(b) else a**b


def sign(x: Any) -> Any:
    d = data_of(x)
    return float((d > 0) - (d < 0)) if type(d) is float else np.sign(d)


def swap_last(x: Any) -> Any:
    """Matrix transpose of the last two axes (batched)."""
    if _raw(x):
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


def scatter(g: Any, shape: tuple[int, ...], index: Any) -> Any:
    """A zero array of ``shape`` with ``g`` added at ``index`` (the adjoint of indexing)."""
    if not _raw(g):
        return g.scatter_to(shape, index)
    return _scatter((shape, index, np.asarray(g).dtype), g)


# ---------------------------------------------------------------- elementwise, two inputs


def _div(ctx: Any, a: Any, b: Any) -> Any:
    try:
        return a / b
    except ZeroDivisionError:  # Python floats: follow IEEE 754 as NumPy and torch do
        with np.errstate(all="ignore"):
            return float(np.float64(a) / b)


def _pow(ctx: Any, a: Any, b: Any) -> Any:
    if type(a) is not float or type(b) is not float:
        return a**b
    try:
        r = a**b
    except (ZeroDivisionError, OverflowError):
        with np.errstate(all="ignore"):
            return float(np.float64(a) ** b)
    return r if type(r) is float else math.nan  # (-8.0) ** (1/3) is complex in Python


def _mul_backward(need: tuple[bool, bool], g: Any, out: Any, a: Any, b: Any) -> Any:
    return (g * b if need[0] else None, g * a if need[1] else None)


def _div_backward(need: tuple[bool, bool], g: Any, out: Any, a: Any, b: Any) -> Any:
    # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -out/b
    return (g / b if need[0] else None, -g * out / b if need[1] else None)


def _pow_backward(need: tuple[bool, bool], g: Any, out: Any, a: Any, b: Any) -> Any:
    ga = g * b * power(a, b - 1.0) if need[0] else None
    gb = g * out * log(a) if need[1] else None
    return ga, gb


def _matmul_backward(need: tuple[bool, bool], g: Any, out: Any, a: Any, b: Any) -> Any:
    # (..., n, k) @ (..., k, m): da = g @ b^T, db = a^T @ g; batch axes summed by the engine
    return (g @ swap_last(b) if need[0] else None, swap_last(a) @ g if need[1] else None)


# ---------------------------------------------------------------- elementwise, one input


def _exp(ctx: Any, x: Any) -> Any:
    if type(x) is not float:
        return np.exp(x)
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(ctx: Any, x: Any) -> Any:
    if type(x) is not float:
        return np.log(x)
    return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)


def _sqrt(ctx: Any, x: Any) -> Any:
    if type(x) is not float:
        return np.sqrt(x)
    return math.sqrt(x) if x >= 0 else math.nan


def _tanh(ctx: Any, x: Any) -> Any:
    return math.tanh(x) if type(x) is float else np.tanh(x)


def _sigmoid(ctx: Any, x: Any) -> Any:
    # exp of minus |x| never overflows; the two branches are the same function
    if type(x) is float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    if x.ndim == 0:
        with np.errstate(over="ignore"):  # exp(-x) = inf for very negative x: 1 / inf = 0
            return 1 / (1 + np.exp(-x))
    e = np.negative(x)
    with np.errstate(over="ignore"):
        np.exp(e, out=e)
    e += 1
    return np.reciprocal(e, out=e)  # in place: one array instead of four


def _sigmoid_backward(g: Any, o: Any) -> Any:
    # g * o * (1 - o), written into one new array: ``*=`` is in place on an ndarray and an
    # ordinary product on a Value or a float, so the rule still runs in both modes
    local = 1.0 - o
    local *= o
    local *= g
    return local


def _relu(ctx: Any, x: Any) -> Any:
    if type(x) is float:
        return x if x > 0.0 else 0.0
    return np.maximum(x, 0)


def _leaky_relu(slope: float, x: Any) -> Any:
    if type(x) is float:
        return x if x > 0.0 else slope * x
    return np.where(x > 0, x, x * slope)


def _leaky_slope(slope: float, x: Any) -> Any:
    d = data_of(x)
    if type(d) is float:
        return 1.0 if d > 0.0 else slope
    return np.where(d > 0, 1.0, slope).astype(d.dtype)


def _clip(bounds: tuple[float | None, float | None], x: Any) -> Any:
    lo, hi = bounds
    if type(x) is float:
        if lo is not None and x < lo:
            return float(lo)
        return float(hi) if hi is not None and x > hi else x
    return np.clip(x, lo, hi)


def _inside(bounds: tuple[float | None, float | None], x: Any) -> Any:
    lo, hi = bounds
    d = data_of(x)
    inside = (d >= (-math.inf if lo is None else lo)) & (d <= (math.inf if hi is None else hi))
    return float(inside) if type(d) is float else inside


# ---------------------------------------------------------------- reductions and softmax


def _sum(ctx: tuple[Any, bool], x: Any) -> Any:
    axis, keepdims = ctx
    return np.sum(x, axis=axis, keepdims=keepdims)


def _sum_backward(ctx: tuple[Any, bool], g: Any, out: Any, x: Any) -> Any:
    axis, keepdims = ctx
    return (expand(reshape(g, keepdims_shape(shape(x), axis)), shape(x)),)


def _max(ctx: tuple[Any, bool], x: Any) -> Any:
    axis, keepdims = ctx
    return np.max(x, axis=axis, keepdims=keepdims)


def _max_backward(ctx: tuple[Any, bool], g: Any, out: Any, x: Any) -> Any:
    # every element equal to the maximum shares the gradient equally (like torch.amax)
    axis, _ = ctx
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


# ---------------------------------------------------------------- shapes and indexing


def _transpose_backward(axes: tuple[int, ...], g: Any, out: Any, x: Any) -> Any:
    return (g.transpose(tuple(int(i) for i in np.argsort(axes))),)


def _has_array_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, ndarray) and p.dtype.kind in "iu" for p in parts)


def _scatter(ctx: tuple[tuple[int, ...], Any, Any], g: Any) -> Any:
    shape, index, dtype = ctx
    z = np.zeros(shape, dtype=dtype if dtype is not None else np.asarray(g).dtype)
    if _has_array_index(index):
        np.add.at(z, index, g)  # repeated integer indices add up
    else:
        z[index] = g  # basic and boolean indices touch each element at most once
    return z


def _concat_backward(axis: int, g: Any, out: Any, *xs: Any) -> Any:
    grads, start = [], 0
    for x in xs:
        n = x.shape[axis]
        idx = (slice(None),) * (axis % out.ndim) + (slice(start, start + n),)
        grads.append(g[idx])
        start += n
    return tuple(grads)


# ---------------------------------------------------------------- the scalar neuron


def _weighted_sum(n: int, *wxb: Any) -> Any:
    # wxb = (w_1 .. w_n, x_1 .. x_n[, b]); Python floats in, a Python float out
    total = wxb[2 * n] if len(wxb) > 2 * n else 0.0
    for w, x in zip(wxb[:n], wxb[n : 2 * n]):
        total += w * x
    return total


def _weighted_sum_backward(n: int, g: Any, out: Any, *wxb: Any) -> Any:
    # dz/dw_k = x_k, dz/dx_k = w_k, dz/db = 1
    ws, xs = wxb[:n], wxb[n : 2 * n]
    return (*[g * x for x in xs], *[g * w for w in ws], *([g] if len(wxb) > 2 * n else []))


# ---------------------------------------------------------------- fused rules
# One node for a pattern every network has: the same numbers as the composite, fewer nodes and
# fewer temporaries. Each is gradchecked like the rest (tests/op_specs.py).


def _linear(need: tuple[bool, ...], x: Any, w: Any, b: Any = None) -> Any:
    out = x @ w
    if b is not None:
        out += b  # in place: saves a temporary the size of the output
    return out


def _linear_backward(
    need: tuple[bool, ...], g: Any, out: Any, x: Any, w: Any, b: Any = None
) -> Any:
    # out = x W + b: dx = g W^T, dW = x^T g (batch axes folded into rows), db = g summed over rows
    x_shape = x.shape
    if len(x_shape) != 2:  # fold batch axes into rows (or make one row of a single sample)
        n_in, n_out = w.shape
        x, g = reshape(x, (-1, n_in)), reshape(g, (-1, n_out))
    gx = g @ w.T if need[0] else None  # .T: every operand here is a matrix
    if gx is not None and len(x_shape) != 2:
        gx = reshape(gx, x_shape)
    gw = x.T @ g if need[1] else None
    if b is None:
        return gx, gw
    return gx, gw, g.sum(axis=0) if need[2] else None


class Saved:
    """An array a forward rule made that its backward rule can reuse, with the input it came from.

    The fused cross-entropy keeps its softmax here: its backward is then ``p - one_hot`` written
    into ``p``, with no second softmax. ``take`` hands the array over once, and only to a
    backward of the same input array; a second backward, or a forward re-run on other inputs
    (``testing.explain`` does that), makes the rule recompute.
    """

    __slots__ = ("source", "array")

    def __init__(self) -> None:
        self.source: Any = None
        self.array: Any = None

    def keep(self, source: Any, array: Any) -> None:
        self.source, self.array = source, array

    def take(self, source: Any) -> Any:
        """The kept array if it was made from ``source`` (then forgotten), else None."""
        if self.source is not source or self.source is None:
            return None
        array, self.source, self.array = self.array, None, None
        return array


# exp(-20): a row whose exponentials (shifted by the batch's largest logit) sum to less has
# all its terms far below that logit, where float32's exp would lose its smallest ones to zero
_FAR_BELOW = math.exp(-20.0)


def _softmax_cross_entropy(target: tuple[Any, Any, str, Saved], x: Any) -> Any:
    # -log softmax(x)[label] (labels) or -sum(t * log softmax(x)) (distributions), per sample,
    # then reduced: "mean" over the samples, "sum", or "none". With s = x - max(x) and
    # e = exp(s): -log softmax(x)[k] = log(sum(e)) - s[k]; e / sum(e) is kept for backward.
    labels, dist, reduction, saved = target
    # (the reductions are called on their ufuncs: the forward rule only ever sees arrays)
    s = x - np.maximum.reduce(x, axis=None)  # one shift for all rows: a max per row is slow
    e = np.exp(s)
    sums = np.add.reduce(e, axis=-1)
    if not np.minimum.reduce(sums, axis=None) >= _FAR_BELOW:  # a row far below (or nan, inf)
        s = x - x.max(axis=-1, keepdims=True)  # shift each row by its own largest logit
        e = np.exp(s)
        sums = e.sum(axis=-1)
    if labels is None:
        picked = (s * dist).sum(axis=-1)
    elif s.ndim == 2:
        picked = s[np.arange(len(labels)), labels]
    else:
        picked = np.take_along_axis(s, labels[..., None], axis=-1)[..., 0]
    log_sums = np.log(sums)
    losses = log_sums * dist.sum(axis=-1) - picked if labels is None else log_sums - picked
    e /= sums[..., None]
    saved.keep(x, e)
    if reduction == "none":
        return losses
    total = np.add.reduce(losses, axis=None)  # what .sum() and .mean() do, without their wrappers
    return total / losses.size if reduction == "mean" else total


def _softmax_cross_entropy_backward(
    target: tuple[Any, Any, str, Saved], g: Any, out: Any, x: Any
) -> Any:
    # d/dx = softmax(x) - one_hot(labels), or softmax(x) * sum(t) - t (distributions)
    labels, dist, reduction, saved = target
    p = saved.take(x) if _raw(x) else None  # the forward's softmax, ours to write into
    if p is None:
        p = softmax(x, -1)
    if labels is None:
        local = p * dist.sum(axis=-1, keepdims=True) - dist
    elif _raw(p) and p.ndim == 2:
        p[np.arange(len(labels)), labels] -= 1  # p is this rule's own array: in place
        local = p
    else:
        local = p - (labels[..., None] == np.arange(shape(x)[-1]))
    if reduction == "none":
        g = reshape(g, (*shape(g), 1))
    elif reduction == "mean":
        g = g / (local.size // shape(x)[-1])  # the number of samples
    if _raw(local):  # raw mode: local is this rule's own array, so scale it in place
        local *= g
        return (local,)
    return (g * local,)


def _bce_with_logits(t: Any, z: Any) -> Any:
    # softplus(z) - t z, written so that exp never overflows
    return np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))


# ---------------------------------------------------------------- the table

_binary = [
    Op("add", lambda c, a, b: a + b, lambda c, g, o, a, b: (g, g)),
    Op("sub", lambda c, a, b: a - b, lambda c, g, o, a, b: (g, -g)),
    Op("mul", lambda c, a, b: a * b, _mul_backward),
    Op("div", _div, _div_backward),
    Op("pow", _pow, _pow_backward),
    Op("matmul", lambda c, a, b: a @ b, _matmul_backward),
]
_unary = [
    Op("neg", lambda c, x: -x, lambda c, g, o, x: (-g,)),
    Op("exp", _exp, lambda c, g, o, x: (g * o,)),
    Op("log", _log, lambda c, g, o, x: (g / x,)),
    Op("sqrt", _sqrt, lambda c, g, o, x: (g * 0.5 / o,)),
    Op("abs", lambda c, x: abs(x), lambda c, g, o, x: (g * sign(x),)),
    Op("tanh", _tanh, lambda c, g, o, x: (g * (1.0 - o * o),)),
    Op("sigmoid", _sigmoid, lambda c, g, o, x: (_sigmoid_backward(g, o),)),
    Op("relu", _relu, lambda c, g, o, x: (g * (data_of(x) > 0),)),  # relu'(0) = 0
    Op("leaky_relu", _leaky_relu, lambda c, g, o, x: (g * _leaky_slope(c, x),)),
    Op("clip", _clip, lambda c, g, o, x: (g * _inside(c, x),)),
    Op("sum", _sum, _sum_backward),
    Op("max", _max, _max_backward),
    Op(
        "softmax",
        _softmax,
        lambda axis, g, o, x: (o * (g - (g * o).sum(axis=axis, keepdims=True)),),
    ),
    Op(
        "log_softmax",
        _log_softmax,
        lambda axis, g, o, x: (g - exp(o) * g.sum(axis=axis, keepdims=True),),
    ),
    Op(
        "reshape", lambda shape, x: np.reshape(x, shape), lambda c, g, o, x: (reshape(g, shape(x)),)
    ),
    Op("transpose", lambda axes, x: np.transpose(x, axes), _transpose_backward),
    Op("getitem", lambda index, x: x[index], lambda c, g, o, x: (scatter(g, x.shape, c),)),
    Op("scatter", _scatter, lambda c, g, o, x: (g[c[1]],)),
    Op(
        "broadcast_to",
        lambda shape, x: np.broadcast_to(x, shape),
        lambda c, g, o, x: (reduce_to(g, x),),
    ),
    Op(
        "sum_to",
        lambda shape, x: unbroadcast(x, shape),
        lambda c, g, o, x: (expand(g, shape(x)),),
    ),
]
_nary = [
    Op("concat", lambda axis, *xs: np.concatenate(xs, axis=axis), _concat_backward),
    Op(
        "where",
        lambda cond, a, b: np.where(cond, a, b),
        lambda cond, g, o, a, b: (g * cond, g * ~cond),
    ),
    Op("weighted_sum", _weighted_sum, _weighted_sum_backward),
    Op("linear", _linear, _linear_backward),
    Op("softmax_cross_entropy", _softmax_cross_entropy, _softmax_cross_entropy_backward),
    Op("bce_with_logits", _bce_with_logits, lambda t, g, o, z: (g * (sigmoid(z) - t),)),
]

OPS: dict[str, Op] = {op.name: op for op in _binary + _unary + _nary}


# The most common cases written out: x + c, c + x, x - c, c - x, x * c, c * x. They are the
# two-input rules above with the constant's row dropped, and skip one call per node (W4, W5).
_CONSTANT_RULES: dict[tuple[str, int], Rule] = {
    ("add", 0): lambda c, g, o, x: (g,),
    ("add", 1): lambda c, g, o, x: (g,),
    ("sub", 0): lambda c, g, o, x: (-g,),
    ("sub", 1): lambda c, g, o, x: (g,),
    ("mul", 0): lambda c, g, o, x: (g * c,),
    ("mul", 1): lambda c, g, o, x: (g * c,),
}


def with_constant(op: Op, side: int) -> Op:
    """``op`` with input ``side`` (0 or 1) fixed to a Python number that the node keeps as its
    ctx: ``x + 1.0`` is one node with one parent, not two nodes. Same rules, no new math."""
    if side == 1:
        need = (True, False)
        forward = lambda c, x: op.forward(need, x, c)
        backward = lambda c, g, o, x: op.backward(need, g, o, x, c)[:1]
    else:
        need = (False, True)
        forward = lambda c, x: op.forward(need, c, x)
        backward = lambda c, g, o, x: op.backward(need, g, o, c, x)[1:]
    return Op(op.name, forward, _CONSTANT_RULES.get((op.name, side), backward), side)


# ``WITH_CONSTANT[side][name]``: the elementwise binary ops with a number on that side
WITH_CONSTANT: tuple[dict[str, Op], dict[str, Op]] = tuple(  # type: ignore[assignment]
    {op.name: with_constant(op, side) for op in _binary if op.name != "matmul"} for side in (0, 1)
)
