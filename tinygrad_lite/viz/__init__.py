"""Drawings of the graph: the forward graph, the backward graph of the gradients, and a
gradient check, rendered to SVG with no system install needed.

>>> import tinygrad_lite as tl
>>> from tinygrad_lite import viz
>>> a = tl.Value(2.0, name="a")
>>> b = tl.Value(-3.0, name="b")
>>> loss = (a * b).relu()
>>> loss.name = "loss"
>>> loss.backward()
>>> svg = viz.render_svg(viz.draw_backward(loss))
>>> "dloss" in svg
True

The layers, each importing only those below it: ``scene/`` describes what to draw (pure
data: boxes, arrows, clusters; no graphviz), ``render/`` turns a scene into DOT text (pure) and
DOT text into SVG (``dot`` or WebAssembly) and shows graphs in Jupyter, ``draw.py`` is the
public face.
"""

from .draw import (
    MAX_NODES,
    draw_backward,
    draw_forward,
    draw_gradcheck,
    draw_network,
    render_svg,
)
from .errors import DrawingError, RendererNotFoundError, RenderError
from .render import Graph, available_renderer
from .stepper import Stepper, stepper

__all__ = [
    "DrawingError",
    "MAX_NODES",
    "Graph",
    "RenderError",
    "RendererNotFoundError",
    "Stepper",
    "available_renderer",
    "draw_backward",
    "draw_forward",
    "draw_gradcheck",
    "draw_network",
    "render_svg",
    "stepper",
]
