"""tinygrad_lite.testing: gradcheck, gradgradcheck, numerical_grad, and the strategies."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from op_specs import Cube  # the user-defined op the property tests use

import tinygrad_lite as tl
from tinygrad_lite import DTypeError, GradcheckError, GradientError, ShapeError, Value
from tinygrad_lite.testing import gradcheck, gradgradcheck, numerical_grad
from tinygrad_lite.testing import strategies as tst

# the module, not the function of the same name that tinygrad_lite.testing exports
gradcheck_module = importlib.import_module("tinygrad_lite.testing.gradcheck")

# ---------------------------------------------------------------- Functions with known bugs


class ForgotAnX(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * g  # wrong: d(x^3)/dx is 3 x^2


class SquareOnRawData(tl.Function):
    """Right first derivative, but computed on ``.data``: the graph of the gradient is cut."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 * x.data)


class SquareHalfDetached(SquareOnRawData):
    """The gradient 2x written as x + x.detach(): right value, half the second derivative."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (x + x.detach()) * g


def _numbers(message: str) -> tuple[float, float]:
    analytic = re.search(r"analytic (\S+),", message)
    numerical = re.search(r"numerical (\S+)\n", message)
    assert analytic and numerical, message
    return float(analytic.group(1)), float(numerical.group(1))


# ---------------------------------------------------------------- gradcheck


@pytest.mark.parametrize(
    "fn, inputs",
    [
        (lambda a, b: (a * b).tanh() - a / b, [Value(0.4), Value(-1.3)]),
        (lambda x: x.sigmoid() * x, [np.array([[0.1, -2.0], [1.5, 0.3]])]),
        (lambda a, b: (a + b).relu().sum(), [np.array([[0.5], [1.5]]), np.array([0.2, 0.7, 1.1])]),
        (lambda w, x: x @ w, [Value(np.ones((3, 2))), Value(np.arange(6.0).reshape(2, 3), False)]),
        (lambda x: x.log_softmax(axis=0), [np.array([0.3, -0.2, 1.0])]),
        (Cube.apply, [2.0]),
    ],
)
def test_gradcheck_passes_right_ops(fn, inputs):
    assert gradcheck(fn, inputs) is True


def test_gradcheck_names_the_input_the_worst_element_both_values_and_the_op():
    x = Value(np.array([[1.0, 2.0], [0.5, 1.0]]), name="x")
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda v: ForgotAnX.apply(v).sum(), [x])
    message = str(info.value)
    assert "input 0 ('x')" in message and "shape (2, 2)" in message
    # analytic 3x, numerical 3x^2: exact at x=1; relative to the tolerance
    # (atol + rtol |3x^2|) the error 3x - 3x^2 is largest at x=0.5, element (1, 0)
    assert "element (1, 0)" in message
    analytic, numerical = _numbers(message)
    assert analytic == pytest.approx(1.5) and numerical == pytest.approx(0.75, rel=1e-6)
    assert "abs error 0.75" in message and "atol=1e-05" in message and "rtol=0.001" in message
    assert "op 'sum'" in message


def test_gradcheck_names_the_second_input_and_a_function_op():
    a, b = Value(1.5), Value(2.0, name="b")
    with pytest.raises(GradcheckError, match=r"input 1 \('b'\).*\n.*element \(the input is a "):
        gradcheck(lambda a, b: a * ForgotAnX.apply(b), [a, b])
    with pytest.raises(GradcheckError, match="op 'ForgotAnX'"):
        gradcheck(ForgotAnX.apply, [Value(2.0)])


def test_gradcheck_can_return_false_instead_of_raising():
    x = [np.array([0.5, 2.0])]
    assert gradcheck(ForgotAnX.apply, x, raise_exception=False) is False
    assert gradcheck(Cube.apply, x, raise_exception=False) is True


def test_gradcheck_tolerance_is_atol_plus_rtol_times_numerical():
    # analytic 3x vs numerical 3x^2 at x = 1.001: error about 0.003, numerical about 3.006
    x = [Value(1.001)]
    assert not gradcheck(ForgotAnX.apply, x, rtol=1e-4, raise_exception=False)
    assert gradcheck(ForgotAnX.apply, x, rtol=1.01e-3)


def test_checks_leave_their_inputs_exactly_as_they_were():
    w = Value(np.array([[0.5, -1.0], [2.0, 0.25]], dtype=np.float32), name="w")
    w.grad = np.full((2, 2), 7.0, dtype=np.float32)
    s = Value(0.7)
    s.grad = 5.0
    raw = np.array([1.0, -2.0])
    snapshot = (w.data, w.data.copy(), w.grad, w.grad.copy(), raw.copy())
    fn = lambda w, s, r: (w @ r * s).tanh()
    wrong = lambda w, s, r: ForgotAnX.apply(w @ r * s)

    assert gradcheck(fn, [w, s, raw])
    assert gradgradcheck(fn, [w, s, raw])
    assert not gradcheck(wrong, [w, s, raw], raise_exception=False)
    numerical_grad(lambda w, s, r: fn(w, s, r).sum(), [w, s, raw])

    assert w.data is snapshot[0] and w.grad is snapshot[2]
    np.testing.assert_array_equal(w.data, snapshot[1])
    np.testing.assert_array_equal(w.grad, snapshot[3])
    assert w.data.dtype == np.float32 and w.grad.dtype == np.float32
    assert (s.data, s.grad, w.name) == (0.7, 5.0, "w")
    np.testing.assert_array_equal(raw, snapshot[4])


def test_gradcheck_works_in_float64_whatever_the_input_dtype():
    # float32 central differences with eps=1e-6 are mostly rounding noise; float64 is not
    x = Value(np.array([0.3, -1.1, 2.5], dtype=np.float32))
    assert gradcheck(lambda v: (v * 3.0).tanh() * v, [x])


def test_gradcheck_of_unused_inputs_and_of_an_output_without_a_graph():
    assert gradcheck(lambda a, b: a * 2.0, [Value(1.0), Value(2.0)])
    assert gradcheck(lambda x: x, [np.array([1.0, 2.0])])

    def no_graph(x):
        with tl.no_grad():
            return x * 2.0  # the gradient 2 is lost: analytic 0

    with pytest.raises(GradcheckError, match="analytic 0, numerical 2"):
        gradcheck(no_graph, [Value(1.0)])


def test_gradcheck_reports_nan_and_accepts_a_zero_atol():
    # log(-1) is nan, so the finite difference is nan while backprop says 1/x = -1
    with pytest.raises(GradcheckError, match="analytic -1, numerical nan"):
        gradcheck(lambda x: x.log(), [Value(-1.0)])
    assert gradcheck(lambda x: x * 0.0, [np.array([0.5, 1.0])], atol=0.0)  # 0 vs 0 passes


def test_a_large_input_is_checked_along_a_few_random_directions():
    calls = []

    def fn(x):
        calls.append(1)
        return x.tanh()

    x = np.linspace(-2.0, 2.0, gradcheck_module.MAX_ELEMENTWISE + 1000)
    assert gradcheck(fn, [x])
    assert len(calls) == 1 + 2 * gradcheck_module.DIRECTIONS
    with pytest.raises(GradcheckError, match="random direction"):
        gradcheck(ForgotAnX.apply, [x])


def test_gradcheck_is_reproducible():
    x = [np.array([[0.5, 1.5, -1.0], [2.0, 0.1, 0.3]])]
    messages = []
    for _ in range(2):
        with pytest.raises(GradcheckError) as info:
            gradcheck(ForgotAnX.apply, x)  # a non-scalar output: a random cotangent
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_gradcheck_rejects_bad_arguments_with_named_errors():
    with pytest.raises(DTypeError, match="must return a Value.*ndarray"):
        gradcheck(lambda x: x.data * 2, [Value(np.ones(2))])
    with pytest.raises(GradientError, match="none of the 1 input"):
        gradcheck(lambda x: x * 2.0, [Value(1.0, requires_grad=False)])
    with pytest.raises(DTypeError, match="list"):
        gradcheck(lambda x: x * 2.0, np.ones(3))
    with pytest.raises(DTypeError, match="not supported"):
        gradcheck(lambda x: x * 2.0, ["one"])
    assert gradcheck(lambda x: x * 2.0, Value(1.0))  # a lone Value is one input


# ---------------------------------------------------------------- gradgradcheck


def test_gradgradcheck_passes_right_second_derivatives():
    assert gradgradcheck(Cube.apply, [np.array([0.5, -1.0, 2.0])])
    assert gradgradcheck(lambda a, b: (a * b).sigmoid() * a, [Value(0.3), np.array([1.0, -2.0])])


@pytest.mark.parametrize("function", [SquareOnRawData, SquareHalfDetached])
def test_gradgradcheck_catches_a_backward_that_cuts_the_graph(function):
    x = [np.array([0.5, -1.0, 2.0])]
    assert gradcheck(function.apply, x)  # the first derivative is right...
    with pytest.raises(GradcheckError, match="gradgradcheck: the second derivative of input 0"):
        gradgradcheck(function.apply, x)  # ...its own derivative is not
    assert gradgradcheck(function.apply, x, raise_exception=False) is False


def test_gradgradcheck_names_the_op_of_the_function_checked():
    with pytest.raises(GradcheckError, match="op 'SquareOnRawData'"):
        gradgradcheck(SquareOnRawData.apply, [Value(1.5)])


def test_gradgradcheck_with_several_inputs_and_an_unused_one():
    fn = lambda a, b, c: (a * b).tanh() + a * a * a
    assert gradgradcheck(fn, [np.array([0.2, -0.4]), Value(0.7), Value(3.0)])


# ---------------------------------------------------------------- numerical_grad


def test_numerical_grad_agrees_with_closed_forms():
    x = np.array([[0.5, -1.0], [2.0, 0.3]])
    (g,) = numerical_grad(lambda v: (v**3).sum(), [x])
    assert g.dtype == np.float64 and g.shape == (2, 2)
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-7)

    gx, gy = numerical_grad(lambda a, b: a * b.exp(), [Value(1.5), 0.4])
    assert type(gx) is float and type(gy) is float
    assert gx == pytest.approx(np.exp(0.4), rel=1e-8)
    assert gy == pytest.approx(1.5 * np.exp(0.4), rel=1e-8)


def test_numerical_grad_projects_onto_grad_output():
    v = np.array([1.0, -2.0, 0.5])
    (g,) = numerical_grad(lambda a: a * a, [np.array([1.0, 2.0, 3.0])], grad_output=v)
    np.testing.assert_allclose(g, 2 * np.array([1.0, 2.0, 3.0]) * v, rtol=1e-7)


def test_numerical_grad_in_float64_and_none_for_data():
    x32 = Value(np.array([0.1, 0.2], dtype=np.float32))
    data = Value(np.array([3.0, 4.0]), requires_grad=False)
    gx, gd = numerical_grad(lambda a, d: (a * d).sum(), [x32, data])
    assert gd is None and gx.dtype == np.float64
    np.testing.assert_allclose(gx, [3.0, 4.0], rtol=1e-7)


def test_numerical_grad_needs_a_grad_output_for_a_non_scalar():
    with pytest.raises(GradientError, match=r"shape \(2,\).*grad_output"):
        numerical_grad(lambda a: a * 2.0, [np.ones(2)])
    with pytest.raises(ShapeError, match=r"grad_output has shape \(3,\)"):
        numerical_grad(lambda a: a * 2.0, [np.ones(2)], grad_output=np.ones(3))


# ---------------------------------------------------------------- strategies


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 4).flatmap(lambda n: st.tuples(st.just(n), tst.broadcastable_shapes(n))))
def test_broadcastable_shapes_broadcast(drawn):
    n, shapes = drawn
    assert len(shapes) == n
    np.broadcast_shapes(*shapes)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_arrays_and_values_honor_shape_dtype_range_and_flags(data):
    shape = data.draw(tst.shapes(min_dims=1))
    dtype = data.draw(tst.dtypes())
    a = data.draw(tst.arrays(shape, dtype, min_value=-1.0, max_value=2.0))
    assert (a.shape, a.dtype) == (shape, dtype)
    assert np.all((a >= -1.0) & (a <= 2.0))
    needs = data.draw(st.booleans())
    v = data.draw(tst.values(shape, dtype, requires_grad=needs))
    assert (v.shape, v.dtype, v.requires_grad) == (shape, dtype, needs)
    s = data.draw(tst.values(()))
    assert type(s.data) is float


def test_values_draw_scalars_and_arrays():
    assert type(find(tst.values(), lambda v: v.ndim == 0).data) is float
    assert find(tst.values(), lambda v: v.ndim == 2).shape == (1, 1)
    find(tst.values(dtype=tst.dtypes()), lambda v: v.dtype == np.float32 and v.ndim == 1)


@settings(max_examples=50, deadline=None)
@given(tst.finite_floats(-1.0, 1.0, away_from=(0.0, 0.5), margin=0.1))
def test_finite_floats_stay_in_range_and_off_the_points(x):
    assert type(x) is float and -1.0 <= x <= 1.0
    assert abs(x) >= 0.1 and abs(x - 0.5) >= 0.1


@settings(max_examples=30, deadline=None)
@given(tst.arrays((3, 3), np.float64, min_value=-2.0, max_value=2.0, min_gap=0.25))
def test_min_gap_arrays_have_no_near_ties(a):
    assert np.min(np.diff(np.sort(a.reshape(-1)))) >= 0.25 - 1e-12


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4).flatmap(lambda nd: st.tuples(st.just(nd), tst.axes(nd, tuples=True))))
def test_axes_are_in_range_and_distinct(drawn):
    nd, axis = drawn
    chosen = axis if isinstance(axis, tuple) else (axis,)
    assert all(-nd <= a < nd for a in chosen)
    assert len({a % nd for a in chosen}) == len(chosen)


def test_axes_include_negative_ones_tuples_and_none():
    assert find(tst.axes(3), lambda a: a < 0) == -1
    find(tst.axes(3, tuples=True), lambda a: isinstance(a, tuple) and len(a) == 2)
    assert find(tst.axes(2, none=True), lambda a: a is None) is None
    assert find(tst.axes(3, negative=False), lambda a: True) == 0


@settings(max_examples=50, deadline=None)
@given(tst.shapes(min_dims=1).flatmap(lambda s: st.tuples(st.just(s), tst.indices(s))))
def test_indices_fit_their_shape_and_integer_arrays_repeat(drawn):
    shape, index = drawn
    np.empty(shape)[index]  # a valid index for that shape
    parts = index if isinstance(index, tuple) else (index,)
    for p in parts:
        if isinstance(p, np.ndarray) and p.dtype.kind == "i":
            assert len(np.unique(p)) < len(p)


def test_indices_cover_every_kind():
    shape = (3, 2)
    is_kind = {
        "int": lambda i: isinstance(i, int),
        "mask": lambda i: isinstance(i, np.ndarray) and i.dtype == np.bool_,
        "integer array": lambda i: isinstance(i, tuple) and isinstance(i[-1], np.ndarray),
        "negative step": lambda i: (
            isinstance(i, tuple) and any(isinstance(p, slice) and (p.step or 1) < 0 for p in i)
        ),
    }
    for kind, test in is_kind.items():
        assert test(find(tst.indices(shape), test)), kind


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_shape_strategies_give_what_they_promise(data):
    shape = data.draw(tst.shapes(min_dims=1))
    new = data.draw(tst.reshape_shapes(shape))
    assert np.empty(shape).reshape(new).shape != shape
    small = data.draw(tst.shapes_broadcasting_to(shape))
    assert np.broadcast_to(np.empty(small), shape).shape == shape
    order = data.draw(tst.permutations(len(shape)))
    assert sorted(a % len(shape) for a in order) == list(range(len(shape)))
    a, b = data.draw(tst.matmul_shapes())
    np.matmul(np.empty(a), np.empty(b))
    mask = data.draw(tst.masks(shape))
    assert (mask.dtype, mask.shape) == (np.bool_, shape)


def test_matmul_shapes_include_vectors_and_broadcast_batches():
    find(tst.matmul_shapes(), lambda p: len(p[0]) == 1 or len(p[1]) == 1)
    find(tst.matmul_shapes(), lambda p: len(p[0]) > 2 and p[0][:-2] != p[1][:-2])


def test_impossible_strategy_arguments_raise_a_named_error():
    with pytest.raises(tst.StrategyError, match="min_value=2.0 is larger"):
        tst.finite_floats(2.0, 1.0)
    with pytest.raises(tst.StrategyError, match="ndim=0 has no axes"):
        tst.axes(0)
    with pytest.raises(tst.StrategyError, match=r"shape \(\) cannot be indexed"):
        find(tst.indices(()), lambda i: True)
    with pytest.raises(tst.StrategyError, match="9 elements cannot be min_gap=1.0 apart"):
        find(tst.arrays((3, 3), min_value=0.0, max_value=2.0, min_gap=1.0), lambda a: True)
    assert issubclass(tst.StrategyError, ValueError)


def _run_without_hypothesis(code: str) -> subprocess.CompletedProcess:
    blocker = "import sys; sys.modules['hypothesis'] = None\n"  # `import hypothesis` now fails
    return subprocess.run(
        [sys.executable, "-c", blocker + code], capture_output=True, text=True, timeout=60
    )


def test_the_library_and_gradcheck_work_without_hypothesis():
    code = (
        "import tinygrad_lite as tl\n"
        "from tinygrad_lite.testing import gradcheck\n"
        "print(gradcheck(lambda x: x * x, [tl.Value(2.0)]))\n"
    )
    result = _run_without_hypothesis(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_strategies_without_hypothesis_say_how_to_install_it():
    result = _run_without_hypothesis("import tinygrad_lite.testing.strategies")
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "pip install hypothesis" in result.stderr


@pytest.mark.parametrize(
    "tolerance, words",
    [
        (dict(eps=0), "eps=0 must be a number > 0"),
        (dict(eps=-1e-6), "eps=-1e-06"),
        (dict(atol="x"), "atol='x' must be a number >= 0"),
        (dict(rtol=float("nan")), "rtol=nan"),
    ],
)
def test_gradcheck_refuses_tolerances_that_check_nothing(tolerance, words):
    with pytest.raises(tl.ArgumentError, match=re.escape(words)):
        gradcheck(lambda x: x * 2.0, [Value(1.0)], **tolerance)


def test_a_function_whose_backward_returns_text_is_named():
    class Texty(tl.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return "abc"

    with pytest.raises(tl.FunctionError, match=r"Texty\.backward returned 'abc' .* input 0"):
        Texty.apply(Value(1.0)).backward()
