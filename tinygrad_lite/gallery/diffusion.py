"""A denoising diffusion model (DDPM) that learns to draw two moons.

Diffusion turns data into noise in ``T`` small steps and trains a network to undo one step at
a time. The forward process needs no learning: with a schedule of variances ``beta_1..beta_T``
(linear here, as in the DDPM paper), ``alpha_t = 1 - beta_t`` and ``alpha_bar_t`` their running
product, a data point ``x_0`` is noised to step ``t`` in one jump,

    x_t = sqrt(alpha_bar_t) * x_0 + sqrt(1 - alpha_bar_t) * eps,   eps ~ N(0, I).

The network ``eps_theta(x_t, t)`` is trained to recover the ``eps`` that was added: the loss is
the mean squared error between the two (the paper's "simple" loss). Sampling (ancestral
sampling) starts from pure noise ``x_T ~ N(0, I)`` and walks back,

    x_{t-1} = (x_t - beta_t / sqrt(1 - alpha_bar_t) * eps_theta(x_t, t)) / sqrt(alpha_t)
              + sqrt(beta_t) * z,   z ~ N(0, I) (no noise on the last step).

The noise predictor is a small MLP. Its input is the point and the step, both turned into
sines and cosines first: the step by the transformer's sinusoidal embedding, the point by a
few Fourier features (sin and cos of each coordinate at frequencies 1..8). An MLP fed the
raw coordinates learns smooth functions first and needs many more steps to draw the thin
moons sharply (a trial here: energy distance 2.4x the floor instead of 1.3x, same budget).

How close are the samples to the data? The energy distance ``2 E|X - Y| - E|X - X'| -
E|Y - Y'|`` and the kernel MMD are zero for one distribution against itself, but two finite
samples of one distribution still differ: the **floor** is the distance between two halves of
fresh data, of the same size as the samples. The **ceiling** is Gaussian noise with the
data's mean and spread, all that a model knowing only the first two moments could draw.

Reference: Ho, Jain and Abbeel, "Denoising Diffusion Probabilistic Models" (2020).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl

from .. import data, nn, optim
from ..book.runner import figure, save_figure
from ..core import ArgumentError, ShapeError, Value
from ..nn import functional as F
from . import Exhibit

# ---------------------------------------------------------------------------------------------
# the forward process


@dataclass(frozen=True)
class Schedule:
    """The noise schedule: ``betas[t]`` for the steps t = 0..T-1 (the paper's 1..T)."""

    betas: np.ndarray  # (T,)

    @property
    def steps(self) -> int:
        return len(self.betas)

    @property
    def alphas(self) -> np.ndarray:
        return 1.0 - self.betas

    @property
    def alpha_bars(self) -> np.ndarray:
        """The share of the signal's variance left after step t: the product of alphas."""
        return np.cumprod(self.alphas)

    def noisy(self, x0: np.ndarray, t: np.ndarray, eps: np.ndarray) -> np.ndarray:
        """x_t for each row of ``x0`` at its step ``t``, noised by ``eps`` (one jump)."""
        a = self.alpha_bars[np.asarray(t)][:, None]  # (B, 1)
        return (np.sqrt(a) * x0 + np.sqrt(1.0 - a) * eps).astype(x0.dtype)


def linear_schedule(
    steps: int, beta_start: float | None = None, beta_end: float | None = None
) -> Schedule:
    """Betas rising linearly from ``beta_start`` to ``beta_end`` over ``steps`` steps.

    The defaults are the DDPM paper's 1e-4 and 0.02 for T = 1000, scaled by 1000 / T so that
    a shorter chain still ends in (almost) pure noise: alpha_bar_T is about 2e-5 for T = 100.

    >>> s = linear_schedule(100)
    >>> s.steps, round(float(s.betas[0]), 4), round(float(s.betas[-1]), 2)
    (100, 0.001, 0.2)
    >>> bool(s.alpha_bars[-1] < 1e-4)
    True
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ArgumentError(f"linear_schedule: steps={steps!r} must be a whole number >= 2")
    start = 1e-4 * 1000 / steps if beta_start is None else float(beta_start)
    end = 0.02 * 1000 / steps if beta_end is None else float(beta_end)
    if not 0.0 < start <= end < 1.0:
        raise ArgumentError(
            f"linear_schedule: betas from {start} to {end} must satisfy 0 < start <= end < 1 "
            "(each beta is the variance of the noise one step adds); pass smaller betas "
            "or more steps"
        )
    return Schedule(np.linspace(start, end, int(steps)))


# ---------------------------------------------------------------------------------------------
# the noise predictor


def time_embedding(t: np.ndarray, steps: int, dim: int = 16) -> np.ndarray:
    """The sinusoidal embedding of integer steps ``t``: (B,) -> (B, dim), float32.

    Half the columns are sines, half cosines, at wavelengths from 2 pi / 10 to 2 pi * 100 in
    units of ``steps / 100`` steps, so neighbouring steps differ and far ones differ more.
    """
    if dim < 2 or dim % 2:
        raise ArgumentError(f"time_embedding: dim={dim!r} must be an even number >= 2")
    half = dim // 2
    frequencies = np.exp(-np.log(1000.0) * np.arange(half) / half)  # (half,): 1 .. 1/1000
    angle = np.asarray(t, dtype=np.float64)[:, None] * frequencies * (1000.0 / steps)  # (B, half)
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1).astype(np.float32)


def fourier_features(x: np.ndarray, count: int = 4, top: float = 8.0) -> np.ndarray:
    """(B, 2) points -> (B, 2 + 4 count): the coordinates, then sin and cos of each at
    ``count`` frequencies from 1 to ``top`` (geometric), so the MLP can draw sharp shapes."""
    frequencies = np.geomspace(1.0, top, count)  # (count,)
    angle = (x[:, :, None] * frequencies).reshape(len(x), -1)  # (B, 2 count)
    return np.concatenate([x, np.sin(angle), np.cos(angle)], axis=1).astype(np.float32)


class NoisePredictor(nn.Module):
    """eps_theta(x_t, t): an MLP on the point's Fourier features and the step's embedding.

    Its input is one array of rows ``(x, y, t)``: the noisy point and its integer step; the
    features are made in NumPy (they are data, nothing there to learn), the MLP is
    ``Linear -> ReLU`` ``layers`` times, then ``Linear(hidden, 2)``: the predicted noise.
    """

    def __init__(
        self,
        steps: int,
        hidden: int = 64,
        layers: int = 3,
        frequencies: int = 4,
        time_dim: int = 16,
    ) -> None:
        self.steps, self.frequencies, self.time_dim = int(steps), int(frequencies), int(time_dim)
        width = 2 + 4 * self.frequencies + self.time_dim
        blocks: list[nn.Module] = []
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.net = nn.Sequential(*blocks, nn.Linear(width, 2))

    def features(self, inputs: Any) -> np.ndarray:
        rows = np.asarray(inputs.numpy() if isinstance(inputs, Value) else inputs)
        if rows.ndim != 2 or rows.shape[1] != 3:
            raise ShapeError(
                f"NoisePredictor: input of shape {rows.shape} must be (batch, 3): the noisy "
                "point (x, y) and its step t in each row"
            )
        x, t = rows[:, :2].astype(np.float32), rows[:, 2]
        return np.concatenate(
            [fourier_features(x, self.frequencies), time_embedding(t, self.steps, self.time_dim)],
            axis=1,
        )

    def forward(self, inputs: Any) -> Value:
        return self.net(Value(self.features(inputs), requires_grad=False))  # (B, 2)


def predict_noise(model: NoisePredictor, x: np.ndarray, t: np.ndarray) -> Value:
    """The model's eps for points ``x`` (B, 2) at steps ``t`` (B,)."""
    return model(np.concatenate([x, np.asarray(t, dtype=np.float32)[:, None]], axis=1))


def diffusion_loss(
    model: NoisePredictor, schedule: Schedule, x0: np.ndarray, gen: np.random.Generator
) -> Value:
    """The simple DDPM loss on a batch: a random step per point, noise it, predict the noise."""
    t = gen.integers(0, schedule.steps, len(x0))  # (B,)
    eps = gen.standard_normal(x0.shape).astype(np.float32)  # (B, 2)
    return F.mse_loss(predict_noise(model, schedule.noisy(x0, t, eps), t), eps)


def sample(
    model: NoisePredictor,
    schedule: Schedule,
    n: int,
    gen: np.random.Generator,
    keep: tuple[int, ...] = (),
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """``n`` points by ancestral sampling, and the points x_t at the steps listed in ``keep``
    (the paper's numbering: ``keep=(100,)`` is the starting noise of a 100-step chain)."""
    betas, alphas, bars = schedule.betas, schedule.alphas, schedule.alpha_bars
    x = gen.standard_normal((n, 2)).astype(np.float32)  # x_T
    snapshots = {schedule.steps: x.copy()} if schedule.steps in keep else {}
    with tl.no_grad():
        for t in range(schedule.steps - 1, -1, -1):
            eps = predict_noise(model, x, np.full(n, t)).numpy()  # (n, 2)
            x = (x - betas[t] / np.sqrt(1.0 - bars[t]) * eps) / np.sqrt(alphas[t])
            if t > 0:  # sigma_t^2 = beta_t, one of the paper's two choices
                x = x + np.sqrt(betas[t]) * gen.standard_normal(x.shape)
            x = x.astype(np.float32)
            if t in keep:
                snapshots[t] = x.copy()
    return x, snapshots


# ---------------------------------------------------------------------------------------------
# distances between two samples


def _pair(a: Any, b: Any, op: str) -> tuple[np.ndarray, np.ndarray]:
    a2, b2 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a2.ndim != 2 or b2.ndim != 2 or a2.shape[1] != b2.shape[1] or not len(a2) or not len(b2):
        raise ShapeError(
            f"{op}: samples of shapes {a2.shape} and {b2.shape} must be (n, d) and (m, d), "
            "non-empty, with the same d: one point per row"
        )
    return a2, b2


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) Euclidean distances between the rows of a and b (from the differences, not
    |a|^2 + |b|^2 - 2 a.b, whose rounding would leave 1e-8 where a point meets itself)."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))


def energy_distance(a: Any, b: Any) -> float:
    """The energy distance 2 E|A - B| - E|A - A'| - E|B - B'| between two samples.

    Every pair counts (including a point with itself), so a sample's distance to itself is
    exactly 0; it is symmetric and grows with a shift of one sample.

    >>> a = np.array([[0.0, 0.0]])
    >>> energy_distance(a, a), energy_distance(a, a + [3.0, 4.0])
    (0.0, 10.0)
    """
    a2, b2 = _pair(a, b, "energy_distance")
    return _energy(_distances(a2, b2), _distances(a2, a2), _distances(b2, b2))


def mmd_rbf(a: Any, b: Any, bandwidth: float = 0.1) -> float:
    """The squared maximum mean discrepancy with a Gaussian kernel of width ``bandwidth``:
    mean k(A, A') + mean k(B, B') - 2 mean k(A, B), with k(x, y) = exp(-|x - y|^2 / 2 s^2).

    >>> a = np.array([[0.0], [1.0]])
    >>> mmd_rbf(a, a), round(mmd_rbf(a, a + 100.0, bandwidth=1.0), 6)
    (0.0, 1.606531)
    """
    if not np.isfinite(bandwidth) or bandwidth <= 0:
        raise ArgumentError(f"mmd_rbf: bandwidth={bandwidth!r} must be a positive number")
    a2, b2 = _pair(a, b, "mmd_rbf")
    return _mmd(_distances(a2, b2), _distances(a2, a2), _distances(b2, b2), bandwidth)


# both from the three distance matrices (between, within a, within b), which the exhibit
# computes once for the two; rounding can leave -1e-17 for equal samples, hence the max


def _energy(ab: np.ndarray, aa: np.ndarray, bb: np.ndarray) -> float:
    return max(float(2.0 * ab.mean() - aa.mean() - bb.mean()), 0.0)


def _mmd(ab: np.ndarray, aa: np.ndarray, bb: np.ndarray, bandwidth: float) -> float:
    def kernel(d: np.ndarray) -> float:
        return float(np.exp(-(d**2) / (2.0 * bandwidth**2)).mean())

    return max(kernel(aa) + kernel(bb) - 2.0 * kernel(ab), 0.0)


# ---------------------------------------------------------------------------------------------
# the exhibit


@dataclass(frozen=True)
class Config:
    steps: int = 100  # T, the length of the chain
    hidden: int = 64  # width of the MLP's three hidden layers
    train_steps: int = 2000  # Adam steps, one batch each
    batch: int = 256
    lr: float = 5e-3  # Adam's, falling linearly to 0
    points: int = 4000  # training points drawn from the moons
    noise: float = 0.1  # the moons' noise (tl.data.moons' default)
    eval_points: int = 1000  # points in each sample that a distance compares
    repeats: int = 10  # distances averaged over this many fresh samples
    bandwidth: float = 0.1  # of the MMD's kernel, in the data's units (the moons' noise)


QUICK = Config()
FULL = Config(hidden=128, train_steps=8000, lr=3e-3)


@dataclass
class Measured:
    """The trained model and the distances of its samples, with the floor and ceiling."""

    model: NoisePredictor
    losses: list[float]
    samples: np.ndarray  # (eval_points, 2), in the data's units
    reference: np.ndarray  # held-out data they were compared with
    snapshots: dict[int, np.ndarray]
    energy: dict[str, float]  # "samples", "halves" (the floor), "noise" (the ceiling)
    mmd: dict[str, float]
    seconds: float


def train_and_measure(config: Config, seed: int = 0) -> Measured:
    """Train a DDPM on the moons with ``config``, then measure its samples (all seeded)."""
    tl.manual_seed(seed)
    gen = np.random.default_rng(seed)
    start = time.perf_counter()
    X, _ = data.moons(config.points, noise=config.noise, seed=int(gen.integers(2**31)))
    mean, std = X.mean(axis=0), X.std(axis=0)
    X0 = ((X - mean) / std).astype(np.float32)  # the chain works on standardized points
    schedule = linear_schedule(config.steps)
    model = NoisePredictor(config.steps, hidden=config.hidden)
    optimizer = optim.Adam(model.parameters(), lr=config.lr)
    losses: list[float] = []
    for step in range(config.train_steps):
        loss = diffusion_loss(model, schedule, X0[gen.integers(0, len(X0), config.batch)], gen)
        optimizer.zero_grad()
        loss.backward()
        optimizer.lr = config.lr * (1.0 - step / config.train_steps)
        optimizer.step()
        losses.append(float(loss.item()))

    m, k = config.eval_points, config.repeats
    keep = (
        config.steps,
        config.steps // 2,
        config.steps // 5,
        config.steps // 10,
        config.steps // 20,
        0,
    )
    drawn, snapshots = sample(model, schedule, m * k, gen, keep=keep)
    drawn = drawn * std + mean  # (m k, 2) back in the data's units
    snapshots = {t: x[:m] * std + mean for t, x in snapshots.items()}
    held_out = np.random.default_rng([seed, 1])  # the same held-out data however long we train
    energy: dict[str, list[float]] = {"samples": [], "halves": [], "noise": []}
    mmd: dict[str, list[float]] = {"samples": [], "halves": [], "noise": []}
    for i in range(k):
        fresh, _ = data.moons(2 * m, noise=config.noise, seed=int(held_out.integers(2**31)))
        reference, other_half = fresh[:m], fresh[m:]
        gaussian = held_out.standard_normal((m, 2)) * std + mean
        within_reference = _distances(reference, reference)  # (m, m), shared by all three
        for name, points in (
            ("samples", drawn[i * m : (i + 1) * m].astype(np.float64)),
            ("halves", other_half),
            ("noise", gaussian),
        ):
            between, within = _distances(points, reference), _distances(points, points)
            energy[name].append(_energy(between, within, within_reference))
            mmd[name].append(_mmd(between, within, within_reference, config.bandwidth))
    return Measured(
        model=model,
        losses=losses,
        samples=drawn[:m],
        reference=reference,
        snapshots=snapshots,
        energy={name: float(np.mean(v)) for name, v in energy.items()},
        mmd={name: float(np.mean(v)) for name, v in mmd.items()},
        seconds=time.perf_counter() - start,
    )


def plot_samples(result: Measured, path: Path) -> Path:
    """Held-out data beside the model's samples, and the three energy distances."""
    fig = figure(12.0, 3.8, "the diffusion exhibit's pictures")
    ax_data, ax_model, ax_bars = fig.subplots(1, 3, width_ratios=[1, 1, 0.8])
    lo = np.minimum(result.reference.min(0), result.samples.min(0)) - 0.2
    hi = np.maximum(result.reference.max(0), result.samples.max(0)) + 0.2
    for ax, points, colour, title in (
        (ax_data, result.reference, "tab:blue", "held-out data"),
        (ax_model, result.samples, "tab:orange", "DDPM samples"),
    ):
        ax.scatter(points[:, 0], points[:, 1], s=3, color=colour, alpha=0.7)
        ax.set(title=f"{title} ({len(points)} points)", xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]))
        ax.set_aspect("equal")
    names = ["two halves\nof the data", "DDPM\nsamples", "Gaussian\nnoise"]
    values = [result.energy["halves"], result.energy["samples"], result.energy["noise"]]
    ax_bars.bar(names, values, color=["tab:gray", "tab:orange", "tab:red"])
    for i, v in enumerate(values):
        ax_bars.text(i, v, f"{v:.4f}", ha="center", va="bottom")
    ax_bars.set(title="energy distance to held-out data", ylabel="energy distance")
    return save_figure(fig, path)


def plot_reverse(result: Measured, path: Path) -> Path:
    """The reverse process: the same points at a few steps, from noise (left) to data."""
    steps = sorted(result.snapshots, reverse=True)
    fig = figure(2.6 * len(steps), 2.8, "the diffusion exhibit's pictures")
    axes = fig.subplots(1, len(steps), sharex=True, sharey=True)
    for ax, t in zip(np.atleast_1d(axes), steps, strict=True):
        points = result.snapshots[t]
        ax.scatter(points[:, 0], points[:, 1], s=2, color="tab:orange", alpha=0.6)
        ax.set_title(f"x_{t}" + (" (noise)" if t == max(steps) else " (samples)" if t == 0 else ""))
        ax.set_aspect("equal")
    ax.set(xlim=(-2.5, 3.5), ylim=(-2.0, 2.5))
    return save_figure(fig, path)


BOOK = (
    "Zef's guide lists diffusion among the generative models: instead of one network that "
    "turns noise into data in a single pass (a GAN's generator), a diffusion model learns to "
    "remove a little noise at a time, and draws new data by starting from pure noise and "
    "denoising it step by step. Training is plain regression (predict the noise that was "
    "added), which makes it steadier than a GAN's two-player game."
)


def run(out: Path, *, full: bool = False, seed: int = 0, plots: bool = True) -> Exhibit:
    """Train the DDPM on two moons and compare its samples with held-out data."""
    config = FULL if full else QUICK
    result = train_and_measure(config, seed)
    e, k = result.energy, result.mmd
    pictures: list[Path] = []
    if plots:
        pictures.append(plot_samples(result, Path(out) / "diffusion_samples.png"))
        pictures.append(plot_reverse(result, Path(out) / "diffusion_reverse.png"))
    example = np.array([[0.5, 0.25, config.steps // 2], [-1.0, 0.5, 3]], dtype=np.float32)
    return Exhibit(
        architecture="diffusion model (DDPM)",
        title=f"DDPM on two moons, {config.steps}-step chain",
        figures=[
            (
                "energy distance: samples / two halves of the data",
                f"{e['samples'] / e['halves']:.2f}x",
                "<= 2x",
            ),
            (
                "energy distance: samples / Gaussian noise",
                f"{e['samples'] / e['noise']:.2f}",
                "<= 0.25",
            ),
            (
                "MMD^2 (RBF): samples / two halves of the data",
                f"{k['samples'] / k['halves']:.2f}x",
                "<= 2x",
            ),
        ],
        pictures=pictures,
        book=BOOK,
        command="python examples/gallery/diffusion.py --full",
        notes=[
            f"energy distance to {config.eval_points} held-out points (mean of {config.repeats}): "
            f"samples {e['samples']:.4f}, two halves of the data {e['halves']:.4f} (floor), "
            f"Gaussian noise {e['noise']:.4f} (ceiling)",
            f"MMD^2 (RBF, width {config.bandwidth}): samples {k['samples']:.5f}, "
            f"halves {k['halves']:.5f}, noise {k['noise']:.5f}",
            f"{'full' if full else 'quick'} run: MLP 3 x {config.hidden} ReLU, "
            f"{config.train_steps} Adam steps of {config.batch} points, T = {config.steps}, "
            f"loss {np.mean(result.losses[:50]):.3f} -> {np.mean(result.losses[-50:]):.3f}, "
            f"{result.seconds:.0f} s",
        ],
        model=result.model,
        example_input=example,
    )
