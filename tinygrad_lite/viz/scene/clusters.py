"""Which module (neuron, layer, network) each Value of a drawing belongs to.

``map_modules(model)`` reads an ``nn.Module``'s ``named_modules()`` and ``named_parameters()``
(``nn.scalar.MLP``, ``Layer`` and ``Neuron`` are Modules too): each parameter belongs to the
innermost module whose path prefixes its name, and is drawn under the rest of its name
(``layers.0.neurons.1.w.0`` is ``w.0`` in the cluster of ``layers.0.neurons.1``).

``assign(nodes, modules)`` then places every node of a graph by three rules, in order:

1. a parameter belongs to the module that holds it;
2. a node computed directly from parameters (a weighted sum, ``x @ W``, ``+ b``) belongs to
   the innermost module that holds all of those parameters;
3. a node computed from one Value (an activation, a reshape) belongs with that Value, and a
   node computed from several belongs to the innermost module holding all of them, but only if
   every one of them is inside some module: the loss, which also reads the targets (or a number
   such as ``y - 1.0``), and anything else that mixes a module's output with outside data
   stays outside.

So a neuron owns its weights, its weighted sum and its activation; a layer owns its neurons;
the loss is drawn outside the network. The rules read the graph only, so they work on any
graph already built; the one case they cannot tell apart is a one-input op applied to a
module's output after the call (``model(x).sigmoid()``), which is drawn inside the module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...core import Value, operands
from ..errors import DrawingError


@dataclass(eq=False)
class Cluster:
    """One module of the model as drawn: a cluster of boxes, or a single box when collapsed."""

    path: str  # "layers.0.neurons.1"; "" for the model itself
    title: str  # "ReluNeuron(2)", or the class name when the repr is long
    parent: Cluster | None
    obj: Any = field(repr=False)
    depth: int = 0
    index: int = 0  # position in ModuleMap.modules: stable ids for the DOT

    @property
    def label(self) -> str:
        return f"{self.path or 'model'} \u00b7 {self.title}"

    def lineage(self) -> list[Cluster]:
        """This module and its ancestors, innermost first."""
        out: list[Cluster] = []
        m: Cluster | None = self
        while m is not None:
            out.append(m)
            m = m.parent
        return out


@dataclass
class ModuleMap:
    modules: list[Cluster] = field(default_factory=list)
    owner: dict[Value, Cluster] = field(default_factory=dict)  # parameter -> its module
    local_name: dict[Value, str] = field(default_factory=dict)  # parameter -> "w.0"

    def find(self, module: Any) -> Cluster:
        """The Cluster drawn for a module object, or for its path string."""
        for m in self.modules:
            if m.obj is module or (isinstance(module, str) and m.path == module):
                return m
        paths = ", ".join(repr(m.path) for m in self.modules[:8])
        raise DrawingError(
            f"collapse: {module!r} is not a module of the model passed as model= "
            f"(its modules are {paths}{', ...' if len(self.modules) > 8 else ''}); pass "
            "module objects such as model.layers[0], or their paths such as 'layers.0'"
        )


def map_modules(model: Any) -> ModuleMap:
    """Every module inside ``model`` (itself included) and the parameters each one holds,
    named as ``named_modules()`` and ``named_parameters()`` name them (``layers.0.w.1``)."""
    if not callable(getattr(model, "named_modules", None)):
        raise DrawingError(
            f"model=: expected an nn.Module (an nn.scalar.MLP, an nn.Sequential...), got "
            f"{type(model).__name__}"
        )
    mm = ModuleMap()
    by_path: dict[str, Cluster] = {}
    for path, obj in model.named_modules():  # parents come before their sub-modules
        parent = by_path[_parent_path(path, by_path)] if path else None
        depth = 0 if parent is None else parent.depth + 1
        by_path[path] = Cluster(path, _title(obj), parent, obj, depth, len(mm.modules))
        mm.modules.append(by_path[path])
    for name, p in model.named_parameters():
        owner = _parent_path(name, by_path)
        mm.owner[p] = by_path[owner]
        mm.local_name[p] = name[len(owner) + 1 :] if owner else name
    return mm


def _parent_path(name: str, by_path: dict[str, Cluster]) -> str:
    """The longest module path that ``name`` lies under ('' for the model itself)."""
    parts = name.split(".")
    for k in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:k])
        if prefix in by_path:
            return prefix
    return ""


def _title(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 40 and "\n" not in text else type(obj).__name__


def common(modules: Sequence[Cluster]) -> Cluster | None:
    """The innermost module that contains all of ``modules``."""
    if not modules:
        return None
    shared = modules[0].lineage()
    for m in modules[1:]:
        mine = set(map(id, m.lineage()))
        shared = [a for a in shared if id(a) in mine]
    return shared[0] if shared else None


def assign(nodes: Sequence[Value], mm: ModuleMap) -> dict[Value, Cluster | None]:
    """The module of every node (``None``: outside every module). ``nodes`` in topological
    order, parents first."""
    where: dict[Value, Cluster | None] = {}
    for v in nodes:
        if v in mm.owner:  # rule 1
            where[v] = mm.owner[v]
            continue
        if v.is_leaf:
            where[v] = None
            continue
        ps = v.parents
        owners = [mm.owner[p] for p in ps if p in mm.owner]
        if owners:  # rule 2
            where[v] = common(owners)
        elif len(operands(v)) == 1:  # rule 3: one input
            where[v] = where.get(ps[0])
        else:  # rule 3: several inputs; a number kept in the node counts as outside
            places = [where.get(p) for p in ps]
            inside = [m for m in places if m is not None]
            outside = len(inside) < len(places) or len(operands(v)) > len(ps)
            where[v] = None if outside or not inside else common(inside)
    return where
