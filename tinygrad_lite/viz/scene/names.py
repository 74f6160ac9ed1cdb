"""Names a learner reads: what a drawing or the stepper calls a Value that has no ``name``.

A Value's own ``name`` always wins. For the others, in order:

1. **the model's units** (with ``model=``): a neuron of ``nn.scalar`` (its weights ``w``,
   bias ``b``) is unit ``u``, counted 1, 2, 3 ... through the whole model in module order;
   its weighted sum is ``z{u}``, its activation ``a{u}``, its weights ``w{u}_1``, ``w{u}_2``
   ... and its bias ``b{u}``, as the books number a network's neurons. A layer with ``weight``
   and ``bias`` (``nn.Linear``) is one unit for the whole layer: ``W{u}``, ``b{u}``, ``z{u}``
   (``x @ W + b``) and ``a{u}`` (the activation applied to it). A unit called more than once
   in the graph (a network run on several data points) is left to the other rules, since
   ``z1`` would then mean several Values;
2. **the caller's variables** (``caller_names``): the Value held by a variable of the code that
   called ``draw_forward``, ``draw_backward`` or ``stepper`` is named after that variable
   (``z = w * x + b`` shows ``z``); the code is the first frame outside the ``tinygrad_lite``
   package, its local variables first, then its module's globals. Names starting with ``_``
   are skipped (a notebook's ``_``, ``_1`` ...); a list or tuple of at most ``MAX_LISTED``
   Values names its items ``x[0]``, ``x[1]`` ...; of two variables holding the same Value, the
   one defined first wins;
3. the module-local name of a parameter (``w.0`` in the cluster of its neuron);
4. nothing: the drawing shows the Value's operation, ``relu``, or ``d(relu)`` for its gradient.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from types import FrameType

from ...core import Value
from .clusters import ModuleMap

MAX_LISTED = 16  # a longer list of Values (a data set, a batch of losses) names no items
ACTIVATIONS = frozenset(
    ["relu", "sigmoid", "tanh", "leaky_relu", "gelu", "softmax", "log_softmax", "exp", "clip"]
)
_WEIGHT = re.compile(r"w\.(\d+)")

Namer = Callable[[Value], str | None]


def caller_frame() -> FrameType | None:
    """The frame of the first caller outside the ``tinygrad_lite`` package."""
    frame = inspect.currentframe()
    while frame is not None and frame.f_globals.get("__name__", "").startswith("tinygrad_lite"):
        frame = frame.f_back
    return frame


def caller_names(frame: FrameType | None) -> dict[Value, str]:
    """The unnamed Values held by the variables of ``frame`` (see the module docstring)."""
    if frame is None:
        return {}
    found: dict[Value, str] = {}
    scopes = [frame.f_locals, frame.f_globals]
    for listed in (False, True):  # plain variables first, then the items of lists
        for scope in scopes:
            for key, obj in list(scope.items()):
                if key.startswith("_"):
                    continue
                if not listed and isinstance(obj, Value):
                    _take(found, obj, key)
                elif listed and isinstance(obj, (list, tuple)) and len(obj) <= MAX_LISTED:
                    for k, item in enumerate(obj):
                        if isinstance(item, Value):
                            _take(found, item, f"{key}[{k}]")
    return found


def _take(found: dict[Value, str], v: Value, name: str) -> None:
    if v.name is None and v not in found:
        found[v] = name


def unit_names(nodes: Iterable[Value], mm: ModuleMap) -> dict[Value, str]:
    """The books' names of the model's units: ``z1``, ``a1``, ``w1_2``, ``b1`` ..."""
    params: dict[int, list[Value]] = {}
    for p, owner in mm.owner.items():
        params.setdefault(owner.index, []).append(p)
    users: dict[Value, list[Value]] = {}
    order: dict[Value, int] = {}
    for v in nodes:  # parents first
        order[v] = len(order)
        for p in v.parents:
            users.setdefault(p, []).append(v)
    names: dict[Value, str] = {}
    u = 0
    for module in mm.modules:
        own = params.get(module.index)
        if not own:
            continue
        u += 1
        local = {p: mm.local_name[p] for p in own}
        kind = _unit_kind(local.values())
        if kind is None:
            continue
        for p, name in local.items():
            weight = _WEIGHT.fullmatch(name)
            if weight:
                names[p] = f"w{u}_{int(weight[1]) + 1}"
            else:
                names[p] = {"weight": f"W{u}", "bias": f"b{u}", "b": f"b{u}"}[name]
        z = _weighted_sum(own, users, order)
        if z is None:
            continue
        names[z] = f"z{u}"
        acts = [v for v in users.get(z, []) if v.op in ACTIVATIONS and len(v.parents) == 1]
        if len(acts) == 1:
            names[acts[0]] = f"a{u}"
    return names


def _unit_kind(local: Iterable[str]) -> str | None:
    names = set(local)
    if names and all(_WEIGHT.fullmatch(n) or n == "b" for n in names):
        return "neuron"
    if names and names <= {"weight", "bias"}:
        return "layer"
    return None


def _weighted_sum(
    own: list[Value], users: Mapping[Value, list[Value]], order: Mapping[Value, int]
) -> Value | None:
    """The last of the chain of nodes computed from the unit's parameters (``x @ W`` then
    ``+ b``; one ``weighted_sum``), or None when the unit was called more than once."""
    chain: list[Value] = []
    seen: set[Value] = set()
    for p in own:
        for v in users.get(p, []):
            if v not in seen:
                seen.add(v)
                chain.append(v)
    if not chain:
        return None
    chain.sort(key=order.__getitem__)
    for prev, v in zip(chain, chain[1:]):
        if not any(q is prev for q in v.parents):
            return None
    return chain[-1]


def namer(
    mm: ModuleMap | None = None,
    nodes: Iterable[Value] = (),
    called: Mapping[Value, str] | None = None,
) -> Namer:
    """``name(v)``: the Value's own name, else its unit's, its variable's, its module-local."""
    units = unit_names(nodes, mm) if mm is not None and mm.modules else {}
    local = mm.local_name if mm is not None else {}
    called = called or {}

    def name(v: Value) -> str | None:
        if v.name is not None:
            return v.name
        return units.get(v) or called.get(v) or local.get(v)

    return name
