"""The attention row: every head's softmax(q k^T scale + mask) v in one node.

Built from plain rows, multi-head attention splits the projected queries, keys and values into
heads (an index, a reshape and a transpose each), multiplies, scales, masks, takes a softmax,
multiplies again and joins the heads (a transpose and a reshape): a dozen nodes, and the
backward of each index writes a zero array the size of all three projections. As one row it
reads the heads as views of its inputs and writes their gradients straight into one array.

Inputs, in "heads side by side" layout (N sequences, L query and S key positions, E features
split into ``heads`` heads of E / heads):

* packed: one input ``qkv`` (N, L, 3E), the queries, keys and values of self-attention side by
  side (the output of ``MultiheadAttention``'s one input projection);
* or three: ``q`` (N, L, E), ``k`` and ``v`` (N, S, E).

The output is (N, L, E), each head's result in its own E / heads columns. Per head::

    w = softmax(q k^T scale + mask)        # (L, S), rows sum to 1
    out = w v

with ``mask`` a float array added to the scores (broadcasting to (N, heads, L, S)) or None.
Backward, with dout the gradient of ``out`` and the sums over each row of w::

    dv = w^T dout,    dw = dout v^T,    ds = w (dw - sum(dw w)) scale,
    dq = ds k,        dk = ds^T q

``attention_composite`` is the same computation in plain rows; ``tests/test_fused.py`` holds
the two equal.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .fused import Kept
from .modes import is_raw, reshape, swap_last
from .row import Op, reused, scratch


class Attention(NamedTuple):
    """The static arguments of ``attention``: the number of heads, the scale of the scores, a
    float mask added to them (or None), and the weights the forward keeps for the backward."""

    heads: int
    scale: float
    mask: Any
    kept: Kept


def _heads(static: Attention, xs: tuple[Any, ...]) -> tuple[Any, Any, Any]:
    """q (N, h, L, d), k and v (N, h, S, d): views of the inputs (raw) or rows (Values)."""
    h = static.heads
    if len(xs) == 1:
        n, length, three_e = xs[0].shape
        d = three_e // (3 * h)
        qkv = reshape(xs[0], (n, length, 3, h, d)).transpose((2, 0, 3, 1, 4))  # (3, N, h, L, d)
        return qkv[0], qkv[1], qkv[2]
    return tuple(
        reshape(x, (x.shape[0], x.shape[1], h, x.shape[2] // h)).transpose((0, 2, 1, 3)) for x in xs
    )


def _join(x: Any) -> Any:
    """(N, h, L, d) -> (N, L, h d): the heads side by side again."""
    n, h, length, d = x.shape
    return reshape(x.transpose((0, 2, 1, 3)), (n, length, h * d))


def _weights(static: Attention, q: Any, k: Any, owner: Any = None) -> Any:
    """softmax(q k^T scale + mask) over the keys: (N, h, L, S); raw, into ``owner``'s scratch
    array when there is an owner (a replay form's), else into a new one."""
    if not is_raw(q):
        s = (q @ swap_last(k)) * static.scale
        return (s if static.mask is None else s + static.mask).softmax(-1)
    s = _product(q, swap_last(k), owner, "weights")
    s *= static.scale  # in place from here: the product is this rule's own array
    if static.mask is not None:
        s += static.mask
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
    return s


def _product(a: Any, b: Any, owner: Any, name: str) -> Any:
    """a @ b (raw, batched): into ``owner``'s scratch array ``name``, or a new one."""
    if owner is None:
        return a @ b
    shape = (*a.shape[:-1], b.shape[-1])  # (the batch axes of both operands are equal)
    return np.matmul(a, b, out=scratch(owner, name, shape, np.result_type(a, b)))


def _attention(static: Attention, *xs: Any) -> Any:
    q, k, v = _heads(static, xs)
    w = _weights(static, q, k)
    static.kept.keep(xs[0], w)
    return _join(w @ v)


def _attention_into(static: Attention, out: Any, *xs: Any) -> Any:
    # as _attention, with the weights and their product with v in scratch arrays
    q, k, v = _heads(static, xs)
    w = _weights(static, q, k, out)
    static.kept.keep(xs[0], w)
    return _join_into(out, _product(w, v, out, "wv"))


def _join_into(out: Any, x: Any) -> Any:
    """_join(x) written into ``out`` (N, L, h d), a C-ordered array (None: a new array)."""
    if out is None:
        return _join(x)
    n, h, length, d = x.shape
    np.copyto(out.reshape(n, length, h, d), x.transpose((0, 2, 1, 3)))
    return out


def _attention_backward(static: Attention, g: Any, out: Any, *xs: Any) -> Any:
    return _attention_grads(static, g, out, None, xs)


def _attention_grads_into(static: Attention, g: Any, out: Any, bufs: Any, *xs: Any) -> Any:
    return _attention_grads(static, g, out, bufs, xs)


def _attention_grads(
    static: Attention, g: Any, out: Any, bufs: Any, xs: tuple[Any, ...]
) -> tuple[Any, ...]:
    """The backward rule; a replay form's (raw) when ``bufs`` is given: its temporaries in
    scratch arrays of ``out`` and the gradients written into ``bufs``."""
    q, k, v = _heads(static, xs)
    w = static.kept.take(xs[0]) if is_raw(g) else None
    if w is None:  # graph mode, a second backward, or a forward re-run on other inputs
        w = _weights(static, q, k)
    n, length, e = g.shape
    h = static.heads
    dout = reshape(g, (n, length, h, e // h)).transpose((0, 2, 1, 3))  # (N, h, L, d)
    if not is_raw(g):  # graph mode: the same formulas with rows, differentiable again
        dv = swap_last(w) @ dout
        dw = dout @ swap_last(v)
        ds = w * (dw - (dw * w).sum(axis=-1, keepdims=True)) * static.scale
        dq, dk = ds @ k, swap_last(ds) @ q
        if len(xs) == 3:
            return _join(dq), _join(dk), _join(dv)
        # the three gradients side by side, (N, L, 3, h, d)
        parts = [x.transpose((0, 2, 1, 3)) for x in (dq, dk, dv)]
        shape = (n, length, 3, h, e // h)
        total = parts[0].scatter_to(shape, (slice(None), slice(None), 0))
        for j in (1, 2):
            total = total + parts[j].scatter_to(shape, (slice(None), slice(None), j))
        return (reshape(total, (n, length, 3 * e)),)
    owner = None if bufs is None else out  # raw: temporaries new, or a replay form's scratch
    dv = _product(swap_last(w), dout, owner, "dv")
    dw = _product(dout, swap_last(v), owner, "dw")  # (N, h, L, S), this rule's own array
    dww = reused(owner, "dww", dw.shape, np.result_type(dw, w))
    dw -= np.multiply(dw, w, out=dww).sum(axis=-1, keepdims=True)
    dw *= w
    dw *= static.scale
    ds = dw
    dq, dk = _product(ds, k, owner, "dq"), _product(swap_last(ds), q, owner, "dk")
    if len(xs) == 3:
        return tuple(_join_into(b, x) for b, x in zip(bufs or (None,) * 3, (dq, dk, dv)))
    d = None if bufs is None else bufs[0]
    if d is None:
        d = np.empty((n, length, 3 * e), dtype=g.dtype)
    side = d.reshape(n, length, 3, h, e // h)  # (a view) written once, by parts
    for j, part in enumerate((dq, dk, dv)):
        side[:, :, j] = part.transpose(0, 2, 1, 3)
    return (d,)


def attention_composite(static: Attention, *xs: Any) -> Any:
    """The ``attention`` row in plain rows (index, reshape, transpose, matmul, softmax...)."""
    q, k, v = _heads(static, xs)
    s = (q @ swap_last(k)) * static.scale
    w = (s if static.mask is None else s + static.mask).softmax(-1)
    return _join(w @ v)


def _label(node: Any, k: int, operands: list[Any], text: Any) -> str:
    if len(operands) == 1:
        return "x attention backward (q, k, v side by side)"
    return f"x attention backward ({'qkv'[k]})"


ROWS = [
    Op(
        "attention",
        _attention,
        _attention_backward,
        _label,
        composite=attention_composite,
        into=_attention_into,
        grads_into=_attention_grads_into,
    ),
]
