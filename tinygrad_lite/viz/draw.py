"""The public drawing functions: the forward graph, the backward graph, a gradient check, and
``render_svg``. The top of ``viz``: it puts a scene (``scene/``) through a renderer
(``render/``); neither of those imports this module."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..core import AnomalyError, Value, backward_steps
from ..testing.explain import explain
from . import render
from .errors import DrawingError
from .render import Graph, Renderer, to_graph
from .scene import Scene, backward_scene, forward_scene
from .scene.names import caller_frame, caller_names
from .scene.network import network_scene

MAX_NODES = 150  # past this many boxes a drawing folds and collapses itself (see scene/)


def draw_forward(
    value: Value,
    *,
    model: Any = None,
    collapse: Sequence[Any] = (),
    max_nodes: int | None = MAX_NODES,
    frames: bool = True,
) -> Graph:
    """The forward graph of ``value``: one box per Value, inputs on the left.

    A Value without a ``name`` is called after the variable of your code that holds it
    (``z = w * x`` shows ``z``), or with ``model=`` by the books' per-unit names (``z1``,
    ``a1``, ``w1_2``, ``b1``), else by its operation: ``viz.scene.names`` has the rule.
    Each box shows the name, the operation, the data (the number of a scalar; shape, dtype and
    statistics of an array) and the gradient once computed. Parameters, data inputs,
    intermediates and the output have their own colours (see the legend). ``model=`` groups
    the boxes by the module (neuron, layer) that made them; ``collapse=[module, ...]`` draws
    those modules as one box each; past ``max_nodes`` boxes the drawing folds repeated values
    and collapses modules by itself, and says so in its caption. ``frames=False`` keeps the
    names ``model=`` gives but draws no frame around each module: Graphviz then lays a
    network out as the books do, one column per layer.

    >>> import tinygrad_lite as tl
    >>> from tinygrad_lite import viz
    >>> w = tl.Value(-3.0, name="w")
    >>> z = w * 2.0
    >>> z.name = "z"
    >>> g = viz.draw_forward(z)
    >>> "z  (mul)" in g.source and "data -6" in g.source
    True
    """
    _check_value(value, "draw_forward")
    called = caller_names(caller_frame())
    return to_graph(_framed(forward_scene(value, model, collapse, max_nodes, called), frames))


def draw_backward(
    value: Value,
    *,
    model: Any = None,
    collapse: Sequence[Any] = (),
    max_nodes: int | None = MAX_NODES,
    frames: bool = True,
    mark: AnomalyError | Value | None = None,
) -> Graph:
    """The backward graph of ``value``: its gradients, after ``value.backward()``.

    Boxes are named after their Values (``dz`` for ``z``, named as ``draw_forward`` names
    them; a Value with no name found by its operation, ``d(mul)``), numbered in the order
    backward computed them, and show the ``.grad`` the engine holds. Arrows point the way the
    gradient flows, from the output toward the leaves, and are labelled with the local rule
    they apply (``x i``, ``x relu'(z)``...). A box that receives several arrows says ``sum of
    fan-out``. Raises ``GradientError`` if ``value`` has
    no gradient yet: this function draws what backward computed, it never runs it.

    ``mark=``: the ``AnomalyError`` that ``tl.detect_anomaly()`` raised (or a Value): its box
    is drawn in red with what went wrong, and so is the arrow that carried the first NaN or
    infinite gradient. Backward stopped there, so if the output has no gradient yet the
    drawing replays the pass from the gradient ``backward()`` starts from (1 for a single
    number) and shows where the NaN spreads.

    >>> import tinygrad_lite as tl
    >>> from tinygrad_lite import viz
    >>> w = tl.Value(-3.0, name="w")
    >>> z = w * 2.0
    >>> z.name = "z"
    >>> z.backward()
    >>> g = viz.draw_backward(z)
    >>> "dw" in g.source and "x 2" in g.source
    True
    """
    _check_value(value, "draw_backward")
    called = caller_names(caller_frame())
    marked, steps = None, None
    if mark is not None:
        marked = _marked(mark)
        if value.grad is None and value.requires_grad:  # backward stopped before the output
            steps = backward_steps(value, catch=True)
    scene = backward_scene(value, model, collapse, max_nodes, steps, names=called, mark=marked)
    return to_graph(_framed(scene, frames))


def _marked(mark: Any) -> tuple[Value, Value | None, str]:
    """(the Value to mark, the input whose arrow to mark, what to say) from ``mark=``."""
    if isinstance(mark, AnomalyError) and isinstance(mark.value, Value):
        if mark.parent is None:
            return mark.value, None, "anomaly: this gradient is not finite"
        return mark.value, mark.parent, "anomaly: sends a non-finite gradient to {}"
    if isinstance(mark, Value):
        return mark, None, "marked"
    raise DrawingError(
        f"draw_backward: mark= takes the AnomalyError that detect_anomaly raised, or a Value; "
        f"got {type(mark).__name__}"
    )


def draw_gradcheck(
    fn: Callable[..., Value],
    inputs: Sequence[Any],
    *,
    model: Any = None,
    max_nodes: int | None = MAX_NODES,
    **tolerances: float,
) -> Graph:
    """The backward graph of ``fn(*inputs)`` with every node whose backward rule disagrees
    with finite differences in red, and the numbers of the disagreement on it.

    Runs ``testing.explain.explain(fn, inputs, **tolerances)`` (``eps``, ``atol``, ``rtol``);
    the gradients shown are those of its walk, so no ``.grad`` is touched.
    """
    result = explain(fn, inputs, **tolerances)
    failed: dict[Value, tuple[list[str], set[int]]] = {}
    for check in result.failures:
        lines, parents = failed.setdefault(check.node, ([], set()))
        lines.extend(check.summary_lines())
        parents.add(check.parent)
    scene = backward_scene(result.output, model, (), max_nodes, result.steps, failed)
    first = result.first
    head = "all local backward rules agree with finite differences"
    if first is not None:
        head = f"first disagreement: step {first.step}, {first.name}, input {first.parent_name}"
    scene.caption.append(head)
    return to_graph(scene)


def draw_network(model: Any, *, inputs: Sequence[str] | None = None) -> Graph:
    """The books' diagram of a network: its neurons as circles, one column per layer, and a
    link from every input of a layer to every neuron of it. A link's colour is the sign of
    its weight and its width the size; hovering shows the weight (``w3_2 = 0.41``), and a
    neuron its formula and bias. Neurons are numbered through the network as the other
    drawings name them (``z4``, ``a1``).

    ``model``: an ``nn.scalar.MLP`` (or ``Layer``), or an ``nn.Sequential`` of ``Linear``
    layers each followed by at most one activation; ``inputs`` names the inputs (default
    ``x1``, ``x2``, ...).

    >>> import tinygrad_lite as tl
    >>> from tinygrad_lite import viz
    >>> from tinygrad_lite.nn.scalar import MLP
    >>> import random
    >>> random.seed(0)      # nn.scalar's weights come from Python's random, as micrograd's
    >>> g = viz.draw_network(MLP(2, [3, 1]), inputs=["distance", "rating"])
    >>> "2 - 3 - 1 network" in g.source and "w4_3 = " in g.source
    True
    """
    return to_graph(network_scene(model, inputs))


def render_svg(
    graph_or_value: Any,
    path: str | Path | None = None,
    *,
    renderer: Renderer = "auto",
    timeout: float = 60.0,
) -> str:
    """Draw a graph as SVG text, and write it to ``path`` if given.

    ``graph_or_value``: a graph from ``draw_forward``/``draw_backward`` (any graphviz graph),
    DOT text, or a Value (its forward graph is drawn). ``renderer``: ``"dot"`` or ``"wasm"``
    to insist on one; ``"auto"`` uses ``dot`` when it is on PATH, else the WebAssembly build.

    >>> import tinygrad_lite as tl
    >>> from tinygrad_lite import viz
    >>> y = tl.Value(2.0, name="x") * 3.0
    >>> viz.render_svg(y).lstrip().startswith("<?xml")
    True
    """
    graph = draw_forward(graph_or_value) if isinstance(graph_or_value, Value) else graph_or_value
    return render.render_svg(graph, path, renderer=renderer, timeout=timeout)


def _framed(scene: Scene, frames: bool) -> Scene:
    if not frames:
        for box in scene.boxes:
            box.cluster = None
    return scene


def _check_value(value: Any, what: str) -> None:
    if not isinstance(value, Value):
        raise DrawingError(f"{what}: expected a Value, got {type(value).__name__}")
