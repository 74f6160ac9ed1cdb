"""What a step does besides making nodes, told to the trace that ``tl.jit`` takes of it.

A node records itself in the graph, so a trace finds every op by walking the graph. What
leaves no node behind is told here by whoever does it: ``Value.backward`` (``note_backward``),
an optimizer's ``step()`` and ``zero_grad()`` (``note_call``), a module's training flag that
decides its graph (``note_state``), an update of data outside the graph such as batch norm's
running statistics (``effect``), and what a replay cannot repeat (``refuse``). Outside a trace
each costs one check of the module global ``listener``. ``tracing.py`` reads what was told
into a program; this module imports no Value, so the engine can call it from anywhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .backward import sample
from .graph import toposort

if TYPE_CHECKING:
    from .value import Value

# the creation numbers of nodes (Value._seq), and the places of what a trace is told among them
creation = itertools.count()

# the Recorder of the trace being taken, or None (one trace at a time: a step traced inside
# another step's trace is refused by ``traced``)
listener: Recorder | None = None


def note_backward(root: Value, seed: Any, given: Any = None) -> None:
    """``root.backward()`` is starting from the gradient ``seed`` (``Value.backward`` calls),
    made from ``given``, the array or Value passed to backward (None: the 1 of a number).

    Noted with it, for each leaf that will receive a gradient: whether its ``.grad`` was
    empty (None, or the number 0 micrograd sets) and a sample of its data, to find updates
    made outside an optimizer (``_check_updates``). A leaf found empty by two traces of a
    step (``Program.keep_fresh``) is emptied by the step itself, in a way a replay may not
    see (``x.grad = None``): a replay gives it its gradient afresh, as backward() would."""
    if listener is not None:
        leaves = [v for v in toposort([root]) if not v._parents and v.requires_grad]
        zeroed = {id(v) for v in leaves if v.grad is None or _is_zero(v.grad)}
        seen = [(v, v.data, sample(v.data)) for v in leaves]
        # and, as the walk runs, what each rule sent (``Recorder.saw``): node id -> notes
        listener.events.append(("backward", _seq(), root, seed, zeroed, seen, {}, given))


def note_call(method: Callable[[], Any]) -> None:
    """``method`` (bound, no arguments) is running as a step of its own: replay calls it again
    here. An optimizer's ``step()`` and ``zero_grad()`` note themselves."""
    if listener is not None:
        last = listener.events[-1] if listener.events else None
        # an override that calls its base class's method notes once (SGD.step -> super().step)
        if last is not None and last[0] == "call" and _same_method(last[2], method):
            return
        listener.events.append(("call", _seq(), method))


def note_state(owner: Any, attribute: str) -> None:
    """The step's graph depends on ``owner.attribute`` (a module's ``training`` flag decides
    whether dropout is there): a replay is only valid while it holds the value it has now."""
    if listener is not None:
        listener.guards.setdefault((id(owner), attribute), (owner, attribute))


def effect(fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(*args)`` now, Values passed as their data, and return what it returns. A step
    that updates data outside the graph (batch norm's running averages) does it through
    ``effect``, so that a replayed step does it too, with the Values' new data.

    >>> import numpy as np, tinygrad_lite as tl
    >>> from tinygrad_lite.core import effect
    >>> total = np.zeros(2)
    >>> x = tl.Value([1.0, 2.0])
    >>> effect(np.add, total, x, total)
    array([1., 2.])
    """
    result = fn(*[_data_of(a) for a in args])
    if listener is not None:
        listener.events.append(("effect", _seq(), fn, args))
    return result


def refuse(what: str) -> None:
    """Inside a trace: this step does something a replay cannot repeat (``what`` says it); the
    trace ends in a TraceError and the step runs eagerly. Outside a trace: nothing."""
    if listener is not None and listener.refused is None:
        listener.refused = what


def _is_zero(g: Any) -> bool:
    return type(g) in (int, float) and g == 0


def _same_method(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    return getattr(a, "__self__", a) is getattr(b, "__self__", b) and getattr(
        a, "__name__", None
    ) == getattr(b, "__name__", None)


def _seq() -> int:
    return next(creation)


def _data_of(x: Any) -> Any:
    return x.data if hasattr(x, "_parents") else x


@dataclass
class Recorder:
    """What a step did that its graph does not show, in order, with the creation number of
    the next node at that moment (its place among the ops)."""

    start: int
    events: list[tuple[Any, ...]] = field(default_factory=list)
    refused: str | None = None
    guards: dict[tuple[int, str], tuple[Any, str]] = field(default_factory=dict)
    # ``saw(node, g, sent)``: told by ``Value.backward`` what each node's rule sent its
    # parents, for the program to know which gradients come ready and to lay out its arrays
    saw: Callable[[Any, Any, Any], None] = lambda node, g, sent: None
