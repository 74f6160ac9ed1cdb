"""Targeted tests of op rows: what the property tests of op_specs.py cannot see.

The property tests compare every row's gradients with finite differences on inputs drawn away
from kinks and ties, and do not know a row's expected output shape or label. The cases here
pin those: ties, extreme logits, output shapes, and the labels written on backward arrows.
Each test id starts with the row it pins, which is how ``tools/mutate_ops.py`` picks them for
a mutant of that row (docs/testing.md, "Mutation testing of the op table").
"""

from __future__ import annotations

import gc
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import Value
from tinygrad_lite.core import OPS, local_label
from tinygrad_lite.testing import gradcheck, gradgradcheck


def _named(x: Any, name: str) -> Value:
    return Value(x, name=name)


# ---------------------------------------------------------------- labels made by functions

LABELS: list[Any] = [
    pytest.param(lambda: _named(2.0, "a") ** 2.0, ["x 2·a"], id="pow-square"),
    pytest.param(lambda: _named(2.0, "a") ** 3.0, ["x 3·a^2"], id="pow-cube"),
    pytest.param(
        lambda: _named(2.0, "a") ** _named(3.0, "b"),
        ["x b·a^(b-1)", "x (pow) ln(a)"],
        id="pow-value_exponent",
    ),
    pytest.param(lambda: 2.0 ** _named(3.0, "b"), ["x (pow) ln(2)"], id="pow-number_base"),
    pytest.param(
        lambda: tl.weighted_sum(
            [_named(0.5, "w1"), _named(1.0, "w2")],
            [_named(2.0, "x1"), _named(3.0, "x2")],
            _named(1.0, "b"),
        ),
        ["x x1", "x x2", "x w1", "x w2", "x 1"],
        id="weighted_sum-bias",
    ),
    pytest.param(
        lambda: tl.weighted_sum([_named(0.5, "w")], [_named(2.0, "x")]),
        ["x x", "x w"],
        id="weighted_sum-no_bias",
    ),
    pytest.param(
        lambda: F.avg_pool2d(_named(np.ones((1, 1, 4, 6)), "x"), (2, 3)),
        ["x 1/6 to each window"],
        id="avg_pool2d-kernel",
    ),
    pytest.param(
        lambda: F.multi_head_attention(_named(np.ones((1, 3, 12)), "qkv"), num_heads=2),
        ["x attention backward (q, k, v side by side)"],
        id="attention-packed",
    ),
    pytest.param(
        lambda: F.multi_head_attention(
            *(_named(np.ones((1, 3, 4)), n) for n in "qkv"), num_heads=2
        ),
        ["x attention backward (q)", "x attention backward (k)", "x attention backward (v)"],
        id="attention-separate",
    ),
]


@pytest.mark.parametrize("make, labels", LABELS)
def test_op_rows_label_functions(make: Callable[[], Value], labels: list[str]) -> None:
    out = make()
    assert [local_label(out, j) for j in range(len(out.parents))] == labels


# ---------------------------------------------------------------- ties and extremes


@pytest.mark.parametrize(
    "x, axis, expected",
    [
        pytest.param(
            [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]],
            1,
            [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]],
            id="max-ties_in_rows",
        ),
        pytest.param([4.0, 1.0, 4.0, 4.0], None, [1 / 3, 0.0, 1 / 3, 1 / 3], id="max-ties_in_all"),
    ],
)
def test_op_rows_max_ties_share_the_gradient(x: Any, axis: Any, expected: Any) -> None:
    # every element equal to the maximum gets an equal share (torch.amax does the same)
    v = Value(np.array(x))
    v.max(axis=axis).sum().backward()
    np.testing.assert_allclose(v.grad, expected)


@pytest.mark.parametrize("axis", [-1, 0], ids=["softmax-last_axis", "softmax-first_axis"])
def test_op_rows_softmax_of_huge_logits_is_finite(axis: int) -> None:
    # softmax(x) = softmax(x - max), shifted along its own axis only: rows (or columns) far
    # apart in magnitude must not overflow nor underflow to 0/0
    x = np.array([[1000.0, 1001.0, 999.0], [0.0, 1.0, -1.0]])
    x = x if axis == -1 else x.T
    small = x - x.max(axis=axis, keepdims=True)
    expected = np.exp(small) / np.exp(small).sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(Value(x).softmax(axis).data, expected, rtol=1e-12)
    log = Value(x).log_softmax(axis).data
    np.testing.assert_allclose(log, np.log(expected), rtol=1e-12)


@pytest.mark.parametrize("axis", [-1, 0], ids=["log_softmax-last_axis", "log_softmax-first_axis"])
def test_op_rows_log_softmax_of_huge_logits_is_finite(axis: int) -> None:
    x = np.array([[1000.0, 1001.0, 999.0], [0.0, 1.0, -1.0]])
    x = x if axis == -1 else x.T
    small = x - x.max(axis=axis, keepdims=True)
    expected = small - np.log(np.exp(small).sum(axis=axis, keepdims=True))
    np.testing.assert_allclose(Value(x).log_softmax(axis).data, expected, rtol=1e-12)


# ---------------------------------------------------------------- output shapes

SHAPES: list[Any] = [
    pytest.param(lambda x: x.sum(axis=1, keepdims=True), (2, 1, 4), id="sum-keepdims"),
    pytest.param(lambda x: x.sum(axis=(0, 2)), (3,), id="sum-axes"),
    pytest.param(lambda x: x.max(axis=1, keepdims=True), (2, 1, 4), id="max-keepdims"),
    pytest.param(lambda x: x.max(axis=(0, 2)), (3,), id="max-axes"),
]


@pytest.mark.parametrize("fn, shape", SHAPES)
def test_op_rows_output_shapes(fn: Callable[[Value], Value], shape: tuple[int, ...]) -> None:
    out = fn(Value(np.arange(24.0).reshape(2, 3, 4)))
    assert out.shape == shape


# ---------------------------------------------------------------- paths the drawn domains miss

# erf's domain in op_specs.py is [-3, 3]; Cody's formulas switch at |x| = 0.46875 and 4
ERF_POINTS = np.concatenate(
    [np.linspace(-7.5, 7.5, 301), [0.46875, 0.47, 4.0, 4.1, 4.5, 9.0, -30.0]]
)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["erf-float64", "erf-float32"])
def test_op_rows_erf_matches_math_erf_in_every_range(dtype: Any) -> None:
    x = ERF_POINTS.astype(dtype)
    expected = np.array([math.erf(v) for v in x.astype(np.float64)])
    out = Value(x).erf().data
    assert out.dtype == dtype
    rtol = 1e-15 if dtype == np.float64 else 1e-7
    np.testing.assert_allclose(out, expected.astype(dtype), rtol=rtol, atol=0)


PYTHON_FLOATS: list[Any] = [
    pytest.param(lambda x: x.relu(), [0.5, -0.5, 2.0], [0.5, 0.0, 2.0], id="relu-python_floats"),
    pytest.param(
        lambda x: x.leaky_relu(0.1), [0.5, -0.5], [0.5, -0.05], id="leaky_relu-python_floats"
    ),
    pytest.param(lambda x: x.sigmoid(), [0.0], [0.5], id="sigmoid-python_floats"),
    # far from 0 each side's formula must be the one that cannot overflow
    pytest.param(
        lambda x: x.sigmoid(),
        [800.0, -800.0, 3.0],
        [1.0, 0.0, 1 / (1 + math.exp(-3.0))],
        id="sigmoid-python_floats_far_out",
    ),  # fmt: skip
]


# forward values on arrays: the property tests compare gradients with finite differences of
# the row's own forward, so a forward that is wrong in a way its rule follows (-sqrt(x) and a
# gradient of -1/(2 sqrt(x))) passes them; NumPy's functions are the reference here
FORWARD: list[Any] = [
    pytest.param(lambda x: x.sqrt(), np.sqrt, id="sqrt-forward"),
    pytest.param(lambda x: x.log(), np.log, id="log-forward"),
    pytest.param(lambda x: x.exp(), np.exp, id="exp-forward"),
    pytest.param(lambda x: x.tanh(), np.tanh, id="tanh-forward"),
    pytest.param(lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), id="sigmoid-forward"),
    pytest.param(lambda x: x.relu(), lambda a: np.maximum(a, 0.0), id="relu-forward"),
]


@pytest.mark.parametrize("fn, reference", FORWARD)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_op_rows_forward_equals_numpy(fn: Any, reference: Any, dtype: Any) -> None:
    x = np.linspace(0.05, 3.0, 12).astype(dtype) * np.array([1, -1] * 6, dtype=dtype)
    x = np.abs(x) if reference in (np.sqrt, np.log) else x
    out = fn(Value(x)).data
    assert out.dtype == dtype
    np.testing.assert_allclose(out, reference(x), rtol=1e-6 if dtype == np.float32 else 1e-14)
    for v in x[:3].tolist():  # the Python-float path gives the same numbers
        assert fn(Value(v)).data == pytest.approx(float(reference(np.float64(v))), rel=1e-14)


@pytest.mark.parametrize(
    "x, expected", [(0.0, -math.inf), (-1.0, math.nan)], ids=["log-zero", "log-negative"]
)
def test_op_rows_log_of_a_python_float_follows_ieee(x: float, expected: float) -> None:
    out = Value(x).log().data
    assert type(out) is float
    assert out == expected if not math.isnan(expected) else math.isnan(out)


@pytest.mark.parametrize("fn, xs, expected", PYTHON_FLOATS)
def test_op_rows_python_float_paths(fn: Callable[[Value], Value], xs: Any, expected: Any) -> None:
    # the rows take a separate path for Python floats; it must agree with the array path
    for x, want in zip(xs, expected):
        out = fn(Value(x)).data
        assert type(out) is float and out == pytest.approx(want, rel=1e-12)
        assert out == pytest.approx(float(fn(Value(np.array(x))).data), rel=1e-12)


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param(np.array([[0, 2], [2, 2]]), id="getitem-embedding_ids"),
        pytest.param(np.array([[[3], [0]], [[3], [3]]]), id="scatter-embedding_ids_3d"),
    ],
)
def test_op_rows_rows_picked_by_an_array_of_ids_add_up(ids: np.ndarray) -> None:
    # an embedding's lookup: a table indexed by an integer array of 2 or more axes; the
    # gradient of a row is the sum of the gradients of every place it was picked
    table = Value(np.arange(12.0).reshape(4, 3))
    picked = table[ids]  # (*ids.shape, 3)
    np.testing.assert_array_equal(picked.data, np.arange(12.0).reshape(4, 3)[ids])
    g = np.random.default_rng(0).standard_normal(picked.shape)
    picked.backward(g)
    expected = np.zeros((4, 3))
    for pos in np.ndindex(*ids.shape):
        expected[ids[pos]] += g[pos]
    np.testing.assert_allclose(table.grad, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda x: F.layer_norm(x, (3,)), id="standardize-layer_norm"),
        pytest.param(
            lambda x: F.batch_norm(x, None, None, training=True, eps=0.1),
            id="standardize-batch_norm",
        ),
    ],
)
def test_op_rows_a_second_backward_recomputes_the_kept_statistics(make: Any) -> None:
    # the forward keeps 1/sqrt(var + eps) for one backward; a second backward through the
    # same node (or a forward re-run on other inputs) must recompute it, to the same numbers
    x = Value(np.random.default_rng(1).standard_normal((4, 3)))
    out = make(x)
    g = np.random.default_rng(2).standard_normal(out.shape)
    (first,) = tl.grad(out, [x], g)
    (second,) = tl.grad(out, [x], g)
    (again,) = tl.grad(make(x), [x], g)
    np.testing.assert_allclose(second, first, rtol=1e-12)
    np.testing.assert_allclose(again, first, rtol=1e-12)


@pytest.mark.parametrize("stride", [2], ids=["conv_transpose2d-bias_output_padding"])
def test_op_rows_conv_transpose2d_with_bias_and_output_padding(stride: int) -> None:
    # output_padding on one axis of a non-square image; the bias's gradient sums over N, H
    # and W; in graph mode, a weight that is data gets no gradient and the input still does
    gen = np.random.default_rng(4)
    y, w, b = (
        gen.standard_normal((2, 2, 3, 2)),
        gen.standard_normal((2, 3, 2, 3)),
        gen.standard_normal(3),
    )

    def fn(y: Value, w: Value, b: Value) -> Value:
        return F.conv_transpose2d(y, w, b, stride=stride, output_padding=(1, 0))

    assert fn(Value(y), Value(w), Value(b)).shape == (2, 3, 7, 5)
    assert gradcheck(fn, [y, w, b])
    assert gradgradcheck(fn, [y, w, b])
    yv, data, bv = Value(y), Value(w, requires_grad=False), Value(b)
    g = gen.standard_normal((2, 3, 7, 5))
    raw = tl.grad(fn(yv, data, bv), [yv, bv], g)
    graph = tl.grad(fn(yv, data, bv), [yv, bv], g, create_graph=True)
    for r, gr in zip(raw, graph):
        np.testing.assert_allclose(gr.data, r, rtol=1e-12)


@pytest.mark.parametrize(
    "exponent", [0.5, Value(0.5)], ids=["pow-zero_base", "pow-zero_base_value"]
)
def test_op_rows_pow_of_a_zero_float_follows_ieee(exponent: Any) -> None:
    # d/dx x^0.5 at 0 is inf, as with arrays (Python's 0.0 ** -0.5 would raise instead)
    x = Value(0.0)
    (x**exponent).backward()
    assert x.grad == math.inf


@pytest.mark.parametrize(
    "reduction",
    ["none", "sum"],
    ids=["softmax_cross_entropy-rows_far_apart", "softmax_cross_entropy-rows_far_apart_sum"],
)
def test_op_rows_cross_entropy_of_rows_far_apart(reduction: str) -> None:
    # one shift for the whole batch would send the second row's exponentials to 0: the row
    # detects it and shifts each row by its own maximum
    logits = np.array([[1000.0, 1001.0, 999.0], [0.0, 1.0, -1.0]])
    labels = np.array([1, 0])
    z = Value(logits)
    loss = F.cross_entropy(z, labels, reduction=reduction)
    small = logits - logits.max(axis=-1, keepdims=True)
    log_p = small - np.log(np.exp(small).sum(axis=-1, keepdims=True))
    per_row = -log_p[np.arange(2), labels]
    np.testing.assert_allclose(loss.data, per_row if reduction == "none" else per_row.sum())
    loss.backward(np.ones(2) if reduction == "none" else 1.0)
    np.testing.assert_allclose(z.grad, np.exp(log_p) - np.eye(3)[labels], atol=1e-12)


@pytest.mark.parametrize("padding", [1], ids=["max_pool2d-graph_mode_dilated_padded"])
def test_op_rows_max_pool_graph_mode_gradient_equals_raw(padding: int) -> None:
    # create_graph=True scatters the gradient to each window's maximum by flat positions:
    # they must land where raw mode puts them, with dilation and padding too
    x = Value(np.random.default_rng(5).permutation(35).reshape(1, 1, 5, 7) * 0.1)  # no ties

    def pool(v: Value) -> Value:
        return F.max_pool2d(v, (2, 2), stride=(1, 2), padding=padding, dilation=(2, 3))

    g = np.random.default_rng(6).standard_normal(pool(x).shape)
    (raw,) = tl.grad(pool(x), [x], g)
    (graph,) = tl.grad(pool(x), [x], g, create_graph=True)
    np.testing.assert_allclose(graph.data, raw, rtol=1e-12)
    assert gradcheck(pool, [x])


@pytest.mark.parametrize(
    "pool",
    [F.avg_pool2d, F.max_pool2d],
    ids=["avg_pool2d-two_overlapping", "max_pool2d-two_overlapping"],
)
def test_op_rows_two_overlapping_windows_add_their_gradients(pool: Any) -> None:
    # a grid of two windows along an axis that overlap (kernel 3, stride 1 on 4 pixels):
    # the shared pixels get both windows' gradients, not one (the disjoint fast path)
    x = np.random.default_rng(5).permutation(16).astype(np.float64).reshape(1, 1, 4, 4)
    assert gradcheck(lambda v: pool(v, 3, stride=1), [x])
    v = Value(x)
    pool(v, 3, stride=1).sum().backward()
    if pool is F.avg_pool2d:  # the centre 2x2 pixels are in all four windows
        np.testing.assert_allclose(v.grad[0, 0, 1:3, 1:3], 4 / 9)


@pytest.mark.parametrize("padding", [(1, 0)], ids=["avg_pool2d-graph_mode_padded"])
def test_op_rows_avg_pool2d_graph_mode_gradient_equals_raw(padding: Any) -> None:
    # create_graph=True takes the transposed-convolution path; it must give the raw numbers
    gen = np.random.default_rng(6)
    x, g = gen.standard_normal((2, 3, 6, 5)), gen.standard_normal((2, 3, 4, 2))
    v = Value(x)
    raw = tl.grad(F.avg_pool2d(v, 2, stride=2, padding=padding), [v], g)[0]
    graph = tl.grad(F.avg_pool2d(v, 2, stride=2, padding=padding), [v], g, create_graph=True)[0]
    assert np.abs(raw).max() > 0.1
    np.testing.assert_allclose(graph.data, raw, rtol=1e-12)


@pytest.mark.parametrize("padding", [1], ids=["conv2d-second_backward"])
def test_op_rows_conv2d_a_second_backward_recomputes_the_kept_columns(padding: int) -> None:
    # the forward keeps its column matrix for the weight's gradient; backward takes it, so a
    # second backward of the same graph has to build it again and give the same gradient
    gen = np.random.default_rng(7)
    x, w = Value(gen.standard_normal((2, 2, 5, 5))), Value(gen.standard_normal((3, 2, 3, 3)))
    out = F.conv2d(x, w, padding=padding)
    g = gen.standard_normal(out.shape)
    out.backward(g)
    first = w.grad.copy()
    out.backward(g)
    np.testing.assert_allclose(w.grad, 2 * first, rtol=1e-12)


@pytest.mark.parametrize("shape", [(2, 2, 3)], ids=["softmax_cross_entropy-rows_far_apart_3d"])
def test_op_rows_cross_entropy_of_rows_far_apart_in_a_sequence(shape: Any) -> None:
    # (N, L, C) logits, classes on the last axis as F.cross_entropy takes them: the per-row
    # shift still sums over the classes only
    logits = np.array([[[1000.0, 1001.0, 999.0], [0.0, 1.0, -1.0]]] * 2).reshape(shape)
    labels = np.array([[1, 0], [2, 1]])
    small = logits - logits.max(axis=-1, keepdims=True)
    log_p = small - np.log(np.exp(small).sum(axis=-1, keepdims=True))
    want = -np.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]
    out = F.cross_entropy(Value(logits), labels, reduction="none")
    np.testing.assert_allclose(out.data, want, rtol=1e-12)


# ---------------------------------------------------------------- paths the specs do not take


@pytest.mark.parametrize(
    "frozen", ["input", "weight"], ids=["linear-frozen_3d_input", "linear-frozen_weight"]
)
def test_op_rows_linear_sends_a_gradient_only_where_one_is_needed(frozen: str) -> None:
    # a frozen layer (transfer learning) or a constant input: the other gradient alone
    gen = np.random.default_rng(0)
    x = Value(gen.normal(size=(2, 3, 4)), requires_grad=frozen != "input")
    w = Value(gen.normal(size=(4, 5)), requires_grad=frozen != "weight")
    b = Value(gen.normal(size=5))
    g = gen.normal(size=(2, 3, 5))
    tl.linear(x, w, b).backward(g)
    if frozen == "input":
        assert x.grad is None
        np.testing.assert_allclose(w.grad, x.data.reshape(-1, 4).T @ g.reshape(-1, 5))
    else:
        assert w.grad is None
        np.testing.assert_allclose(x.grad, g @ w.data.T)
    np.testing.assert_allclose(b.grad, g.sum(axis=(0, 1)))


@pytest.mark.parametrize("n", [2, 3], ids=["weighted_sum-two_inputs", "weighted_sum-three_inputs"])
def test_op_rows_weighted_sum_without_bias_sends_one_gradient_per_input(n: int) -> None:
    ws = [Value(float(k + 1)) for k in range(n)]
    xs = [Value(float(10 * (k + 1))) for k in range(n)]
    z = tl.weighted_sum(ws, xs)
    assert z.item() == sum(w.item() * x.item() for w, x in zip(ws, xs))
    z.backward()
    assert [w.grad for w in ws] == [x.item() for x in xs]
    assert [x.grad for x in xs] == [w.item() for w in ws]


@pytest.mark.parametrize("reduction", ["mean", "sum"], ids=lambda r: f"softmax_cross_entropy-{r}")
def test_op_rows_cross_entropy_of_targets_that_do_not_sum_to_one(reduction: str) -> None:
    # -sum(t log softmax(x)) as torch computes it: the targets are not normalized
    gen = np.random.default_rng(1)
    x = Value(gen.normal(size=(3, 4)))
    t = gen.uniform(0.0, 2.0, size=(3, 4))
    loss = F.cross_entropy(x, t, reduction=reduction)
    log_p = x.data - np.log(np.exp(x.data).sum(axis=-1, keepdims=True))
    per_row = -(t * log_p).sum(axis=-1)
    assert loss.item() == pytest.approx(per_row.mean() if reduction == "mean" else per_row.sum())
    loss.backward()
    p = np.exp(log_p)
    expected = p * t.sum(axis=-1, keepdims=True) - t
    np.testing.assert_allclose(x.grad, expected / (3 if reduction == "mean" else 1), rtol=1e-12)


@pytest.mark.parametrize("shape", [(2, 3, 4)], ids=["softmax_cross_entropy-labels_of_a_sequence"])
def test_op_rows_cross_entropy_picks_the_label_of_every_step(shape: Any) -> None:
    gen = np.random.default_rng(2)
    x = Value(gen.normal(size=shape))
    labels = gen.integers(0, shape[-1], size=shape[:-1])
    loss = F.cross_entropy(x, labels, reduction="none")
    log_p = x.data - np.log(np.exp(x.data).sum(axis=-1, keepdims=True))
    expected = -np.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)


@pytest.mark.parametrize("x", [1000.0, -1000.0], ids=["exp-overflow", "exp-underflow"])
def test_op_rows_exp_of_a_huge_python_float_follows_ieee(x: float) -> None:
    assert Value(x).exp().item() == (math.inf if x > 0 else 0.0)


@pytest.mark.parametrize(
    "x", [-1000.0, 1000.0], ids=["sigmoid-very_negative", "sigmoid-very_positive"]
)
def test_op_rows_sigmoid_of_huge_arrays_warns_of_nothing(x: float) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exp(-x) overflows to inf on purpose: no warning
        out = Value(np.full((2, 2), x)).sigmoid()
        scalar = Value(np.array(x)).sigmoid()
    assert np.all(out.data == (0.0 if x < 0 else 1.0)) and scalar.item() == out.data[0, 0]


@pytest.mark.parametrize("index", [(slice(0, 2), 1)], ids=["getitem-second_order"])
def test_op_rows_getitem_second_derivative(index: Any) -> None:
    # the gradient of x[i] is itself differentiable (graph mode): d/dx sum((x[i])^2 ...)
    x = Value(np.arange(1.0, 7.0).reshape(3, 2))
    (g,) = tl.grad((x[index] ** 3).sum(), [x], create_graph=True)
    (gg,) = tl.grad(g.sum(), [x])
    expected = np.zeros((3, 2))
    expected[index] = 6 * x.data[index]
    np.testing.assert_allclose(gg, expected)


def _recurrent_inputs(gates: int) -> tuple[Value, ...]:
    gen = np.random.default_rng(3)  # T=3 steps, N=2 sequences, H=4 units: N != H
    xw = Value(gen.normal(size=(3, 2, gates * 4)))
    h0, w_hh = Value(gen.normal(size=(2, 4))), Value(gen.normal(size=(gates * 4, 4)) * 0.5)
    extra = Value(gen.normal(size=(2, 4))) if gates == 4 else Value(gen.normal(size=12))
    return xw, h0, extra, w_hh


@pytest.mark.parametrize(
    "row", ["lstm", "gru"], ids=["lstm-second_backward", "gru-second_backward"]
)
def test_op_rows_a_second_backward_through_a_recurrent_row_recomputes_its_gates(row: str) -> None:
    # the time loop keeps its gates for one backward; a second backward recomputes them
    from tinygrad_lite.nn.recurrent import gru_states, lstm_states

    xw, h0, extra, w_hh = _recurrent_inputs(4 if row == "lstm" else 3)
    inputs = [xw, h0, extra, w_hh]
    out = lstm_states(xw, h0, extra, w_hh) if row == "lstm" else gru_states(xw, h0, w_hh, extra)
    assert out.op == row
    g = np.random.default_rng(4).standard_normal(out.shape)
    first = tl.grad(out, inputs, g)
    second = tl.grad(out, inputs, g)
    for a, b in zip(first, second):
        np.testing.assert_allclose(b, a, rtol=1e-12)


@pytest.mark.parametrize("n", [2], ids=["lstm-composite_with_more_units_than_sequences"])
def test_op_rows_lstm_equals_its_composite_when_n_differs_from_h(n: int) -> None:
    from tinygrad_lite.core.ops.recurrent import lstm_composite
    from tinygrad_lite.nn.recurrent import lstm_states

    xw, h0, c0, w_hh = _recurrent_inputs(4)
    fused = lstm_states(xw, h0, c0, w_hh)
    plain = lstm_composite(None, xw, h0, c0, w_hh)
    assert plain.shape == fused.shape == (3, n, 8)
    np.testing.assert_allclose(plain.data, fused.data, rtol=1e-12)


PIECEWISE = [
    pytest.param(lambda x: x.relu(), [0.5, -0.5, 3.0], [1.0, 0.0, 1.0], id="relu-between_0_and_1"),
    pytest.param(lambda x: abs(x), [0.0, -2.0, 2.0], [0.0, -1.0, 1.0], id="abs-at_zero"),
    pytest.param(
        lambda x: x.clip(None, 1.0), [-5.0, 0.5, 2.0], [1.0, 1.0, 0.0], id="clip-upper_bound_only"
    ),
    pytest.param(
        lambda x: x.clip(-1.0, None), [-5.0, 0.5, 2.0], [0.0, 1.0, 1.0], id="clip-lower_bound_only"
    ),
]


@pytest.mark.parametrize("fn, xs, grads", PIECEWISE)
def test_op_rows_piecewise_gradients(fn: Any, xs: list[float], grads: list[float]) -> None:
    # the gradient on each piece, as torch gives it (abs'(0) = 0), for arrays and Python floats
    x = Value(np.array(xs))
    fn(x).sum().backward()
    np.testing.assert_array_equal(x.grad, grads)
    for v, expected in zip(xs, grads):
        scalar = Value(v)
        fn(scalar).backward()
        assert scalar.grad == expected


@pytest.mark.parametrize(
    "x", [-5.0, 5.0], ids=["clip-below_python_float", "clip-above_python_float"]
)
def test_op_rows_clip_of_a_python_float_outside_the_bounds(x: float) -> None:
    assert Value(x).clip(-1.0, 2.0).item() == (-1.0 if x < 0 else 2.0)


@pytest.mark.parametrize("scale", [1e3], ids=["attention-huge_scores_rows_far_apart"])
def test_op_rows_attention_of_huge_scores_is_finite_and_exact(scale: float) -> None:
    # each row of scores is shifted by its own maximum: rows far apart neither overflow nor
    # underflow to 0/0
    from tinygrad_lite.nn import functional as F

    gen = np.random.default_rng(5)
    qkv = gen.normal(size=(1, 3, 12))
    qkv[0, 0, :4] *= scale  # the first query: scores in the thousands
    qkv[0, :, 4:8] *= scale / 10
    out = F.multi_head_attention(Value(qkv), num_heads=1)
    q, k, v = qkv[0, :, :4], qkv[0, :, 4:8], qkv[0, :, 8:]
    s = q @ k.T / 2.0
    w = np.exp(s - s.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(out.data[0], w @ v, rtol=1e-10)


@pytest.mark.parametrize(
    "transpose",
    [
        pytest.param(False, id="conv2d-second_order"),
        pytest.param(False, id="conv2d_weight-second_order"),
        pytest.param(True, id="conv_transpose2d-second_order"),
    ],
)
def test_op_rows_convolutions_are_twice_differentiable(transpose: bool) -> None:
    # second derivatives run the backward rules on Values: conv2d's gradient is made of
    # conv_transpose2d and conv2d_weight, whose own gradients are convolutions again
    gen = np.random.default_rng(6)
    x = Value(gen.normal(size=(1, 2, 4, 4)))
    w = Value(gen.normal(size=(2, 3, 2, 2)) if transpose else gen.normal(size=(3, 2, 2, 2)))
    conv = F.conv_transpose2d if transpose else F.conv2d
    assert gradgradcheck(lambda a, b: (conv(a, b, stride=2) ** 2).sum(), [x, w])


# ---------------------------------------------------------------- gaps the whole mutation run found


@pytest.mark.parametrize(
    "base, exponent",
    [(0.0, -0.5), (10.0, 400.0)],
    ids=["pow-python_float_divide_by_zero", "pow-python_float_overflow"],
)
def test_op_rows_pow_of_python_floats_warns_of_nothing(base: float, exponent: float) -> None:
    # Python raises where IEEE gives inf; the rule retries in NumPy, which would warn
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Value(base) ** exponent
    assert out.item() == math.inf


@pytest.mark.parametrize(
    "a, b",
    [(1.5, 2.5), (np.array([1.5, 2.0]), np.array([2.5, 3.0]))],
    ids=["pow-second_derivative_floats", "pow-second_derivative_arrays"],
)
def test_op_rows_pow_second_derivatives_are_exact(a: Any, b: Any) -> None:
    # create_graph=True runs pow's rule on Values: d2/da2 a^b = b(b-1)a^(b-2) and
    # d2/dadb a^b = a^(b-1) (1 + b ln a), for a Value exponent and a number exponent
    x, y = Value(a), Value(b)
    ga, _ = tl.grad((x**y).sum(), [x, y], create_graph=True)
    gaa, gab = tl.grad(ga.sum(), [x, y])
    np.testing.assert_allclose(gaa, b * (b - 1) * np.power(a, b - 2), rtol=1e-12)
    np.testing.assert_allclose(gab, np.power(a, b - 1) * (1 + b * np.log(a)), rtol=1e-12)
    x = Value(a)
    (ga,) = tl.grad((x**2.5).sum(), [x], create_graph=True)
    (gaa,) = tl.grad(ga.sum(), [x])
    np.testing.assert_allclose(gaa, 2.5 * 1.5 * np.sqrt(a), rtol=1e-12)


@pytest.mark.parametrize("row", ["softmax_cross_entropy"], ids=["softmax_cross_entropy-kept"])
def test_op_rows_kept_hands_its_array_only_to_its_own_source(row: str) -> None:
    # a kept buffer goes to a backward of the same input array, once; another array gets None
    from tinygrad_lite.core.ops.fused import Kept

    first, other, buffer = np.ones(2), np.ones(2), np.zeros(2)
    kept = Kept()
    assert kept.take(first) is None  # nothing kept yet
    kept.keep(first, buffer)
    assert kept.take(other) is None
    assert kept.take(first) is buffer
    assert kept.take(first) is None  # handed over once


# ---------------------------------------------------------------- conv: the whole run's survivors


def _grads(fn: Any, arrays: list[Any], needs: list[bool], create_graph: bool) -> list[Any]:
    """The gradients of sum(fn(...) * G) for the inputs marked in ``needs``, as arrays."""
    values = [Value(a, requires_grad=n) for a, n in zip(arrays, needs)]
    out = fn(*values)
    g = np.random.default_rng(11).standard_normal(out.shape)
    wanted = [v for v in values if v.requires_grad]
    grads = tl.grad(out, wanted, g, create_graph=create_graph)
    return [gr.data if create_graph else gr for gr in grads]


def _conv_case(row: str) -> tuple[Any, list[Any]]:
    gen = np.random.default_rng(12)
    if row == "conv2d":  # non-square, strided, padded, with bias
        arrays = [gen.standard_normal(s) for s in [(2, 2, 5, 4), (3, 2, 3, 2), (3,)]]
        return (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1)), arrays
    if row == "conv_transpose2d":  # output_padding at least the stride (dilation 2): the
        # graph-mode input gradient has a window too many and is cropped to the input's size
        arrays = [gen.standard_normal(s) for s in [(2, 2, 3, 2), (2, 3, 2, 2), (3,)]]
        return (lambda y, w, b: F.conv_transpose2d(y, w, b, output_padding=1, dilation=2)), arrays
    raise ValueError(row)


@pytest.mark.parametrize(
    "row, needs",
    [
        pytest.param("conv2d", [True, True, True], id="conv2d-all_need"),
        pytest.param("conv2d", [True, False, True], id="conv2d-frozen_weight"),
        pytest.param("conv2d", [False, True, False], id="conv2d-frozen_input"),
        pytest.param("conv_transpose2d", [True, True, True], id="conv_transpose2d-all_need"),
        pytest.param("conv_transpose2d", [True, False, False], id="conv_transpose2d-frozen"),
    ],
)
def test_op_rows_conv_gradients_agree_in_both_modes_and_with_any_input_frozen(
    row: str, needs: list[bool]
) -> None:
    # each input's gradient is the same whichever other inputs need one, in raw mode and in
    # graph mode (create_graph=True runs the rules on Values)
    fn, arrays = _conv_case(row)
    every = _grads(fn, arrays, [True, True, True], create_graph=False)
    expected = [g for g, n in zip(every, needs) if n]
    for create_graph in (False, True):
        got = _grads(fn, arrays, needs, create_graph)
        assert [g.shape for g in got] == [e.shape for e in expected]
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
    if needs == [True, True, True]:
        assert gradcheck(fn, arrays)


@pytest.mark.parametrize(
    "row",
    ["conv2d", "conv_transpose2d"],
    ids=["conv2d_weight-second_derivative_modes", "conv_transpose2d-second_derivative_modes"],
)
def test_op_rows_conv_second_derivatives_agree_in_both_modes(row: str) -> None:
    # the second derivative of sum(conv(x, w)^2 * R) along (S1, S2), taken once more in graph
    # mode: the rules of conv2d's gradient rows (conv2d_weight, conv_transpose2d) then run on
    # Values and must give the raw numbers
    fn, (x0, w0, _) = _conv_case(row)
    gen = np.random.default_rng(13)

    def second(create_graph: bool) -> list[Any]:
        x, w = Value(x0), Value(w0)
        out = fn(x, w, None)
        r = gen.standard_normal(out.shape)
        gx, gw = tl.grad((out * out * r).sum(), [x, w], create_graph=True)
        s = (gx * gen.standard_normal(x0.shape)).sum() + (gw * gen.standard_normal(w0.shape)).sum()
        found = tl.grad(s, [x, w], create_graph=create_graph)
        return [f.data if create_graph else f for f in found]

    gen = np.random.default_rng(13)
    raw = second(False)
    gen = np.random.default_rng(13)
    graph = second(True)
    assert all(np.abs(r).max() > 0.1 for r in raw)
    for g, r in zip(graph, raw):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "create_graph", [False, True], ids=["conv2d_weight-input_raw", "conv2d_weight-input_graph"]
)
def test_op_rows_conv2d_weight_gradient_of_a_linear_loss(create_graph: bool) -> None:
    # for a loss linear in the output, conv2d's output gradient R needs none: the weight
    # gradient conv2d_weight(x, R) then differentiates to x alone, and
    # d/dx <conv2d_weight(x, R), S> = d/dx <conv2d(x, S), R> (both are sum R conv(x, S))
    gen = np.random.default_rng(14)
    x0, w0 = gen.standard_normal((2, 2, 5, 4)), gen.standard_normal((3, 2, 3, 2))
    r, s = gen.standard_normal((2, 3, 3, 3)), gen.standard_normal(w0.shape)
    x, w = Value(x0), Value(w0)
    (gw,) = tl.grad((F.conv2d(x, w, stride=2, padding=1) * r).sum(), [w], create_graph=True)
    (gx,) = tl.grad((gw * s).sum(), [x], create_graph=create_graph)
    x = Value(x0)
    (expected,) = tl.grad((F.conv2d(x, Value(s), stride=2, padding=1) * r).sum(), [x])
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(gx.data if create_graph else gx, expected, rtol=1e-12)


@pytest.mark.parametrize("row", ["conv_transpose2d"], ids=["conv_transpose2d-conv_defaults"])
def test_op_rows_a_conv_made_without_defaults_pads_nothing_and_needs_every_gradient(
    row: str,
) -> None:
    # a Conv made without output_padding adds none to a transpose's output, and without
    # ``need`` asks the rules for every gradient
    from tinygrad_lite.core.ops import OPS
    from tinygrad_lite.core.ops.conv import Conv

    c = Conv((3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1)
    assert c.transposed_size((4, 4)) == (7, 7)
    y, w = np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3))
    assert OPS[row].forward(c, y, w).shape == (1, 1, 7, 7)
    x, g = np.ones((1, 1, 7, 7)), np.ones((1, 1, 4, 4))
    gx, gw, gb = OPS["conv2d"].backward(c, g, None, x, w, np.zeros(1))
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (1,)


@pytest.mark.parametrize("row", ["pad"], ids=["pad-default_value"])
def test_op_rows_a_pad_made_without_a_value_pads_with_zeros(row: str) -> None:
    from tinygrad_lite.core.ops import OPS
    from tinygrad_lite.core.ops.conv import Pad

    padded = OPS[row].forward(Pad(((0, 0), (1, 2))), np.full((1, 1), 5.0))
    np.testing.assert_array_equal(padded, [[0.0, 5.0, 0.0, 0.0]])


@pytest.mark.parametrize("row", ["max_pool2d"], ids=["max_pool2d-second_backward"])
def test_op_rows_max_pool2d_second_backward_finds_the_maxima_again(row: str) -> None:
    # the forward keeps where each window's maximum is for one backward; a second backward of
    # the same graph finds them again
    x = Value(np.random.default_rng(15).permutation(20).reshape(1, 1, 4, 5) * 1.0)
    out = F.max_pool2d(x, 2, stride=1)
    g = np.random.default_rng(16).standard_normal(out.shape)
    (first,) = tl.grad(out, [x], g)
    (second,) = tl.grad(out, [x], g)
    assert np.abs(first).max() > 0.1
    np.testing.assert_array_equal(second, first)


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        pytest.param((1, 2, 6, 5), {"stride": 2}, id="max_pool2d-maxima_in_the_first_column"),
        pytest.param(
            (1, 1, 1, 4),
            {"stride": 1, "padding": (1, 0), "dilation": (2, 1)},
            id="max_pool2d-windows_of_padding_only",
        ),
    ],
)
def test_op_rows_max_pool2d_graph_mode_scatters_where_raw_mode_does(
    shape: Any, kwargs: Any
) -> None:
    # the maxima of the first column (x falls from left to right), a stride of 2 on both
    # axes; and windows that hold only padding (dilation 2 over a one-row image padded by
    # one), whose -inf maxima get no gradient
    n, c, h, w = shape
    x0 = np.tile(-np.arange(w, dtype=np.float64), (n, c, h, 1)) + np.arange(h)[:, None] * 0.1
    x = Value(x0)
    out = F.max_pool2d(x, 2, **kwargs)
    g = np.random.default_rng(17).standard_normal(out.shape)
    (raw,) = tl.grad(out, [x], g)
    (graph,) = tl.grad(F.max_pool2d(x, 2, **kwargs), [x], g, create_graph=True)
    np.testing.assert_array_equal(graph.data, raw)
    if "padding" in kwargs:
        assert np.all(out.data == -math.inf) and not raw.any()
    else:  # every window's maximum is in its first column, its last row
        expected = np.zeros(shape)
        expected[:, :, 1::2, 0:-1:2] = g
        np.testing.assert_array_equal(raw, expected)


@pytest.mark.parametrize(
    "kernel",
    [(1, 257), (257, 1), (17, 17)],
    ids=["max_pool2d-kernel_1x257", "max_pool2d-kernel_257x1", "max_pool2d-kernel_17x17"],
)
def test_op_rows_max_pool2d_of_a_kernel_over_256_elements(kernel: Any) -> None:
    # a window of more than 256 elements numbers its positions past what a uint8 holds: the
    # maximum in its last position still gets the gradient
    x0 = np.zeros((1, 1, *kernel))
    x0[0, 0, -1, -1] = 1.0
    for create_graph in (False, True):
        x = Value(x0)
        (grad,) = tl.grad(
            F.max_pool2d(x, kernel), [x], np.full((1, 1, 1, 1), 3.0), create_graph=create_graph
        )
        np.testing.assert_array_equal(grad.data if create_graph else grad, x0 * 3.0)


# ---------------------------------------------------------------- replay forms (tl.jit)
# Each row's replay form (Op.into, Op.grads_into) must give its plain rules' numbers bit
# for bit: a traced step may use either.


def _arrays(seed: int) -> Any:
    """``a(*shape)``: seeded float32 normal arrays, one generator per family of cases."""
    gen = np.random.default_rng(seed)

    def a(*shape: int) -> np.ndarray:
        return gen.normal(size=shape).astype(np.float32)

    return a


def _replay_cases() -> list[Any]:
    cases = [
        *_replay_cases_plain(),
        *_replay_cases_elementwise(),
        *_replay_cases_reduce_movement(),
        *_replay_cases_fused_norm_attention(),
        *_replay_cases_recurrent(),
        *_replay_cases_conv(),
    ]
    return [
        pytest.param(*c[:3], c[3] if len(c) > 3 else True, id=f"{c[0]}-replay_form_{n}")
        for n, c in enumerate(cases)
    ]


def _replay_cases_plain() -> list[tuple[Any, ...]]:
    """linear, matmul and the first elementwise rows (the first replay forms)."""
    a = _arrays(0)
    x = a(5, 4)
    x[0, :2] = 0.0  # relu's ties at zero
    big = a(5, 4) * 40
    big[0, 0] = -200.0
    both = (True, True)
    cases = [
        ("linear", both + (True,), (a(5, 4), a(4, 3), a(3))),
        ("linear", (False, True, False), (a(5, 4), a(4, 3), a(3))),
        ("linear", (True, True, True), (a(2, 5, 4), a(4, 3), a(3))),  # batch axes folded
        ("linear", (False, True, True), (a(2, 5, 4), a(4, 3), a(3))),
        ("linear", (True, True), (a(5, 4), a(4, 3))),  # no bias
        ("linear", (True, False), (a(2, 5, 4), a(4, 3))),
        ("matmul", both, (a(5, 4), a(4, 3))),
        ("matmul", both, (a(2, 5, 4), a(4, 3)), False),  # batched: the plain rule, new arrays
        ("matmul", (False, True), (a(5, 4), a(4, 3))),
        ("matmul", (True, False), (a(5, 4), a(4, 3))),
        ("add", both, (a(5, 4), a(5, 4))),
        ("add", both, (a(5, 4), a(4))),
        ("sub", both, (a(5, 4), a(5, 4))),
        ("mul", both, (a(5, 4), a(5, 4))),
        ("mul", both, (a(5, 4), a(1, 4))),  # broadcast: the product is summed later
        ("mul", both, (a(1, 4), a(5, 4))),
        ("mul", (False, True), (a(5, 4), a(5, 4))),
        ("exp", None, (a(5, 4),)),
        ("tanh", None, (a(5, 4),)),
        ("sigmoid", None, (big,)),  # exp(200) overflows to inf, as planned: 1 / inf = 0
        ("relu", None, (x,)),
    ]
    return cases


def _replay_cases_elementwise() -> list[tuple[Any, ...]]:
    """The other rows of elementwise.py."""
    return []


def _replay_cases_reduce_movement() -> list[tuple[Any, ...]]:
    """The rows of reduce.py and movement.py."""
    return []


def _replay_cases_fused_norm_attention() -> list[tuple[Any, ...]]:
    """The rows of fused.py (but linear), norm.py and attention.py."""
    return []


def _replay_cases_recurrent() -> list[tuple[Any, ...]]:
    """The rows of recurrent.py."""
    return []


def _replay_cases_conv() -> list[tuple[Any, ...]]:
    """The rows of conv.py."""
    from tinygrad_lite.core.ops.conv import Conv, Pad, Pool
    from tinygrad_lite.core.ops.fused import Kept

    a = _arrays(15)

    def conv(stride=1, padding=0, dilation=1, groups=1, kernel=3, extra=0, need=(True,) * 3):
        sides = padding if isinstance(padding, tuple) else (padding,) * 4
        return Conv(
            (kernel, kernel),
            (stride, stride),
            sides,
            (dilation, dilation),
            groups,
            (extra, extra),
            need,
            Kept(),
        )

    def pool(kernel=2, stride=2, padding=0, dilation=1, kept=True):
        return Pool(
            (kernel, kernel),
            (stride, stride),
            (padding, padding),
            (dilation, dilation),
            Kept() if kept else None,
        )

    ties = np.round(a(2, 3, 7, 8))  # many equal maxima in a window
    infinite = a(1, 2, 4, 4)
    infinite[0, 0, 1, 1], infinite[0, 1, 2, 2] = -np.inf, np.inf
    wide = np.zeros((1, 1, 2, 257), np.float32)  # a window of 257: positions past a uint8
    wide[0, 0, 1, -1] = 1.0
    f64 = {k: v.astype(np.float64) for k, v in {"x": a(2, 4, 7, 8), "w": a(6, 4, 3, 3)}.items()}
    return [
        # conv2d: x (N, C, H, W), w (O, C/G, kH, kW), b (O,)
        ("conv2d", conv(stride=2, padding=1), (a(2, 4, 7, 8), a(6, 4, 3, 3), a(6))),
        ("conv2d", conv(dilation=2, need=(True, True)), (a(2, 4, 9, 8), a(6, 4, 3, 3))),
        ("conv2d", conv(padding=(1, 0, 2, 1), groups=2), (a(2, 4, 7, 8), a(6, 2, 3, 3), a(6))),
        ("conv2d", conv(stride=2, need=(False, True, True)), (a(2, 4, 7, 8), a(6, 4, 3, 3), a(6))),
        ("conv2d", conv(padding=1, need=(True, False, True)), (a(2, 4, 7, 8), a(6, 4, 3, 3), a(6))),
        ("conv2d", conv(groups=2, need=(True, True, False)), (a(2, 4, 7, 8), a(6, 2, 3, 3), a(6))),
        ("conv2d", conv(kernel=1, need=(True, True)), (a(1, 4, 5, 6), a(6, 4, 1, 1))),  # 1x1
        (
            "conv2d",
            conv(stride=2, padding=1)._replace(kept=None),
            (a(2, 4, 7, 8), a(6, 4, 3, 3), a(6)),
        ),
        ("conv2d", conv(padding=1), (f64["x"], f64["w"], a(6).astype(np.float64))),
        # conv_transpose2d: y (N, C, H, W), w (C, O/G, kH, kW), b (O,)
        (
            "conv_transpose2d",
            conv(stride=2, padding=1, extra=1),
            (a(2, 4, 4, 5), a(4, 3, 3, 3), a(3)),
        ),
        (
            "conv_transpose2d",
            conv(dilation=2, groups=2, need=(True, True)),
            (a(2, 4, 3, 4), a(4, 3, 3, 3)),
        ),
        (
            "conv_transpose2d",
            conv(stride=2, need=(False, True, True)),
            (a(2, 4, 4, 5), a(4, 3, 3, 3), a(3)),
        ),
        (
            "conv_transpose2d",
            conv(padding=(1, 0, 0, 1), need=(True, False, False)),
            (a(2, 4, 4, 5), a(4, 3, 3, 3), a(3)),
        ),
        (
            "conv_transpose2d",
            conv(stride=2, extra=1),
            (
                a(2, 4, 4, 5).astype(np.float64),
                a(4, 3, 3, 3).astype(np.float64),
                a(3).astype(np.float64),
            ),
        ),
        # conv2d_weight: x (N, C, H, W), g (N, O, Ho, Wo): the weight (O, C/G, kH, kW)
        (
            "conv2d_weight",
            conv(stride=2, padding=1, need=(True, True)),
            (a(2, 4, 7, 8), a(2, 6, 4, 4)),
        ),
        (
            "conv2d_weight",
            conv(dilation=2, groups=2, need=(True, True)),
            (a(2, 4, 9, 8), a(2, 6, 5, 4)),
        ),
        ("conv2d_weight", conv(stride=2, need=(False, True)), (a(2, 4, 8, 8), a(2, 6, 3, 3))),
        ("conv2d_weight", conv(padding=1, need=(True, False)), (a(2, 4, 7, 8), a(2, 6, 7, 8))),
        ("conv2d_weight", conv(need=(True, True)), (f64["x"], a(2, 6, 5, 6).astype(np.float64))),
        # max_pool2d: ties, padding, overlapping windows, gaps between windows, dilation
        ("max_pool2d", pool(), (ties,)),
        ("max_pool2d", pool(kernel=3, stride=2, padding=1), (ties,)),
        ("max_pool2d", pool(kernel=3, stride=1), (a(2, 3, 7, 8),)),
        ("max_pool2d", pool(kernel=2, stride=3), (a(2, 3, 7, 8),)),  # gaps: zero gradient
        ("max_pool2d", pool(kernel=2, stride=1, dilation=2, kept=False), (ties,)),
        ("max_pool2d", pool(kernel=2, stride=1, padding=1), (infinite,)),
        ("max_pool2d", Pool((2, 257), (1, 1), (0, 0)), (wide,)),
        ("max_pool2d", Pool((3, 2), (2, 1), (1, 0), kept=Kept()), (ties,)),  # padded rows only
        ("max_pool2d", Pool((2, 3), (1, 2), (0, 1)), (ties,)),  # padded columns only
        ("max_pool2d", pool(kernel=3, stride=2, padding=1), (ties.astype(np.float64),)),
        # avg_pool2d (padding counts in each window's mean, as torch's default)
        ("avg_pool2d", pool(kernel=3, stride=2, padding=1, kept=False), (a(2, 3, 7, 8),)),
        ("avg_pool2d", pool(kept=False), (a(2, 3, 7, 8),)),
        ("avg_pool2d", pool(kernel=3, stride=1, dilation=2, kept=False), (a(2, 3, 7, 8),)),
        ("avg_pool2d", pool(kernel=2, stride=3, kept=False), (a(2, 3, 7, 8),)),
        ("avg_pool2d", Pool((3, 2), (2, 1), (1, 0)), (a(2, 3, 7, 8),)),
        (
            "avg_pool2d",
            pool(kernel=3, stride=2, padding=1, kept=False),
            (a(2, 3, 7, 8).astype(np.float64),),
        ),
        # pad: a value on some sides of some axes
        ("pad", Pad(((0, 0), (1, 2), (0, 3), (2, 0)), 1.5), (a(2, 3, 4, 5),)),
        ("pad", Pad(((3, 1), (0, 0)), -2.5), (a(4, 5).astype(np.float64),)),
        ("pad", Pad(((1, 1), (2, 2), (0, 1)), -math.inf), (a(2, 3, 4),)),
    ]


@pytest.mark.parametrize("name, static, inputs, writes", _replay_cases())
def test_op_rows_replay_forms_give_the_plain_rules_numbers_bit_for_bit(
    name: str, static: Any, inputs: tuple[Any, ...], writes: bool
) -> None:
    op = OPS[name]
    assert op.into is not None
    with warnings.catch_warnings():  # (the rules keep quiet where IEEE 754 says inf)
        warnings.simplefilter("error")
        _replay_form_matches(op, static, inputs, writes)


def _replay_form_matches(op: Any, static: Any, inputs: tuple[Any, ...], writes: bool) -> None:
    plain = op.forward(static, *inputs)
    out = np.empty_like(plain)
    written = op.into(static, out, *inputs)
    assert written is out  # into the given array, not a new one
    assert written.dtype == plain.dtype and np.array_equal(written, plain)
    if op.grads_into is None:
        return
    g = np.random.default_rng(1).normal(size=plain.shape).astype(np.float32)
    want = op.backward(static, g, plain, *inputs)
    bufs = tuple(
        np.empty_like(w) if isinstance(w, np.ndarray) and w.shape == x.shape else None
        for w, x in zip(want, inputs)
    )
    got = op.grads_into(static, g, plain, bufs, *inputs)
    for k, (w, r) in enumerate(zip(want, got)):
        if w is None:
            assert r is None
            continue
        assert r.dtype == w.dtype and np.array_equal(r, w), f"gradient {k}"
        if bufs[k] is not None:  # written into the step's array, not a new one
            assert np.shares_memory(r, bufs[k]) == writes, f"gradient {k}"


@pytest.mark.parametrize(
    "row, name",
    [("conv2d", "cols"), ("max_pool2d", "where")],
    ids=["conv2d-kept", "max_pool2d-kept"],
)
def test_op_rows_forward_forms_keep_their_scratch_array_for_the_backward_form(
    row: str, name: str
) -> None:
    # conv2d's column matrix and max_pool2d's maxima positions: the forward form keeps its
    # scratch array (the same one every replay), and the backward form takes it instead of
    # making its own
    from tinygrad_lite.core.ops import row as rows
    from tinygrad_lite.core.ops.conv import Conv, Pool
    from tinygrad_lite.core.ops.fused import Kept

    a = _arrays(16)
    if row == "conv2d":
        static: Any = Conv((3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1, kept=Kept())
        inputs = (a(2, 4, 7, 8), a(6, 4, 3, 3), a(6))
    else:
        static = Pool((3, 3), (2, 2), (1, 1), kept=Kept())
        inputs = (np.round(a(2, 3, 7, 8)),)
    op, x, kept = OPS[row], inputs[0], static.kept
    plain = op.forward(static, *inputs)
    want = op.backward(static, plain, plain, *inputs)  # (g: the output itself)
    out = np.empty_like(plain)
    op.into(static, out, *inputs)
    first = kept.array
    op.into(static, out, *inputs)
    assert kept.source is x and kept.array is first  # the same scratch array each replay
    bufs = tuple(np.empty_like(w) if w is not None else None for w in want)
    got = op.grads_into(static, plain, out, bufs, *inputs)
    assert kept.array is None  # taken
    assert (id(out), "backward " + name) not in rows._SCRATCH  # and not made again
    for w, r in zip(want, got):
        assert np.array_equal(w, r)


def _conv_rows_big_cases() -> list[Any]:
    """A case per conv.py row (and per way a pooling's gradient is gathered) on 8x8x32x32
    float32 images (256 KiB): large next to NumPy's iteration buffers."""
    from tinygrad_lite.core.ops.conv import Conv, Pad, Pool
    from tinygrad_lite.core.ops.fused import Kept

    a = _arrays(17)
    c = Conv((3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, kept=Kept())
    image = (8, 8, 32, 32)
    cases = [
        ("conv2d", c, (a(*image), a(8, 8, 3, 3), a(8))),
        ("conv_transpose2d", c, (a(*image), a(8, 8, 3, 3), a(8))),
        ("conv2d_weight", c._replace(need=(True, True)), (a(*image), a(*image))),
        ("max_pool2d", Pool((3, 3), (2, 2), (1, 1), kept=Kept()), (a(*image),)),
        ("max_pool2d", Pool((2, 2), (2, 2), (0, 0)), (a(*image),)),  # no padding: no crop
        ("avg_pool2d", Pool((3, 3), (2, 2), (1, 1)), (a(*image),)),
        ("avg_pool2d", Pool((3, 3), (1, 1), (0, 0)), (a(*image),)),
        ("pad", Pad(((0, 0), (0, 0), (1, 1), (2, 2)), 0.5), (a(*image),)),
    ]
    return [
        pytest.param(*case, id=f"{case[0]}-replay_allocations_{n}") for n, case in enumerate(cases)
    ]


@pytest.mark.parametrize("name, static, inputs", _conv_rows_big_cases())
def test_op_rows_conv_replay_forms_allocate_no_image_sized_array(
    name: str, static: Any, inputs: tuple[Any, ...]
) -> None:
    # after a first replay has made the scratch arrays, a replay's forward and backward forms
    # allocate less than half an input image (NumPy's iteration buffers, a few views)
    import tracemalloc

    op = OPS[name]
    plain = op.forward(static, *inputs)
    g = np.random.default_rng(3).normal(size=plain.shape).astype(np.float32)
    # (pad has no backward form: its gradient is a view)
    want = op.backward(static, g, plain, *inputs) if op.grads_into is not None else ()
    out = np.empty_like(plain)
    bufs = tuple(None if w is None else np.empty_like(w) for w in want)

    def replay() -> None:
        op.into(static, out, *inputs)
        if want:
            op.grads_into(static, g, out, bufs, *inputs)

    replay()
    tracemalloc.start()
    replay()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < inputs[0].nbytes / 2
    assert np.array_equal(out, plain)
    for w, b in zip(want, bufs):
        assert b is None or np.array_equal(w, b)


def test_scratch_arrays_are_reused_per_owner_and_name_and_forgotten_with_their_owner() -> None:
    from tinygrad_lite.core.ops import row

    owner = np.empty(3)
    first = row.scratch(owner, "cols", (2, 5), np.float32)
    assert row.scratch(owner, "cols", (2, 5), np.float32) is first
    assert row.scratch(owner, "rows", (2, 5), np.float32) is not first
    assert row.scratch(np.empty(3), "cols", (2, 5), np.float32) is not first  # another owner
    resized = row.scratch(owner, "cols", (3, 5), np.float32)
    assert resized.shape == (3, 5) and row.scratch(owner, "cols", (3, 5), np.float32) is resized
    assert row.scratch(owner, "cols", (3, 5), np.float64).dtype == np.float64
    key = (id(owner), "cols")
    del owner
    gc.collect()
    assert key not in row._SCRATCH
