"""``tl.Function``: user-defined operations with their own backward rule.

Shaped like ``torch.autograd.Function``::

    class Cube(tl.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    y = Cube.apply(a)

``forward`` runs with grad mode off and receives the arguments as given. ``backward`` receives
the gradient of the output as a Value and returns one gradient per argument of ``forward``
(``None`` where there is none). When a higher-order gradient is asked for
(``tl.grad(..., create_graph=True)``), ``backward`` runs with grad mode on, so a rule written
with Value operations is differentiable again.

The node ``apply`` makes reports the class's name as its ``op`` and keeps the ``ctx`` that
``forward`` filled, readable as ``y.static.ctx``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .errors import DTypeError, FunctionError
from .grad_mode import enable_grad, grad_state, no_grad
from .ops import Op
from .shapes import as_data, shape_of
from .value import Value, leaf, record


class Context:
    """What ``forward`` hands to ``backward``: saved Values and any attributes you set."""

    def __init__(self) -> None:
        self.saved_tensors: tuple[Any, ...] = ()

    def save_for_backward(self, *values: Any) -> None:
        self.saved_tensors = values


class Call(NamedTuple):
    """The static arguments of a ``tl.Function`` node (its ``Value.static``): the ``ctx`` its
    forward filled (``ctx.saved_tensors`` and your attributes), and the arguments of the call
    with ``None`` where a Value was passed (those are the node's parents)."""

    ctx: Context
    args: tuple[Any, ...]


class Function:
    """Base class of user-defined ops: subclass it, write ``forward`` and ``backward``."""

    @staticmethod
    def forward(ctx: Context, *args: Any) -> Any:
        raise NotImplementedError("a tl.Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: Context, grad_output: Any) -> Any:
        raise NotImplementedError("a tl.Function subclass must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *args: Any) -> Value:
        ctx = Context()
        with no_grad():
            result = cls.forward(ctx, *args)
        data = result.data if isinstance(result, Value) else as_data(result, cls.__name__)
        parents = tuple(a for a in args if isinstance(a, Value))
        mode = grad_state()
        if mode and any(p.requires_grad for p in parents):
            others = tuple(None if isinstance(a, Value) else a for a in args)
            return record(data, row(cls), Call(ctx, others), parents, mode)
        return leaf(data)


_ROWS: dict[type, Op] = {}  # made once per subclass, on its first apply


def row(cls: type[Function]) -> Op:
    """The op-table row of a Function subclass, named after it (``Value.op`` is "Cube")."""
    made = _ROWS.get(cls)
    if made is None:
        made = _ROWS[cls] = _make_row(cls)
    return made


def _make_row(cls: type[Function]) -> Op:

    def forward(call: Call, *xs: Any) -> Any:
        # the forward on other inputs, with a fresh ctx (``testing.explain`` perturbs them)
        values = iter(xs)
        args = [Value(next(values), False) if a is None else a for a in call.args]
        with no_grad():
            out = cls.forward(Context(), *args)
        return out.data if isinstance(out, Value) else as_data(out, cls.__name__)

    def backward(call: Call, g: Any, out: Any, *xs: Any) -> tuple[Any, ...]:
        graph_mode = isinstance(g, Value)
        with enable_grad() if graph_mode else no_grad():
            result = cls.backward(call.ctx, g if graph_mode else leaf(g))
        grads = result if isinstance(result, tuple) else (result,)
        if len(grads) != len(call.args):
            raise FunctionError(
                f"{cls.__name__}.backward returned {len(grads)} gradient(s) but forward took "
                f"{len(call.args)} input(s); return one per input (None for an input with no "
                "gradient)"
            )
        positions = [i for i, a in enumerate(call.args) if a is None]
        return tuple(_checked(cls, pos, grads[pos], x, graph_mode) for pos, x in zip(positions, xs))

    return Op(cls.__name__, forward, backward, f"{cls.__name__}.backward")


def _checked(cls: type, pos: int, gi: Any, x: Any, graph_mode: bool) -> Any:
    """A gradient ``backward`` returned for input ``pos``, checked against the input's shape;
    raw data in raw mode."""
    if gi is None:
        return None
    if not isinstance(gi, Value):
        try:
            gi = as_data(gi, cls.__name__)
        except DTypeError:
            raise FunctionError(
                f"{cls.__name__}.backward returned {gi!r} as the gradient for input {pos}; "
                "return a Value, a number or an array of numbers (or None for no gradient)"
            ) from None
    gi_shape = gi.shape if isinstance(gi, Value) else shape_of(gi)
    x_shape = x.shape if isinstance(x, Value) else shape_of(x)
    if gi_shape != x_shape:
        raise FunctionError(
            f"{cls.__name__}.backward: the gradient for input {pos} has shape {gi_shape} but "
            f"that input has shape {x_shape}; return a gradient of the input's shape"
        )
    if graph_mode:
        return gi
    return gi.data if isinstance(gi, Value) else gi
