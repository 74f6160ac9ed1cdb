"""The backprop stepper: one offline HTML page that steps through the backward pass.

``stepper(out)`` draws the forward graph of ``out`` (inputs on the left, ``out`` on the
right, one column per layer of the graph), then walks ``tl.backward_steps(out)`` one step at
a time: the Value whose gradient is complete lights up, each arrow to one of its parents
shows ``upstream x local = product`` with the numbers, and a Value that several arrows reach
shows the sum. The page is one file: its script and style (``stepper.js``, ``stepper.css``
beside this module, shipped as package data) and the graph's data (``payload.py``) are all
inline, and it fetches nothing.

>>> import tinygrad_lite as tl
>>> from tinygrad_lite import viz
>>> w = tl.Value(0.5, name="w")
>>> loss = (w * 3.0 - 1.0) ** 2
>>> page = viz.stepper(loss)
>>> page.count, page.html.startswith("<!doctype html>")
(4, True)

For tests and embedding, the page exposes ``window.tlStepper``: ``count``, ``goto(k)``,
``next()``, ``prev()`` and ``current()``, which returns ``{step, name, grad, terms: [{to,
local, product}]}`` for step ``k`` (1 is the output; 0 is the forward graph alone, where
``current()`` is ``null``). Gradients and products are numbers, or nested lists for arrays
(a dict with ``shape``, ``min``, ``max`` and ``mean`` for an array of more than
``MAX_ELEMENTS`` elements).
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from ...core import Value, toposort
from ..errors import DrawingError
from ..scene import ModuleMap
from ..scene.clusters import assign, map_modules
from ..scene.names import caller_frame, caller_names, namer
from .payload import MAX_ELEMENTS, payload

__all__ = ["MAX_ELEMENTS", "NODE_BUDGET", "Stepper", "page_html", "stepper"]

# past this many boxes the page draws only the neighbourhood of the current step (and says so):
# a graph of 10,000 Values stays as quick to open and step through as one of 200
NODE_BUDGET = 300


class Stepper:
    """A stepper page: ``.html`` (the whole page), ``.save(path)``, and ``.count`` steps.

    Jupyter shows it inline (``_repr_html_``), in a frame of its own so its script runs.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.count: int = len(data["steps"])
        self.html: str = page_html(data)

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        doc = html.escape(self.html, quote=True)
        return (
            f'<iframe srcdoc="{doc}" sandbox="allow-scripts" '
            'style="width:100%;height:620px;border:1px solid #ddd"></iframe>'
        )

    def __repr__(self) -> str:
        return f"Stepper({self.data['title']!r}, {self.count} steps, {len(self.html)} bytes)"


def stepper(out: Value, *, model: Any = None, title: str | None = None) -> Stepper:
    """The stepper page of ``out``'s backward pass (see the module docstring).

    Values are named as the drawings name them (``viz.scene.names``): their ``name``; with
    ``model=``, the books' per-unit names (``z1``, ``a1``, ``w1_2``, ``b1``) and one frame per
    module; else the variable of the calling code that holds them; else their operation.
    ``title`` is the page's title (default: "backprop stepper: " and the output's name).
    """
    if not isinstance(out, Value):
        raise DrawingError(f"stepper: expected a Value, got {type(out).__name__}")
    nodes = toposort([out])
    mm = map_modules(model) if model is not None else ModuleMap()
    clusters: dict[Value, tuple[int, str]] = {}
    if model is not None:
        for v, module in assign(nodes, mm).items():
            if module is not None and module.depth > 0:  # the model itself frames everything
                clusters[v] = (module.index, module.label)
    name = namer(mm, nodes, caller_names(caller_frame()))
    return Stepper(payload(out, name, clusters, title))


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def page_html(data: dict[str, Any]) -> str:
    """The page: the style, the data as JSON (escaped so no text in it can end the script
    element) and the script, inline."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    parts = {
        "TITLE": html.escape(data["title"]),
        "STYLE": _asset("stepper.css"),
        "DATA": text,
        "SETTINGS": json.dumps({"budget": NODE_BUDGET}),
        "SCRIPT": _asset("stepper.js"),
    }
    # one pass: text put in (a title, a name) is never read again as a placeholder
    slot = re.compile(r"/\*(TITLE|STYLE|DATA|SETTINGS|SCRIPT)\*/")
    return slot.sub(lambda m: parts[m[1]], _asset("page.html"))
