"""The one topological sort, shared by backward, the drawings and the tests.

Every Value gets a creation number when it is made, and a Value's parents always exist before
it does, so "sorted by creation number" is a topological order. Finding the nodes is an explicit
stack (no recursion: a chain of a million nodes is fine), ordering them is one C-level sort.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Value

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
