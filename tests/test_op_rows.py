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
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import Value
from tinygrad_lite.core import OPS, local_label
from tinygrad_lite.core.ops import WITH_CONSTANT
from tinygrad_lite.core.ops.fused import FeedForward, Kept
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


@pytest.mark.parametrize("frozen", ["none", "input", "weight"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_op_rows_linear_t_gives_linear_on_the_transposed_weight_bit_for_bit(frozen, dtype) -> None:
    # linear_t is linear's rule on a transposed view of W, with W's gradient computed as
    # g^T x instead of transposing x^T g: the same numbers, bit for bit, in W's own layout
    gen = np.random.default_rng(1)
    x0, w0 = gen.normal(size=(2, 6, 5)).astype(dtype), gen.normal(size=(3, 5)).astype(dtype)
    b0, g = gen.normal(size=3).astype(dtype), gen.normal(size=(2, 6, 3)).astype(dtype)
    got, want = {}, {}
    for transposed, into in ((True, got), (False, want)):
        x = Value(x0.copy(), requires_grad=frozen != "input")
        w = Value(w0.copy(), requires_grad=frozen != "weight")
        b = Value(b0.copy())
        out = tl.linear(x, w, b, transposed=True) if transposed else tl.linear(x, w.T, b)
        out.backward(g)
        assert out.op == ("linear_t" if transposed else "linear")
        into.update(out=out.data, x=x.grad, w=w.grad, b=b.grad)
    for k in want:
        if want[k] is None:
            assert got[k] is None, k
        else:
            assert got[k].dtype == dtype and got[k].flags.c_contiguous, k
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_op_rows_linear_says_which_layout_a_weight_should_have() -> None:
    x = Value(np.ones((2, 4)))
    with pytest.raises(tl.ShapeError, match=r"\(3, 4\) \(in_features, out_features\)"):
        tl.linear(x, Value(np.ones((3, 4))))
    with pytest.raises(tl.ShapeError, match=r"\(4, 3\) \(out_features, in_features\)"):
        tl.linear(x, Value(np.ones((4, 3))), transposed=True)
    with pytest.raises(tl.ShapeError, match="bias of shape \\(4,\\) does not fit 3 outputs"):
        tl.linear(x, Value(np.ones((3, 4))), Value(np.ones(4)), transposed=True)
    with pytest.raises(tl.ArgumentError, match="transposed='yes' must be True or False"):
        tl.linear(x, Value(np.ones((4, 3))), transposed="yes")


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


@pytest.mark.parametrize(
    "need",
    [(True,) * 5, (True, False, False, True, True), (False, False, False, True, True)],
    ids=[
        "feed_forward-backward_equals_the_composite",
        "feed_forward-backward_with_the_first_layer_frozen",
        "feed_forward-backward_with_data_below_the_hidden_layer",
    ],
)
def test_op_rows_feed_forward_backward_equals_its_composite(need: tuple[bool, ...]) -> None:
    # the raw backward rule (test_fused runs the graph-mode one): hidden activations on both
    # sides of 0 and some between 0 and 1, where a wrong mask threshold shows; frozen inputs
    # get no gradient
    from tinygrad_lite.nn.transformer import relu_feed_forward

    a = _arrays(21)
    arrays = (a(4, 6, 5), a(7, 5), a(7), a(5, 7), a(5))
    pre = arrays[0].astype(np.float64) @ arrays[1].T + arrays[2]  # the hidden pre-activations
    assert (pre < 0).any() and ((pre > 0) & (pre < 1)).any() and (pre > 1).any()
    inputs = [Value(v.astype(np.float64), requires_grad=r) for v, r in zip(arrays, need)]
    out = relu_feed_forward(*inputs)
    assert out.op == "feed_forward"
    plain = OPS["feed_forward"].composite(out.static, *inputs)
    g = a(4, 6, 5).astype(np.float64)
    wanted = [v for v in inputs if v.requires_grad]
    for got, want in zip(tl.grad(out, wanted, g), tl.grad(plain, wanted, g)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [2], ids=["lstm-composite_with_more_units_than_sequences"])
def test_op_rows_lstm_equals_its_composite_when_n_differs_from_h(n: int) -> None:
    from tinygrad_lite.core.ops.recurrent import lstm_composite
    from tinygrad_lite.nn.recurrent import lstm_states

    xw, h0, c0, w_hh = _recurrent_inputs(4)
    fused = lstm_states(xw, h0, c0, w_hh)
    plain = lstm_composite(None, xw, h0, c0, w_hh)
    assert plain.shape == fused.shape == (2, 3, n, 4)
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
        ("linear_t", both + (True,), (a(5, 4), a(3, 4), a(3))),  # W in torch's (out, in)
        ("linear_t", (False, True, False), (a(5, 4), a(3, 4), a(3))),
        ("linear_t", (True, True, True), (a(2, 5, 4), a(3, 4), a(3))),
        ("linear_t", (True, False), (a(2, 5, 4), a(3, 4))),
        ("matmul", both, (a(5, 4), a(4, 3))),
        ("matmul", both, (a(2, 5, 4), a(4, 3)), False),  # batched: the plain rule, new arrays
        ("matmul", (False, True), (a(5, 4), a(4, 3))),
        ("matmul", (True, False), (a(5, 4), a(4, 3))),
        ("add", both, (a(5, 4), a(5, 4)), False),  # g itself, twice
        ("add", both, (a(5, 4), a(4)), False),
        ("sub", both, (a(5, 4), a(5, 4)), (False, True)),  # g and -g
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
    """The other rows of elementwise.py, and the binary ones with a number on one side
    (``"div:c1"`` is ``x / c``). NumPy warns of 1/0, log(0), 0 ** -1 and nan from sqrt(-1) as
    it computes them: the forms warn alike (``_heard``)."""
    a = _arrays(11)
    both, left, right = (True, True), (True, False), (False, True)
    x, x64 = a(5, 4), a(5, 4).astype(np.float64)
    ties = a(5, 4)
    ties[0, :3] = 0.0, -0.0, 0.0  # abs, leaky_relu: ties at zero; a zero divisor, log(0)
    ties[1, :2] = -1.5, 2.0  # log, sqrt of a negative: nan
    ties[1, 2:] = np.nan, np.inf
    pos = np.abs(a(5, 4)) + 0.5  # a base with a real power and logarithm
    pos64 = pos.astype(np.float64)
    zero_base = pos.copy()
    zero_base[0, :2] = 0.0  # 0 ** negative: inf, 0 ** 0: 1
    exps = a(5, 4)
    exps[0, 1] = 0.0
    wide = a(5, 4) * 6  # erf's three ranges, past 8 too
    wide[0, :4] = 0.0, -0.0, 9.0, -30.0
    wide[1, :4] = np.nan, 1e20, np.inf, -np.inf  # x * x overflows in erf's backward
    at_bounds = a(5, 4)
    at_bounds[0, :2] = -0.5, 0.5  # clip's ties: inside
    cond = a(5, 4) > 0
    cases: list[tuple[Any, ...]] = [
        ("add", right, (x, a(1, 4)), False),
        ("sub", both, (x, a(4)), (False, True)),  # broadcast: -g of the output's shape
        ("sub", both, (a(4), x), (False, True)),
        ("sub", left, (x64, x), (False, True)),
        ("exp", None, (x64,)),
        ("exp", None, (ties * 100,)),  # overflows to inf, nan stays nan
        ("div", both, (x, a(5, 4))),
        ("div", both, (x, ties)),  # 1/0 = inf, 0/0 = nan
        ("div", both, (x, a(4))),
        ("div", both, (a(1, 4), x)),
        ("div", left, (x, a(5, 4))),
        ("div", right, (x, a(5, 4))),
        ("div", both, (x64, x)),
        ("div", both, (x, x64)),
        ("div", both, (x, 2.5)),  # a Value holding a float
        ("div", both, (2.5, ties)),
        ("pow", both, (pos, exps)),
        ("pow", both, (zero_base, exps)),  # 0 ** -1 = inf, log(0) = -inf
        ("pow", both, (x, exps)),  # negative bases: nan
        ("pow", both, (pos, a(4))),
        ("pow", both, (pos[:1], exps)),
        ("pow", left, (pos, exps)),
        ("pow", right, (pos, exps)),
        ("pow", both, (pos64, exps)),
        ("pow", both, (pos, exps.astype(np.float64))),
        ("pow", both, (zero_base, 2.0)),
        ("pow", both, (zero_base, 0.5)),
        ("pow", both, (zero_base, -1.0)),
        ("pow", both, (3.0, exps)),
        ("pow", both, (pos, np.array(1.5))),
        ("neg", None, (x,)),
        ("neg", None, (ties,)),
        ("neg", None, (x64,)),
        ("identity", None, (x,)),
        ("identity", None, (x64[:, ::2].T,)),  # a strided view: copied contiguous
        ("log", None, (pos,)),
        ("log", None, (ties,)),  # log(0) = -inf, log(-1.5) = nan
        ("log", None, (pos64,)),
        ("sqrt", None, (pos,)),
        ("sqrt", None, (ties,)),  # 1/(2 sqrt(0)) = inf
        ("sqrt", None, (pos64,)),
        ("abs", None, (ties,)),
        ("abs", None, (x64,)),
        ("erf", None, (wide,)),
        ("erf", None, (wide.astype(np.float64),)),
        ("erf", None, (x[0],)),
        ("leaky_relu", 0.01, (ties,)),
        ("leaky_relu", 0.1, (x,)),  # 0.1 rounded to float32 as the plain rule rounds it
        ("leaky_relu", 0.1, (x64,)),
        ("clip", (-0.5, 0.5), (at_bounds,)),
        ("clip", (-0.5, None), (at_bounds,)),
        ("clip", (None, 0.5), (at_bounds,)),
        ("clip", (0.0, 1.0), (ties,)),
        ("clip", (-0.5, 0.5), (at_bounds.astype(np.float64),)),
        ("where", cond, (x, a(5, 4))),
        ("where", cond[0], (x, a(5, 4))),  # the condition broadcast
        ("where", cond[:, :1], (a(4), x)),
        ("where", cond, (a(1, 4), 2.0)),
        ("where", np.array(True), (x, a(5, 4))),
        ("where", cond, (x64, x)),
    ]
    constants = [
        ("add", 2.5, x),
        ("sub", 2.5, x),
        ("mul", 2.5, x),
        ("mul", -0.0, ties),
        ("div", 2.5, x),
        ("div", 0.0, ties),
        ("div", 2.5, x64),
        ("pow", 2.0, zero_base),
        ("pow", 0.5, ties),
        ("pow", -1.0, zero_base),
        ("pow", 0.0, zero_base),  # c ** x: log(0) = -inf
        ("pow", -2.0, x),  # c ** x: nan for a fractional x
        ("pow", 3.0, x64),
    ]
    cases += [(f"{name}:c{side}", c, (v,)) for name, c, v in constants for side in (0, 1)]
    return cases


def _replay_cases_reduce_movement() -> list[tuple[Any, ...]]:
    """The rows of reduce.py and movement.py."""
    a = _arrays(12)
    ties = np.round(a(4, 6)).astype(np.float32)  # many equal maxima in a row, a column
    ties[1] = 2.0  # a row of six ties: 1/6 is rounded to float32, then multiplied
    ties64 = ties.astype(np.float64)
    logits = a(4, 7) * 30
    logits[0, :3] = -np.inf  # exp(-inf) = 0 exactly: no warning
    logits[1, 2] = 1e30  # a row one logit dominates
    logits[2] = 80.0  # a row of equal huge logits
    flipped = np.asfortranarray(a(5, 30))  # summed along an axis in Fortran order
    cases = [
        ("sum", ((1,), False), (a(3, 4, 5),)),
        ("sum", ((0, 2), True), (a(3, 4, 5),)),
        ("sum", (None, True), (a(3, 4),)),
        ("sum", ((1,), False), (flipped.astype(np.float64),)),
        ("max", ((1,), False), (ties,)),
        ("max", ((0,), True), (ties,)),
        ("max", ((1,), False), (ties64,)),  # float64 gradient of a float32 g
        ("max", (None, True), (ties,)),
        ("max", ((2,), False), (a(3, 4, 50),)),
        ("softmax", 1, (logits,)),
        ("softmax", 0, (a(6, 5),)),
        ("softmax", 1, (logits.astype(np.float64),)),
        ("softmax", 1, (flipped,)),
        ("softmax", 2, (a(2, 3, 40),)),
        ("log_softmax", 1, (logits,)),
        ("log_softmax", 0, (a(6, 5),)),
        ("log_softmax", 1, (logits.astype(np.float64),)),
        ("log_softmax", 1, (flipped,)),
        ("log_softmax", 2, (a(2, 3, 40),)),
        # negative axes (Value's methods pass them normalised; the rows take either)
        ("sum", ((-1,), True), (a(3, 4, 5),)),
        ("max", ((-3, -1), False), (ties.reshape(2, 2, 6),)),
        ("softmax", -1, (a(3, 4, 6),)),
        ("log_softmax", -2, (a(3, 4, 6),)),
    ]
    x, x64 = a(5, 4), a(5, 4).astype(np.float64)
    ids = np.array([3, 0, 3, -1, 3])  # repeated (np.add.at adds them up) and negative
    batch_ids = np.array([[1, 4, 1], [0, 1, -2]])  # (2, 3) ids: an embedding's lookup
    mask = x > 0
    cases += [
        ("getitem", (slice(1, 4), slice(None, None, 2)), (x,)),  # a view, copied
        ("getitem", 2, (x,)),
        ("getitem", (Ellipsis, -1), (a(2, 3, 4),)),
        ("getitem", ids, (x,)),
        ("getitem", ids, (x64,)),
        ("getitem", batch_ids, (x,)),
        ("getitem", (np.array([0, 2, 0, 4]), np.array([1, 1, 1, 3])), (x,)),  # (row, column) ids
        ("getitem", (slice(None), ids[:3]), (x,)),
        ("getitem", mask, (x,)),
        ("getitem", mask[:, 0], (x,)),  # a mask of rows
        ("scatter", ((5, 4), ids, None), (a(5, 4),)),
        ("scatter", ((6, 4), batch_ids, None), (a(2, 3, 4),)),
        ("scatter", ((5, 4), (slice(1, 3), slice(None)), np.float64), (a(2, 4),)),
        ("scatter", ((5, 4), mask, None), (a(int(mask.sum())),)),
        ("broadcast_to", (3, 4, 5), (a(4, 1),)),
        ("broadcast_to", (2, 5), (a(5),)),
        ("broadcast_to", (3, 4, 5), (a(1, 4, 5).astype(np.float64),)),  # float32 g summed
        ("broadcast_to", (2, 2, 5), (a(2, 5),)),
        ("sum_to", (4, 1), (a(3, 4, 5),)),
        ("sum_to", (5,), (a(2, 5),)),
        ("sum_to", (1, 5), (a(3, 40, 5).astype(np.float64),)),
        ("sum_to", (2, 3), (a(3),)),  # a smaller array, spread
        ("concat", 0, (a(2, 3), a(4, 3), a(1, 3))),
        ("concat", -1, (a(2, 3), a(2, 1), a(2, 2).astype(np.float64))),
        ("upsample", (2,), (a(3, 4),)),
        ("upsample", (2, 3), (a(2, 3, 4, 5),)),
        ("upsample", (3, 2), (a(1, 2, 3).astype(np.float64),)),
    ]
    return cases


def _replay_cases_fused_norm_attention() -> list[tuple[Any, ...]]:
    """The rows of fused.py (but linear), norm.py and attention.py."""
    from tinygrad_lite.core.ops.attention import Attention
    from tinygrad_lite.core.ops.fused import Targets
    from tinygrad_lite.core.ops.norm import Standardize

    a = _arrays(13)
    cases: list[tuple[Any, ...]] = []
    # standardize: batch norm's axes, layer norm's, two last axes; float64; a constant row
    # (variance 0: eps alone); logits of another layout (the square then a new array)
    flat = a(2, 5, 8)
    flat[1, 2] = 3.0
    for x, axes in (
        (a(4, 3, 5, 5), (0, 2, 3)),
        (flat, (2,)),
        (a(2, 5, 8), (1, 2)),
        (a(4, 3, 5, 5).astype(np.float64), (0, 2, 3)),
        (flat.astype(np.float64), (2,)),
        (a(8, 5, 2).transpose(2, 1, 0), (2,)),
        (a(5, 3, 4).transpose(2, 1, 0), (0, 2)),
    ):
        cases.append(("standardize", Standardize(axes, 1e-5, Kept()), (x,)))
    # softmax cross-entropy: labels (2-d and 3-d logits) and distributions, each reduction;
    # a row far below the others (each row shifted by itself), F-ordered logits, float64
    labels, labels3 = np.array([0, 4, 2, 2, 1, 3]), np.array([[1, 0, 4], [2, 2, 3]])
    dist = np.abs(a(6, 5))
    far = a(6, 5)
    far[3] -= 100.0
    for f in (np.float32, np.float64):
        for reduction in ("mean", "sum", "none"):
            for x, lab, d in (
                (a(6, 5), labels, None),
                (a(2, 3, 5), labels3, None),
                (far, labels, None),
                (a(5, 6).T, labels, None),
                (a(6, 5), None, dist),
                (far, None, dist),
                (a(5, 6).T, None, dist),
                (a(6, 5), None, dist.T.copy().T),  # F-ordered distributions
                (a(5), np.array(3), None),
            ):
                target = Targets(lab, None if d is None else d.astype(f), reduction, Kept())
                cases.append(("softmax_cross_entropy", target, (x.astype(f),)))
        for reduction in ("sum", "none"):  # no sample ("mean" of nothing warns, as planned)
            for lab, d in ((np.zeros(0, np.int64), None), (None, np.ones((0, 5), f))):
                target = Targets(lab, d, reduction, Kept())
                # (writes False: an empty gradient shares memory with nothing, its buffer too)
                cases.append(("softmax_cross_entropy", target, (np.ones((0, 5), f),), False))
    # bce with logits: targets of the logits' shape or broadcast either way; exp(-|z|) at its
    # extremes (|z| = 200); float64
    z = a(6, 5) * 4
    z[0, :3] = (-200.0, 200.0, 0.0)
    for f in (np.float32, np.float64):
        t = (a(6, 5) > 0).astype(f)
        for logits, targets in ((z, t), (a(6, 5), t[0]), (a(5), t), (a(6, 5), t * 0.3)):
            cases.append(("bce_with_logits", targets, (logits.astype(f),)))
    causal = np.triu(np.full((5, 5), -np.inf, np.float32), 1)  # hides the later positions
    for f in (np.float32, np.float64):
        for heads, mask in ((2, None), (2, causal), (1, a(5, 5)), (4, a(2, 1, 5, 5))):
            m = None if mask is None else mask.astype(f)
            packed = (a(2, 5, 24).astype(f),)  # q, k, v side by side
            cases.append(("attention", Attention(heads, 0.5, m, Kept()), packed))
        # three inputs, 7 keys for 5 queries; a float mask broadcast over the batch and heads
        three = (a(2, 5, 8).astype(f), a(2, 7, 8).astype(f), a(2, 7, 8).astype(f))
        for heads, mask in ((2, None), (4, a(5, 7)), (2, a(2, 2, 1, 7))):
            m = None if mask is None else mask.astype(f)
            cases.append(("attention", Attention(heads, 0.35, m, Kept()), three))
    # the feed-forward block: 3-d and 2-d inputs; a frozen first layer, and also an input
    # that needs no gradient (the hidden gradient is then not computed at all); float64
    every, first_frozen, below_frozen = (True,) * 5, (True, False, False, True, True), (False,) * 3
    for f in (np.float32, np.float64):
        for x, need in (
            (a(2, 5, 8), every),
            (a(6, 8), every),
            (a(6, 8), first_frozen),
            (a(2, 5, 8), (*below_frozen, True, True)),
        ):
            params = (a(12, 8), a(12), a(8, 12), a(8))
            inputs = tuple(v.astype(f) for v in (x, *params))
            cases.append(("feed_forward", FeedForward(need, Kept()), inputs))
    return cases


def _replay_cases_recurrent() -> list[tuple[Any, ...]]:
    """The rows of recurrent.py: lstm (xw, h0, c0, w_hh) and gru (xw, h0, w_hh, b_hh), with
    H = 3 units; their static is a Kept, which hands the forward's gates to the backward."""
    a = _arrays(14)
    hid = 3

    def lstm(steps: int, n: int, scale: float = 1.0, dtype: Any = np.float32) -> tuple[Any, ...]:
        xw, h0, c0, w_hh = a(steps, n, 4 * hid) * scale, a(n, hid), a(n, hid), a(4 * hid, hid)
        return ("lstm", Kept(), tuple(x.astype(dtype) for x in (xw, h0, c0, w_hh * scale)))

    def gru(steps: int, n: int, scale: float = 1.0, dtype: Any = np.float32) -> tuple[Any, ...]:
        xw, h0, w_hh, b_hh = a(steps, n, 3 * hid) * scale, a(n, hid), a(3 * hid, hid), a(3 * hid)
        return ("gru", Kept(), tuple(x.astype(dtype) for x in (xw, h0, w_hh * scale, b_hh)))

    cases = [row(steps, n) for steps, n in ((1, 1), (1, 3), (7, 1), (7, 3)) for row in (lstm, gru)]
    cases += [lstm(7, 3, dtype=np.float64), gru(7, 3, dtype=np.float64)]
    # saturated gates: sigmoids of exactly 0 and 1, tanh of exactly +-1, zero derivatives
    cases += [lstm(7, 3, scale=40.0), gru(7, 3, scale=40.0)]
    # nn's initial state when no hx is given (zeros, frozen), and a GRU without biases
    zero, xw = np.zeros((3, hid), np.float32), a(7, 3, 4 * hid)
    cases += [("lstm", Kept(), (xw, zero, zero, a(4 * hid, hid)))]
    cases += [("gru", Kept(), (a(7, 3, 3 * hid), zero, a(3 * hid, hid), np.zeros(3 * hid, "f")))]
    # the plain rules' arrays unlike the forms' (the plain rules run, copied into the arrays):
    # a float64 state beside float32 weights, an xw not C-contiguous
    _, kept, (xw, h0, c0, w_hh) = lstm(7, 3)
    cases += [("lstm", kept, (xw, h0.astype(np.float64), c0, w_hh))]
    cases += [("lstm", Kept(), (np.asfortranarray(xw), h0, c0, w_hh))]
    _, kept, (xw, h0, w_hh, b_hh) = gru(7, 3)
    cases += [("gru", kept, (xw, h0, w_hh.astype(np.float64), b_hh))]
    cases += [("gru", Kept(), (a(3, 7, 3 * hid).transpose(1, 0, 2), h0, w_hh, b_hh))]
    return cases


@pytest.mark.parametrize("name, _, inputs", _replay_cases_recurrent())
def test_recurrent_forms_hand_the_gates_from_forward_to_backward_as_a_replay_does(
    name: str, _: Any, inputs: tuple[Any, ...]
) -> None:
    # the order of a replay: the forward form, then the backward form on the same output
    # array and Kept (twice: the second replay reuses every array); the plain rules' bits,
    # signed zeros too, with the inputs, g and the output left as they were
    from tinygrad_lite.core.ops import row

    op = OPS[name]
    kept = Kept()
    plain = op.forward(kept, *inputs)
    g = np.random.default_rng(2).normal(size=plain.shape).astype(plain.dtype)
    g.flat[::5] = -0.0  # 0 + -0 is 0, -0 + -0 is -0: the gradients' sums must start from 0
    want = op.backward(kept, g, plain, *inputs)
    before = [x.copy() for x in (*inputs, g)]
    out, bufs = np.empty_like(plain), tuple(np.empty_like(w) for w in want)
    # the first replay's backward is the plain rule: it recomputes, and gives no scratch array
    op.into(kept, out, *inputs)
    first = op.backward(kept, g, out, *inputs)
    scratch = list(row._SCRATCH.values())
    assert not any(np.shares_memory(r, s) for r in first for s in scratch)
    assert all(np.array_equal(r, w) for r, w in zip(first, want))
    for _replay in range(2):
        assert op.into(kept, out, *inputs) is out and np.array_equal(out, plain)
        done = out.copy()
        got = op.grads_into(kept, g, out, bufs, *inputs)
        assert kept.source is None  # taken by the backward form
        for k, (w, r) in enumerate(zip(want, got)):
            assert r is bufs[k] and r.dtype == w.dtype and r.tobytes() == w.tobytes(), k
        assert np.array_equal(out, done)
        assert all(np.array_equal(x, y) for x, y in zip((*inputs, g), before))


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_recurrent_forms_allocate_nothing_that_grows_with_the_sequence(name: str) -> None:
    import tracemalloc

    a = _arrays(15)
    steps, n, hid = 200, 4, 16
    inputs: tuple[Any, ...] = (a(steps, n, 4 * hid), a(n, hid), a(n, hid), a(4 * hid, hid))
    if name == "gru":
        inputs = (a(steps, n, 3 * hid), a(n, hid), a(3 * hid, hid), a(3 * hid))
    op, kept = OPS[name], Kept()
    out = op.forward(kept, *inputs)
    g = np.ones_like(out)
    bufs = tuple(np.empty_like(w) for w in op.backward(kept, g, out, *inputs))

    def replay() -> None:
        op.grads_into(kept, g, op.into(kept, out, *inputs), bufs, *inputs)

    replay()  # the first replay makes the scratch arrays
    tracemalloc.start()
    replay()
    replayed = tracemalloc.get_traced_memory()[1]  # the peak
    tracemalloc.reset_peak()
    op.backward(kept, g, op.forward(kept, *inputs), *inputs)
    eager = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert replayed < eager / 20  # (one array of T N H floats is more than 1/20 of eager)


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
    op = _replay_row(name)
    assert op.into is not None or (op.view and op.grads_into is not None)
    with warnings.catch_warnings():  # (the rules keep quiet where IEEE 754 says inf)
        warnings.simplefilter("error")
        _replay_form_matches(op, static, inputs, writes)


def _replay_row(name: str) -> Any:
    """A row by name; ``"div:c1"`` is ``div`` with a number as operand 1 (``x / 2.0``)."""
    base, _, side = name.partition(":c")
    return WITH_CONSTANT[int(side)][base] if side else OPS[base]


def _output_and_gradient(op: Any, static: Any, inputs: tuple[Any, ...], seed: int) -> Any:
    """The plain forward's output and a seeded float32 gradient of its shape."""
    plain = op.forward(static, *inputs)
    return plain, np.random.default_rng(seed).normal(size=np.shape(plain)).astype(np.float32)


def _peak_of_second_call(replay: Any) -> int:
    """The peak bytes of ``replay()`` called a second time: the first makes the scratch arrays."""
    replay()
    tracemalloc.start()
    replay()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def _heard(rule: Any, *args: Any) -> tuple[Any, list[str]]:
    """``rule(*args)`` and the warnings it gave (NumPy's for 1/0, log(-1)...)."""
    with warnings.catch_warnings(record=True) as heard:
        warnings.simplefilter("always")
        result = rule(*args)
    return result, [str(w.message) for w in heard]


def _same_bits(a: Any, b: Any) -> bool:
    """Equal to the bit: nan equals nan, -0.0 differs from 0.0."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _replay_form_matches(
    op: Any, static: Any, inputs: tuple[Any, ...], writes: bool | tuple[bool, ...]
) -> None:
    """``writes``: whether each gradient given an array is written into it (one for all, or
    one per input): False where the plain rule sends g itself on.

    A row whose forward keeps an array for its backward (fused.Kept): each backward takes
    the array its own forward kept, so the plain pair runs first, then the forms' pair."""
    kept = getattr(static, "kept", None)
    plain, heard = _heard(op.forward, static, *inputs)
    g = np.random.default_rng(1).normal(size=np.shape(plain)).astype(np.float32)
    want, heard_back = ((), [])
    if op.grads_into is not None:
        want, heard_back = _heard(op.backward, static, g, plain, *inputs)
    if op.into is not None:  # (a view row's plain forward is its replay form)
        out = np.full_like(plain, 7)  # not left over from the plain rule: a form must write it
        written, heard_form = _heard(op.into, static, out, *inputs)
        assert written is out  # into the given array, not a new one
        assert _same_bits(written, plain) and heard_form == heard
    if op.ufunc is not None:  # what a replay calls in place of the form
        args = inputs if op.constant is None else (static, *inputs)[:: 1 - 2 * op.constant]
        out = np.full_like(plain, 7)
        written, heard_form = _heard(lambda: op.ufunc(*args, out=out))
        assert written is out and _same_bits(written, plain) and heard_form == heard
    if op.grads_into is None:
        return
    _backward_form_matches(op, static, g, plain, inputs, want, heard_back, writes)
    if kept is not None:
        assert kept.array is None  # the backward form took the forward form's array
        op.forward(static, *inputs)  # the plain forward's array (its static rebuilt per call)
        _backward_form_matches(op, static, g, plain, inputs, want, heard_back, writes)
        # nothing kept: both recompute it (the cross-entropy's softmax in other bits)
        want, heard_back = _heard(op.backward, static, g, plain, *inputs)
        _backward_form_matches(op, static, g, plain, inputs, want, heard_back, writes)


def _backward_form_matches(
    op: Any,
    static: Any,
    g: Any,
    plain: Any,
    inputs: tuple[Any, ...],
    want: Any,
    heard: list[str],
    writes: bool | tuple[bool, ...],
) -> None:
    bufs = tuple(
        np.full_like(w, 7) if isinstance(w, np.ndarray) and w.shape == np.shape(x) else None
        for w, x in zip(want, inputs)
    )
    got, heard_form = _heard(op.grads_into, static, g, plain, bufs, *inputs)
    assert heard_form == heard
    assert len(got) == len(want)
    for k, (w, r) in enumerate(zip(want, got)):
        if w is None:
            assert r is None
            continue
        assert _same_bits(r, w), f"gradient {k}"
        if bufs[k] is not None:  # written into the step's array, not a new one
            wrote = writes if isinstance(writes, bool) else writes[k]
            assert np.shares_memory(r, bufs[k]) == wrote, f"gradient {k}"


def _allocation_cases_elementwise() -> list[Any]:
    """The elementwise forms on large arrays: where an input has the output's shape its
    gradient has a buffer; one that was broadcast gets a new array, as from the plain rule."""
    a = _arrays(12)
    x, y = a(500, 200), a(500, 200)
    pos = np.abs(x) + 0.5
    cases: list[tuple[Any, ...]] = [
        ("add", (True, True), (x, y)),
        ("sub", (True, True), (x, y)),
        ("exp", None, (x,)),
        ("div", (True, True), (x, pos)),
        ("div", (False, True), (x, pos[:1])),  # broadcast: a new gradient, summed later
        ("pow", (True, True), (pos, y)),
        ("pow", (True, False), (pos[:1], y)),
        ("pow", (False, True), (pos, y[:1])),
        ("pow", (True, False), (pos, 1.5)),  # (a float's gradient is a new array)
        ("neg", None, (x,)),
        ("identity", None, (x,)),
        ("log", None, (pos,)),
        ("sqrt", None, (pos,)),
        ("abs", None, (x,)),
        ("erf", None, (np.clip(x * 2, -4.0, 4.0),)),  # (past 4: a rare path, new arrays)
        ("leaky_relu", 0.1, (x,)),
        ("clip", (-0.5, 0.5), (x,)),
        ("where", x > y, (x, y)),
    ]
    cases += [(f"{name}:c{side}", 1.5, (pos,)) for name in OPS_BINARY for side in (0, 1)]
    return [pytest.param(*c, id=f"{c[0]}-replay_allocation_{n}") for n, c in enumerate(cases)]


OPS_BINARY = ("add", "sub", "mul", "div", "pow")


@pytest.mark.parametrize("name, static, inputs", _allocation_cases_elementwise())
def test_op_rows_elementwise_replay_forms_allocate_nothing_once_their_scratch_is_made(
    name: str, static: Any, inputs: tuple[Any, ...]
) -> None:
    op = _replay_row(name)
    out = op.forward(static, *inputs)  # (a new array: the forms write into it)
    g = np.ones_like(out)
    bufs = tuple(np.empty_like(x) if np.shape(x) == out.shape else None for x in inputs)
    want = op.backward(static, g, out, *inputs) if op.grads_into is not None else ()
    new = sum(w.nbytes for w, b in zip(want, bufs) if b is None and isinstance(w, np.ndarray))

    def step() -> None:
        op.into(static, out, *inputs)
        if op.grads_into is not None:
            op.grads_into(static, g, out, bufs, *inputs)

    peak = _peak_of_second_call(step)
    # the new gradients, a few Python objects and, where a ufunc casts (g times a mask of
    # booleans), NumPy's buffer of 8192 elements: no other array (a mask is 100 kB)
    assert peak < new + 50_000


@pytest.mark.parametrize(
    "name, static, inputs",
    [
        pytest.param(*c[:3], id=f"{c[0]}-replay_form_without_arrays_{n}")
        for n, c in enumerate(_replay_cases_reduce_movement())
        if OPS[c[0]].grads_into is not None
    ],
)
def test_op_rows_backward_replay_forms_given_no_arrays_give_the_plain_gradients(
    name: str, static: Any, inputs: tuple[Any, ...]
) -> None:
    # (a replay gives none where the plain gradient's dtype is not its input's)
    op = OPS[name]
    plain, g = _output_and_gradient(op, static, inputs, seed=1)
    want = op.backward(static, g, plain, *inputs)
    got = op.grads_into(static, g, plain, (None,) * len(inputs), *inputs)
    for k, (w, r) in enumerate(zip(want, got)):
        assert r.dtype == w.dtype and np.array_equal(r, w), f"gradient {k}"


@pytest.mark.parametrize("orders", ["CF", "FC", "FF"])
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize(
    "name",
    ["softmax", "log_softmax", "max"],
    ids=[
        "softmax-replay_form_layouts",
        "log_softmax-replay_form_layouts",
        "max-replay_form_layouts",
    ],
)
def test_op_rows_reductions_replay_forms_sum_in_the_plain_rules_order_in_any_layout(
    name: str, axis: int, orders: str
) -> None:
    # NumPy sums an axis in an order that depends on the memory layout: an input or a
    # gradient in Fortran order must still give the plain rule's bits
    a = _arrays(14)
    x = np.asarray(a(37, 300), order=orders[0])
    static = ((axis,), True) if name == "max" else axis
    op = OPS[name]
    plain = op.forward(static, x)
    out = op.into(static, np.empty_like(plain), x)
    g = np.asarray(a(*plain.shape), order=orders[1])
    want = op.backward(static, g, out, x)[0]
    got = op.grads_into(static, g, out, (np.empty_like(want),), x)[0]
    assert np.array_equal(out, plain) and np.array_equal(got, want)


def _replay_cases_large() -> list[tuple[Any, ...]]:
    """Rows on arrays of 512 kB and more (reduce and movement rows' reduced shapes too)."""
    a = _arrays(13)
    wide, tall = (4, 131072), (64, 8192)
    ids = np.random.default_rng(13).integers(-8192, 8192, size=2048)
    return [
        ("sum", ((0,), True), (a(*wide),)),
        ("max", ((0,), True), (np.round(a(*wide)),)),
        ("max", ((1,), False), (np.round(a(*tall)),)),
        ("softmax", 0, (a(*wide),)),
        ("softmax", 1, (a(*tall),)),
        ("log_softmax", 0, (a(*wide),)),
        ("log_softmax", 1, (np.asfortranarray(a(*tall)),)),
        ("getitem", (slice(None, None, 2), slice(1, None)), (a(1024, 1024),)),
        ("getitem", ids, (a(8192, 64),)),
        ("scatter", ((8192, 64), ids, None), (a(2048, 64),)),
        ("broadcast_to", tall, (a(8192),)),
        ("sum_to", (1, 8192), (a(*tall),)),
        ("concat", 0, (a(*tall), a(*tall), a(*tall))),
        ("upsample", (2, 2), (a(4, 128, 256),)),
        # the hidden layer (128, 2048) float32: 1 MB, in the form's scratch arrays
        ("feed_forward", FeedForward((True,) * 5, Kept()), (a(128, 64), *_block(a, 2048, 64))),
        # 256 units: the recurrent weight's gradient (4H, H) is 1 MB, step 0's product too
        ("lstm", Kept(), (a(3, 4, 1024), a(4, 256), a(4, 256), a(1024, 256))),
        ("gru", Kept(), (a(3, 4, 768), a(4, 256), a(768, 256), a(768))),
    ]


def _block(a: Any, f: int, e: int) -> tuple[Any, ...]:
    """W1 (F, E), b1 (F,), W2 (E, F), b2 (E,) of a feed-forward block."""
    return a(f, e), a(f), a(e, f), a(e)


@pytest.mark.parametrize(
    "name, static, inputs",
    [
        pytest.param(*c, id=f"{c[0]}-replay_form_allocates_little_{n}")
        for n, c in enumerate(_replay_cases_large())
    ],
)
def test_op_rows_replay_forms_make_no_array_of_their_size(
    name: str, static: Any, inputs: tuple[Any, ...]
) -> None:
    op = OPS[name]
    plain, g = _output_and_gradient(op, static, inputs, seed=1)
    out = plain if op.into is None else np.empty_like(plain)
    bufs = tuple(np.empty_like(x) for x in inputs)

    def replay() -> None:
        if op.into is not None:
            op.into(static, out, *inputs)
        if op.grads_into is not None:
            op.grads_into(static, g, out, bufs, *inputs)

    peak = _peak_of_second_call(replay)
    assert peak < 256 * 1024  # NumPy's iteration buffers (8192 elements an operand) at most


@pytest.mark.parametrize(
    "name, static, shape",
    [("reshape", (4, 3), (2, 6)), ("transpose", (1, 0), (2, 6)), ("broadcast_to", (3, 6), (6,))],
    ids=["reshape-view", "transpose-view", "broadcast_to-view"],
)
def test_op_rows_view_rows_return_views_of_their_input(name: str, static: Any, shape: Any) -> None:
    op = OPS[name]
    x = np.arange(12.0)[: int(np.prod(shape))].reshape(shape)
    assert op.view and op.into is None  # a replay runs the plain forward: no array made
    assert np.shares_memory(op.forward(static, x), x)


def test_op_rows_getitem_is_no_view_row_an_array_index_copies() -> None:
    x = np.arange(12.0).reshape(3, 4)
    assert not OPS["getitem"].view and OPS["getitem"].into is not None
    assert not np.shares_memory(OPS["getitem"].forward(np.array([0, 2]), x), x)


@pytest.mark.parametrize("reduction", ["none"], ids=["softmax_cross_entropy-one_shift"])
def test_softmax_cross_entropy_shifts_all_rows_by_the_largest_logit(reduction: str) -> None:
    # one shift for all rows while no row falls far below: those bits, not a row's own shift's
    from tinygrad_lite.core.ops.fused import Kept, Targets

    x = (np.random.default_rng(15).normal(size=(6, 5)) * 3).astype(np.float32)
    labels = np.array([0, 4, 2, 2, 1, 3])

    def losses(s: Any) -> Any:
        return np.log(np.exp(s).sum(axis=-1)) - s[np.arange(6), labels]

    got = OPS["softmax_cross_entropy"].forward(Targets(labels, None, reduction, Kept()), x)
    assert np.array_equal(got, losses(x - x.max()))
    assert not np.array_equal(got, losses(x - x.max(axis=-1, keepdims=True)))


@pytest.mark.parametrize("packed", [True, False], ids=["attention-dtype_packed", "attention-dtype"])
def test_attention_gradients_keep_the_inputs_dtype(packed: bool) -> None:
    # the plain rule's own arrays in float32 (the engine would cast a float64 one back, and a
    # replay then finds no buffer of the input's dtype to write into)
    from tinygrad_lite.core.ops.attention import Attention
    from tinygrad_lite.core.ops.fused import Kept

    a = _arrays(16)
    xs = (a(2, 3, 12),) if packed else (a(2, 3, 4), a(2, 5, 4), a(2, 5, 4))
    op, static = OPS["attention"], Attention(2, 0.5, None, Kept())
    out = op.forward(static, *xs)
    grads = op.backward(static, np.ones_like(out), out, *xs)
    assert [gx.dtype for gx in grads] == [np.float32] * len(xs)


def _allocation_cases() -> list[Any]:
    """Rows whose replay forms keep every temporary in scratch arrays, at sizes where each
    array the rules handle is 128 KiB or more."""
    from tinygrad_lite.core.ops.attention import Attention
    from tinygrad_lite.core.ops.fused import Kept, Targets
    from tinygrad_lite.core.ops.norm import Standardize

    a = _arrays(14)
    labels = np.random.default_rng(14).integers(0, 256, size=(4, 64))
    causal = np.triu(np.full((64, 64), -np.inf, np.float32), 1)
    cases = [
        ("attention", lambda: Attention(4, 0.25, causal, Kept()), (a(8, 64, 384),)),
        (
            "attention",
            lambda: Attention(4, 0.25, a(64, 96), Kept()),
            (a(8, 64, 128), a(8, 96, 128), a(8, 96, 128)),
        ),
        ("standardize", lambda: Standardize((0, 2, 3), 1e-5, Kept()), (a(16, 8, 16, 16),)),
        ("standardize", lambda: Standardize((2,), 1e-5, Kept()), (a(8, 64, 128),)),
        ("softmax_cross_entropy", lambda: Targets(labels[0], None, "mean", Kept()), (a(64, 256),)),
        ("softmax_cross_entropy", lambda: Targets(labels, None, "none", Kept()), (a(4, 64, 256),)),
        (
            "softmax_cross_entropy",
            lambda: Targets(None, np.abs(a(64, 512)), "sum", Kept()),
            (a(64, 512),),
        ),
        ("bce_with_logits", lambda: (a(64, 512) > 0).astype(np.float32), (a(64, 512),)),
    ]
    return [pytest.param(*c, id=f"{c[0]}-replay_allocates_little_{n}") for n, c in enumerate(cases)]


@pytest.mark.parametrize("name, make_static, inputs", _allocation_cases())
def test_replay_forms_allocate_no_array_of_their_operands_size(
    name: str, make_static: Callable[[], Any], inputs: tuple[Any, ...]
) -> None:
    # a forward and a backward form, replayed, allocate only NumPy's own buffers (a ufunc
    # that broadcasts takes up to 8192 elements' worth each): a temporary made anew would be
    # an array of 128 KiB or more

    op, static = OPS[name], make_static()
    plain, g = _output_and_gradient(op, static, inputs, seed=1)
    bufs = tuple(np.empty_like(w) for w in op.backward(static, g, plain, *inputs))
    out = np.empty_like(plain)

    def replay() -> None:
        op.into(static, out, *inputs)
        op.grads_into(static, g, out, bufs, *inputs)

    peak = _peak_of_second_call(replay)
    assert peak < 2 * 8192 * 4


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

    op = OPS[name]
    plain, g = _output_and_gradient(op, static, inputs, seed=3)
    # (pad has no backward form: its gradient is a view)
    want = op.backward(static, g, plain, *inputs) if op.grads_into is not None else ()
    out = np.empty_like(plain)
    bufs = tuple(None if w is None else np.empty_like(w) for w in want)

    def replay() -> None:
        op.into(static, out, *inputs)
        if want:
            op.grads_into(static, g, out, bufs, *inputs)

    peak = _peak_of_second_call(replay)
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
