"""What a drawing shows, as plain data: boxes, arrows, module clusters and a caption.

``forward_scene`` reads a graph (``tl.core.toposort`` and the public graph view of Value) and
``backward_scene`` the backward walk (``tl.backward_steps``); each describes one box per Value.
``_Reducer`` then merges boxes when the picture would be too big to read:

* ``collapse=[module, ...]`` draws each of those modules as one box;
* past ``max_nodes`` boxes, it tries, in order, until the picture fits: folding repeated
  values (the same operation on the same kinds of inputs, e.g. the 100 losses of 100 data
  points, become one ``sub x100`` box), collapsing the deepest modules (neurons) and folding,
  then the next level (layers), and so on; then one box per operation; and, as a last resort,
  named values fold too and the smallest groups merge into one box, so ``max_nodes`` is a
  hard bound. The caption says what was done.

Nothing here renders or prints: ``render/dot.py`` turns a Scene into DOT text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...checks import whole_number
from ...core import GradientError, Step, Value, backward_steps, operands, toposort
from ..errors import DrawingError
from .clusters import Cluster, ModuleMap, assign, map_modules
from .names import namer
from .text import number, summary

MODULE = "m"  # box keys: "v3" one Value, "f2" a folded group, "m4" the module mm.modules[4]
OTHERS = "others"  # the box key of the groups merged when nothing else keeps max_nodes
ARROWS_PER_BOX = 1.5  # more arrows than this per box (a dense layer of neurons) is unreadable
LEGEND: dict[str, str] = {
    "param": "parameter (requires_grad leaf)",
    "data": "data input (requires_grad=False)",
    "op": "intermediate",
    "output": "output",
    "module": "module, collapsed",
    "group": "repeated values, folded",
    "failed": "backward rule disagrees with finite differences",
    "anomaly": "first NaN or infinite gradient (detect_anomaly)",
}


@dataclass
class Box:
    key: str  # the DOT node id
    title: str  # first line, bold: "z", "dz", "sub x100"
    subtitle: str  # beside the title: the operation, or the step number
    lines: list[str]
    kind: str  # a key of LEGEND
    cluster: Cluster | None = None  # the module cluster it is drawn in
    failed: bool = False


@dataclass
class Arrow:
    src: str
    dst: str
    label: str = ""
    failed: bool = False


@dataclass
class Scene:
    boxes: list[Box]
    arrows: list[Arrow]
    caption: list[str]
    rankdir: str  # "LR": inputs on the left; backward graphs use "RL", the loss stays right
    kinds: list[str] = field(default_factory=list)  # for the legend, in LEGEND order


@dataclass
class _Item:
    """One Value as drawn alone, and what the reducer needs to know about it."""

    value: Value
    box: Box
    module: Cluster | None
    foldable: bool  # unnamed, not the output, not highlighted


Link = tuple[Value, Value, str, bool]  # (from, to, label, failed), in drawing direction
Describe = Callable[[list[Value]], list[str]]


# ---------------------------------------------------------------- the two graphs


def forward_scene(
    root: Value,
    model: Any = None,
    collapse: Sequence[Any] = (),
    max_nodes: int | None = 150,
    names: Mapping[Value, str] | None = None,
) -> Scene:
    """One box per Value, from the inputs (left) to ``root`` (right). ``names``: names for
    unnamed Values (the caller's variables, see ``names.py``); they never stop a fold."""
    nodes = toposort([root])
    mm, where = _place(nodes, model)
    name, own = namer(mm, nodes, names), namer(mm, nodes)
    items = []
    for i, v in enumerate(nodes):
        kind = _kind(v, root)
        title = name(v) or v.op or ("parameter" if kind == "param" else "input")
        subtitle = f"({v.op})" if name(v) and v.op else ""
        lines = _lines("data", v.data) + ([] if v.grad is None else _lines("grad", v.grad))
        box = Box(f"v{i}", title, subtitle, _with_number(v) + lines, kind, where[v])
        items.append(_Item(v, box, where[v], own(v) is None and v is not root))
    links: list[Link] = [(p, v, "", False) for v in nodes for p in v.parents]
    caption = [f"forward graph of {name(root) or root.op or 'a leaf'}"]
    reducer = _Reducer(items, links, mm, collapse, max_nodes, _describe_data, "")
    return reducer.scene(caption, "LR")


def backward_scene(
    root: Value,
    model: Any = None,
    collapse: Sequence[Any] = (),
    max_nodes: int | None = 150,
    steps: list[Step] | None = None,
    failed: dict[Value, tuple[list[str], set[int]]] | None = None,
    names: Mapping[Value, str] | None = None,
    mark: tuple[Value, Value | None, str] | None = None,
) -> Scene:
    """One box per step of the backward walk (``tl.backward_steps``), from ``droot`` toward
    the leaves, numbered in backward's order; one arrow per term, labelled with its local rule.

    ``steps`` is the walk to draw: by default the one ``root.backward()`` took, replayed from
    the gradient the root holds (``draw_gradcheck`` passes the walk of its own check).
    ``failed`` maps a node to lines to add and the inputs whose arrows to highlight.
    ``mark``: (the Value whose backward rule made the first NaN or infinite gradient, the input
    it sent it to or None, a line to add), as an ``AnomalyError`` carries them: that box and
    arrow stand out; ``{}`` in the line becomes the input's name.
    """
    nodes = toposort([root])
    mm, where = _place(nodes, model)
    name, own = namer(mm, nodes, names), namer(mm, nodes)
    if steps is None:
        if root.grad is None:
            raise GradientError(
                "draw_backward: the output has no gradient yet; call loss.backward() first "
                "(the drawing replays that backward pass from the output's gradient)"
            )
        steps = backward_steps(root, root.grad, name=name)
    grad_of = {s.value: s.grad for s in steps}.get
    drawn = {s.value for s in steps}
    failed = failed or {}

    links: list[Link] = []
    marked, marked_input = (None, None) if mark is None else mark[:2]
    for s in steps:
        bad = failed.get(s.value, ([], set()))[1]
        sent_bad = marked is not None and s.value is marked
        links += [
            (s.value, t.parent, t.local, t.index in bad or (sent_bad and t.parent is marked_input))
            for t in s.terms
            if t.parent in drawn
        ]
    fan_in: dict[Value, int] = {}
    for _, p, _, _ in links:
        fan_in[p] = fan_in.get(p, 0) + 1

    items = []
    for s in steps:
        v = s.value
        kind = _kind(v, root)
        title = "d" + (name(v) or f"({v.op or 'leaf'})")
        lines = _lines("=", s.grad)
        if fan_in.get(v, 0) > 1:
            lines.append(f"sum of fan-out ({fan_in[v]} arrows)")
        extra = failed.get(v, ([], set()))[0]
        if mark is not None and v is mark[0]:
            parent = mark[1]
            kind = "anomaly"
            extra = [mark[2].format("" if parent is None else name(parent) or parent.op or "leaf")]
        box = Box(f"v{s.index}", title, f"#{s.index}", lines + extra, kind, where[v], v in failed)
        items.append(_Item(v, box, where[v], own(v) is None and v is not root and not extra))
    caption = [
        f"backward graph of {name(root) or root.op or 'a leaf'}",
        "arrows: the gradient flowing back, labelled with the local rule",
        "#n: the order in which backward computed the gradients",
    ]
    if mark is not None:
        caption.append("red box: where the first NaN or infinite gradient was made")
    describe = _describe_grads(grad_of)
    reducer = _Reducer(items, links, mm, collapse, max_nodes, describe, "d")
    return reducer.scene(caption, "RL")


# ---------------------------------------------------------------- describing Values


def _kind(v: Value, root: Value) -> str:
    if v is root:
        return "output"
    if v.is_leaf:
        return "param" if v.requires_grad else "data"
    return "op"


def _place(nodes: list[Value], model: Any) -> tuple[ModuleMap, dict[Value, Cluster | None]]:
    if model is None:
        return ModuleMap(), dict.fromkeys(nodes)
    mm = map_modules(model)
    return mm, assign(nodes, mm)


SYMBOLS = {"add": "+", "sub": "-", "mul": "\u00d7", "div": "/", "pow": "^"}


def _with_number(v: Value) -> list[str]:
    """A line for the number kept inside a node, which has no box of its own: ``· + 10``
    (``·`` is the Value the arrow brings in)."""
    ops = operands(v) if v.op in SYMBOLS else []
    if len(ops) != 2 or all(isinstance(x, Value) for x in ops):
        return []
    a, b = ("\u00b7" if isinstance(x, Value) else number(x) for x in ops)
    return [f"{a} {SYMBOLS[v.op or '']} {b}"]


def _lines(prefix: str, data: Any) -> list[str]:
    text = summary(data)
    if len(text) == 1:
        return [f"{prefix} {text[0]}"]
    if prefix == "data":
        return [f"{prefix} {text[0]}", *text[1:]]
    return [f"{prefix} {line}" for line in text[1:]]  # a gradient has the data's shape


def _describe_data(values: list[Value]) -> list[str]:
    return [f"{len(values)} values", *_span("data", [v.data for v in values])]


def _describe_grads(grad_of: Callable[[Value], Any]) -> Describe:
    def describe(values: list[Value]) -> list[str]:
        return [f"{len(values)} gradients", *_span("grad", [grad_of(v) for v in values])]

    return describe


def _span(what: str, datas: list[Any]) -> list[str]:
    """The range of a few numbers or arrays, as one line ('' when they are all empty)."""
    sizes = [np.size(d) for d in datas]
    if not any(sizes):
        return []
    flat = np.concatenate([np.ravel(np.asarray(d, dtype=np.float64)) for d in datas])
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return [f"{what} not finite"]
    return [f"{what} in [{number(flat.min())}, {number(flat.max())}]"]


# ---------------------------------------------------------------- making big graphs readable


class _Reducer:
    """Merges the boxes of ``items`` (module boxes, folded groups) and keeps the arrows."""

    def __init__(
        self,
        items: list[_Item],
        links: list[Link],
        mm: ModuleMap,
        collapse: Sequence[Any],
        max_nodes: int | None,
        describe: Describe,
        prefix: str,
    ) -> None:
        if max_nodes is not None:
            max_nodes = whole_number("draw", "max_nodes", max_nodes, 1, DrawingError)
        self.items = {it.value: it for it in items}
        self.order = items
        self.links = links
        self.mm = mm
        self.explicit = [mm.find(m) for m in collapse]
        self.max_nodes = max_nodes
        self.describe = describe
        self.prefix = prefix
        self.sources: dict[Value, list[Value]] = {it.value: [] for it in items}
        self.fan_out: dict[Value, int] = dict.fromkeys(self.sources, 0)
        for a, b, _, _ in links:
            self.sources[b].append(a)
            self.fan_out[a] += 1

    def scene(self, caption: list[str], rankdir: str) -> Scene:
        groups, note = self._choose()
        boxes = self._boxes(groups)
        arrows = self._arrows(groups)
        caption = [*caption, *note]
        kinds = {b.kind for b in boxes} | ({"failed"} if any(b.failed for b in boxes) else set())
        return Scene(boxes, arrows, caption, rankdir, [k for k in LEGEND if k in kinds])

    # the candidates, from the most detailed picture to the coarsest
    def _choose(self) -> tuple[dict[Value, str], list[str]]:
        explicit = {id(m) for m in self.explicit}
        base = self._collapsed(explicit)
        if self.max_nodes is None or self._fits(base):
            return base, []
        candidates: list[tuple[int | None, bool]] = [(None, True)]
        for level in sorted({m.depth for m in self.mm.modules}, reverse=True):
            candidates += [(level, False), (level, True)]
        for depth, fold in candidates:
            chosen = explicit | {id(m) for m in self.mm.modules if m.depth == depth}
            groups = self._collapsed(chosen)
            if fold:
                groups = self._fold(groups, coarse=False)
            if self._fits(groups):
                return groups, self._note(depth, "repeated values folded (\u00d7N)" * fold, groups)
        top = explicit | {id(m) for m in self.mm.modules if m.depth == 0}
        depth = 0 if self.mm.modules else None
        groups = self._fold(self._collapsed(top), coarse=True)
        if _count(groups) <= self.max_nodes:
            return groups, self._note(depth, "one box per operation", groups)
        # max_nodes is a hard bound: named values fold too, and then the smallest groups merge
        groups = self._fold(self._collapsed(top), coarse=True, named=True)
        if _count(groups) <= self.max_nodes:
            return groups, self._note(depth, "one box per operation, named values too", groups)
        groups = self._capped(groups)
        return groups, self._note(depth, "named values folded; the smallest groups merged", groups)

    def _capped(self, groups: dict[Value, str]) -> dict[Value, str]:
        """At most ``max_nodes`` boxes: the output's box and the biggest groups stay, the
        rest become one box of ``OTHERS``."""
        assert self.max_nodes is not None
        sizes: dict[str, int] = {}
        for key in groups.values():
            sizes[key] = sizes.get(key, 0) + 1
        output = {groups[it.value] for it in self.order if it.box.kind == "output"}
        ranked = sorted(sizes, key=lambda key: (key not in output, -sizes[key]))
        keep = set(ranked[: self.max_nodes - 1])
        return {v: key if key in keep else OTHERS for v, key in groups.items()}

    def _fits(self, groups: dict[Value, str]) -> bool:
        """Few enough boxes, and few enough arrows between them, to read."""
        assert self.max_nodes is not None
        if _count(groups) > self.max_nodes:
            return False
        pairs = {(groups[a], groups[b]) for a, b, _, _ in self.links if groups[a] != groups[b]}
        return len(pairs) / ARROWS_PER_BOX <= self.max_nodes  # an int max_nodes of any size

    def _note(self, depth: int | None, folded: str, groups: dict[Value, str]) -> list[str]:
        done = [f"modules at depth {depth} collapsed"] if depth is not None else []
        done += [folded] if folded else []
        n, boxes = len(self.order), _count(groups)
        return [
            f"{n} values drawn as {boxes} boxes (max_nodes={self.max_nodes})",
            "; ".join(done),
            "pass max_nodes=None to draw every value",
        ]

    def _collapsed(self, chosen: set[int]) -> dict[Value, str]:
        """Each item's box key, with the items of the ``chosen`` modules in one box each."""
        groups = {}
        for v, it in self.items.items():
            box = _outermost(it.module, chosen)
            groups[v] = f"{MODULE}{box.index}" if box is not None else it.box.key
        return groups

    def _fold(
        self, groups: dict[Value, str], coarse: bool, named: bool = False
    ) -> dict[Value, str]:
        """Merge foldable items that do the same thing to the same kinds of inputs (with
        ``named``, named and highlighted items too: all but the output)."""
        out: dict[Value, str] = {}
        by_signature: dict[tuple[Any, ...], str] = {}
        for it in self.order:  # drawing order: sources before the items they point to
            v = it.value
            foldable = it.foldable or (named and it.box.kind != "output")
            if not foldable or _is_module(groups[v]):
                out[v] = groups[v]
                continue
            key: tuple[Any, ...] = (it.box.kind, v.op, np.shape(v.data), id(it.module))
            srcs = self.sources[v]
            chain = next((s for s in srcs if self._chains(s, v, len(srcs), named)), None)
            if chain is not None:  # a + b + c + ...: one box for the whole chain
                out[v] = out[chain]
                continue
            if not coarse:
                key += (frozenset(out[s] for s in srcs),)
            out[v] = by_signature.setdefault(key, f"f{len(by_signature)}")
        return out

    def _chains(self, s: Value, v: Value, n_sources: int, named: bool) -> bool:
        a, b = self.items[s], self.items[v]
        return (
            (a.foldable or (named and a.box.kind != "output"))
            and a.box.kind == b.box.kind
            and s.op == v.op
            and a.module is b.module
            and (self.fan_out[s] == 1 or n_sources == 1)
        )

    def _boxes(self, groups: dict[Value, str]) -> list[Box]:
        members: dict[str, list[Value]] = {}
        for it in self.order:
            members.setdefault(groups[it.value], []).append(it.value)
        boxes = []
        for key, vs in members.items():
            first = self.items[vs[0]]
            if _is_module(key):
                boxes.append(self._module_box(key, vs))
            elif len(vs) == 1:  # drawn alone, under its group's key, which the arrows use
                boxes.append(first.box if key == first.box.key else replace(first.box, key=key))
            else:
                what = "others" if key == OTHERS else vs[0].op or first.box.kind
                title = f"{self.prefix}({what})" if self.prefix else what
                lines = self.describe(vs)
                failed = any(self.items[v].box.failed for v in vs)
                box = Box(key, f"{title} \u00d7{len(vs)}", "", lines, "group", first.module, failed)
                boxes.append(box)
        return boxes

    def _module_box(self, key: str, vs: list[Value]) -> Box:
        module = self.mm.modules[int(key[1:])]
        params = [v for v in vs if v in self.mm.owner]
        lines = [f"{len(params)} parameters, {len(vs) - len(params)} other values"]
        lines += self.describe(vs)[1:]
        title = f"{self.prefix}({module.path or 'model'})" if self.prefix else module.path
        return Box(key, title or "model", module.title, lines, "module", module.parent)

    def _arrows(self, groups: dict[Value, str]) -> list[Arrow]:
        merged: dict[tuple[str, str], list[tuple[str, bool]]] = {}
        for a, b, label, failed in self.links:
            ga, gb = groups[a], groups[b]
            if ga != gb:
                merged.setdefault((ga, gb), []).append((label, failed))
        arrows = []
        for (ga, gb), marks in merged.items():
            labels = {label for label, _ in marks}
            label = labels.pop() if len(labels) == 1 else ""
            if len(marks) > 1 and not (_is_module(ga) or _is_module(gb)):
                label = f"{label} \u00d7{len(marks)}".strip()  # between modules: just the link
            arrows.append(Arrow(ga, gb, label, any(f for _, f in marks)))
        return arrows


def _is_module(key: str) -> bool:
    return key.startswith(MODULE)


def _outermost(module: Cluster | None, chosen: set[int]) -> Cluster | None:
    if module is None:
        return None
    hits = [m for m in module.lineage() if id(m) in chosen]
    return hits[-1] if hits else None


def _count(groups: dict[Value, str]) -> int:
    return len(set(groups.values()))
