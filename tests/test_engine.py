"""The engine's semantics, pinned one by one: data policy, backward, graph lifetime.

The README states them under "What the engine does"; each test holds one of them in place.
"""

from __future__ import annotations

import gc
import math
import re
import weakref

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import DTypeError, GradientError, IndexingError, ShapeError, Value
from tinygrad_lite.core import toposort

# ---------------------------------------------------------------- data policy


def test_scalars_stay_python_floats_end_to_end():
    a, b = Value(2.0), Value(3)
    y = (a * b + 1).tanh() * 0.5 - a / b + a**2 + (2.0**a).log() + a.exp().sqrt()
    y.backward()
    for v in (a, b, y):
        assert type(v.data) is float
        assert type(v.grad) is float
    assert repr(Value(2.0)) == "Value(2.0)"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_arrays_keep_their_dtype(dtype):
    x = Value(np.arange(6, dtype=dtype).reshape(2, 3))
    w = Value(np.ones((3, 2), dtype=dtype))
    loss = ((x @ w).relu() * 0.5 + 1.0).sigmoid().mean()
    loss.backward()
    assert loss.dtype == dtype
    assert x.grad.dtype == dtype and w.grad.dtype == dtype
    assert x.grad.shape == (2, 3) and w.grad.shape == (3, 2)


def test_ints_bools_and_lists_become_float64():
    assert Value(np.arange(3)).dtype == np.float64
    assert Value([1, 2, 3]).dtype == np.float64
    assert Value(np.array([True, False])).dtype == np.float64
    assert type(Value(True).data) is float


def test_float32_times_int_array_stays_float32():
    x = Value(np.ones(3, dtype=np.float32))
    assert (x * np.array([1, 2, 3])).dtype == np.float32


def test_bad_data_raises_named_errors():
    with pytest.raises(DTypeError, match="str"):
        Value("abc")
    with pytest.raises(DTypeError, match="complex"):
        Value(np.array([1 + 2j]))
    with pytest.raises(DTypeError, match="already a Value"):
        Value(Value(1.0))


def test_scalar_math_follows_ieee_like_numpy():
    assert Value(1.0) / 0.0 == math.inf
    assert math.isnan((Value(-8.0) ** (1 / 3)).data)
    assert Value(0.0).log().data == -math.inf
    assert Value(1000.0).exp().data == math.inf
    assert Value(-1000.0).sigmoid().data == 0.0


# ---------------------------------------------------------------- backward semantics


def test_grad_is_none_until_backward_reaches_the_value():
    a, b, unused = Value(2.0), Value(3.0), Value(4.0)
    y = a * b
    assert a.grad is None
    y.backward()
    assert (a.grad, b.grad, unused.grad) == (3.0, 2.0, None)


def test_reuse_and_diamonds_add_up():
    x = Value(3.0)
    (x * x).backward()  # y = x * x
    assert x.grad == 6.0
    x = Value(2.0)
    a, b = x * 3.0, x.exp()
    (a * b).backward()  # d/dx (3x e^x) = 3e^x + 3x e^x
    assert x.grad == pytest.approx(3 * math.e**2 + 6 * math.e**2)


def test_backward_twice_accumulates_in_leaves_but_not_in_intermediates():
    w = Value(2.0)
    h = w * 3.0
    y = h * h
    y.backward()
    assert (w.grad, h.grad) == (36.0, 12.0)
    y.backward()
    assert w.grad == 72.0  # leaves accumulate (gradient accumulation)
    assert h.grad == 12.0  # intermediates get a fresh gradient each pass
    w.zero_grad()
    assert w.grad is None


def test_array_leaf_gradient_is_owned_and_writable():
    a = Value(np.ones(3))
    b = Value(np.ones(3))
    (a + b).sum().backward()
    a.grad *= 2.0  # an optimizer scaling one gradient in place...
    np.testing.assert_array_equal(b.grad, np.ones(3))  # ...must not touch another's
    w = Value(np.ones(3))
    w.broadcast_to((2, 3)).sum().backward()  # the gradient arrives as a read-only view
    w.grad *= 2.0


def test_backward_of_non_scalar_needs_a_gradient():
    x = Value(np.ones((2, 3)))
    y = x * 2.0
    with pytest.raises(GradientError, match=r"shape \(2, 3\).*\.sum\(\)"):
        y.backward()
    y.backward(np.full((2, 3), 0.5))
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"gradient has shape \(3,\)"):
        y.backward(np.ones(3))


def test_backward_on_a_value_that_needs_no_gradient_says_so():
    x = Value(np.ones(3), requires_grad=False)
    with pytest.raises(GradientError, match="needs no gradient"):
        (x * 2).sum().backward()
    w = Value(1.0)
    with tl.no_grad():
        y = w * 2
    with pytest.raises(GradientError, match="no_grad"):
        y.backward()


def test_subgraphs_that_need_no_gradient_are_skipped():
    x = Value(np.ones((4, 3)), requires_grad=False)
    w = Value(np.ones((3, 2)))
    h = x * 2.0  # data only: records no parents
    assert h.requires_grad is False and h.is_leaf
    (h @ w).sum().backward()
    assert x.grad is None and h.grad is None
    np.testing.assert_array_equal(w.grad, np.full((3, 2), 8.0))
    # only the Values that need a gradient are in the graph backward walks
    assert all(v.requires_grad for v in toposort([(h @ w).sum()]) if not v.is_leaf)


def test_parameters_updated_in_place_give_right_gradients_next_pass():
    w = Value(np.array([1.0, 2.0]))
    for _ in range(3):
        loss = (w * w).sum()
        w.zero_grad()
        loss.backward()
        np.testing.assert_allclose(w.grad, 2 * w.data)
        w.data -= 0.1 * w.grad  # in place, as optimizers do
    w.data = np.array([5.0, 6.0])  # or assigned
    w.zero_grad()
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad, [10.0, 12.0])


def test_a_chain_of_a_million_nodes_works():
    x = Value(0.0)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert y.data == 1_000_000.0 and x.grad == 1.0


def test_graph_is_freed_without_the_cycle_collector():
    gc.collect()
    gc.disable()
    try:
        w = Value(np.ones(3))
        h = (w * 2.0).relu().sum()
        h.backward()
        probe = weakref.ref(h)
        inner = weakref.ref(h.parents[0])
        del h
        assert probe() is None and inner() is None  # freed by reference counting alone
        assert w.grad is not None
    finally:
        gc.enable()


def test_nodes_keep_parents_in_argument_order():
    a, b = Value(1.0), Value(2.0)
    y = a - b
    # `is`, not ==: comparing Values compares their data, elementwise
    assert len(y.parents) == 2 and y.parents[0] is a and y.parents[1] is b
    assert y.op == "sub"
    assert isinstance(y.parents, tuple)


def test_numbers_are_kept_inside_the_node():
    x = Value(2.0)
    y = 10.0 - x
    assert len(y.parents) == 1 and y.parents[0] is x and y.op == "sub"
    y.backward()
    assert x.grad == -1.0


# ---------------------------------------------------------------- broadcasting


def test_broadcasting_is_undone_on_both_sides():
    a = Value(np.ones((3, 1)))
    b = Value(np.ones((1, 4)))
    c = Value(2.0)
    y = (a * b + c).sum()
    y.backward()
    np.testing.assert_array_equal(a.grad, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad, np.full((1, 4), 3.0))
    assert c.grad == 12.0 and type(c.grad) is float


def test_arrays_and_numbers_work_on_either_side():
    x = Value(np.array([1.0, 2.0]))
    arr = np.array([3.0, 4.0])
    y = (arr - x) * arr + 1.0 / x + arr @ x  # ndarray on the left defers to Value
    assert isinstance(y, Value)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, -arr - 1 / x.data**2 + 2 * arr)


# ---------------------------------------------------------------- special points


def test_relu_derivative_at_zero_is_zero():
    x = Value(np.array([-1.0, 0.0, 2.0]))
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])
    s = Value(0.0)
    s.relu().backward()
    assert s.grad == 0.0


def test_max_and_min_ties_share_the_gradient():
    x = Value(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]]))
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [0.5, 0, 0.5]])
    y = Value(np.array([1.0, 1.0, 5.0]))
    y.min().backward()
    np.testing.assert_array_equal(y.grad, [0.5, 0.5, 0.0])


def test_getitem_with_repeated_indices_adds_up():
    x = Value(np.arange(4.0))
    x[np.array([0, 0, 3])].sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 0.0, 1.0])
    m = Value(np.arange(4.0))
    m[m.data > 1].sum().backward()
    np.testing.assert_array_equal(m.grad, [0, 0, 1, 1])


def test_comparisons_give_plain_arrays_and_bools():
    x = Value(np.array([1.0, 2.0]))
    assert isinstance(x > 1.5, np.ndarray)
    assert (Value(2.0) > 1.0) is True
    assert (Value(2.0) == 2.0) is True
    assert {x: 1}[x] == 1  # still hashable by identity


def test_concat_stack_where():
    a, b = Value(np.ones((2, 2))), Value(np.full((1, 2), 2.0))
    tl.concat([a, b], axis=0).sum().backward()
    assert a.grad.shape == (2, 2) and b.grad.shape == (1, 2)
    c, d = Value(np.ones(3)), Value(np.zeros(3))
    s = tl.stack([c, d], axis=1)
    assert s.shape == (3, 2)
    (s * np.array([1.0, 2.0])).sum().backward()
    np.testing.assert_array_equal(d.grad, [2.0, 2.0, 2.0])
    e = Value(np.array([1.0, -1.0]))
    tl.where(e.data > 0, e, 0.0).sum().backward()
    np.testing.assert_array_equal(e.grad, [1.0, 0.0])


def test_weighted_sum_is_the_books_neuron():
    w = [Value(0.5, name="w1"), Value(-1.0, name="w2")]
    b = Value(0.1, name="b")
    z = tl.weighted_sum(w, [2.0, 3.0], b)
    assert z.data == pytest.approx(0.5 * 2 - 3 + 0.1)
    z.backward()
    assert (w[0].grad, w[1].grad, b.grad) == (2.0, 3.0, 1.0)  # dw = i * dz, db = dz
    with pytest.raises(ShapeError, match="2 weights but 1 inputs"):
        tl.weighted_sum(w, [1.0])


# ---------------------------------------------------------------- error messages


def test_matmul_error_names_the_op_and_shapes():
    with pytest.raises(ShapeError) as e:
        Value(np.ones((2, 3))) @ Value(np.ones((4, 5)))
    assert str(e.value) == "matmul: (2, 3) @ (4, 5): inner dimensions 3 and 4 differ"


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: Value(np.ones(3)) + Value(np.ones(4)), r"add: shapes \(3,\) and \(4,\)"),
        (lambda: Value(np.ones(6)).reshape(4, 2), r"reshape: cannot reshape \(6,\)"),
        (lambda: Value(np.ones(3)).sum(axis=2), r"sum: axis 2 is out of range"),
        (lambda: Value(2.0).softmax(), r"softmax: needs an array"),
        (lambda: Value(np.ones((2, 3))).transpose(0, 0), r"transpose: axes \(0, 0\)"),
        (lambda: Value(2.0) @ Value(3.0), r"matmul: \(\) @ \(\)"),
        (lambda: tl.concat([Value(np.ones((2, 2))), Value(np.ones((2, 3)))]), r"concat: shapes"),
        (lambda: tl.stack([Value(np.ones(2)), Value(np.ones(3))]), r"stack: all Values"),
    ],
)
def test_shape_errors_name_the_op_and_the_shapes(make, pattern):
    with pytest.raises(ShapeError, match=pattern):
        make()


def test_index_errors_are_named():
    with pytest.raises(IndexingError, match=r"index 5 into shape \(3,\)"):
        Value(np.ones(3))[5]
    with pytest.raises(IndexingError, match="scalar"):
        Value(1.0)[0]


def test_errors_are_also_builtin_exceptions():
    with pytest.raises(ValueError):
        Value(np.ones(3)) + Value(np.ones(4))
    with pytest.raises(TypeError):
        Value("x")
    with pytest.raises(RuntimeError):
        Value(np.ones(3)).backward()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make, grads",
    [
        (lambda: Value(0.0).sqrt(), [math.inf]),
        (lambda: Value(0.0).log(), [math.inf]),
        (lambda: 1.0 / Value(0.0), [-math.inf]),
        (lambda: Value(1.0) / Value(0.0), [math.inf, -math.inf]),
    ],
)
def test_scalar_backward_at_zero_follows_ieee_like_arrays_do(make, grads):
    y = make()
    y.backward()
    assert [p.grad for p in y.parents] == grads
    assert all(type(p.grad) is float for p in y.parents)
    # the same on a 1-element array, which NumPy already computes this way
    with np.errstate(all="ignore"):
        a = Value(np.zeros(1)).sqrt()
        a.sum().backward()
    assert a.parents[0].grad[0] == math.inf


def test_backward_keeps_the_callers_gradient_array_and_leaves_get_their_own():
    a, b = Value(np.ones(3)), Value(np.ones(3))
    g = np.array([1.0, 2.0, 3.0])
    (a + 1.0).backward(g)
    (b + 1.0).backward(g)
    assert a.grad is not g and b.grad is not g and a.grad is not b.grad
    a.grad *= 10.0
    np.testing.assert_array_equal(g, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(b.grad, [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    "bad, error, words",
    [
        (lambda x: x.sum(1.5), tl.ArgumentError, "sum: axis 1.5 must be a whole number"),
        (lambda x: x.sum("a"), tl.ArgumentError, "sum: axis 'a'"),
        (lambda x: x.mean((1, -1)), tl.ShapeError, "names an axis twice"),
        (lambda x: x.softmax(1.0), tl.ArgumentError, "softmax: axis 1.0"),
        (lambda x: x.clip("a", 2), tl.ArgumentError, "clip: min 'a' must be a number"),
        (lambda x: x.leaky_relu("x"), tl.ArgumentError, "leaky_relu: negative_slope 'x'"),
        (lambda x: x.transpose("a", 0), tl.ArgumentError, "transpose: axis 'a'"),
        (lambda x: x.sum().backward("abc"), tl.DTypeError, "backward: gradient"),
        (lambda x: Value(np.ones((2, 0))).softmax(1), tl.ShapeError, "softmax: axis 1 of shape"),
        (lambda x: Value(1.0, name=123), tl.DTypeError, "name=123 must be a string"),
        (lambda x: tl.manual_seed("abc"), tl.ArgumentError, "manual_seed: seed='abc'"),
        (lambda x: tl.manual_seed(-1), tl.ArgumentError, "manual_seed: seed=-1"),
    ],
)
def test_bad_arguments_get_named_errors_that_say_what_to_do(bad, error, words):
    with pytest.raises(error, match=re.escape(words)):
        bad(Value(np.ones((2, 3))))


def test_the_mean_of_nothing_is_nan_with_a_warning_as_in_numpy():
    with pytest.warns(RuntimeWarning, match="empty"):
        m = Value(np.zeros((0, 3))).mean()
    assert math.isnan(m.item())
    with pytest.warns(RuntimeWarning):
        per_column = Value(np.zeros((0, 3))).mean(axis=0)
    assert per_column.shape == (3,) and np.isnan(per_column.data).all()


def test_a_seed_reaches_threads_started_after_it():
    import threading

    def draw(out: list[float]) -> None:
        out.append(float(tl.rng().random()))

    runs = []
    for _ in range(2):
        tl.manual_seed(123)
        out: list[float] = []
        worker = threading.Thread(target=draw, args=(out,))
        worker.start()
        worker.join()
        runs.append(out[0])
    assert runs[0] == runs[1] == float(np.random.default_rng(123).random())
