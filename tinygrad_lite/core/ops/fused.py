"""Fused rows: one node for a pattern every network has, with the same numbers as the plain
rows it replaces, fewer nodes and fewer temporaries.

Each row names its plain composite (``Op.composite``: the same op built from the other rows),
and ``tests/test_fused.py`` holds the two equal in value and gradient.

* ``linear``: ``x @ W + b``, the dense layer (W is (in_features, out_features));
* ``linear_t``: ``x @ W^T + b`` for W in torch's layout (out_features, in_features): W's
  gradient comes out in W's layout, with no transpose node between and no copy of it;
* ``feed_forward``: ``relu(x W1^T + b1) W2^T + b2``, a transformer's feed-forward block (torch's
  layouts), its hidden layer inside the node;
* ``weighted_sum``: ``w_1 x_1 + ... + w_n x_n + b`` on scalars, the books' neuron;
* ``softmax_cross_entropy``: ``-log softmax(x)[label]`` (or ``-sum(t log softmax(x))``), reduced;
* ``bce_with_logits``: ``softplus(z) - t z``, binary cross-entropy from the logits.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .elementwise import sigmoid, sigmoid_into
from .modes import data_of, is_raw, reshape, shape
from .reduce import softmax
from .row import Op, reused, scratch, temporary

# ---------------------------------------------------------------- linear


def _linear(need: tuple[bool, ...], x: Any, w: Any, b: Any = None) -> Any:
    if x.ndim > 2:  # batch axes folded into rows: one matrix product, not one per batch entry
        rows = x.reshape(-1, x.shape[-1]) @ w  # (batch * rows, out): a copy only if x is a view
        out = rows.reshape(*x.shape[:-1], w.shape[1])
    else:
        out = x @ w
    if b is not None:
        out += b  # in place: saves a temporary the size of the output
    return out


def _linear_backward(
    need: tuple[bool, ...], g: Any, out: Any, x: Any, w: Any, b: Any = None
) -> Any:
    return _dense_grads(need, g, x, w, b, False, (None, None, None))


def _linear_t_backward(
    need: tuple[bool, ...], g: Any, out: Any, x: Any, w: Any, b: Any = None
) -> Any:
    return _dense_grads(need, g, x, w.T, b, True, (None, None, None))


def _dense_grads(
    need: tuple[bool, ...], g: Any, x: Any, w: Any, b: Any, w_t: bool, bufs: Any
) -> Any:
    """The gradients of ``x @ w + b``, with ``w`` (in, out) (a view of linear_t's (out, in)
    weight, ``w_t``, whose gradient is then ``g^T x``, in its own layout): dx = g w^T,
    dW = x^T g, db = g summed over rows, batch axes folded into rows. Into ``bufs`` where
    given (a replay form's arrays); Values in graph mode (``bufs`` all None)."""
    x_shape, gx_buf = x.shape, bufs[0]
    if len(x_shape) != 2:  # fold batch axes into rows (or make one row of a single sample)
        n_in, n_out = w.shape
        x, g = reshape(x, (-1, n_in)), reshape(g, (-1, n_out))
        if gx_buf is not None:
            gx_buf = gx_buf.reshape(-1, n_in)  # (a view: the buffer is the plain rule's layout)
    gx = gw = gb = None
    if need[0]:  # .T: every operand here is a matrix
        gx = g @ w.T if gx_buf is None else np.matmul(g, w.T, out=gx_buf)
        if len(x_shape) != 2:
            gx = reshape(gx, x_shape)  # (a view of the buffer, when there is one)
    if need[1]:
        a, c = (g.T, x) if w_t else (x.T, g)
        gw = a @ c if bufs[1] is None else np.matmul(a, c, out=bufs[1])
    if b is None:
        return gx, gw
    if need[2]:
        gb = g.sum(axis=0) if bufs[2] is None else np.add.reduce(g, axis=0, out=bufs[2])
    return gx, gw, gb


def _linear_into(need: tuple[bool, ...], out: Any, x: Any, w: Any, b: Any = None) -> Any:
    if x.ndim > 2:
        np.matmul(x.reshape(-1, x.shape[-1]), w, out=out.reshape(-1, w.shape[1]))
    else:
        np.matmul(x, w, out=out)
    if b is not None:
        out += b
    return out


def _linear_grads_into(
    need: tuple[bool, ...], g: Any, out: Any, bufs: Any, x: Any, w: Any, b: Any = None
) -> Any:
    return _dense_grads(need, g, x, w, b, False, bufs)


def _linear_t_grads_into(
    need: tuple[bool, ...], g: Any, out: Any, bufs: Any, x: Any, w: Any, b: Any = None
) -> Any:
    return _dense_grads(need, g, x, w.T, b, True, bufs)


def _linear_composite(static: Any, x: Any, w: Any, b: Any = None) -> Any:
    return x @ w if b is None else x @ w + b


def _linear_t_composite(static: Any, x: Any, w: Any, b: Any = None) -> Any:
    return _linear_composite(static, x, w.T, b)


# ---------------------------------------------------------------- the feed-forward block


class FeedForward(NamedTuple):
    """The static arguments of ``feed_forward``: which inputs need a gradient (a frozen weight's
    product is skipped), and the hidden activations the forward keeps for the backward."""

    need: tuple[bool, ...]
    kept: Kept


_EVERY = (True, True, True)  # the linear rows' forward rules compute the same either way


def _hidden(x: Any, w1: Any, b1: Any, out: Any = None) -> Any:
    """relu(x W1^T + b1): a new array (raw), ``out`` (a replay form's), or rows (Values)."""
    if not is_raw(x):
        return (x @ w1.T + b1).relu()
    h = _linear(_EVERY, x, w1.T, b1) if out is None else _linear_into(_EVERY, out, x, w1.T, b1)
    return np.maximum(h, 0, out=h)  # in place: h is this rule's own array


def _feed_forward(static: FeedForward, x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
    hidden = _hidden(x, w1, b1)
    static.kept.keep(x, hidden)
    return _linear(_EVERY, hidden, w2.T, b2)


def _feed_forward_into(
    static: FeedForward, out: Any, x: Any, w1: Any, b1: Any, w2: Any, b2: Any
) -> Any:
    shape = (*x.shape[:-1], w1.shape[0])
    hidden = _hidden(x, w1, b1, scratch(out, "hidden", shape, np.result_type(x, w1)))
    static.kept.keep(x, hidden)
    return _linear_into(_EVERY, out, hidden, w2.T, b2)


def _feed_forward_grads(
    static: FeedForward, g: Any, out: Any, bufs: Any, x: Any, *params: Any
) -> tuple[Any, ...]:
    """The backward rule: ``linear_t``'s for the second layer, relu's mask applied in place to
    the hidden gradient (this rule's own array: no graph node holds it), ``linear_t``'s for
    the first. A replay form's when ``bufs`` is given: the hidden gradient in a scratch array
    of ``out`` and the gradients written into ``bufs``."""
    w1, b1, w2, b2 = params
    need = static.need
    hidden = static.kept.take(x) if is_raw(g) else None
    if hidden is None:  # graph mode, a second backward, or a forward re-run on other inputs
        hidden = _hidden(x, w1, b1)
    first = any(need[:3])  # the hidden gradient is needed only below the hidden layer
    owner = None if bufs is None else out  # raw: temporaries new, or a replay form's scratch
    bufs = bufs or (None,) * 5
    dh_buf = reused(owner, "d hidden", hidden.shape, np.result_type(g, w2)) if first else None
    dh, dw2, db2 = _dense_grads((first, *need[3:]), g, hidden, w2.T, b2, True, (dh_buf, *bufs[3:]))
    if not first:
        return None, None, None, dw2, db2
    if is_raw(dh):  # relu'(0) = 0, as the relu row's
        dh *= np.greater(hidden, 0, out=temporary(owner, "relu mask", hidden.shape, np.bool_))
    else:  # graph mode: the mask is a constant (relu' is 0 or 1 almost everywhere)
        dh = dh * (data_of(hidden) > 0).astype(data_of(hidden).dtype)
    return (*_dense_grads(need[:3], dh, x, w1.T, b1, True, bufs[:3]), dw2, db2)


def _feed_forward_composite(static: FeedForward, x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
    return (x @ w1.T + b1).relu() @ w2.T + b2


def _feed_forward_label(node: Any, k: int, operands: list[Any], text: Any) -> str:
    return f"x feed-forward backward ({('x', 'W1', 'b1', 'W2', 'b2')[k]})"


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


def _weighted_sum_composite(n: int, *wxb: Any) -> Any:
    total = wxb[0] * wxb[n]
    for w, x in zip(wxb[1:n], wxb[n + 1 : 2 * n]):
        total = total + w * x
    return total + wxb[2 * n] if len(wxb) > 2 * n else total


def _weighted_sum_label(node: Any, k: int, xs: list[Any], text: Any) -> str:
    n = node.static  # the number of weights
    if k < n:
        return f"x {text(xs[n + k])}"  # dz/dw_k = x_k
    return f"x {text(xs[k - n])}" if k < 2 * n else "x 1"  # dz/dx_k = w_k, dz/db = 1


# ---------------------------------------------------------------- softmax cross-entropy


class Kept:
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

    def __repr__(self) -> str:
        return "Kept()"


class Targets(NamedTuple):
    """The static arguments of ``softmax_cross_entropy``: integer class ``labels`` (shape
    ``logits.shape[:-1]``) or target ``distributions`` (the logits' shape), the reduction, and
    the softmax the forward keeps for the backward."""

    labels: Any
    distributions: Any
    reduction: str
    kept: Kept


# exp(-20): a row whose exponentials (shifted by the batch's largest logit) sum to less has
# all its terms far below that logit, where float32's exp would lose its smallest ones to zero
_FAR_BELOW = math.exp(-20.0)


def _softmax_cross_entropy(target: Targets, x: Any, owner: Any = None) -> Any:
    # -log softmax(x)[label] (labels) or -sum(t * log softmax(x)) (distributions), per sample,
    # then reduced: "mean" over the samples, "sum", or "none". With s = x - max(x) and
    # e = exp(s): -log softmax(x)[k] = log(sum(e)) - s[k]; e / sum(e) is kept for backward.
    # A replay form gives an ``owner``: s and e are then its scratch arrays (C-ordered, as s
    # and e are for C-ordered logits: the form gives the others' to this rule with no owner)
    labels, dist, reduction, kept = target
    s = e = None
    if owner is not None:
        s = scratch(owner, "shifted", x.shape, x.dtype)
        e = scratch(owner, "softmax", x.shape, x.dtype)
    # the reductions are called on their ufuncs: this rule only ever sees arrays, and
    # np.max/np.sum's dispatch costs more than the reduction of a small batch
    # one shift for all rows (a max per row is slower); initial: logits of no sample are no error
    s = np.subtract(x, np.maximum.reduce(x, axis=None, initial=-np.inf), out=s)
    e = np.exp(s, out=e)
    sums = np.add.reduce(e, axis=-1)
    # a row far below the others (or nan, inf): shift each row by itself
    if not np.minimum.reduce(sums, axis=None, initial=np.inf) >= _FAR_BELOW:
        np.subtract(x, x.max(axis=-1, keepdims=True), out=s)  # each row by its largest logit
        np.exp(s, out=e)
        sums = e.sum(axis=-1)
    if labels is None:  # (a replay form's s, C-ordered as s * dist would be, takes s * dist)
        picked = np.multiply(s, dist, out=None if owner is None else s).sum(axis=-1)
    elif s.ndim == 2:
        picked = s[np.arange(len(labels)), labels]
    else:
        picked = np.take_along_axis(s, labels[..., None], axis=-1)[..., 0]
    log_sums = np.log(sums)
    losses = log_sums * dist.sum(axis=-1) - picked if labels is None else log_sums - picked
    e /= sums[..., None]
    kept.keep(x, e)
    if reduction == "none":
        return losses
    total = np.add.reduce(losses, axis=None)
    return total / losses.size if reduction == "mean" else total


def _softmax_cross_entropy_into(target: Targets, out: Any, x: Any) -> Any:
    # the losses (a sample's number each, or one) are small: computed, then copied
    out[...] = _softmax_cross_entropy(target, x, out if x.flags.c_contiguous else None)
    return out


def _softmax_cross_entropy_backward(
    target: Targets, g: Any, out: Any, x: Any, buf: Any = None
) -> Any:
    # d/dx = softmax(x) - one_hot(labels), or softmax(x) * sum(t) - t (distributions); written
    # into ``buf`` when a replay form gives one, else into this rule's own array
    labels, dist, reduction, kept = target
    p = kept.take(x) if is_raw(x) else None  # the forward's softmax, ours to write into
    if p is None:
        p = softmax(x, -1)
    if labels is None:
        total = dist.sum(axis=-1, keepdims=True)
        if buf is None:
            local = p * total - dist
        else:
            local = np.subtract(np.multiply(p, total, out=buf), dist, out=buf)
    elif is_raw(p):  # p is this rule's own array: the labels' entries less 1, in place
        p[np.indices(labels.shape, sparse=True) + (labels,)] -= 1
        local = p
    else:
        local = p - (labels[..., None] == np.arange(shape(x)[-1]))
    if reduction == "none":
        g = reshape(g, (*shape(g), 1))
    elif reduction == "mean":
        g = g / (local.size // shape(x)[-1])  # the number of samples
    if is_raw(local):  # raw mode: local is this rule's own array (or buf), scaled in place
        return (np.multiply(local, g, out=local if buf is None else buf),)
    return (g * local,)


def _softmax_cross_entropy_composite(target: Targets, x: Any) -> Any:
    labels, dist, reduction, _ = target
    if labels is not None:  # one-hot rows of the logits' dtype
        dist = (labels[..., None] == np.arange(x.shape[-1])).astype(x.dtype)
    losses = -(x.log_softmax(axis=-1) * dist).sum(axis=-1)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


# ---------------------------------------------------------------- binary cross-entropy


def _bce_with_logits(t: Any, z: Any) -> Any:
    # softplus(z) - t z, written so that exp never overflows
    return np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))


def _bce_with_logits_into(t: Any, out: Any, z: Any) -> Any:
    # the same operations one by one, into out and a scratch array for the terms of z alone
    tmp = scratch(out, "softplus", z.shape, z.dtype)
    np.subtract(np.maximum(z, 0, out=tmp), np.multiply(z, t, out=out), out=out)
    out += np.log1p(np.exp(np.negative(np.abs(z, out=tmp), out=tmp), out=tmp), out=tmp)
    return out


def _bce_with_logits_backward(t: Any, g: Any, out: Any, z: Any, buf: Any = None) -> Any:
    # g (sigmoid(z) - t); into ``buf`` when a replay form gives one
    if buf is None:
        return (g * (sigmoid(z) - t),)
    local = sigmoid_into(None, buf, z)
    local -= t
    return (np.multiply(g, local, out=local),)


def _bce_with_logits_composite(t: Any, z: Any) -> Any:
    r = z.relu()  # softplus(z) = r + log(exp(z - r) + exp(-r)): both exponentials at most 1
    return r + ((z - r).exp() + (-r).exp()).log() - z * t


ROWS = [
    Op(
        "linear",
        _linear,
        _linear_backward,
        ("@ {1}\u1d40", "{0}\u1d40 @", "sum over rows"),
        partial=True,
        composite=_linear_composite,
        into=_linear_into,
        grads_into=_linear_grads_into,
    ),
    # x @ W^T + b: the same rules on a transposed view of W (BLAS reads it as it lies)
    Op(
        "linear_t",
        lambda need, x, w, b=None: _linear(need, x, w.T, b),
        _linear_t_backward,
        ("@ {1}", "\u1d40 @ {0}", "sum over rows"),
        partial=True,
        composite=_linear_t_composite,
        into=lambda need, out, x, w, b=None: _linear_into(need, out, x, w.T, b),
        grads_into=_linear_t_grads_into,
    ),
    # relu(x W1^T + b1) W2^T + b2: a transformer's feed-forward block, its hidden layer
    # inside the node
    Op(
        "feed_forward",
        _feed_forward,
        lambda static, g, out, *xs: _feed_forward_grads(static, g, out, None, *xs),
        _feed_forward_label,
        composite=_feed_forward_composite,
        into=_feed_forward_into,
        grads_into=_feed_forward_grads,
    ),
    Op(
        "weighted_sum",
        _weighted_sum,
        _weighted_sum_backward,
        _weighted_sum_label,
        composite=_weighted_sum_composite,
    ),
    Op(
        "softmax_cross_entropy",
        _softmax_cross_entropy,
        _softmax_cross_entropy_backward,
        "x (softmax - target)",
        composite=_softmax_cross_entropy_composite,
        into=_softmax_cross_entropy_into,
        grads_into=lambda target, g, out, bufs, x: _softmax_cross_entropy_backward(
            target, g, out, x, bufs[0]
        ),
    ),
    Op(
        "bce_with_logits",
        _bce_with_logits,
        _bce_with_logits_backward,
        "x (sigmoid - target)",
        composite=_bce_with_logits_composite,
        into=_bce_with_logits_into,
        grads_into=lambda t, g, out, bufs, z: _bce_with_logits_backward(t, g, out, z, bufs[0]),
    ),
]
