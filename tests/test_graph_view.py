"""The public view of the graph (Value.op, .parents, .static) and the backward walk as data
(tl.backward_steps), which backward(), tl.grad, explain and the drawings all follow."""

from __future__ import annotations

import numpy as np
import pytest
from op_specs import Cube

import tinygrad_lite as tl
from tinygrad_lite import Value, book
from tinygrad_lite.core import local_label, operands, rerun

# ---------------------------------------------------------------- op, parents, static


def test_a_leaf_has_no_op_no_parents_and_no_static():
    w = Value(2.0)
    assert (w.op, w.parents, w.static) == (None, (), None)


def test_each_node_names_its_row_its_parents_in_order_and_its_static_arguments():
    x = Value(np.arange(6.0).reshape(2, 3), name="x")
    w = Value(np.ones((3, 2)), name="w")
    h = x @ w
    s = h.sum(axis=1)
    c = s * 2.0
    r = 1.0 - c
    t = x.transpose(1, 0)
    g = x[0, 1:]
    assert (h.op, h.parents, h.static) == ("matmul", (x, w), None)
    assert h.parents[0] is x and h.parents[1] is w  # identity, not data equality
    assert (s.op, s.static) == ("sum", ((1,), False))
    assert (c.op, c.parents[0], c.static) == ("mul", s, 2.0)
    assert (r.op, r.static, operands(r)[0], operands(r)[1] is c) == ("sub", 1.0, 1.0, True)
    assert (t.op, t.static) == ("transpose", (1, 0))
    assert g.op == "getitem" and g.static == (0, slice(1, None))
    assert (x.pow(3.0).op, x.pow(3.0).static) == ("pow", 3.0)
    assert x.softmax(axis=0).static == 0 and x.leaky_relu(0.2).static == 0.2


def test_a_function_node_reports_its_class_and_keeps_its_ctx_readable():
    a = Value(np.array([1.0, -2.0]), name="a")
    y = Cube.apply(a)
    assert y.op == "Cube" and y.parents == (a,)
    (saved,) = y.static.ctx.saved_tensors
    assert saved is a
    assert y.static.args == (None,)  # the Value's place; other arguments are kept as given


def test_rerun_applies_a_node_s_own_rule_to_other_inputs_and_changes_nothing():
    x = Value(np.array([1.0, 2.0]))
    y = (x * 3.0).exp()
    before = y.data.copy()
    np.testing.assert_allclose(rerun(y, np.array([0.0, 1.0])), np.exp([0.0, 1.0]))
    np.testing.assert_allclose(rerun(Cube.apply(x), np.array([2.0, 3.0])), [8.0, 27.0])
    np.testing.assert_array_equal(y.data, before)
    with pytest.raises(tl.ArgumentError, match="leaf"):
        rerun(x, np.zeros(2))
    with pytest.raises(tl.ArgumentError, match="takes 1 input"):
        rerun(y, np.zeros(2), np.zeros(2))


# ---------------------------------------------------------------- backward_steps


def book_neuron() -> Value:
    # z = w1 i1 + w2 i2 + b, a = relu(z), cost = (a - y)^2, with the book's names
    return book.neuron([1.5, -0.5], y=2.0, w=[0.8, 0.4], b=0.1, activation="relu")


def test_the_book_neuron_steps_back_from_the_cost_to_the_weights():
    cost = book_neuron()
    steps = tl.backward_steps(cost)
    names = [s.value.name for s in steps]
    assert names[:4] == ["cost", "error", "a", "z"]
    assert sorted(names[4:]) == ["b", "w1", "w2"]  # the data i1, i2, y get no step
    assert [s.index for s in steps] == list(range(1, 8))
    by_name = {s.value.name: s for s in steps}
    # the numbers: z = 0.8*1.5 + 0.4*(-0.5) + 0.1 = 1.1, a = 1.1, error = -0.9
    dcost, derror, da, dz = (by_name[n].grad for n in ("cost", "error", "a", "z"))
    assert dcost == 1.0 and derror == pytest.approx(-1.8) and da == pytest.approx(-1.8)
    assert dz == pytest.approx(-1.8)
    # the terms of z's step are the book's arrows: dw1 = i1 x dz, dw2 = i2 x dz, db = 1 x dz
    terms = {t.parent.name: t for t in by_name["z"].terms}
    assert set(terms) == {"w1", "w2", "b"}
    assert (terms["w1"].local, terms["w2"].local, terms["b"].local) == ("x i1", "x i2", "x 1")
    assert terms["w1"].product == pytest.approx(1.5 * dz)
    assert terms["w2"].product == pytest.approx(-0.5 * dz)
    assert terms["b"].product == pytest.approx(dz)
    (relu_term,) = by_name["a"].terms
    assert (relu_term.parent.name, relu_term.local) == ("z", "x relu'(z)")
    (square,) = by_name["cost"].terms
    assert square.local == "x 2\u00b7error" and square.product == pytest.approx(-1.8)
    assert [s.terms for s in steps[4:]] == [(), (), ()]  # leaves send nothing


def test_the_steps_give_what_backward_stores_and_touch_no_grad():
    cost = book_neuron()
    steps = tl.backward_steps(cost)
    assert all(s.value.grad is None for s in steps)
    cost.backward()
    for s in steps:
        assert s.value.grad == pytest.approx(s.grad)


def test_a_value_used_twice_gets_the_sum_of_its_two_products():
    x = Value(3.0, name="x")
    y = x * x
    (step_y, step_x) = tl.backward_steps(y)
    assert [t.parent for t in step_y.terms] == [x, x]
    assert [t.index for t in step_y.terms] == [0, 1]
    assert step_x.grad == pytest.approx(sum(t.product for t in step_y.terms)) == 6.0


def test_broadcast_terms_are_summed_back_and_say_so():
    x = Value(np.ones((4, 3)), name="x")
    b = Value(np.array([1.0, 2.0, 3.0]), name="b")
    out = (x + b).sum()
    step = tl.backward_steps(out)[1]
    terms = {t.parent.name: t for t in step.terms}
    assert terms["b"].local == "x 1, sum over broadcast axes"
    np.testing.assert_array_equal(terms["b"].product, [4.0, 4.0, 4.0])
    assert terms["x"].local == "x 1" and terms["x"].product.shape == (4, 3)


def test_arrays_and_a_given_gradient():
    w = Value(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32), name="W")
    x = Value(np.array([[1.0, -1.0]], dtype=np.float32), requires_grad=False, name="x")
    h = x @ w
    seed = np.array([[1.0, 10.0]], dtype=np.float32)
    steps = tl.backward_steps(h, seed)
    (term,) = steps[0].terms  # x needs no gradient: one term
    assert term.parent is w and term.local == "x\u1d40 @"
    np.testing.assert_array_equal(term.product, x.data.T @ seed)
    assert term.product.dtype == np.float32
    seed[0, 0] = 99.0  # the walk copied the caller's array
    assert steps[0].grad[0, 0] == 1.0


def test_a_rule_that_raises_stops_the_walk_or_ends_its_step_with_catch():
    class Broken(tl.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            raise ZeroDivisionError("planted")

    a = Value(1.0, name="a")
    y = Broken.apply(a) + a
    with pytest.raises(ZeroDivisionError, match="planted"):
        tl.backward_steps(y)
    steps = tl.backward_steps(y, catch=True)
    bad = next(s for s in steps if s.value.op == "Broken")
    assert bad.error == "ZeroDivisionError: planted" and bad.terms == ()
    assert steps[-1].value is a and steps[-1].grad == 1.0  # only the + reached it


def test_backward_steps_says_what_is_wrong():
    with pytest.raises(tl.GradientError, match="needs no gradient"):
        tl.backward_steps(Value(1.0, requires_grad=False))
    with pytest.raises(tl.GradientError, match="not a single number"):
        tl.backward_steps(Value(np.ones(3)) * 2.0)
    with pytest.raises(tl.ShapeError, match=r"gradient has shape \(2,\)"):
        tl.backward_steps(Value(np.ones(3)) * 2.0, np.ones(2))
    with pytest.raises(tl.DTypeError, match="expected a Value"):
        tl.backward_steps(np.ones(3))  # type: ignore[arg-type]
    with pytest.raises(tl.ArgumentError, match="leaf"):
        local_label(Value(1.0), 0)
