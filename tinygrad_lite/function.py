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
"""

from __future__ import annotations

from typing import Any

from . import engine, ops
from .errors import FunctionError
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .shapes import as_data, shape_of


class Context:
    """What ``forward`` hands to ``backward``: saved Values and any attributes you set."""

    def __init__(self) -> None:
        self.saved_tensors: tuple[Any, ...] = ()

    def save_for_backward(self, *values: Any) -> None:
        self.saved_tensors = values


class Function:
    """Base class of user-defined ops: subclass it, write ``forward`` and ``backward``."""

    @staticmethod
    def forward(ctx: Context, *args: Any) -> Any:
        raise NotImplementedError("a tl.Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: Context, grad_output: Any) -> Any:
        raise NotImplementedError("a tl.Function subclass must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *args: Any) -> engine.Value:
        ctx = Context()
        with no_grad():
            result = cls.forward(ctx, *args)
        data = result.data if isinstance(result, engine.Value) else as_data(result, cls.__name__)
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, engine.Value))
        parents = tuple(args[i] for i in positions)
        if is_grad_enabled() and any(p.requires_grad for p in parents):
            # the other arguments (numbers, arrays) are kept so the forward can be re-run
            # (testing.explain does); the Values' places hold None
            others = tuple(None if isinstance(a, engine.Value) else a for a in args)
            info = (cls, ctx, positions, len(args), others)
            return engine._node(data, _FUNCTION, info, parents)
        return engine._node(data)


def _function_forward(ctx: Any, *xs: Any) -> Any:
    raise FunctionError("a tl.Function node is made by Function.apply, not run from the op table")


def _function_backward(info: Any, g: Any, out: Any, *xs: Any) -> tuple[Any, ...]:
    cls, ctx, positions, nargs, _ = info
    graph_mode = isinstance(g, engine.Value)
    grad_out = g if graph_mode else engine._node(g)
    with enable_grad() if graph_mode else no_grad():
        result = cls.backward(ctx, grad_out)
    grads = result if isinstance(result, tuple) else (result,)
    if len(grads) != nargs:
        raise FunctionError(
            f"{cls.__name__}.backward returned {len(grads)} gradient(s) but forward took "
            f"{nargs} input(s); return one per input (None for an input with no gradient)"
        )
    out_grads = []
    for pos, x in zip(positions, xs):
        gi = grads[pos]
        if gi is not None:
            gi_shape = gi.shape if isinstance(gi, engine.Value) else shape_of(as_data(gi))
            x_shape = x.shape if isinstance(x, engine.Value) else shape_of(x)
            if gi_shape != x_shape:
                raise FunctionError(
                    f"{cls.__name__}.backward: the gradient for input {pos} has shape "
                    f"{gi_shape} but that input has shape {x_shape}; return a gradient of "
                    "the input's shape"
                )
            if not graph_mode:
                gi = gi.data if isinstance(gi, engine.Value) else as_data(gi)
        out_grads.append(gi)
    return tuple(out_grads)


_FUNCTION = ops.Op("function", _function_forward, _function_backward)
