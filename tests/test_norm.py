"""nn.norm: BatchNorm1d, BatchNorm2d and LayerNorm against torch's, and their mistakes.

Configurations (shapes, affine or not, momentum, eps, the number of training steps) are drawn
by hypothesis; the data comes from a NumPy generator it seeds, so no channel is constant. Each
layer starts from a torch layer's state_dict (random weights), then both run the same batches:
outputs, input and parameter gradients, running statistics and ``num_batches_tracked`` must
agree to float32 rounding, in train and in eval mode.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import ArgumentError, DTypeError, ShapeError, nn
from tinygrad_lite.testing import gradcheck


@pytest.fixture(scope="module")
def torch() -> Any:
    """torch for the whole module: hypothesis runs many examples through one fixture."""
    torch = pytest.importorskip(
        "torch", reason="torch is the optional reference engine (pip install torch==2.13.0)"
    )
    torch.set_num_threads(1)  # tiny tensors; threads only fight the other tests for the cores
    return torch


def assert_close32(actual: Any, expected: Any, what: str = "", exact: Any = None) -> None:
    """float32 against float32 computed another way: relative 1e-4, absolute 1e-4 of the
    largest magnitude (sums of many terms cancel), and, given ``exact`` (the float64 result),
    also as far as ``expected`` itself is from it: standardizing a group whose values nearly
    coincide divides by a tiny spread, and float32 then has fewer right digits to give."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, np.float64)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    slack = 0.0 if exact is None else 2.0 * np.abs(expected - np.asarray(exact, np.float64))
    bound = 1e-4 * scale + 1e-4 * np.abs(expected) + slack
    bad = np.abs(actual - expected) > bound
    assert not np.any(bad), (
        f"{what}: {int(bad.sum())} elements differ beyond float32 rounding; first at "
        f"{np.argwhere(bad)[0]}: ours {actual[bad][0]}, torch {expected[bad][0]}"
    )


def torch_state(layer: Any) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in layer.state_dict().items()}


def randomize(torch: Any, layer: Any, gen: np.random.Generator) -> None:
    """Random weight and bias (and running statistics), so that copying them is tested."""
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.as_tensor(gen.normal(1.0, 0.5, p.shape), dtype=p.dtype))
        for name in ("running_mean", "running_var"):
            b = getattr(layer, name, None)
            if b is not None:
                b.copy_(torch.as_tensor(gen.uniform(0.5, 1.5, b.shape), dtype=b.dtype))


def torch_pass(torch: Any, layer: Any, x: np.ndarray, g: np.ndarray, dtype: Any) -> list[Any]:
    """torch's output, input gradient and parameter gradients, in ``dtype``."""
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    layer.zero_grad()
    out = layer(xt)
    out.backward(torch.as_tensor(g, dtype=dtype))
    grads = [p.grad.numpy() for p in layer.parameters()]
    return [out.detach().numpy(), xt.grad.numpy(), *grads]


def step(torch: Any, ours: nn.Module, theirs: Any, x: np.ndarray, gen: np.random.Generator):
    """One forward and backward pass of both layers on ``x`` with the same output gradient;
    checks the output and every gradient against torch's (and its float64 twin's)."""
    ours.zero_grad()
    xv = tl.Value(x)
    out = ours(xv)
    g = gen.standard_normal(out.shape).astype(np.float32)
    out.backward(g)
    exact = torch_pass(torch, copy.deepcopy(theirs).double(), x, g, torch.float64)
    expected = torch_pass(torch, theirs, x, g, torch.float32)
    names = ["output", "input gradient"] + [f"gradient of {n}" for n, _ in ours.named_parameters()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    mine = [out.data, xv.grad, *[p.grad for p in ours.parameters()]]
    assert len(mine) == len(expected)
    for name, a, e, e64 in zip(names, mine, expected, exact):
        assert a.dtype == np.float32, name
        assert_close32(a, e, name, exact=e64)


def assert_same_state(ours: nn.Module, theirs: Any) -> None:
    mine, expected = ours.state_dict(), torch_state(theirs)
    assert list(mine) == list(expected)
    for key in expected:
        assert mine[key].dtype == expected[key].dtype, key
        assert_close32(mine[key], expected[key], key)


# ---------------------------------------------------------------- batch norm against torch


@st.composite
def batch_norm_configs(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["1d", "1d_seq", "2d"]))
    c = draw(st.integers(1, 4))
    n = draw(st.integers(2, 5))
    spatial = {"1d": (), "1d_seq": (draw(st.integers(1, 4)),)}.get(
        kind, (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    )
    return {
        "layer": "BatchNorm2d" if kind == "2d" else "BatchNorm1d",
        "shape": (n, c, *spatial),
        "kwargs": {
            "eps": draw(st.sampled_from([1e-5, 1e-3])),
            "momentum": draw(st.sampled_from([0.1, 0.5, None])),
            "affine": draw(st.booleans()),
            "bias": draw(st.booleans()),
            "track_running_stats": draw(st.booleans()),
        },
        "steps": draw(st.integers(1, 3)),
        "seed": draw(st.integers(0, 2**16)),
    }


@settings(deadline=None)
@given(config=batch_norm_configs())
def test_batch_norm_matches_torch_in_train_and_eval_mode(torch: Any, config: dict[str, Any]):
    gen = np.random.default_rng(config["seed"])
    shape, kwargs = config["shape"], config["kwargs"]
    theirs = getattr(torch.nn, config["layer"])(shape[1], **kwargs)
    randomize(torch, theirs, gen)
    ours = getattr(nn, config["layer"])(shape[1], **kwargs)
    assert ours.load_state_dict(torch_state(theirs)) == ([], [])
    for _ in range(config["steps"]):  # training: the batch's statistics, running ones updated
        x = gen.normal(2.0, 3.0, shape).astype(np.float32)
        step(torch, ours, theirs, x, gen)
        assert_same_state(ours, theirs)
    ours.eval()
    theirs.eval()
    x = gen.normal(2.0, 3.0, shape).astype(np.float32)
    step(torch, ours, theirs, x, gen)  # eval: the running statistics (or the batch's)
    assert_same_state(ours, theirs)


def test_batch_norm_state_dict_loads_into_torch_and_back(torch: Any):
    gen = np.random.default_rng(0)
    theirs = torch.nn.BatchNorm2d(3)
    for _ in range(2):
        theirs(torch.as_tensor(gen.normal(size=(4, 3, 2, 2)), dtype=torch.float32))
    ours = nn.BatchNorm2d(3)
    ours.load_state_dict(theirs.state_dict())  # torch tensors as they are
    assert int(ours.num_batches_tracked) == 2
    assert_same_state(ours, theirs)
    for _ in range(3):
        ours(gen.normal(size=(4, 3, 2, 2)).astype(np.float32))
    back = torch.nn.BatchNorm2d(3)
    back.load_state_dict({k: torch.as_tensor(v) for k, v in ours.state_dict().items()})
    assert int(back.num_batches_tracked) == 5
    assert_same_state(ours, back)


def test_state_dict_keys_follow_torch_for_a_network(torch: Any):
    ours = nn.Sequential(
        nn.BatchNorm1d(4), nn.LayerNorm(4), nn.BatchNorm1d(4, affine=False), nn.GELU()
    )
    theirs = torch.nn.Sequential(
        torch.nn.BatchNorm1d(4),
        torch.nn.LayerNorm(4),
        torch.nn.BatchNorm1d(4, affine=False),
        torch.nn.GELU(),
    )
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert_same_state(ours, theirs)
    sd = ours.state_dict()
    assert sd["0.num_batches_tracked"].shape == () and sd["0.num_batches_tracked"].dtype == np.int64
    no_stats = nn.BatchNorm2d(2, track_running_stats=False)
    assert list(no_stats.state_dict()) == list(
        torch.nn.BatchNorm2d(2, track_running_stats=False).state_dict()
    )
    assert list(no_stats.named_buffers()) == []


def test_repr_reads_like_torch(torch: Any):
    for ours, theirs in [
        (nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)),
        (nn.BatchNorm1d(5, momentum=None), torch.nn.BatchNorm1d(5, momentum=None)),
        (
            nn.BatchNorm1d(2, affine=False, bias=False),
            torch.nn.BatchNorm1d(2, affine=False, bias=False),
        ),
        (nn.LayerNorm((2, 3)), torch.nn.LayerNorm((2, 3))),
        (nn.LayerNorm(4, bias=False), torch.nn.LayerNorm(4, bias=False)),
        (nn.GELU(), torch.nn.GELU()),
        (nn.Unflatten(1, (2, 3)), torch.nn.Unflatten(1, (2, 3))),
    ]:
        assert repr(ours) == repr(theirs)


# ---------------------------------------------------------------- batch norm, by hand


def test_running_statistics_use_the_unbiased_variance_and_momentum():
    bn = nn.BatchNorm1d(2, momentum=0.25, dtype=np.float64)
    x = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]])
    bn(x)
    np.testing.assert_allclose(bn.running_mean, 0.25 * x.mean(axis=0))
    np.testing.assert_allclose(bn.running_var, 0.75 + 0.25 * x.var(axis=0, ddof=1))
    assert bn.num_batches_tracked.dtype == np.int64 and int(bn.num_batches_tracked) == 1


def test_momentum_none_averages_every_batch_equally():
    bn = nn.BatchNorm1d(1, momentum=None, dtype=np.float64)
    batches = [np.array([[0.0], [2.0]]), np.array([[4.0], [8.0]]), np.array([[1.0], [1.5]])]
    for b in batches:
        bn(b)
    np.testing.assert_allclose(bn.running_mean, [np.mean([b.mean() for b in batches])])
    np.testing.assert_allclose(bn.running_var, [np.mean([b.var(ddof=1) for b in batches])])


def test_eval_mode_uses_the_running_statistics_and_does_not_update_them():
    bn = nn.BatchNorm1d(2, dtype=np.float64)
    bn.running_mean[:] = [1.0, -1.0]
    bn.running_var[:] = [4.0, 0.25]
    bn.eval()
    y = bn(np.array([[3.0, 0.0]]))  # a batch of one is fine in eval mode
    np.testing.assert_allclose(y.data, [[2.0 / np.sqrt(4.0 + 1e-5), 1.0 / np.sqrt(0.25 + 1e-5)]])
    np.testing.assert_array_equal(bn.running_mean, [1.0, -1.0])
    assert int(bn.num_batches_tracked) == 0


def test_without_running_statistics_eval_mode_uses_the_batch():
    bn = nn.BatchNorm1d(2, track_running_stats=False, dtype=np.float64).eval()
    assert bn.running_mean is None and bn.num_batches_tracked is None
    y = bn(np.array([[1.0, 5.0], [3.0, 7.0]]))
    np.testing.assert_allclose(np.abs(y.data), 1.0, rtol=1e-5)


def test_buffers_are_updated_in_place_and_are_not_parameters():
    bn = nn.BatchNorm2d(3)
    mean, count = bn.running_mean, bn.num_batches_tracked
    bn(np.random.default_rng(0).normal(size=(2, 3, 2, 2)))
    assert bn.running_mean is mean and bn.num_batches_tracked is count  # same arrays
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == [
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]


def test_batch_norm_passes_gradcheck_in_float64():
    bn = nn.BatchNorm2d(2, dtype=np.float64)
    bn.weight.data[:] = [0.5, 2.0]
    x = np.random.default_rng(1).normal(size=(3, 2, 2, 2))
    assert gradcheck(lambda v: bn(v), [x])
    assert gradcheck(lambda v: bn.eval()(v), [x])


def test_a_float64_layer_keeps_float64():
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    y = bn(np.ones((2, 3)) + np.arange(2)[:, None])
    assert y.dtype == np.float64 and bn.running_var.dtype == np.float64
    assert "dtype=float64" in repr(bn)


def test_batch_norm_mistakes_are_named():
    bn2, bn1 = nn.BatchNorm2d(3), nn.BatchNorm1d(3)
    with pytest.raises(ShapeError, match=r"BatchNorm2d: expected an input of shape \(N, C, H, W\)"):
        bn2(np.zeros((2, 3, 4)))
    with pytest.raises(ShapeError, match=r"\(N, C\) or \(N, C, L\); got \(2, 3, 4, 4\)"):
        bn1(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ShapeError, match=r"BatchNorm2d\(3\): input of shape \(2, 4, 1, 1\) has 4"):
        bn2(np.zeros((2, 4, 1, 1)))
    with pytest.raises(ShapeError, match="more than one value per channel.*has 1"):
        bn1(np.zeros((1, 3)))
    with pytest.raises(ArgumentError, match="momentum=1.5 must be in"):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ArgumentError, match="num_features=0"):
        nn.BatchNorm2d(0)
    with pytest.raises(DTypeError, match="BatchNorm2d: dtype"):
        nn.BatchNorm2d(3, dtype=np.int32)


def test_functional_batch_norm_mistakes_are_named():
    x = np.zeros((4, 3))
    with pytest.raises(ArgumentError, match="training=False normalises with running_mean"):
        F.batch_norm(x, None, None)
    with pytest.raises(ShapeError, match=r"running_mean has shape \(4,\).*3 channels"):
        F.batch_norm(x, np.zeros(4), np.ones(3))
    with pytest.raises(ArgumentError, match="running_var must be a float NumPy array"):
        F.batch_norm(x, np.zeros(3), [1.0, 1.0, 1.0])
    with pytest.raises(ShapeError, match=r"weight has shape \(2,\)"):
        F.batch_norm(x, None, None, weight=np.ones(2), training=True)
    with pytest.raises(ShapeError, match="needs a batch axis and a channel axis"):
        F.batch_norm(np.zeros(3), None, None, training=True)


# ---------------------------------------------------------------- layer norm


@st.composite
def layer_norm_configs(draw: st.DrawFn) -> dict[str, Any]:
    normalized = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    if int(np.prod(normalized)) < 2:
        normalized = (*normalized, 2)
    return {
        "shape": batch + normalized,
        "normalized_shape": normalized
        if len(normalized) > 1 or draw(st.booleans())
        else normalized[0],
        "kwargs": {
            "eps": draw(st.sampled_from([1e-5, 1e-3])),
            "elementwise_affine": draw(st.booleans()),
            "bias": draw(st.booleans()),
        },
        "seed": draw(st.integers(0, 2**16)),
    }


@settings(deadline=None)
@given(config=layer_norm_configs())
def test_layer_norm_matches_torch(torch: Any, config: dict[str, Any]):
    gen = np.random.default_rng(config["seed"])
    theirs = torch.nn.LayerNorm(config["normalized_shape"], **config["kwargs"])
    randomize(torch, theirs, gen)
    ours = nn.LayerNorm(config["normalized_shape"], **config["kwargs"])
    assert ours.load_state_dict(torch_state(theirs)) == ([], [])
    for mode in (True, False):  # the same in both modes
        ours.train(mode)
        theirs.train(mode)
        step(torch, ours, theirs, gen.normal(1.0, 2.0, config["shape"]).astype(np.float32), gen)


def test_layer_norm_mistakes_are_named():
    ln = nn.LayerNorm((2, 3))
    with pytest.raises(ShapeError, match=r"\(4, 3, 2\) does not end in normalized_shape \(2, 3\)"):
        ln(np.zeros((4, 3, 2)))
    with pytest.raises(ArgumentError, match="normalized_shape=0"):
        nn.LayerNorm(0)
    with pytest.raises(ArgumentError, match="normalized_shape=\\(\\)"):
        nn.LayerNorm(())
    assert nn.LayerNorm(3, elementwise_affine=False).parameters() == []
    assert [n for n, _ in nn.LayerNorm(3, bias=False).named_parameters()] == ["weight"]


def test_a_second_backward_gives_the_same_gradient():
    # the forward keeps 1/std for the first backward; the second computes it again
    x = tl.Value(np.random.default_rng(2).normal(size=(4, 3)))
    y = F.layer_norm(x, 3)
    g = np.random.default_rng(3).normal(size=(4, 3))
    y.backward(g)
    first = x.grad.copy()
    x.grad = None
    y.backward(g)
    np.testing.assert_allclose(x.grad, first, rtol=1e-12)
