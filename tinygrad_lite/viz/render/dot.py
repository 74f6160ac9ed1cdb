"""A Scene as DOT text: a pure function, no rendering and no I/O.

``dot_statements(scene)`` writes every statement itself: user text only ever appears inside a
quoted string made by ``dot_string``; node and cluster ids are our own (``v3``, ``m2``).
Each node and edge carries an SVG ``class`` (``param``, ``output``, ``failed``...) and nodes an
``id``, so pages and tests can find them in the rendered SVG.
"""

from __future__ import annotations

import re

from ..scene import LEGEND, Box, Cluster, Scene
from ..scene.network import Network

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_TEXT = 80  # longer texts are cut with an ellipsis so one name cannot swamp the picture

FONT = "Helvetica"
# Past this many boxes, layout speed wins over label placement: edge labels become xlabels
# (placed after the layout instead of taking part in it) and crossing minimisation stops early;
# a 1,000-node graph then renders in about 2 s instead of 5-12 s.
LARGE = 200
# kind: (fill, border, style, border width)
STYLE: dict[str, tuple[str, str, str, str]] = {
    "param": ("#fff2cc", "#b58900", "filled", "1"),
    "data": ("#eeeeee", "#777777", "filled,dashed", "1"),
    "op": ("#ffffff", "#6c8ebf", "rounded,filled", "1"),
    "output": ("#d5e8d4", "#2e7d32", "rounded,filled", "2.5"),
    "module": ("#e1d5e7", "#9673a6", "filled", "1.5"),
    "group": ("#f5f5f5", "#999999", "filled,dashed", "1"),
    "failed": ("#ffcccc", "red", "rounded,filled", "3"),
    "anomaly": ("#ffe0b2", "red", "rounded,filled,bold", "3"),
}


def dot_string(text: str) -> str:
    r"""``text`` as a quoted DOT string for a label; a newline becomes a line break.

    >>> print(dot_string('say "hi" & C:\\temp'))
    "say \"hi\" &amp; C:\\temp"
    """
    lines = []
    for line in text.split("\n"):
        if len(line) > MAX_TEXT:
            line = line[: MAX_TEXT - 1] + "\u2026"
        line = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", line.replace("\t", " "))
        # & first (Graphviz reads entities such as &amp; in labels), then the DOT escapes
        lines.append(line.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"'))
    return '"' + "\\n".join(lines) + '"'


def dot_statements(scene: Scene) -> list[str]:
    """The statements of the DOT text of ``scene``, one per line."""
    large = len(scene.boxes) > LARGE
    layout = _attrs(rankdir=scene.rankdir, labelloc="b", nodesep="0.25", ranksep="0.4")
    if large:
        layout += ' mclimit="0.3"'
    out = [
        f"graph [{layout} {_attrs(fontname=FONT, fontsize='11')}"
        f" label={dot_string(chr(10).join(scene.caption))}]",
        f"node [{_attrs(shape='box', fontname=FONT, fontsize='11', margin='0.15,0.06')}]",
        f"edge [{_attrs(fontname=FONT, fontsize='9', color='#555555', arrowsize='0.7')}]",
    ]
    children: dict[int, list[Cluster]] = {}
    members: dict[int, list[Box]] = {}
    for box in scene.boxes:
        members.setdefault(id(box.cluster), []).append(box)
        _register(box.cluster, children)
    out += _cluster_body(None, children, members)
    out += _legend(scene.kinds)
    for a in scene.arrows:
        style = dict(color="red", fontcolor="red", penwidth="2") if a.failed else {}
        label = f" {'xlabel' if large else 'label'}={dot_string(a.label)}" if a.label else ""
        kind = "failed" if a.failed else "flow"
        out.append(f"{a.src} -> {a.dst} [{_attrs(**{'class': kind}, **style)}{label}]")
    return out


def node_statement(key: str, text: str, kind: str, css: str = "") -> str:
    fill, border, style, width = STYLE[kind]
    attrs = _attrs(id=key, fillcolor=fill, color=border, style=style, penwidth=width)
    return f'{key} [{attrs} class="{css or kind}" label={dot_string(text)}]'


def box_text(box: Box) -> str:
    head = f"{box.title}  {box.subtitle}" if box.subtitle else box.title
    return "\n".join([head, *box.lines])


def _attrs(**attrs: str) -> str:
    """Attributes whose values are our own constants (never user text)."""
    return " ".join(f'{k}="{v}"' for k, v in attrs.items())


def _register(module: Cluster | None, children: dict[int, list[Cluster]]) -> None:
    """Record ``module`` and its ancestors in the cluster tree (``children[id(parent)]``)."""
    while module is not None:
        siblings = children.setdefault(id(module.parent), [])
        if any(m is module for m in siblings):
            return
        siblings.append(module)
        module = module.parent


def _cluster_body(
    module: Cluster | None, children: dict[int, list[Cluster]], members: dict[int, list[Box]]
) -> list[str]:
    out = []
    for box in members.get(id(module), []):
        out.append(node_statement(box.key, box_text(box), "failed" if box.failed else box.kind))
    for child in children.get(id(module), []):
        out.append(f"subgraph cluster_m{child.index} {{")
        style = _attrs(id=f"cluster_m{child.index}", style="rounded,dashed", color="#9673a6")
        out.append(f'graph [{style} fontsize="10" label={dot_string(child.label)}]')
        out += _cluster_body(child, children, members)
        out.append("}")
    return out


def _legend(kinds: list[str]) -> list[str]:
    if not kinds:
        return []
    keys = [f"legend_{k}" for k in kinds]
    out = ["subgraph cluster_legend {", 'graph [label="legend" color="#cccccc" fontsize="9"]']
    out.append('node [fontsize="9" margin="0.12,0.03" height="0.3"]')
    out += [node_statement(key, LEGEND[k], k, f"legend {k}") for key, k in zip(keys, kinds)]
    out += [f'{a} -> {b} [style="invis"]' for a, b in zip(keys, keys[1:])]  # one row
    out.append("}")
    return out


# the network diagram: kind of neuron -> (fill, border)
NEURON_STYLE = {
    "input": ("#eeeeee", "#777777"),
    "hidden": ("#ffffff", "#6c8ebf"),
    "output": ("#d5e8d4", "#2e7d32"),
}


def network_statements(net: Network) -> list[str]:
    """The DOT statements of the books' network diagram: a column per layer, circles, links
    coloured by the sign of their weight, each link's weight in its tooltip."""
    out = [
        # ordering: each node's links leave in the order written, so every column keeps the
        # books' order (neuron 1 on top) instead of the one that crosses fewest links
        f"graph [{_attrs(rankdir='LR', nodesep='0.3', ranksep='1.3', labelloc='b', ordering='out')}"
        f" {_attrs(fontname=FONT, fontsize='11')} label={dot_string(chr(10).join(net.caption))}]",
        f"node [{_attrs(shape='circle', fontname=FONT, fontsize='11', width='0.6')}"
        ' fixedsize="true"]',
        f"edge [{_attrs(arrowsize='0.5')}]",
    ]
    for c, column in enumerate(net.columns):
        # a rank per column (not a cluster: dot reorders the nodes of clusters), its title a
        # text below its last neuron
        out.append(f'subgraph layer{c} {{rank="same"')
        for n in column.neurons:
            fill, border = NEURON_STYLE[n.kind]
            attrs = _attrs(id=n.key, style="filled", fillcolor=fill, color=border)
            out.append(
                f'{n.key} [{attrs} class="{n.kind}" label={dot_string(n.label)}'
                f" tooltip={dot_string(n.tooltip)}]"
            )
        title = _attrs(id=f"title{c}", shape="plaintext", fixedsize="false", fontsize="10")
        out.append(f'title{c} [{title} class="title" label={dot_string(column.title)}]')
        chain = " -> ".join([n.key for n in column.neurons] + [f"title{c}"])
        out.append(f'{chain} [style="invis"]')
        out.append("}")
    biggest = max((abs(link.weight) for link in net.links), default=0.0) or 1.0
    for link in net.links:
        colour = "#c92a2a" if link.weight > 0 else "#1c5fd4" if link.weight < 0 else "#999999"
        width = f"{0.4 + 2.6 * abs(link.weight) / biggest:.2f}"
        attrs = _attrs(color=colour, penwidth=width)
        tip = dot_string(link.tooltip)
        out.append(
            f'{link.src} -> {link.dst} [{attrs} class="link" tooltip={tip} edgetooltip={tip}]'
        )
    return out
