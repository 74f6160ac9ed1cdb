"""explain: every node's local backward rule against finite differences of its own forward.

The planted bug is a tl.Function whose backward says d(x^3)/dx = 2x^2 (it is 3x^2), used
inside a bigger expression. Expected numbers are worked out by hand from that formula.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from op_specs import Cube
from test_viz import svg_edges, svg_nodes

import tinygrad_lite as tl
from tinygrad_lite import DTypeError, GradcheckError, GradientError, viz
from tinygrad_lite.testing import gradcheck
from tinygrad_lite.testing.explain import explain


class WrongCube(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * x * g  # the planted mistake: 3 x^2 is right


class Cube(WrongCube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g


def bigger(cube):
    """tanh(2 cube(x) + x) * w: the cube sits in the middle of the graph."""

    def fn(x, w):
        return (cube.apply(x) * 2.0 + x).tanh() * w

    return fn


def test_the_planted_wrong_rule_is_found_and_nothing_else():
    x, w = 0.7, -1.3
    result = explain(bigger(WrongCube), [tl.Value(x, name="x"), tl.Value(w, name="w")])
    assert not result.ok
    assert [c.op for c in result.failures] == ["WrongCube"]  # the only disagreement
    first = result.first
    assert first is not None and first.parent_name == "x"
    # by hand: upstream at the cube = w * (1 - tanh(u)^2) * 2 with u = 2 x^3 + x
    upstream = w * (1 - math.tanh(2 * x**3 + x) ** 2) * 2.0
    assert first.upstream == pytest.approx(upstream)
    assert first.local == pytest.approx(3 * x**2, rel=1e-6)
    assert first.numerical == pytest.approx(upstream * 3 * x**2, rel=1e-6)
    assert first.analytic == pytest.approx(upstream * 2 * x**2)
    assert "WrongCube" in str(result) and "analytic" in first.headline()


def test_right_rules_all_agree():
    result = explain(bigger(Cube), [tl.Value(0.7), tl.Value(-1.3)])
    assert result.ok and result.first is None
    # one check per (node, input that needs a gradient): mul(w), tanh, add(2 inputs),
    # mul-by-2, cube
    assert len(result.checks) == 1 + 1 + 1 + 2 + 1 + 1
    assert "all agree" in str(result)


def test_the_inputs_are_not_touched():
    x = tl.Value(np.array([0.5, -1.0], dtype=np.float32), name="x")
    explain(lambda v: (v * v).sum(), [x])
    assert x.grad is None and x.dtype == np.float32
    assert x.data.tolist() == [0.5, -1.0]


def test_nothing_to_explain_is_an_error():
    with pytest.raises(GradientError, match="needs no gradient"):
        explain(lambda a: a * 2.0, [tl.Value(1.0, requires_grad=False)])
    with pytest.raises(DTypeError, match="must return a Value"):
        explain(lambda a: 2.0, [1.0])


def test_a_wrong_rule_on_arrays_names_the_element():
    class Square(tl.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2.0  # should be 2 x g

    W = np.array([[1.0, 2.0], [0.5, -1.0]])
    result = explain(lambda w: Square.apply(w @ w).sum(), [W])
    assert [c.op for c in result.failures] == ["Square"]
    assert result.first.where.startswith("element")


def test_kinks_accept_a_one_sided_slope():
    result = explain(lambda a: (a - 0.5).relu() + abs(a - 0.5), [0.5])
    assert result.ok
    # relu'(0) = 0 is the left slope, not the central difference 1/2; abs'(0) = 0 is both
    assert [c.op for c in result.checks if c.note.startswith("kink")] == ["relu"]


def test_a_rule_that_raises_is_the_culprit():
    class Broken(tl.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return g, g  # two gradients for one input

    result = explain(lambda a: Broken.apply(a).exp(), [0.3])
    assert [c.op for c in result.failures] == ["Broken"]
    assert "backward raised" in result.first.note


def test_a_function_with_number_arguments_is_checked_too():
    class Scale(tl.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    class WrongScale(Scale):
        @staticmethod
        def backward(ctx, g):
            return g, None  # planted: forgets the factor

    result = explain(lambda a: Scale.apply(a, 3.0).tanh(), [0.2])
    assert result.ok
    assert not any(c.note.startswith("not checked") for c in result.checks)
    wrong = explain(lambda a: WrongScale.apply(a, 3.0).tanh(), [0.2])
    assert [c.op for c in wrong.failures] == ["WrongScale"]


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: (x.softmax(axis=1) * np.arange(3.0)).sum(),
        lambda x: x.log_softmax(axis=0).max(),
        lambda x: (x @ x.T).mean(),
        lambda x: x[0, 1:].exp().sum() + x.reshape(6).sigmoid()[::2].sum(),
        lambda x: tl.where(x.data > 0, x, x * 3.0).pow(2.0).sum() / x.abs().sum(),
        lambda x: tl.concat([x, x.sqrt()], axis=1).gelu().sum(),
    ],
)
def test_no_false_alarm_on_the_op_table(fn):
    x = np.array([[0.3, 1.2, 0.8], [1.5, 0.4, 2.0]])
    result = explain(fn, [x])
    assert result.ok, str(result)


def test_draw_gradcheck_highlights_the_wrong_rule_only():
    graph = viz.draw_gradcheck(bigger(WrongCube), [tl.Value(0.7, name="x"), tl.Value(-1.3)])
    svg = viz.render_svg(graph)
    nodes = svg_nodes(svg)
    failed = [k for k, n in nodes.items() if "failed" in n["classes"]]
    assert len(failed) == 1
    lines = nodes[failed[0]]["lines"]
    assert lines[0].startswith("d(WrongCube)")
    assert any(line.startswith("rule gives") for line in lines)
    red = [e for e in svg_edges(svg) if "failed" in e["classes"]]
    assert red and all(e["src"] == failed[0] for e in red)
    assert all("failed" not in n["classes"] for k, n in nodes.items() if k != failed[0])
    assert "first disagreement" in graph.source


def test_draw_gradcheck_of_right_rules_has_no_red():
    svg = viz.render_svg(viz.draw_gradcheck(bigger(Cube), [0.7, -1.3]))
    assert not any("failed" in n["classes"] for n in svg_nodes(svg).values())
    assert not any("failed" in e["classes"] for e in svg_edges(svg))


def test_gradcheck_explain_names_the_node_whose_rule_is_wrong():
    class BadSquare(tl.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * g  # planted: should be 2 x g

    def fn(x):
        return (BadSquare.apply(x.tanh()) * 2.0).sum()

    x = tl.Value(np.array([0.3, -0.7]))
    with pytest.raises(GradcheckError) as plain:
        gradcheck(fn, [x])
    assert "BadSquare" not in str(plain.value)
    with pytest.raises(GradcheckError) as explained:
        gradcheck(fn, [x], explain=True)
    message = str(explained.value)
    assert "BadSquare" in message and "1 disagree" in message
    assert gradcheck(fn, [x], explain=True, raise_exception=False) is False
    assert x.grad is None  # the check never touches the inputs
