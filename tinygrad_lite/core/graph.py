"""Reading the graph: the one topological sort, a node's operands, its labels.

Every Value gets a creation number when it is made, and a Value's parents always exist before
it does, so "sorted by creation number" is a topological order. Finding the nodes is an explicit
stack (no recursion: a chain of a million nodes is fine), ordering them is one C-level sort.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from .errors import ArgumentError
from .ops import number, render

if TYPE_CHECKING:
    from .value import Value

_creation_order = attrgetter("_seq")


def toposort(roots: Iterable[Value]) -> list[Value]:
    """All Values reachable from ``roots`` through their parents, parents before children."""
    stack = list(roots)
    seen = set(stack)
    visit, push, pop = seen.add, stack.append, stack.pop
    while stack:
        for parent in pop()._parents:
            if parent not in seen:
                visit(parent)
                push(parent)
    return sorted(seen, key=_creation_order)


def operands(v: Value) -> list[Any]:
    """The inputs of ``v``'s operation in argument order: its parents, and the number kept
    inside the node in its place (``x - 1.0`` has one parent and the operands ``[x, 1.0]``)."""
    op = v._op
    out: list[Any] = list(v._parents)
    if op is not None and op.constant is not None:
        out.insert(op.constant, v._static)  # the node keeps the number as its static argument
    return out


def value_text(v: Value, name: Callable[[Value], str | None] | None = None) -> str:
    """How a Value is called in a label: its name, its number (a scalar constant), or
    ``(op)``. ``name`` may give names of its own (a drawing names parameters by module)."""
    given = v.name if name is None else name(v)
    if given is not None:
        return given
    if not v._parents and type(v.data) in (float, int):
        return number(float(v.data))
    return f"({v.op or 'leaf'})"


def local_label(v: Value, j: int, name: Callable[[Value], str | None] | None = None) -> str:
    """The local derivative on the backward arrow from ``v`` to its parent ``j``, as the
    books write it: ``x i`` for the weight of ``z = w i``, ``x relu'(z)`` for ``relu``."""
    op = v._op
    if op is None:
        raise ArgumentError(f"local_label: {value_text(v)} is a leaf: it has no parents")
    k = j if op.constant is None or j < op.constant else j + 1  # parent j among the operands

    def text(x: Any) -> str:
        return number(x) if isinstance(x, float) else value_text(x, name)

    return render(op, v, k, operands(v), text)


def rerun(v: Value, *inputs: Any) -> Any:
    """``v``'s own forward rule on other raw inputs (one per parent), with ``v``'s static
    arguments: what ``v`` would be had its parents held ``inputs``. Nothing is recorded and
    ``v`` is not changed (``testing.explain`` perturbs the inputs to check the rule)."""
    op = v._op
    if op is None:
        raise ArgumentError(f"rerun: {value_text(v)} is a leaf: it has no forward rule")
    if len(inputs) != len(v._parents):
        raise ArgumentError(
            f"rerun: {op.name} takes {len(v._parents)} input(s), one per parent; got {len(inputs)}"
        )
    return op.forward(v._static, *inputs)
