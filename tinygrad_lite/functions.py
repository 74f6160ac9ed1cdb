"""Functions of several Values, each a row of the op table: ``concat``, ``stack``, ``where``,
``weighted_sum``, ``linear``, ``identity``, and the fused rows that ``nn.functional`` checks
and calls (the cross-entropies, ``standardize``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .checks import constant, whole_number
from .core import OPS, ArgumentError, DTypeError, ShapeError, Value, apply, lift
from .core.ops.fused import Kept, Targets
from .core.ops.norm import Standardize
from .core.shapes import ndarray, shape_of


def concat(values: Sequence[Any], axis: int = 0) -> Value:
    """Join Values along an existing axis (like ``np.concatenate``)."""
    vals = _values(values, "concat")
    axis = whole_number("concat", "axis", axis, -_BIG)
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
    return apply(OPS["concat"], ax, *vals)


def stack(values: Sequence[Any], axis: int = 0) -> Value:
    """Join Values along a new axis (like ``np.stack``)."""
    vals = _values(values, "stack")
    axis = whole_number("stack", "axis", axis, -_BIG)
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
    raw = condition.data if isinstance(condition, Value) else condition
    try:
        cond = np.asarray(raw)
    except (ValueError, TypeError, OverflowError):
        raise DTypeError("where: the condition cannot be made an array of booleans") from None
    if cond.dtype.kind not in "biuf":
        raise DTypeError(f"where: a condition of dtype {cond.dtype}; give booleans or numbers")
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    like = a if isinstance(a, Value) else b if isinstance(b, Value) else constant("where", a)
    va, vb = _lift(a, like, "where"), _lift(b, like, "where")
    try:
        np.broadcast_shapes(cond.shape, va.shape, vb.shape)
    except ValueError:
        raise ShapeError(
            f"where: condition {cond.shape}, a {va.shape} and b {vb.shape} do not broadcast"
        ) from None
    return apply(OPS["where"], cond, va, vb)


def identity(x: Value) -> Value:
    """The linear activation of the books, ``a = z``, as a node of its own (its local
    derivative is 1), so the drawings of a linear neuron show ``a`` and ``da``.

    >>> import tinygrad_lite as tl
    >>> z = tl.Value(1.5, name="z")
    >>> a = identity(z)
    >>> a.op, a.data, tl.backward_steps(a)[0].terms[0].local
    ('identity', 1.5, 'x 1')
    """
    if not isinstance(x, Value):
        raise DTypeError(f"identity: expected a Value, got {type(x).__name__}")
    return apply(OPS["identity"], None, x)


def weighted_sum(weights: Sequence[Value], inputs: Sequence[Any], bias: Any = None) -> Value:
    """z = w_1 x_1 + ... + w_n x_n + b as ONE node: the weighted sum of the books' neuron.

    Works on scalar Values (and numbers for the inputs); its backward gives dw_k = x_k dz,
    dx_k = w_k dz and db = dz, exactly the arrows of the book's backward graph.
    """
    ws, xs = (
        _sequence(weights, "weighted_sum", "weights"),
        _sequence(inputs, "weighted_sum", "inputs"),
    )
    if len(ws) != len(xs):
        raise ShapeError(f"weighted_sum: {len(ws)} weights but {len(xs)} inputs")
    first = ws[0] if ws and isinstance(ws[0], Value) else Value(0.0, False)
    given = ws + xs if bias is None else [*ws, *xs, bias]
    parts = [_lift(v, first, "weighted_sum") for v in given]
    if any(type(p.data) is not float for p in parts):  # the slow path, off the common one
        parts = [_lift(_plain_number(v), first, "weighted_sum") for v in given]
        for p in parts:
            if type(p.data) is int:  # a user's v.data = 0 (micrograd's bias): a float, as ever
                p.data = float(p.data)
    if any(type(p.data) is not float for p in parts):
        odd = next(p for p in parts if type(p.data) is not float)
        if type(odd.data) is ndarray and odd.data.ndim == 0:
            raise ShapeError(
                f"weighted_sum: works on scalar Values, which hold Python floats; got a Value "
                f"holding a 0-d {odd.dtype} array ({odd.data.item()!r}): make it "
                "Value(float(x)), or use x @ W + b for arrays"
            )
        raise ShapeError(
            "weighted_sum: works on scalar Values; for arrays use x @ W + b "
            f"(got shapes {sorted({p.shape for p in parts})})"
        )
    return apply(OPS["weighted_sum"], len(ws), *parts)


def _plain_number(x: Any) -> Any:
    """A NumPy scalar (``np.float32(0.5)``, ``np.int64(2)``) as the Python float it stands for;
    anything else as it is. A scalar network takes numbers of any kind."""
    if isinstance(x, (np.floating, np.integer)):
        return float(x)
    return x


def linear(x: Any, weight: Value, bias: Value | None = None, *, transposed: bool = False) -> Value:
    """``x @ weight + bias`` as ONE node, ``weight`` of shape (in_features, out_features).

    The dense layer's forward in a single op-table row: the same numbers as ``x @ w + b``, one
    temporary and one graph node fewer, and no gradient work for ``x`` when it is data.
    ``transposed=True`` takes ``weight`` in torch's layout (out_features, in_features) and
    computes ``x @ weight.T + bias``, still one node (``linear_t``): the weight's gradient
    comes out in its own layout, with no transpose node and no copy of it.

    >>> import numpy as np, tinygrad_lite as tl
    >>> w = tl.Value(np.ones((3, 2)))
    >>> tl.linear(np.array([[1.0, 2.0, 3.0]]), w, tl.Value(np.zeros(2))).data
    array([[6., 6.]])
    >>> tl.linear(np.array([[1.0, 2.0, 3.0]]), tl.Value(np.ones((2, 3))), transposed=True).data
    array([[6., 6.]])
    """
    if not isinstance(transposed, (bool, np.bool_)):
        raise ArgumentError(f"linear: transposed={transposed!r} must be True or False")
    layout = "(out_features, in_features)" if transposed else "(in_features, out_features)"
    w = weight.data if type(weight) is Value else None
    if type(w) is not ndarray or w.ndim != 2:
        raise ShapeError(
            f"linear: weight must be a 2-d Value {layout}; got "
            f"{getattr(weight, 'shape', type(weight).__name__)}"
        )
    vx = x if type(x) is Value else _lift(x, weight, "linear")
    n_out, n_in = w.shape if transposed else w.shape[::-1]
    if type(vx.data) is not ndarray or vx.data.shape[-1:] != (n_in,):
        raise ShapeError(
            f"linear: input of shape {vx.shape} does not fit a weight of shape {w.shape} "
            f"{layout}; the input's last axis must have {n_in} features"
        )
    op = OPS["linear_t" if transposed else "linear"]
    if bias is None:
        return apply(op, (vx.requires_grad, weight.requires_grad), vx, weight)
    vb = bias if type(bias) is Value else _lift(bias, weight, "linear")
    if shape_of(vb.data) not in ((n_out,), (1, n_out), ()):
        raise ShapeError(f"linear: bias of shape {vb.shape} does not fit {n_out} outputs")
    need = (vx.requires_grad, weight.requires_grad, vb.requires_grad)
    return apply(op, need, vx, weight, vb)


def _values(values: Sequence[Any], op: str) -> list[Value]:
    values = _sequence(values, op, "values")
    if not values:
        raise ShapeError(f"{op}: expected a non-empty list of Values")
    like = next((v for v in values if isinstance(v, Value)), None)
    if like is None:
        like = constant(op, values[0])
    return [_lift(v, like, op) for v in values]


def _sequence(values: Any, op: str, name: str) -> list[Any]:
    """``values`` as a list: a list, a tuple, an array with at least one axis, or another
    iterable that is not a Value or text."""
    scalar_array = isinstance(values, ndarray) and values.ndim == 0
    if isinstance(values, (Value, str, bytes)) or scalar_array or not hasattr(values, "__iter__"):
        raise ShapeError(f"{op}: {name} must be a list of Values; got a {type(values).__name__}")
    return list(values)


def _lift(x: Any, like: Value, op: str) -> Value:
    """``lift`` with the one error NumPy's conversion leaks (an int beyond float64) named."""
    try:
        return lift(x, like, op)
    except OverflowError:
        raise DTypeError(f"{op}: an operand holds a number too large for a float64") from None


_BIG = 2**62  # axes: any whole number (the range is checked against the shape)


def softmax_cross_entropy(
    logits: Value, labels: np.ndarray | None, distributions: Any, reduction: str
) -> Value:
    """The fused softmax cross-entropy node, from checked arguments: integer ``labels`` of
    shape ``logits.shape[:-1]``, or target ``distributions`` (raw data) of the logits' shape.
    ``nn.functional.cross_entropy`` checks them and is the function to call."""
    targets = Targets(labels, distributions, reduction, Kept())
    return apply(OPS["softmax_cross_entropy"], targets, logits)


def bce_with_logits(logits: Value, targets: Any) -> Value:
    """The fused ``softplus(z) - t z`` node per element, with raw ``targets`` of the logits'
    shape; ``nn.functional.binary_cross_entropy_with_logits`` checks and reduces it."""
    return apply(OPS["bce_with_logits"], targets, logits)


def standardize(x: Value, axes: tuple[int, ...], eps: float) -> Value:
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` as ONE node (mean and biased variance
    over those axes): the normalisation of batch norm and layer norm. ``axes`` are checked
    by the caller (``nn.functional.batch_norm`` and ``layer_norm``): non-negative, sorted.

    >>> import numpy as np, tinygrad_lite as tl
    >>> standardize(tl.Value(np.array([[1.0, 3.0], [2.0, 6.0]])), (1,), 0.0).data
    array([[-1.,  1.],
           [-1.,  1.]])
    """
    return apply(OPS["standardize"], Standardize(axes, float(eps), Kept()), x)
