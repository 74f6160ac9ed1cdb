"""Grad modes, tl.grad and higher-order gradients, and user-defined tl.Function ops."""

from __future__ import annotations

import contextvars
import math
import threading

import numpy as np
import pytest
from op_specs import Cube  # the user-defined op the property tests use

import tinygrad_lite as tl
from tinygrad_lite import FunctionError, GradcheckError, GradientError, Value
from tinygrad_lite.testing import gradcheck, gradgradcheck

# ---------------------------------------------------------------- grad modes


def test_no_grad_as_context_manager_and_decorator():
    w = Value(2.0)
    with tl.no_grad():
        assert not tl.is_grad_enabled()
        y = w * 3.0
        with tl.enable_grad():
            z = w * 3.0
    assert tl.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and len(z.parents) == 1 and z.parents[0] is w

    @tl.no_grad()
    def predict(v):
        return v * 2.0

    assert not predict(w).requires_grad
    assert tl.is_grad_enabled()


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(KeyError), tl.no_grad():
        raise KeyError
    assert tl.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []
    with tl.no_grad():
        t = threading.Thread(target=lambda: seen.append(tl.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]  # a new thread starts with the default, not our no_grad


def test_manual_seed_makes_draws_reproducible():
    tl.manual_seed(7)
    a = tl.rng().normal(size=3)
    tl.manual_seed(7)
    np.testing.assert_array_equal(a, tl.rng().normal(size=3))
    ctx = contextvars.copy_context()
    ctx.run(tl.manual_seed, 1)  # seeding in another context leaves ours alone
    tl.manual_seed(7)
    np.testing.assert_array_equal(a, tl.rng().normal(size=3))


# ---------------------------------------------------------------- tl.grad


def test_grad_does_not_touch_dot_grad():
    x = Value(np.array([1.0, 2.0]))
    (g,) = tl.grad((x * x).sum(), [x])
    np.testing.assert_array_equal(g, [2.0, 4.0])
    assert x.grad is None


def test_second_and_third_derivatives():
    x = Value(0.7)
    (d1,) = tl.grad(x.tanh(), [x], create_graph=True)
    (d2,) = tl.grad(d1, [x], create_graph=True)
    (d3,) = tl.grad(d2, [x])
    t = math.tanh(0.7)
    assert d1.data == pytest.approx(1 - t**2)
    assert d2.data == pytest.approx(-2 * t * (1 - t**2))
    assert d3 == pytest.approx(-2 * (1 - t**2) ** 2 + 4 * t**2 * (1 - t**2))


def test_hessian_vector_product_of_an_array_function():
    w = Value(np.array([0.5, -1.0, 2.0]))
    x = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]])
    loss = ((x @ w).sigmoid() ** 2).sum()
    (g,) = tl.grad(loss, [w], create_graph=True)
    v = np.array([1.0, 0.0, -1.0])
    (hv,) = tl.grad((g * v).sum(), [w])
    # finite differences of the gradient along v
    eps = 1e-6

    def grad_at(wd):
        ww = Value(wd)
        return tl.grad((((x @ ww).sigmoid()) ** 2).sum(), [ww])[0]

    fd = (grad_at(w.data + eps * v) - grad_at(w.data - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-8)


def test_grad_with_several_outputs_and_grad_outputs():
    x = Value(np.array([1.0, 2.0]))
    y1, y2 = x * 2.0, x * x
    (g,) = tl.grad([y1, y2], [x], grad_outputs=[np.ones(2), np.array([1.0, 0.5])])
    np.testing.assert_allclose(g, [2 + 2, 2 + 2])


def test_grad_of_an_unused_input():
    x, unused = Value(1.0), Value(2.0)
    with pytest.raises(GradientError, match="not used"):
        tl.grad(x * 2.0, [x, unused])
    assert tl.grad(x * 2.0, [x, unused], allow_unused=True) == (2.0, None)


def test_gradgradcheck_on_composites():
    x = Value(np.array([[0.3, -1.2, 2.0], [1.0, 0.5, -0.4]]))
    assert gradgradcheck(lambda v: v.softmax(axis=1) * v, [x])
    assert gradgradcheck(lambda v: v.log_softmax(axis=0).exp() * v.gelu(), [x])


# ---------------------------------------------------------------- tl.Function


class WrongCube(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * x * g  # planted mistake: 2 instead of 3


def test_function_matches_the_readme_example():
    a = Value(2.0)
    y = Cube.apply(a)
    assert y.data == 8.0 and y.op == "Cube"
    y.backward()
    assert a.grad == 12.0
    assert gradcheck(Cube.apply, [Value(np.array([0.5, -1.5]))])


def test_function_second_order_comes_from_a_differentiable_backward():
    x = Value(1.5)
    (d1,) = tl.grad(Cube.apply(x), [x], create_graph=True)
    (d2,) = tl.grad(d1, [x])
    assert d2 == pytest.approx(6 * 1.5)


def test_gradcheck_catches_a_wrong_backward():
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(WrongCube.apply, [Value(np.array([0.5, -1.5]))])


def test_function_with_a_non_differentiable_input():
    class Scale(tl.Function):
        @staticmethod
        def forward(ctx, x, factor):
            ctx.factor = factor
            return x * factor

        @staticmethod
        def backward(ctx, g):
            return g * ctx.factor, None

    x = Value(np.ones(2))
    Scale.apply(x, 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_function_returning_the_wrong_number_of_gradients():
    class TwoGrads(tl.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(FunctionError, match=r"TwoGrads.backward returned 2 gradient\(s\)"):
        TwoGrads.apply(Value(1.0)).backward()


def test_function_returning_a_gradient_of_the_wrong_shape():
    class BadShape(tl.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return g  # should be broadcast to x's shape

    with pytest.raises(FunctionError, match=r"BadShape.backward.*shape \(\).*shape \(3,\)"):
        BadShape.apply(Value(np.ones(3))).backward()


def test_function_output_needs_no_gradient_under_no_grad():
    with tl.no_grad():
        y = Cube.apply(Value(2.0))
    assert not y.requires_grad


# ---------------------------------------------------------------- anomaly mode


def test_detect_anomaly_names_the_op_the_value_and_the_users_line():
    x = tl.Value(0.0, name="x")
    with tl.detect_anomaly():
        root = x.sqrt()  # the line the error must point to
        root.name = "root"
        y = root * 0.0
        with pytest.raises(tl.AnomalyError) as caught:
            y.backward()
    message = str(caught.value)
    assert "the gradient that sqrt sends to x is nan" in message
    assert f"root was made at {__file__}:" in message
    assert "root = x.sqrt()  # the line the error must point to" in message
    assert x.grad is None  # stopped before the leaf got the nan


def test_detect_anomaly_covers_tl_grad_and_infinite_gradients():
    x = tl.Value(np.array([0.0, 1.0]), name="x")
    with tl.detect_anomaly():
        y = (1.0 / x).sum()
        with pytest.raises(tl.AnomalyError, match="div sends to x is infinite"):
            tl.grad(y, [x])


def test_without_anomaly_mode_a_nan_gradient_is_returned_quietly():
    x = tl.Value(0.0)
    (x.sqrt() * 0.0).backward()
    assert math.isnan(x.grad)
    with tl.detect_anomaly():
        pass
    y = tl.Value(0.0)
    (y.sqrt() * 0.0).backward()  # the mode ended with its block
    assert math.isnan(y.grad)
