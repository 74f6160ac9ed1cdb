"""The backward pass: the one walk of the graph that applies the chain rule.

``walk`` visits the Values of a graph from the output back to the leaves, in reverse
topological order, and at each one applies its row's backward rule: the gradient of the
output with respect to the Value (complete, because every Value that uses it came earlier)
times the local derivative, sent to each parent, where the gradients arriving from several
uses add up (the books' "sum of fan-out"). Everything that needs the backward pass loops over
this one walk: ``Value.backward()`` stores what it yields in ``.grad``, ``tl.grad`` returns
it, ``tl.backward_steps`` records it step by step for ``testing.explain``, the drawings and
the stepper.

The walk never refers to the Value class: it reads ``_parents``, ``_op``, ``_static`` and
``data`` of the nodes it is given, so the class that defines them can build on this module.
"""

from __future__ import annotations

import gc
import linecache
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import AnomalyError, GradientError, InPlaceError, ShapeError
from .graph import toposort
from .shapes import as_data, fit_grad, ndarray, shape_of

if TYPE_CHECKING:
    from .grad_mode import Origins
    from .value import Value

Lift = Callable[[Any, Any], Any]  # graph mode: a gradient as a Value of its input's shape


def walk(
    roots: Sequence[Value], seeds: Sequence[Any], lift: Lift | None = None, catch: bool = False
) -> Iterator[tuple[Value, Any, Any]]:
    """Yield ``(value, grad, grads_sent)`` for every Value that a gradient reaches, in the
    order backward completes them: the output first, each Value after all of its uses.

    ``grads_sent`` is what the Value's rule returned, one per parent (``()`` for a leaf);
    each has already been fitted to its parent's shape and added to what the parent holds.
    ``lift`` switches to graph mode: the rules run on Values and record the gradient's graph.
    ``catch``: a rule that raises yields its exception as ``grads_sent`` and sends nothing,
    and the walk goes on (``testing.explain`` reports such a rule instead of stopping).
    """
    grads: dict[Value, Any] = {}
    for root, seed in zip(roots, seeds):
        prev = grads.get(root)
        grads[root] = seed if prev is None else add(prev, seed)
    pop, get = grads.pop, grads.get
    graph = lift is not None
    for node in reversed(toposort(roots)):
        g = pop(node, None)
        if g is None:  # no gradient reached it (data, or a branch the output does not use)
            continue
        parents = node._parents
        if not parents:
            yield node, g, ()
            continue
        try:
            op: Any = node._op  # a Value with parents was made by a row
            if op.reads_data and type(node.data) is not float:
                check_data(node)
            if graph:
                sent = op.backward(node._static, g, node, *parents)
            elif len(parents) == 1:  # one input (it needs a gradient): the common case
                p = parents[0]
                sent = op.backward(node._static, g, node.data, p.data)
                pg = sent[0]
                if pg is not None:
                    d = p.data
                    if type(pg) is not type(d) or (
                        type(d) is ndarray and (pg.shape != d.shape or pg.dtype != d.dtype)
                    ):
                        pg = fit_grad(pg, d)
                    prev = get(p)
                    grads[p] = pg if prev is None else add(prev, pg)
                yield node, g, sent
                continue
            else:
                sent = op.backward(node._static, g, node.data, *[p.data for p in parents])
            for p, pg in zip(parents, sent):
                if pg is None or not p.requires_grad:
                    continue
                d = p.data
                if graph:
                    pg = lift(pg, p)  # type: ignore[misc]
                elif type(pg) is not type(d) or (
                    type(d) is ndarray and (pg.shape != d.shape or pg.dtype != d.dtype)
                ):
                    pg = fit_grad(pg, d)  # undo broadcasting; the input's dtype and kind
                prev = get(p)
                grads[p] = pg if prev is None else add(prev, pg)
        except Exception as e:
            if not catch:
                raise
            yield node, g, e
            continue
        yield node, g, sent


# ---------------------------------------------------------------- in-place edits
# Backward reads data as it is when backward runs: tanh and exp their output, mul and matmul
# their inputs. Data changed in place in between (``x.data += 1``, ``x.data[...] = y``, an
# optimizer step) would give a wrong gradient without a word. So when ``record`` makes a node
# whose rule reads data (``Op.reads_data``; add, sum, reshape... read only shapes), the node
# keeps a sample of its output and of each input (only of its output for tanh, exp, sigmoid:
# ``Op.reads_inputs``) as the forward pass saw them: their first element. Before that rule
# runs, the walk compares the samples with the data.
# docs/engine.md says what this catches and what it cannot.


def sample(data: Any) -> Any:
    """A float itself, or an array's first element (None for an empty array)."""
    if type(data) is float:
        return data
    try:
        return data.item(0)
    except IndexError:  # an empty array: nothing to change
        return None


def note_data(node: Value) -> None:
    """Sample the data that ``node``'s backward rule will read (``record`` calls this)."""
    parents = node._parents
    if not node._op.reads_inputs:  # type: ignore[union-attr]
        node._seen = (sample(node.data),)
    elif len(parents) == 1:
        node._seen = (sample(node.data), sample(parents[0].data))
    else:
        node._seen = (sample(node.data), *[sample(p.data) for p in parents])


def check_data(node: Value) -> None:
    """Raise InPlaceError if the data ``node``'s rule reads is not what the forward pass saw."""
    seen: tuple[Any, ...] = getattr(node, "_seen", ())  # none if it was made a scalar
    parents = node._parents
    if len(seen) == 1:  # the common cases written out: only the output (tanh) ...
        if sample(node.data) == seen[0]:
            return
    elif len(seen) == 2:  # ... or one input
        if sample(node.data) == seen[0] and sample(parents[0].data) == seen[1]:
            return
    for v, was in zip((node, *parents), seen):  # zip: only the output for reads_inputs=False
        now = sample(v.data)
        if now == was or (now != now and was != was):  # equal, or nan both times
            continue
        what = v.name or (f"the output of {v.op}" if v._parents else f"a leaf of shape {v.shape}")
        when = f"{node.op} made it" if v is node else f"{node.op} used it in the forward pass"
        raise InPlaceError(
            f"backward: {what} was changed in place after {when}: its first element was "
            f"{was!r} and is now {now!r}. Backward reads the data as it is when it runs, so "
            "the gradients would be wrong. Compute the forward pass again after changing the "
            "data, or change a copy (v.data.copy()); an optimizer's step() belongs after "
            "backward()"
        )


def add(a: Any, b: Any) -> Any:
    """a + b for gradients: two 0-d arrays add up to a NumPy scalar; keep it a 0-d array."""
    total = a + b
    t = type(total)
    if t is float or t is ndarray:
        return total
    return np.asarray(total) if isinstance(total, np.generic) else total  # (a Value: as it is)


@contextmanager
def collector_paused() -> Iterator[None]:
    """The walk makes no reference cycles: don't let the cycle collector walk the graph (a
    deep graph's many young objects would set it off again and again during one pass)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def seed(root: Value, gradient: Any, what: str) -> Any:
    """The gradient the walk starts from: 1 for a single number, else ``gradient`` checked."""
    if not root.requires_grad:
        raise GradientError(
            f"{what}: this Value needs no gradient: it was made under no_grad(), or from "
            "Values that all have requires_grad=False. Make a parameter with Value(..., "
            "requires_grad=True) and compute from it with grad mode on."
        )
    data = root.data
    if gradient is None:
        if type(data) is float or type(data) is int:
            return 1.0
        if data.size != 1:
            raise GradientError(
                f"{what}: the Value has shape {data.shape}, not a single number; call "
                ".sum() or .mean() first, or pass gradient= an array of that shape"
            )
        return np.array(1, dtype=data.dtype).reshape(data.shape)
    gradient = as_data(gradient, f"{what}: gradient")
    if shape_of(gradient) != shape_of(data):
        raise ShapeError(
            f"{what}: gradient has shape {shape_of(gradient)} but the Value has shape "
            f"{shape_of(data)}"
        )
    if type(data) is float or type(data) is int:
        return fit_grad(gradient, data)
    return np.array(gradient, dtype=data.dtype)  # a copy: the caller's array is no one's .grad


def check_finite(node: Value, g: Any, sent: Any, origins: Origins) -> None:
    """Under ``detect_anomaly``: raise at the first rule that turns a finite gradient into a
    NaN or an infinity (or at the output, if the gradient it starts from is not finite)."""
    if not _finite(g):  # every product was finite: the seed, or a sum that overflowed
        raise AnomalyError(
            f"backward: the gradient of {node.name or node.op or 'a leaf'} is not finite: it is "
            "where backward starts, or the gradients it received overflow when added up",
            node,
        )
    if isinstance(sent, Exception) or not sent:
        return
    for p, pg in zip(node._parents, sent):
        if pg is not None and p.requires_grad and not _finite(pg):
            what = node.name or node.op
            bad = "nan" if np.isnan(np.sum(_data(pg))) else "infinite"
            where = origins.get(node)
            line = ""
            if where is not None:
                code = linecache.getline(where[0], where[1]).strip()
                line = f"; {what} was made at {where[0]}:{where[1]}" + (f": {code}" if code else "")
            raise AnomalyError(
                f"backward: the gradient that {node.op} sends to {p.name or p.op or 'a leaf'} "
                f"is {bad} (the gradient arriving at {what} is finite){line}. Look for a "
                "division by zero, a log or sqrt of 0 or of a negative number, or an overflow",
                node,
                p,
            )


def _data(x: Any) -> Any:
    return x if type(x) is float or type(x) is ndarray else getattr(x, "data", x)


def _finite(x: Any) -> bool:
    d = _data(x)
    if type(d) is float:
        return math.isfinite(d)
    return bool(np.isfinite(d).all())


# ---------------------------------------------------------------- the walk as data


@dataclass(frozen=True)
class Term:
    """What one step sends to one parent: ``product = upstream x local``."""

    index: int  # which parent: the position among the Value's parents
    parent: Value
    local: str  # the local derivative as the books write it: "x i1", "x relu'(z)"
    product: Any  # the gradient sent, in the parent's shape (a float or an array)


@dataclass(frozen=True)
class Step:
    """One step of the backward pass: ``value``'s gradient is complete; its terms go out."""

    index: int  # 1 for the output, in the order backward takes them
    value: Value
    grad: Any  # d output / d value, this pass's (a leaf's .grad may hold more, accumulated)
    terms: tuple[Term, ...]
    error: str | None = None  # the exception the rule raised, when walked with catch=True

    def __repr__(self) -> str:
        name = self.value.name or self.value.op or "leaf"
        return f"Step({self.index}, {name}, {len(self.terms)} terms)"
