"""Convolution and pooling: the layers and functions against torch, their errors, their
gradients (first and second order), torch's state dicts, and the drawings of a small CNN.

The rows themselves (conv2d, conv_transpose2d, conv2d_weight, max_pool2d, avg_pool2d, pad)
are also property-tested in float64 with the other ops (tests/op_specs.py); here the layers
run in float32, as a user runs them, on random configurations drawn by hypothesis, with the
weights copied from a torch layer through ``load_state_dict``.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn, viz
from tinygrad_lite.core import ArgumentError, ShapeError
from tinygrad_lite.testing import gradcheck, gradgradcheck

# torch says when "same" with an even kernel makes it pad a copy: that is its business
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")

EXAMPLES = settings().max_examples  # from the loaded profile
GEN = np.random.default_rng(3)


@pytest.fixture(scope="module")
def torch() -> Any:
    """torch, once for the module (hypothesis runs a test many times with one fixture)."""
    torch = pytest.importorskip(
        "torch", reason="torch is the optional reference engine (pip install torch==2.13.0)"
    )
    torch.set_num_threads(1)  # small tensors: threads only fight the other tests for the cores
    return torch


def _normal(*shape: int, dtype: Any = np.float32) -> np.ndarray:
    return GEN.standard_normal(shape).astype(dtype)


def _close32(actual: Any, expected: Any) -> None:
    """float32 results of two engines: relative 1e-4, absolute 1e-4 of the largest magnitude."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(
        np.asarray(actual, np.float64), expected, rtol=1e-4, atol=1e-4 * scale
    )


def _same_as_torch(ours: nn.Module, theirs: Any, x: np.ndarray, torch: Any, **kwargs: Any) -> None:
    """Load torch's parameters into ours, then compare the output and every gradient (the
    input's and each parameter's) for a random upstream gradient."""
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    xv = tl.Value(x)
    out = ours(xv, **kwargs)
    xt = torch.tensor(x, requires_grad=True)
    expected = theirs(xt, **kwargs)
    assert out.shape == tuple(expected.shape)
    assert out.dtype == np.float32
    _close32(out.data, expected.detach().numpy())
    g = _normal(*out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    _close32(xv.grad, xt.grad.numpy())
    for name, p in ours.named_parameters():
        assert p.grad.dtype == np.float32 and p.grad.shape == p.shape
        _close32(p.grad, dict(theirs.named_parameters())[name].grad.numpy())


# ---------------------------------------------------------------- random configurations


@st.composite
def axis(draw: st.DrawFn, max_kernel: int = 4) -> dict[str, int]:
    """One spatial axis: kernel, stride, dilation, padding."""
    return {
        "k": draw(st.integers(1, max_kernel)),
        "s": draw(st.integers(1, 3)),
        "d": draw(st.integers(1, 2)),
        "p": draw(st.integers(0, 2)),
    }


def span(a: dict[str, int]) -> int:
    return a["d"] * (a["k"] - 1) + 1


def pair_or_int(draw: st.DrawFn, values: tuple[int, ...]) -> Any:
    """An int when the axes agree (and hypothesis says so), else the tuple."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return values


@st.composite
def conv_config(draw: st.DrawFn, dims: int) -> tuple[dict[str, Any], tuple[int, ...]]:
    """Keyword arguments of Conv1d/Conv2d and an input shape they fit."""
    groups = draw(st.integers(1, 3))
    axes = [draw(axis()) for _ in range(dims)]
    stride = tuple(a["s"] for a in axes)
    choice = draw(st.sampled_from(["numbers", "same", "valid"]))
    if choice == "same" and any(s != 1 for s in stride):
        choice = "numbers"
    padding: Any = choice if choice != "numbers" else pair_or_int(draw, tuple(a["p"] for a in axes))
    sizes = []
    for a in axes:
        pad = 2 * a["p"] if choice == "numbers" else (span(a) - 1 if choice == "same" else 0)
        smallest = max(1, span(a) - pad)
        sizes.append(draw(st.integers(smallest, smallest + 5)))
    kwargs = {
        "in_channels": groups * draw(st.integers(1, 3)),
        "out_channels": groups * draw(st.integers(1, 3)),
        "kernel_size": pair_or_int(draw, tuple(a["k"] for a in axes)),
        "stride": pair_or_int(draw, stride),
        "padding": padding,
        "dilation": pair_or_int(draw, tuple(a["d"] for a in axes)),
        "groups": groups,
        "bias": draw(st.booleans()),
    }
    return kwargs, (draw(st.integers(1, 3)), kwargs["in_channels"], *sizes)


@st.composite
def transpose_config(
    draw: st.DrawFn, output_padding: bool = True
) -> tuple[dict[str, Any], tuple[int, ...]]:
    groups = draw(st.integers(1, 3))
    axes = [draw(axis()) for _ in range(2)]
    top = [max(a["s"], a["d"]) - 1 if output_padding else 0 for a in axes]
    extra = tuple(draw(st.integers(0, t)) for t in top)
    sizes = []
    for a, e in zip(axes, extra):  # (n - 1) s - 2 p + span + e >= 1
        smallest = max(1, 1 - (span(a) + e - 2 * a["p"] - 1) // a["s"])
        sizes.append(draw(st.integers(smallest, smallest + 4)))
    kwargs = {
        "in_channels": groups * draw(st.integers(1, 3)),
        "out_channels": groups * draw(st.integers(1, 3)),
        "kernel_size": pair_or_int(draw, tuple(a["k"] for a in axes)),
        "stride": pair_or_int(draw, tuple(a["s"] for a in axes)),
        "padding": pair_or_int(draw, tuple(a["p"] for a in axes)),
        "output_padding": extra,
        "groups": groups,
        "bias": draw(st.booleans()),
        "dilation": pair_or_int(draw, tuple(a["d"] for a in axes)),
    }
    return kwargs, (draw(st.integers(1, 3)), kwargs["in_channels"], *sizes)


@st.composite
def pool_config(
    draw: st.DrawFn, dims: int, dilation: bool
) -> tuple[dict[str, Any], tuple[int, ...]]:
    axes = [draw(axis()) for _ in range(dims)]
    sizes = []
    for a in axes:
        a["p"] = min(a["p"], a["k"] // 2)
        a["d"] = a["d"] if dilation else 1
        sizes.append(draw(st.integers(span(a), span(a) + 5)))  # no window of padding only
    kwargs: dict[str, Any] = {"kernel_size": pair_or_int(draw, tuple(a["k"] for a in axes))}
    if draw(st.booleans()):
        kwargs["stride"] = pair_or_int(draw, tuple(a["s"] for a in axes))
    kwargs["padding"] = pair_or_int(draw, tuple(a["p"] for a in axes))
    if dilation:
        kwargs["dilation"] = pair_or_int(draw, tuple(a["d"] for a in axes))
    return kwargs, (draw(st.integers(1, 3)), draw(st.integers(1, 3)), *sizes)


# ---------------------------------------------------------------- layers against torch


@settings(deadline=None, max_examples=EXAMPLES)
@given(config=conv_config(dims=2))
def test_conv2d_matches_torch(config: Any, torch: Any) -> None:
    kwargs, shape = config
    _same_as_torch(nn.Conv2d(**kwargs), torch.nn.Conv2d(**kwargs), _normal(*shape), torch)


@settings(deadline=None, max_examples=EXAMPLES)
@given(config=conv_config(dims=1))
def test_conv1d_matches_torch(config: Any, torch: Any) -> None:
    kwargs, shape = config
    _same_as_torch(nn.Conv1d(**kwargs), torch.nn.Conv1d(**kwargs), _normal(*shape), torch)


@settings(deadline=None, max_examples=EXAMPLES)
@given(config=transpose_config())
def test_conv_transpose2d_matches_torch(config: Any, torch: Any) -> None:
    kwargs, shape = config
    ours, theirs = nn.ConvTranspose2d(**kwargs), torch.nn.ConvTranspose2d(**kwargs)
    _same_as_torch(ours, theirs, _normal(*shape), torch)


@settings(deadline=None, max_examples=EXAMPLES)
@given(config=transpose_config(output_padding=False), data=st.data())
def test_conv_transpose2d_output_size_matches_torch(config: Any, data: Any, torch: Any) -> None:
    kwargs, shape = config
    ours, theirs = nn.ConvTranspose2d(**kwargs), torch.nn.ConvTranspose2d(**kwargs)
    smallest = ours(np.zeros(shape, np.float32)).shape[2:]
    reach = [s - 1 for s in ours.stride]
    size = tuple(n + data.draw(st.integers(0, r)) for n, r in zip(smallest, reach))
    _same_as_torch(ours, theirs, _normal(*shape), torch, output_size=size)


@pytest.mark.parametrize("dims", [1, 2])
@settings(deadline=None, max_examples=EXAMPLES)
@given(data=st.data())
def test_max_pool_matches_torch(dims: int, data: Any, torch: Any) -> None:
    kwargs, shape = data.draw(pool_config(dims, dilation=True))
    ours = (nn.MaxPool1d if dims == 1 else nn.MaxPool2d)(**kwargs)
    theirs = (torch.nn.MaxPool1d if dims == 1 else torch.nn.MaxPool2d)(**kwargs)
    _same_as_torch(ours, theirs, _normal(*shape), torch)


@pytest.mark.parametrize("dims", [1, 2])
@settings(deadline=None, max_examples=EXAMPLES)
@given(data=st.data())
def test_avg_pool_matches_torch(dims: int, data: Any, torch: Any) -> None:
    kwargs, shape = data.draw(pool_config(dims, dilation=False))
    ours = (nn.AvgPool1d if dims == 1 else nn.AvgPool2d)(**kwargs)
    theirs = (torch.nn.AvgPool1d if dims == 1 else torch.nn.AvgPool2d)(**kwargs)
    _same_as_torch(ours, theirs, _normal(*shape), torch)


@settings(deadline=None, max_examples=EXAMPLES)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9)),
    size=st.tuples(st.integers(1, 5) | st.none(), st.integers(1, 5) | st.none()),
    square=st.booleans(),
)
def test_adaptive_avg_pool2d_matches_torch(shape: Any, size: Any, square: bool, torch: Any) -> None:
    output_size = size[0] if square and size[0] is not None else size
    ours, theirs = nn.AdaptiveAvgPool2d(output_size), torch.nn.AdaptiveAvgPool2d(output_size)
    _same_as_torch(ours, theirs, _normal(*shape), torch)


def test_padding_matches_torch(torch: Any) -> None:
    x = _normal(2, 3, 4)
    for pad, value in [((1, 2), 0.0), ((0, 1, 2, 0), 1.5), ((1, 1, 0, 0, 2, 1), -2.0)]:
        xv, xt = tl.Value(x), torch.tensor(x, requires_grad=True)
        out, expected = F.pad(xv, pad, value=value), torch.nn.functional.pad(xt, pad, value=value)
        np.testing.assert_array_equal(out.data, expected.detach().numpy())
        g = _normal(*out.shape)
        out.backward(g)
        expected.backward(torch.tensor(g))
        np.testing.assert_array_equal(xv.grad, xt.grad.numpy())


def test_max_pool_ties_send_the_gradient_to_the_first_maximum(torch: Any) -> None:
    # overlapping windows over equal values: each window picks its first maximum, row by row
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = x[0, 0, 2, 2] = x[0, 0, 2, 3] = 1.0
    for kwargs in [{"kernel_size": 2, "stride": 1}, {"kernel_size": 3, "stride": 1, "padding": 1}]:
        xv, xt = tl.Value(x), torch.tensor(x, requires_grad=True)
        F.max_pool2d(xv, **kwargs).sum().backward()
        torch.nn.functional.max_pool2d(xt, **kwargs).sum().backward()
        np.testing.assert_array_equal(xv.grad, xt.grad.numpy())


def test_max_pool_of_a_window_of_padding_only_is_minus_infinity_without_gradient() -> None:
    # torch allows it: a dilated window can step over the one input element
    x = tl.Value(np.array([[[[-5.0]]]]))
    y = F.max_pool2d(x, (1, 2), stride=1, padding=(0, 1), dilation=(1, 2))
    assert y.data.ravel().tolist() == [-math.inf]
    (g,) = tl.grad(y, [x], grad_outputs=np.ones(y.shape))
    np.testing.assert_array_equal(g, 0.0)
    (gg,) = tl.grad(y, [x], grad_outputs=np.ones(y.shape), create_graph=True)
    np.testing.assert_array_equal(gg.data, 0.0)


# ---------------------------------------------------------------- gradients, float64


CONV_CASES = {
    "stride 2": dict(stride=2, padding=1),
    "same, even kernel": dict(padding="same"),
    "dilation 2, groups 2": dict(dilation=2, groups=2, padding=(0, 1)),
    "stride (2, 1), no bias": dict(stride=(2, 1), bias=False),
}


@pytest.mark.parametrize("kwargs", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d_first_and_second_derivatives(kwargs: dict[str, Any]) -> None:
    bias = kwargs.pop("bias", True)
    groups = kwargs.get("groups", 1)
    x, w = _normal(2, 4, 5, 6, dtype=np.float64), _normal(4, 4 // groups, 2, 3, dtype=np.float64)
    inputs = [x, w, _normal(4, dtype=np.float64)] if bias else [x, w]
    fn = lambda x, w, *b: F.conv2d(x, w, b[0] if b else None, **kwargs)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


TRANSPOSE_CASES = {
    "stride 2, output_padding 1": dict(stride=2, padding=1, output_padding=1),
    "dilation 2 beyond stride 1": dict(dilation=2, output_padding=1),
    "groups 2": dict(groups=2, stride=(1, 2)),
}


@pytest.mark.parametrize("kwargs", TRANSPOSE_CASES.values(), ids=TRANSPOSE_CASES.keys())
def test_conv_transpose2d_first_and_second_derivatives(kwargs: dict[str, Any]) -> None:
    x, w, b = (
        _normal(2, 4, 3, 4, dtype=np.float64),
        _normal(4, 2, 2, 3, dtype=np.float64),
        _normal(2 * kwargs.get("groups", 1), dtype=np.float64),
    )
    fn = lambda x, w, b: F.conv_transpose2d(x, w, b, **kwargs)
    assert gradcheck(fn, [x, w, b])
    assert gradgradcheck(fn, [x, w, b])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
        lambda x: F.avg_pool2d(x, (2, 3), stride=(1, 2), padding=(1, 1)),
        lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
        lambda x: F.max_pool1d(x[:, :, 0], 2),
        lambda x: F.pad(x, (1, 0, 2, 1), value=0.5),
    ],
    ids=["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "max_pool1d", "pad"],
)
def test_pooling_first_and_second_derivatives(fn: Any) -> None:
    x = np.random.default_rng(0).permutation(2 * 3 * 5 * 6).reshape(2, 3, 5, 6) * 0.1  # no ties
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_a_small_cnn_has_right_second_derivatives() -> None:
    tl.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, dtype=np.float64),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.ConvTranspose2d(3, 2, 2, stride=2, dtype=np.float64),
    )
    x = _normal(2, 2, 4, 4, dtype=np.float64)
    w0 = model[0].weight
    fn = lambda x, w: (
        model[3](model[2](model[1](F.conv2d(x, w, model[0].bias, padding=1)))) ** 2
    ).sum()
    assert gradcheck(fn, [x, w0])
    assert gradgradcheck(fn, [x, w0])


def test_a_second_backward_recomputes_what_the_first_used() -> None:
    # conv2d keeps its column matrix for the weight gradient, max_pool2d its argmax; both
    # are handed to the first backward pass only, and a second pass must give the same
    tl.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    x = tl.Value(_normal(2, 2, 6, 6))
    loss = (model(x) ** 2).sum()
    loss.backward()
    first = [x.grad.copy(), *(p.grad.copy() for p in model.parameters())]
    loss.backward()
    for g, p in zip(first, [x, *model.parameters()]):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-5)


def test_the_explainer_checks_every_rule_of_a_cnn() -> None:
    from tinygrad_lite.testing.explain import explain

    tl.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 2, dtype=np.float64), nn.MaxPool2d(2), nn.Flatten())
    result = explain(lambda x: model(x), [_normal(1, 1, 5, 5, dtype=np.float64)])
    assert result.ok
    assert {c.op for c in result.checks} >= {"conv2d", "max_pool2d"}


# ---------------------------------------------------------------- layers: parameters, init, repr


def test_conv_parameters_follow_torchs_layouts() -> None:
    conv = nn.Conv2d(6, 4, (3, 5), groups=2)
    assert [(n, p.shape) for n, p in conv.named_parameters()] == [
        ("weight", (4, 3, 3, 5)),
        ("bias", (4,)),
    ]
    transposed = nn.ConvTranspose2d(6, 4, 3, groups=2)
    assert transposed.weight.shape == (6, 2, 3, 3)
    assert nn.Conv1d(3, 5, 4, bias=False).weight.shape == (5, 3, 4)
    assert len(nn.Conv1d(3, 5, 4, bias=False).parameters()) == 1
    for layer in (conv, transposed):
        for p in layer.parameters():
            assert p.dtype == np.float32 and p.data.ctypes.data % 64 == 0  # on a cache line
    assert nn.Conv2d(1, 1, 1, dtype=np.float64).weight.dtype == np.float64


@pytest.mark.parametrize(
    "make, fan_in",
    [
        (lambda: nn.Conv2d(8, 16, (3, 5), groups=2), 4 * 15),
        (lambda: nn.Conv1d(3, 6, 7), 21),
        (lambda: nn.ConvTranspose2d(6, 10, 3, groups=2), 5 * 9),  # weight.shape[1] * kH * kW
    ],
)
def test_initialisation_is_torchs_and_reproducible(make: Any, fan_in: int) -> None:
    tl.manual_seed(0)
    layer = make()
    bound = 1.0 / math.sqrt(fan_in)
    for p in layer.parameters():
        assert np.abs(p.data).max() <= bound
    w = layer.weight.data  # uniform over the whole range: its std is bound / sqrt(3)
    assert abs(w.std() * math.sqrt(3.0) / bound - 1.0) < 0.15
    tl.manual_seed(0)
    again = make()
    for p, q in zip(layer.parameters(), again.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


REPRS = [
    (lambda m: m.Conv2d(16, 33, 3, stride=2), "Conv2d(16, 33, kernel_size=(3, 3), stride=(2, 2))"),
    (
        lambda m: m.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1)),
        "Conv2d(16, 33, kernel_size=(3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))",
    ),
    (
        lambda m: m.Conv2d(4, 4, 3, padding="same", groups=2, bias=False),
        "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=same, groups=2, bias=False)",
    ),
    (
        lambda m: m.Conv1d(3, 5, 2, padding="valid"),
        "Conv1d(3, 5, kernel_size=(2,), stride=(1,), padding=valid)",
    ),
    (
        lambda m: m.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1),
        "ConvTranspose2d(8, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
        "output_padding=(1, 1))",
    ),
    (lambda m: m.AvgPool2d(2), "AvgPool2d(kernel_size=2, stride=2, padding=0)"),
    (lambda m: m.AvgPool1d(3, stride=2), "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(0,))"),
    (lambda m: m.AdaptiveAvgPool2d((5, 7)), "AdaptiveAvgPool2d(output_size=(5, 7))"),
    (lambda m: m.AdaptiveAvgPool2d(1), "AdaptiveAvgPool2d(output_size=1)"),
]


@pytest.mark.parametrize(
    "make, text", REPRS, ids=[t.split("(")[0] + str(i) for i, (_, t) in enumerate(REPRS)]
)
def test_repr_reads_like_torchs(make: Any, text: str, request: pytest.FixtureRequest) -> None:
    assert repr(make(nn)) == text
    try:
        import torch
    except ImportError:
        return
    assert repr(make(torch.nn)) == text


def test_max_pool_repr() -> None:
    # torch adds ceil_mode=False, which these layers do not have
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1)"
    assert (
        repr(nn.MaxPool1d(3, 1, 1)) == "MaxPool1d(kernel_size=3, stride=1, padding=1, dilation=1)"
    )


def test_a_torch_state_dict_loads_unchanged(torch: Any) -> None:
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 8, 3, groups=4, bias=False),
        torch.nn.ConvTranspose2d(8, 4, 2, stride=2),
        torch.nn.AdaptiveAvgPool2d(3),
    )
    ours = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, groups=4, bias=False),
        nn.ConvTranspose2d(8, 4, 2, stride=2),
        nn.AdaptiveAvgPool2d(3),
    )
    state = {k: v.numpy() for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    assert list(ours.state_dict()) == list(state)
    x = _normal(2, 3, 12, 12)
    _close32(ours(x).data, theirs(torch.tensor(x)).detach().numpy())


# ---------------------------------------------------------------- mistakes and their messages


def _conv_input(*shape: int) -> np.ndarray:
    return np.zeros(shape, np.float32)


ERRORS = [
    # (what raises, the error, a pattern of its message)
    (
        lambda: nn.Conv2d(3, 8, 5)(_conv_input(2, 1, 32, 32)),
        ShapeError,
        r"^Conv2d\(3, 8, 5\): input has 1 channel, expected 3; images are \(N, C, H, W\)$",
    ),
    (
        lambda: F.conv2d(_conv_input(2, 2, 8, 8), tl.Value(np.ones((4, 3, 3, 3)))),
        ShapeError,
        r"conv2d: input has 2 channels, expected 3 \(weight \(4, 3, 3, 3\), groups=1\)",
    ),
    (
        lambda: nn.Conv1d(3, 4, 2)(_conv_input(3, 5)),
        ShapeError,
        r"Conv1d\(3, 4, 2\): input of shape \(3, 5\) is not a batch of 1-d images "
        r"\(N, C, L\); .*x\[None\]",
    ),
    (
        lambda: nn.Conv2d(3, 4, 3)(_conv_input(3, 8, 8)),
        ShapeError,
        r"not a batch of 2-d images \(N, C, H, W\); for a single image \(C, H, W\), use x\[None\]",
    ),
    (
        lambda: nn.Conv2d(3, 4, 5)(_conv_input(1, 3, 3, 8)),
        ShapeError,
        r"Conv2d\(3, 4, 5\): the kernel \(5, 5\) is larger than the padded input \(3, 8\)",
    ),
    (
        lambda: nn.Conv2d(3, 4, 3, padding=1, dilation=3)(_conv_input(1, 3, 4, 4)),
        ShapeError,
        r"the kernel \(3, 3\) \(dilated: \(7, 7\)\) is larger than the padded input \(6, 6\)",
    ),
    (
        lambda: nn.Conv1d(1, 1, 4)(_conv_input(1, 1, 3)),
        ShapeError,
        r"the kernel 4 is larger than the padded input 3",
    ),
    (lambda: nn.Conv2d(3, 4, 3, padding=-1), ArgumentError, r"padding=-1 must be >= 0"),
    (lambda: nn.Conv2d(3, 4, 3, stride=0), ArgumentError, r"stride=0 must be positive"),
    (
        lambda: nn.Conv2d(3, 4, 3, stride=(1, -2)),
        ArgumentError,
        r"stride=\(1, -2\) must be positive",
    ),
    (
        lambda: nn.Conv2d(3, 4, 3, groups=2),
        ArgumentError,
        r"Conv2d\(3, 4, 3\): groups=2 does not divide in_channels=3",
    ),
    (
        lambda: nn.Conv2d(4, 6, 3, groups=4),
        ArgumentError,
        r"groups=4 does not divide out_channels=6",
    ),
    (
        lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"),
        ArgumentError,
        r"padding='same' needs stride 1",
    ),
    (lambda: nn.Conv2d(3, 4, 3, padding="full"), ArgumentError, r"padding='full'"),
    (lambda: nn.Conv2d(0, 4, 3), ArgumentError, r"in_channels=0 must be a positive whole number"),
    (
        lambda: nn.Conv2d(3, 4, (3, 3, 3)),
        ArgumentError,
        r"kernel_size=\(3, 3, 3\) must be an int or 2 ints",
    ),
    (lambda: nn.Conv2d(3, 4, 3, dtype=np.int32), tl.DTypeError, r"not a floating-point dtype"),
    (
        lambda: F.conv2d(_conv_input(1, 4, 5, 5), tl.Value(np.ones((6, 1, 3, 3))), groups=4),
        ShapeError,
        r"conv2d: groups=4 does not divide the weight's 6 output channels",
    ),
    (
        lambda: F.conv2d(_conv_input(1, 3, 5, 5), tl.Value(np.ones((6, 3, 3)))),
        ShapeError,
        r"conv2d: weight of shape \(6, 3, 3\) must be \(out_channels, in_channels/groups, kH, kW\)",
    ),
    (
        lambda: F.conv2d(
            _conv_input(1, 3, 5, 5), tl.Value(np.ones((6, 3, 3, 3))), tl.Value(np.ones(5))
        ),
        ShapeError,
        r"conv2d: bias of shape \(5,\) does not fit 6 output channels",
    ),
    (
        lambda: F.conv2d(
            _conv_input(1, 3, 5, 5), tl.Value(np.ones((6, 3, 3, 3))), stride=(1, 1, 1)
        ),
        ArgumentError,
        r"conv2d: stride=\(1, 1, 1\) must be an int or 2 ints \(H, W\)",
    ),
    (
        lambda: nn.ConvTranspose2d(4, 2, 3)(_conv_input(1, 2, 5, 5)),
        ShapeError,
        r"ConvTranspose2d\(4, 2, 3\): input has 2 channels, expected 4",
    ),
    (
        lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=2)(_conv_input(1, 4, 5, 5)),
        ArgumentError,
        r"output_padding=\(2, 2\) must be smaller than the stride \(2, 2\) or the dilation",
    ),
    (
        lambda: nn.ConvTranspose2d(4, 2, 3, padding=3)(_conv_input(1, 4, 1, 1)),
        ShapeError,
        r"padding \(3, 3\) crops more than the output",
    ),
    (
        lambda: nn.ConvTranspose2d(4, 2, 3, stride=2)(
            _conv_input(1, 4, 5, 5), output_size=(20, 20)
        ),
        ArgumentError,
        r"output_size=\(20, 20\) is out of reach .* from \(11, 11\) to \(12, 12\)",
    ),
    (lambda: nn.ConvTranspose2d(4, 2, 3, padding="same"), ArgumentError, r"takes ints"),
    (
        lambda: nn.MaxPool2d(3, padding=2)(_conv_input(1, 1, 8, 8)),
        ArgumentError,
        r"MaxPool2d: padding=2 is more than half the kernel \(3, 3\)",
    ),
    (lambda: nn.MaxPool2d(0), ArgumentError, r"MaxPool2d: kernel_size=0 must be positive"),
    (lambda: nn.AvgPool2d(2, stride=0), ArgumentError, r"AvgPool2d: stride=0 must be positive"),
    (lambda: nn.AvgPool2d(2, padding=-1), ArgumentError, r"padding=-1 must be >= 0"),
    (
        lambda: nn.MaxPool2d(5)(_conv_input(1, 1, 4, 8)),
        ShapeError,
        r"MaxPool2d: the kernel \(5, 5\) is larger than the padded input \(4, 8\)",
    ),
    (
        lambda: nn.MaxPool1d(2)(_conv_input(1, 1, 4, 8)),
        ShapeError,
        r"not a batch of 1-d images \(N, C, L\)",
    ),
    (lambda: nn.AvgPool2d(2)(_conv_input(4, 8)), ShapeError, r"AvgPool2d: input of shape \(4, 8\)"),
    (
        lambda: nn.AdaptiveAvgPool2d(0)(_conv_input(1, 1, 4, 4)),
        ArgumentError,
        r"adaptive_avg_pool2d: output_size=0 must be positive",
    ),
    (
        lambda: F.pad(_conv_input(2, 3), (1, 1, 1)),
        ArgumentError,
        r"pad: pad=\(1, 1, 1\) must be a tuple of",
    ),
    (
        lambda: F.pad(_conv_input(2, 3), (1, 1, 1, 1, 1, 1)),
        ShapeError,
        r"pad: pad=\(1, 1, 1, 1, 1, 1\) pads 3 axes but the input of shape \(2, 3\) has 2",
    ),
    (
        lambda: F.pad(_conv_input(2, 3), (-1, 0)),
        ArgumentError,
        r"negative width; padding only adds \(to crop, index",
    ),
    (lambda: F.pad(_conv_input(2, 3), (1, 0), mode="reflect"), ArgumentError, r"only 'constant'"),
]


@pytest.mark.parametrize("make, error, message", ERRORS, ids=[m for _, _, m in ERRORS])
def test_mistakes_raise_named_errors_that_say_what_to_do(
    make: Any, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        make()


# ---------------------------------------------------------------- the drawings of a small CNN


def _edge_labels(svg: str) -> set[str]:
    root = ET.fromstring(svg)
    svg_ns = "{http://www.w3.org/2000/svg}"
    labels = set()
    for g in root.iter(f"{svg_ns}g"):
        if "edge" in (g.get("class") or "").split():
            labels.add(
                " ".join((t.text or "") for t in g.iter(f"{svg_ns}text")).replace("\xa0", " ")
            )
    return labels


def tiny_cnn() -> tuple[nn.Module, tl.Value]:
    tl.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8, 3),
    )
    x = tl.Value(_normal(2, 1, 4, 4), requires_grad=False, name="x")
    return model, F.cross_entropy(model(x), [0, 2])


def test_backward_steps_label_the_conv_arrows() -> None:
    model, loss = tiny_cnn()
    locals_by_op = {}
    for step in tl.backward_steps(loss):
        for term in step.terms:
            locals_by_op.setdefault(step.value.op, []).append(term.local)
    assert locals_by_op["max_pool2d"] == ["to each window's maximum"]
    assert locals_by_op["conv2d"] == ["corr(x, ·)", "sum over N, H, W"]  # x needs no gradient


def test_draw_backward_of_a_tiny_cnn_renders_with_readable_labels() -> None:
    model, loss = tiny_cnn()
    loss.backward()
    svg = viz.render_svg(viz.draw_backward(loss, model=model))
    labels = _edge_labels(svg)
    assert {"corr(x, ·)", "sum over N, H, W", "to each window's maximum"} <= labels
    # the books' names per layer: the conv layer's output is z1, its filters W1
    assert "0 · Conv2d" in svg and "dz1" in svg and "dW1" in svg and "d(max_pool2d)" in svg
    assert len(re.findall(r">dW[12]\W", svg)) == 2  # the conv's and the linear layer's


def test_only_the_gradients_that_are_needed_are_computed() -> None:
    # data in, frozen weight: each backward rule skips what no one asked for, and the others
    # are the same as with everything requiring a gradient
    x64, w64, b64 = _normal(2, 3, 5, 5), _normal(4, 3, 3, 3), _normal(4)
    full = [tl.Value(a) for a in (x64, w64, b64)]
    (F.conv2d(*full, padding=1) ** 2).sum().backward()
    for need in [(False, True, True), (True, False, True), (True, True, False)]:
        vs = [tl.Value(a, requires_grad=r) for a, r in zip((x64, w64, b64), need)]
        out = F.conv2d(*vs, padding=1)
        assert out.static.need == need
        (out**2).sum().backward()
        for v, ref, r in zip(vs, full, need):
            if r:
                np.testing.assert_allclose(v.grad, ref.grad, rtol=1e-6)
            else:
                assert v.grad is None
