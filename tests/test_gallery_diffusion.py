"""The DDPM exhibit: its schedule, sampler and distances on known cases, and its quick run."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import gallery, nn, viz
from tinygrad_lite.errors import ArgumentError, ShapeError
from tinygrad_lite.gallery import diffusion as D

ROOT = Path(__file__).resolve().parents[1]


# --- the forward process -----------------------------------------------------------------------


def test_linear_schedule_ends_in_noise_and_noisy_has_the_right_moments():
    s = D.linear_schedule(100)
    assert np.all(np.diff(s.betas) > 0) and s.betas[0] == pytest.approx(1e-3)
    assert s.alpha_bars[-1] < 1e-4 and s.alpha_bars[0] == pytest.approx(1 - 1e-3)
    gen = np.random.default_rng(0)
    x0 = np.full((20000, 2), 2.0)
    t = np.full(20000, 30)
    xt = s.noisy(x0, t, gen.standard_normal(x0.shape))
    a = s.alpha_bars[30]
    assert xt.mean() == pytest.approx(2.0 * np.sqrt(a), abs=0.02)
    assert xt.var() == pytest.approx(1.0 - a, rel=0.03)


@pytest.mark.parametrize(
    ("args", "kwargs"), [((1,), {}), ((10,), {"beta_end": 1.5}), ((10,), {"beta_start": 0.0})]
)
def test_linear_schedule_rejects_bad_steps_and_betas(args, kwargs):
    with pytest.raises(ArgumentError, match="linear_schedule"):
        D.linear_schedule(*args, **kwargs)


def test_time_embedding_separates_steps_and_checks_its_width():
    e = D.time_embedding(np.arange(100), 100, 16)
    assert e.shape == (100, 16) and e.dtype == np.float32
    assert np.abs(e).max() <= 1.0
    gaps = np.linalg.norm(e[1:] - e[:-1], axis=1)
    assert gaps.min() > 0.1  # neighbouring steps are told apart
    with pytest.raises(ArgumentError, match="dim=5"):
        D.time_embedding(np.arange(3), 100, 5)


def test_noise_predictor_reads_rows_of_point_and_step():
    tl.manual_seed(0)
    model = D.NoisePredictor(50, hidden=8)
    out = model(np.array([[0.1, 0.2, 3.0], [0.0, -1.0, 49.0]], dtype=np.float32))
    assert out.shape == (2, 2)
    with pytest.raises(ShapeError, match=r"NoisePredictor: input of shape \(2, 2\)"):
        model(np.zeros((2, 2), dtype=np.float32))


# --- the sampler, with the exact noise predictor of Gaussian data --------------------------------


class ExactEps(nn.Module):
    """E[eps | x_t] for data N(0, s^2 I): x_t = sqrt(a) x0 + sqrt(1 - a) eps is Gaussian with
    variance a s^2 + 1 - a, and eps's share of it gives sqrt(1 - a) x_t / (a s^2 + 1 - a)."""

    def __init__(self, schedule: D.Schedule, scale: float) -> None:
        self.bars, self.scale = schedule.alpha_bars, scale

    def forward(self, rows):
        x, t = rows[:, :2], rows[:, 2].astype(int)
        a = self.bars[t][:, None]
        return tl.Value(np.sqrt(1 - a) * x / (a * self.scale**2 + 1 - a), requires_grad=False)


@pytest.mark.parametrize("scale", [0.3, 2.0])
def test_ancestral_sampling_with_the_exact_model_draws_the_data_distribution(scale):
    schedule = D.linear_schedule(100)
    x, snapshots = D.sample(
        ExactEps(schedule, scale), schedule, 20000, np.random.default_rng(1), keep=(100, 0)
    )
    assert x.std(axis=0) == pytest.approx([scale, scale], rel=0.05)
    assert np.abs(x.mean(axis=0)).max() < 0.05 * max(scale, 1)
    assert snapshots[100].std() == pytest.approx(1.0, rel=0.03)  # it starts from N(0, I)
    np.testing.assert_array_equal(snapshots[0], x)


def test_diffusion_loss_reaches_every_parameter():
    tl.manual_seed(0)
    model = D.NoisePredictor(50, hidden=8)
    loss = D.diffusion_loss(
        model, D.linear_schedule(50), np.ones((16, 2), np.float32), np.random.default_rng(0)
    )
    loss.backward()
    assert loss.shape == () and loss.item() > 0
    assert all(p.grad is not None and np.abs(p.grad).sum() > 0 for p in model.parameters())


# --- the distances -------------------------------------------------------------------------------


@pytest.mark.parametrize("distance", [D.energy_distance, D.mmd_rbf])
def test_distances_are_zero_symmetric_and_grow_with_a_shift(distance):
    gen = np.random.default_rng(0)
    a, b = gen.standard_normal((200, 2)), gen.standard_normal((150, 2))
    assert distance(a, a) == pytest.approx(0.0, abs=1e-12)
    assert distance(a, b) == pytest.approx(distance(b, a), rel=1e-12)
    shifted = [distance(a, b + [d, 0.0]) for d in (0.0, 0.2, 0.5, 1.0)]
    assert all(x < y for x, y in zip(shifted, shifted[1:])), shifted


def test_energy_distance_matches_a_direct_sum_and_scipy():
    gen = np.random.default_rng(1)
    a, b = gen.standard_normal((7, 3)), gen.standard_normal((5, 3)) + 0.5

    def mean_distance(p, q):
        return np.mean([np.linalg.norm(u - v) for u in p for v in q])

    direct = 2 * mean_distance(a, b) - mean_distance(a, a) - mean_distance(b, b)
    assert D.energy_distance(a, b) == pytest.approx(direct, rel=1e-10)
    stats = pytest.importorskip("scipy.stats")
    u, v = gen.standard_normal(40), gen.standard_normal(30) + 1.0
    # scipy's 1-D energy distance is the square root of ours
    assert D.energy_distance(u[:, None], v[:, None]) == pytest.approx(
        stats.energy_distance(u, v) ** 2, rel=1e-9
    )


def test_mmd_matches_a_direct_sum_and_tends_to_its_limit_when_far_apart():
    gen = np.random.default_rng(2)
    a, b = gen.standard_normal((6, 2)), gen.standard_normal((4, 2))

    def mean_kernel(p, q, s=0.7):
        return np.mean([np.exp(-np.sum((u - v) ** 2) / (2 * s * s)) for u in p for v in q])

    direct = mean_kernel(a, a) + mean_kernel(b, b) - 2 * mean_kernel(a, b)
    assert D.mmd_rbf(a, b, bandwidth=0.7) == pytest.approx(direct, rel=1e-10)
    far = D.mmd_rbf(a, b + 1e3, bandwidth=0.7)
    assert far == pytest.approx(mean_kernel(a, a) + mean_kernel(b, b), rel=1e-10)


def test_distances_name_bad_samples_and_bandwidths():
    with pytest.raises(
        ShapeError, match=r"energy_distance: samples of shapes \(3, 2\) and \(3, 3\)"
    ):
        D.energy_distance(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ShapeError, match="mmd_rbf"):
        D.mmd_rbf(np.zeros(3), np.zeros(3))
    with pytest.raises(ArgumentError, match="bandwidth=0"):
        D.mmd_rbf(np.zeros((2, 1)), np.zeros((2, 1)), bandwidth=0)


# --- the exhibit ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("diffusion")
    return gallery.run("diffusion", out, full=False, seed=0, plots=True)


def _figure(exhibit, start):
    (ours,) = [f[1] for f in exhibit.figures if f[0].startswith(start)]
    return float(ours.rstrip("x"))


def test_quick_run_reaches_the_figure(quick):
    # within 2x of two halves of the data (below 1x happens: both are noisy), far below noise
    assert 0.0 < _figure(quick, "energy distance: samples / two halves") <= 2.0
    assert _figure(quick, "energy distance: samples / Gaussian noise") <= 0.25
    assert _figure(quick, "MMD^2 (RBF): samples / two halves") <= 2.0
    assert quick.architecture.startswith("diffusion") and "--full" in quick.command
    assert "diffusion" in gallery.EXHIBITS


def test_quick_run_writes_its_pictures_and_draws_its_model(quick):
    assert [p.name for p in quick.pictures] == ["diffusion_samples.png", "diffusion_reverse.png"]
    assert all(p.stat().st_size > 1000 for p in quick.pictures)
    model = quick.model
    graph = viz.draw_forward(
        model(quick.example_input), model=model, collapse=[m for m in model.net]
    )
    assert "Linear" in graph.source


def test_same_seed_same_figures():
    tiny = replace(D.QUICK, train_steps=30, eval_points=100, repeats=2, hidden=8)
    first, second = D.train_and_measure(tiny, seed=3), D.train_and_measure(tiny, seed=3)
    assert first.losses == second.losses and first.energy == second.energy
    np.testing.assert_array_equal(first.samples, second.samples)
    assert D.train_and_measure(tiny, seed=4).losses != first.losses


def test_example_program_prints_its_figure(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "examples/gallery/diffusion.py", "--no-plots", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=180, cwd=ROOT, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "energy distance: samples / two halves of the data" in done.stdout
    assert "wrote" not in done.stdout and not list(tmp_path.iterdir())


def test_the_exhibit_measures_with_the_public_distances():
    tiny = replace(D.QUICK, train_steps=5, eval_points=50, repeats=1, hidden=8)
    result = D.train_and_measure(tiny, seed=0)
    samples, reference = result.samples.astype(np.float64), result.reference
    assert result.energy["samples"] == pytest.approx(D.energy_distance(samples, reference))
    assert result.mmd["samples"] == pytest.approx(D.mmd_rbf(samples, reference, tiny.bandwidth))
