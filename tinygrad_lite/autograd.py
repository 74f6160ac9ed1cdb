"""Functions of several Values: ``grad``, ``concat``, ``stack``, ``where``, ``weighted_sum``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .engine import Value, _apply, _backprop, _lift, _node, _seed
from .errors import DTypeError, GradientError, ShapeError
from .grad_mode import enable_grad, no_grad
from .ops import OPS
from .shapes import as_data, ndarray, shape_of


def grad(
    outputs: Value | Sequence[Value],
    inputs: Value | Sequence[Value],
    grad_outputs: Any = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, without touching any ``.grad``.

    With ``create_graph=True`` the gradients are Values that are part of a new graph, so they
    can be differentiated again (second derivatives, gradient penalties); otherwise they are
    raw floats/arrays. An input that ``outputs`` does not depend on raises, unless
    ``allow_unused=True`` (its gradient is then ``None``).

    >>> import tinygrad_lite as tl
    >>> x = tl.Value(3.0)
    >>> (dx,) = tl.grad(x ** 3, [x], create_graph=True)
    >>> dx.data, tl.grad(dx, [x])[0]
    (27.0, 18.0)
    """
    outs = [outputs] if isinstance(outputs, Value) else list(outputs)
    ins = [inputs] if isinstance(inputs, Value) else list(inputs)
    for v in (*outs, *ins):
        if not isinstance(v, Value):
            raise DTypeError(f"grad: expected Values, got {type(v).__name__}")
    if grad_outputs is None:
        gos: list[Any] = [None] * len(outs)
    elif isinstance(grad_outputs, (list, tuple)):
        gos = list(grad_outputs)
    else:
        gos = [grad_outputs]
    if len(gos) != len(outs):
        raise ShapeError(f"grad: {len(outs)} outputs but {len(gos)} grad_outputs")
    seeds = [_seed(o, g, "grad") for o, g in zip(outs, gos)]
    if create_graph:
        seeds = [s if isinstance(s, Value) else _node(s) for s in seeds]
    with enable_grad() if create_graph else no_grad():
        found = _backprop(outs, seeds, create_graph, store=False, wanted=ins)
    result: list[Any] = []
    for i, v in enumerate(ins):
        if v not in found:
            if not allow_unused:
                raise GradientError(
                    f"grad: input {i} (shape {v.shape}{', ' + repr(v.name) if v.name else ''}) "
                    "is not used to compute the outputs; pass allow_unused=True to get None"
                )
            result.append(None)
        else:
            result.append(found[v])
    return tuple(result)


def concat(values: Sequence[Any], axis: int = 0) -> Value:
    """Join Values along an existing axis (like ``np.concatenate``)."""
    vals = _values(values, "concat")
    nd = vals[0].ndim
    if nd == 0 or any(v.ndim != nd for v in vals):
        raise ShapeError(
            f"concat: needs arrays of equal ndim >= 1; got shapes {[v.shape for v in vals]}"
        )
    if not -nd <= axis < nd:
        raise ShapeError(f"concat: axis {axis} is out of range for {nd}-d Values")
    ax = axis % nd
    for v in vals[1:]:
        if v.shape[:ax] + v.shape[ax + 1 :] != vals[0].shape[:ax] + vals[0].shape[ax + 1 :]:
            raise ShapeError(f"concat: shapes {[v.shape for v in vals]} differ outside axis {axis}")
    return _apply(OPS["concat"], ax, *vals)


def stack(values: Sequence[Any], axis: int = 0) -> Value:
    """Join Values along a new axis (like ``np.stack``)."""
    vals = _values(values, "stack")
    shapes = {v.shape for v in vals}
    if len(shapes) != 1:
        raise ShapeError(f"stack: all Values need the same shape; got {[v.shape for v in vals]}")
    nd = vals[0].ndim + 1
    if not -nd <= axis < nd:
        raise ShapeError(f"stack: axis {axis} is out of range for the {nd}-d result")
    ax = axis % nd
    new_shape = vals[0].shape[:ax] + (1,) + vals[0].shape[ax:]
    return concat([v.reshape(new_shape) for v in vals], axis=ax)


def where(condition: Any, a: Any, b: Any) -> Value:
    """``a`` where ``condition`` is true, else ``b``; the condition gets no gradient."""
    cond = np.asarray(condition.data if isinstance(condition, Value) else condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    like = a if isinstance(a, Value) else b if isinstance(b, Value) else Value(as_data(a), False)
    va, vb = _lift(a, like, "where"), _lift(b, like, "where")
    try:
        np.broadcast_shapes(cond.shape, va.shape, vb.shape)
    except ValueError:
        raise ShapeError(
            f"where: condition {cond.shape}, a {va.shape} and b {vb.shape} do not broadcast"
        ) from None
    return _apply(OPS["where"], cond, va, vb)


def weighted_sum(weights: Sequence[Value], inputs: Sequence[Any], bias: Any = None) -> Value:
    """z = w_1 x_1 + ... + w_n x_n + b as ONE node: the weighted sum of the books' neuron.

    Works on scalar Values (and numbers for the inputs); its backward gives dw_k = x_k dz,
    dx_k = w_k dz and db = dz, exactly the arrows of the book's backward graph.
    """
    ws, xs = list(weights), list(inputs)
    if len(ws) != len(xs):
        raise ShapeError(f"weighted_sum: {len(ws)} weights but {len(xs)} inputs")
    first = ws[0] if ws and isinstance(ws[0], Value) else Value(0.0, False)
    parts = [_lift(v, first, "weighted_sum") for v in ws + xs]
    if bias is not None:
        parts.append(_lift(bias, first, "weighted_sum"))
    if any(type(p.data) is not float for p in parts):
        raise ShapeError(
            "weighted_sum: works on scalar Values; for arrays use x @ W + b "
            f"(got shapes {sorted({p.shape for p in parts})})"
        )
    return _apply(OPS["weighted_sum"], len(ws), *parts)


def linear(x: Any, weight: Value, bias: Value | None = None) -> Value:
    """``x @ weight + bias`` as ONE node, ``weight`` of shape (in_features, out_features).

    The dense layer's forward in a single op-table row: the same numbers as ``x @ w + b``, one
    temporary and one graph node fewer, and no gradient work for ``x`` when it is data.

    >>> import numpy as np, tinygrad_lite as tl
    >>> w = tl.Value(np.ones((3, 2)))
    >>> tl.linear(np.array([[1.0, 2.0, 3.0]]), w, tl.Value(np.zeros(2))).data
    array([[6., 6.]])
    """
    w = weight.data if type(weight) is Value else None
    if type(w) is not ndarray or w.ndim != 2:
        raise ShapeError(
            f"linear: weight must be a 2-d Value (in_features, out_features); got "
            f"{getattr(weight, 'shape', type(weight).__name__)}"
        )
    vx = x if type(x) is Value else _lift(x, weight, "linear")
    n_in, n_out = w.shape
    if type(vx.data) is not ndarray or vx.data.shape[-1:] != (n_in,):
        raise ShapeError(
            f"linear: input of shape {vx.shape} does not fit a weight of shape {w.shape} "
            f"(in_features, out_features); the input's last axis must have {n_in} features"
        )
    if bias is None:
        return _apply(OPS["linear"], (vx.requires_grad, weight.requires_grad), vx, weight)
    vb = bias if type(bias) is Value else _lift(bias, weight, "linear")
    if shape_of(vb.data) not in ((n_out,), (1, n_out), ()):
        raise ShapeError(f"linear: bias of shape {vb.shape} does not fit {n_out} outputs")
    need = (vx.requires_grad, weight.requires_grad, vb.requires_grad)
    return _apply(OPS["linear"], need, vx, weight, vb)


def _values(values: Sequence[Any], op: str) -> list[Value]:
    if isinstance(values, Value) or not len(values):
        raise ShapeError(f"{op}: expected a non-empty list of Values")
    like = next((v for v in values if isinstance(v, Value)), None)
    if like is None:
        like = Value(as_data(values[0]), False)
    return [_lift(v, like, op) for v in values]
