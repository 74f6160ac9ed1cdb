"""nn.layers: GELU, Upsample, Unflatten and Dropout2d against torch, and their mistakes.

Configurations are drawn by hypothesis, the data by a NumPy generator it seeds; outputs and
input gradients must equal torch's (to float32 rounding; exactly where nothing is computed).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import ArgumentError, ShapeError, nn
from tinygrad_lite.core.ops.elementwise import erf_array
from tinygrad_lite.testing import gradcheck, gradgradcheck


@pytest.fixture(scope="module")
def torch() -> Any:
    """torch for the whole module: hypothesis runs many examples through one fixture."""
    torch = pytest.importorskip(
        "torch", reason="torch is the optional reference engine (pip install torch==2.13.0)"
    )
    torch.set_num_threads(1)
    return torch


def against_torch(torch: Any, ours: nn.Module, theirs: Any, x: np.ndarray, rtol: float) -> None:
    """Output and input gradient of ``ours`` and ``theirs`` on ``x`` (same output gradient)."""
    xv = tl.Value(x)
    out = ours(xv)
    g = np.random.default_rng(0).standard_normal(out.shape).astype(x.dtype)
    out.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    expected = theirs(xt)
    expected.backward(torch.as_tensor(g))
    assert out.dtype == x.dtype and xv.grad.dtype == x.dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(xv.grad, xt.grad.numpy(), rtol=rtol, atol=rtol)


# ---------------------------------------------------------------- erf and GELU


def test_erf_of_arrays_agrees_with_math_erf_to_a_few_units_in_the_last_place():
    gen = np.random.default_rng(0)
    x = np.concatenate(
        [
            gen.uniform(-1.0, 1.0, 20_000),  # the first range and around its edge, 0.46875
            gen.uniform(-6.0, 6.0, 20_000),  # the second (to 4) and third ranges
            np.linspace(-30.0, 30.0, 6001),
            10.0 ** gen.uniform(-300, 1, 5000) * gen.choice([-1.0, 1.0], 5000),  # tiny and large
            [0.0, 0.46875, -0.46875, 4.0, -4.0, 8.0, 26.5, 1e300, -1e300],
        ]
    )
    ours = erf_array(x)
    exact = np.array([math.erf(v) for v in x])
    relative = np.abs(ours - exact) / np.maximum(np.abs(exact), np.finfo(float).tiny)
    assert relative.max() < 1e-14
    assert np.max(np.abs(ours - exact) / np.spacing(np.abs(exact))) <= 8  # units in the last place


def test_erf_keeps_signs_infinities_nan_and_dtypes():
    x = np.array([-0.0, np.inf, -np.inf, np.nan])
    out = erf_array(x)
    assert np.signbit(out[0]) and out[1] == 1.0 and out[2] == -1.0 and np.isnan(out[3])
    assert erf_array(np.array([0.5], dtype=np.float32)).dtype == np.float32
    assert erf_array(np.array(0.5)).shape == ()
    assert tl.Value(0.5).erf().data == math.erf(0.5)  # a Python float stays one, via math.erf


def test_erf_derivatives_are_right_to_second_order():
    x = np.linspace(-3.0, 3.0, 13)
    assert gradcheck(lambda v: v.erf(), [x])
    assert gradgradcheck(lambda v: v.erf(), [x])
    (g,) = tl.grad(tl.Value(0.0).erf(), [tl.Value(0.0)], allow_unused=True)
    assert g is None  # the Value differentiated is not the one erf was applied to
    x0 = tl.Value(0.0)
    (g,) = tl.grad(x0.erf(), [x0])
    assert g == pytest.approx(2.0 / math.sqrt(math.pi))


@settings(deadline=None)
@given(
    approximate=st.sampled_from(["none", "tanh"]),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_gelu_matches_torch(torch: Any, approximate: str, shape: list[int], seed: int):
    x = np.random.default_rng(seed).normal(0.0, 3.0, shape).astype(np.float32)
    ours, theirs = nn.GELU(approximate), torch.nn.GELU(approximate=approximate)
    against_torch(torch, ours, theirs, x, rtol=1e-5)
    against_torch(torch, ours, theirs, x.astype(np.float64), rtol=1e-12)


def test_gelu_mistakes_are_named():
    with pytest.raises(ArgumentError, match="GELU: approximate='erf'; choose 'none'"):
        nn.GELU("erf")
    with pytest.raises(ArgumentError, match="gelu: approximate='fast'"):
        F.gelu(1.0, approximate="fast")


# ---------------------------------------------------------------- Upsample and Unflatten


@settings(deadline=None)
@given(
    spatial=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    factors=st.lists(st.integers(1, 3), min_size=3, max_size=3),
    single=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_upsample_matches_torch(torch: Any, spatial, factors, single, seed):
    x = np.random.default_rng(seed).normal(size=(2, 3, *spatial)).astype(np.float32)
    scale = factors[0] if single else tuple(factors[: len(spatial)])
    theirs = torch.nn.Upsample(
        scale_factor=float(scale) if single else tuple(map(float, scale)), mode="nearest"
    )
    against_torch(torch, nn.Upsample(scale_factor=scale), theirs, x, rtol=1e-6)


def test_upsample_repeats_each_element_and_sums_the_gradient_back():
    x = tl.Value(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    y = nn.Upsample(scale_factor=(1, 2))(x)
    np.testing.assert_array_equal(y.data[0, 0], [[1, 1, 2, 2], [3, 3, 4, 4]])
    y.backward(np.arange(8.0).reshape(1, 1, 2, 4))
    np.testing.assert_array_equal(x.grad[0, 0], [[1.0, 5.0], [9.0, 13.0]])
    assert nn.Upsample(scale_factor=1)(x) is x  # nothing to do
    assert nn.Upsample(scale_factor=2.0)(x).shape == (1, 1, 4, 4)  # a whole float is fine


def test_upsample_mistakes_are_named():
    with pytest.raises(ArgumentError, match="Upsample: mode='bilinear' is not supported"):
        nn.Upsample(scale_factor=2, mode="bilinear")
    with pytest.raises(ArgumentError, match="only whole factors >= 1"):
        nn.Upsample(scale_factor=1.5)
    with pytest.raises(ArgumentError, match="only whole factors >= 1"):
        F.interpolate(np.zeros((1, 1, 2)), 0)
    with pytest.raises(ShapeError, match="2 factors for 1 spatial axes"):
        nn.Upsample(scale_factor=(2, 2))(np.zeros((1, 1, 3)))
    with pytest.raises(ShapeError, match=r"interpolate: input of shape \(4, 3\); expected"):
        nn.Upsample(scale_factor=2)(np.zeros((4, 3)))


@pytest.mark.parametrize(
    "dim, sizes, shape",
    [(1, (2, 3), (4, 6)), (-1, (2, -1), (3, 2, 8)), (0, (1, 2, 2), (4, 5)), (2, (1,), (2, 3, 1))],
)
def test_unflatten_matches_torch(torch: Any, dim: int, sizes: tuple[int, ...], shape):
    x = np.random.default_rng(0).normal(size=shape)
    against_torch(torch, nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes), x, rtol=0.0)


def test_unflatten_undoes_flatten_and_names_its_mistakes():
    x = np.arange(24.0).reshape(2, 3, 4)
    y = nn.Unflatten(1, (3, 4))(nn.Flatten()(x))
    np.testing.assert_array_equal(y.data, x)
    with pytest.raises(ShapeError, match="axis 1 of the input \\(2, 12\\) has 12 elements"):
        nn.Unflatten(1, (5, 2))(np.zeros((2, 12)))
    with pytest.raises(ShapeError, match="does not split"):
        nn.Unflatten(1, (5, -1))(np.zeros((2, 12)))
    with pytest.raises(ShapeError, match="dim=3 is out of range"):
        nn.Unflatten(3, (1, 1))(np.zeros((2, 12)))
    with pytest.raises(ArgumentError, match="at most one of them -1"):
        nn.Unflatten(1, (-1, -1))
    with pytest.raises(ArgumentError, match="dim=1.0 must be an int"):
        nn.Unflatten(1.0, (2, 3))


# ---------------------------------------------------------------- Dropout2d


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    tl.manual_seed(0)
    x = tl.Value(np.ones((50, 40, 3, 3), dtype=np.float32))
    y = nn.Dropout2d(p=0.25)(x)
    per_channel = y.data.reshape(50, 40, 9)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # whole maps
    assert set(np.unique(per_channel)) <= {0.0, np.float32(1 / 0.75)}
    dropped = np.mean(per_channel[:, :, 0] == 0.0)
    assert abs(dropped - 0.25) < 0.03  # 2,000 channels
    y.backward(np.ones(y.shape, dtype=np.float32))
    np.testing.assert_array_equal(x.grad, y.data)  # the gradient is the same mask
    assert y.dtype == np.float32


def test_dropout2d_scales_like_torch(torch: Any):
    # torch draws other numbers, but every channel is either 0 or x / (1 - p), as here
    x = np.random.default_rng(0).normal(size=(8, 6, 2, 2)).astype(np.float32)
    expected = torch.nn.Dropout2d(p=0.4)(torch.as_tensor(x)).numpy()
    ours = nn.Dropout2d(p=0.4)(x).data
    for out in (expected, ours):
        kept = np.all(out != 0.0, axis=(2, 3))
        np.testing.assert_allclose(out[kept], (x / 0.6)[kept], rtol=1e-6)
        assert np.all(out[~kept] == 0.0)


def test_dropout2d_is_reproducible_with_manual_seed_and_the_identity_in_eval():
    x = np.ones((4, 5, 2, 2))
    tl.manual_seed(3)
    a = nn.Dropout2d()(x).data
    tl.manual_seed(3)
    b = nn.Dropout2d()(x).data
    np.testing.assert_array_equal(a, b)
    layer = nn.Dropout2d().eval()
    assert np.array_equal(layer(x).data, x)
    assert nn.Dropout2d(p=0.0)(x).data is not None
    np.testing.assert_array_equal(nn.Dropout2d(p=1.0)(x).data, np.zeros_like(x))
    assert nn.Dropout2d()(np.ones((2, 3, 4))).shape == (2, 3, 4)  # (N, C, L), as torch
    with pytest.raises(ShapeError, match="dropout2d: input of shape \\(2, 3\\)"):
        nn.Dropout2d()(np.ones((2, 3)))
    with pytest.raises(ArgumentError, match="p=1.5"):
        nn.Dropout2d(p=1.5)
    assert repr(nn.Dropout2d(0.3)) == "Dropout2d(p=0.3)"


def test_the_layers_benchmark_runs_and_prints_every_row():
    # benchmarks/layers.py measures what docs/nn.md reports; timings are never asserted
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "layers.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert len(rows) >= 9  # the header and the eight rows of tinygrad_lite (torch's: optional)
    assert "standardize: fused row" in done.stdout and "composite" in done.stdout
