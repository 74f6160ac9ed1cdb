"""``tl.grad`` and ``tl.backward_steps``: the backward walk returned, not stored in ``.grad``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .backward import Step, Term, check_finite, collector_paused, seed, walk
from .errors import DTypeError, GradientError, ShapeError
from .grad_mode import anomaly_origins, enable_grad, no_grad
from .graph import local_label
from .listen import refuse
from .shapes import fit_grad, shape_of
from .value import Value, data_of, fit_value_grad, leaf


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
    refuse("it calls tl.grad, whose gradients a replay cannot give back")
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
    seeds = [seed(o, data_of(g), "grad") for o, g in zip(outs, gos)]
    if create_graph:
        seeds = [leaf(s) for s in seeds]
    wanted = set(ins)
    found: dict[Value, Any] = {}
    lift = fit_value_grad if create_graph else None
    origins = anomaly_origins()
    with enable_grad() if create_graph else no_grad(), collector_paused():
        for node, g, sent in walk(outs, seeds, lift):
            if origins is not None:
                check_finite(node, g, sent, origins)
            if node in wanted:
                found[node] = g
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


def backward_steps(
    out: Value,
    gradient: Any = None,
    *,
    name: Callable[[Value], str | None] | None = None,
    catch: bool = False,
) -> list[Step]:
    """The steps ``out.backward(gradient)`` takes, in order, as data; no ``.grad`` is touched.

    Each step names the Value whose gradient is complete, that gradient, and one term per
    parent that needs a gradient: the parent (and its position), the local derivative as the
    books write it, and the product sent (upstream x local, summed over broadcast axes back
    to the parent's shape). A Value used several times receives several products: its
    gradient, in its own step, is their sum. ``name`` says how Values are called in the labels
    (default: their ``name``, a constant's number, or their operation). ``catch=True``: a
    backward rule that raises ends its own step with ``error`` set instead of stopping.

    >>> import tinygrad_lite as tl
    >>> w, i = tl.Value(0.5, name="w"), tl.Value(2.0, name="i", requires_grad=False)
    >>> z = w * i
    >>> z.name = "z"
    >>> loss = z.relu()
    >>> [(s.value.name or s.value.op, s.grad) for s in tl.backward_steps(loss)]
    [('relu', 1.0), ('z', 1.0), ('w', 2.0)]
    >>> term = tl.backward_steps(loss)[1].terms[0]
    >>> term.parent.name, term.local, term.product
    ('w', 'x i', 2.0)
    """
    refuse("it calls tl.backward_steps, whose steps a replay cannot give back")
    if not isinstance(out, Value):
        raise DTypeError(f"backward_steps: expected a Value, got {type(out).__name__}")
    start = seed(out, data_of(gradient), "backward_steps")
    steps: list[Step] = []
    with no_grad(), collector_paused():
        for node, g, sent in walk([out], [start], catch=catch):
            index = len(steps) + 1
            if isinstance(sent, Exception):
                error = f"{type(sent).__name__}: {sent}"
                steps.append(Step(index, node, g, (), error))
                continue
            terms = []
            for j, (p, pg) in enumerate(zip(node.parents, sent)):
                if not p.requires_grad:
                    continue
                local = local_label(node, j, name)
                if pg is None:  # a rule's "no gradient" for an input that wants one: zero
                    pg = 0.0 if type(p.data) in (float, int) else np.zeros_like(p.data)
                elif shape_of(pg) != p.shape:
                    local += ", sum over broadcast axes"
                terms.append(Term(j, p, local, fit_grad(pg, p.data)))
            steps.append(Step(index, node, g, tuple(terms)))
    return steps
