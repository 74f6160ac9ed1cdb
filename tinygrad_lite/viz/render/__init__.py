"""Rendering: a Scene as DOT text (``dot.py``, pure), and DOT text as SVG through the ``dot``
program or Graphviz built for WebAssembly (``svg.py``), with the Jupyter display."""

from .dot import dot_statements, dot_string
from .svg import Graph, Renderer, available_renderer, render_svg, to_graph

__all__ = [
    "Graph",
    "Renderer",
    "available_renderer",
    "dot_statements",
    "dot_string",
    "render_svg",
    "to_graph",
]
