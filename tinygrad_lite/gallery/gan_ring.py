"""A generative adversarial network (GAN) on a ring of eight Gaussians in the plane.

The data: eight small Gaussian blobs (standard deviation ``STD``) evenly spaced on a circle of
radius ``RADIUS``. The generator, a small MLP, turns Gaussian noise into points of the plane;
the discriminator, another MLP, scores points as real (from the ring) or generated. They are
trained against each other (Goodfellow et al., 2014), the generator with the non-saturating
loss ``-log D(G(z))``, both with Adam (lr 1e-3, betas (0.5, 0.999), as DCGAN advises).

The classic failure of a GAN on this data set is mode collapse: the generator lands on one
or a few blobs and hops between them. The figure measures it with the rule of the unrolled-GAN
and VEEGAN papers (Metz et al. 2017; Srivastava et al. 2017), made explicit in
``count_modes``: a sample counts for its nearest mode if it lies within 3 standard deviations
of that mode's centre, else for no mode; a mode is covered if it holds at least 1% of the
samples. The target is ">= 7 of 8" modes; the share of samples in no mode is reported beside.

    from tinygrad_lite import gallery
    exhibit = gallery.run("gan_ring", "gallery_out")    # quick: about 10 s
    print(exhibit.report())
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.nn import functional as F

from ..core import ArgumentError, ShapeError
from . import Exhibit

MODES = 8  # blobs on the ring
RADIUS = 2.0  # of the ring
STD = 0.05  # of each blob, per coordinate
WITHIN = 3.0  # a sample belongs to a mode within this many standard deviations of its centre
MIN_SHARE = 0.01  # a mode is covered when it holds at least this share of the samples
NOISE = 4  # size of the generator's input noise
HIDDEN = 128  # width of both networks' hidden layers
BATCH = 256  # real and generated points per step
STEPS_QUICK = 1500
STEPS_FULL = 6000
EVAL_SAMPLES = 5000  # generated points the figure is measured on
PANELS = 5  # snapshots of the generator drawn in the picture


# ---------------------------------------------------------------- data and the mode count


def ring_centres(modes: int = MODES, radius: float = RADIUS) -> np.ndarray:
    """The (modes, 2) centres of the blobs, evenly spaced on a circle, the first at (radius, 0).

    >>> ring_centres(4, 1.0).round(6).tolist()
    [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [-0.0, -1.0]]
    """
    if isinstance(modes, bool) or not isinstance(modes, (int, np.integer)) or modes < 1:
        raise ArgumentError(f"ring_centres: modes={modes!r} must be a whole number >= 1")
    if not radius > 0:
        raise ArgumentError(f"ring_centres: radius={radius!r} must be a number > 0")
    angle = 2.0 * np.pi * np.arange(modes) / modes
    return radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def ring_of_gaussians(
    n: int,
    gen: np.random.Generator,
    *,
    modes: int = MODES,
    radius: float = RADIUS,
    std: float = STD,
) -> np.ndarray:
    """``n`` points (n, 2), float32: each from a blob chosen uniformly among ``modes``, the
    blob a Gaussian of standard deviation ``std`` around its centre on the ring.

    >>> X = ring_of_gaussians(1000, np.random.default_rng(0), std=0.01)
    >>> X.shape, bool(np.allclose(np.hypot(X[:, 0], X[:, 1]), 2.0, atol=0.06))
    ((1000, 2), True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ArgumentError(f"ring_of_gaussians: n={n!r} must be a whole number >= 1")
    if not std > 0:
        raise ArgumentError(f"ring_of_gaussians: std={std!r} must be a number > 0")
    centres = ring_centres(modes, radius)
    which = gen.integers(0, modes, size=n)
    return (centres[which] + std * gen.normal(size=(n, 2))).astype(np.float32)


@dataclass(frozen=True)
class ModeCount:
    """How generated samples spread over the modes (see ``count_modes``)."""

    counts: np.ndarray  # (modes,): samples assigned to each mode
    off: int  # samples within WITHIN standard deviations of no mode
    min_share: float  # share of the samples a mode needs to count as covered

    @property
    def total(self) -> int:
        return int(self.counts.sum()) + self.off

    @property
    def covered(self) -> int:
        """Modes holding at least ``min_share`` of all samples."""
        return int(np.sum(self.counts >= self.min_share * self.total))

    @property
    def off_share(self) -> float:
        """The share of samples that fall in no mode."""
        return self.off / self.total


def count_modes(
    samples: Any,
    centres: np.ndarray,
    std: float,
    *,
    within: float = WITHIN,
    min_share: float = MIN_SHARE,
) -> ModeCount:
    """Assign each sample to its nearest centre if it lies within ``within`` standard
    deviations (Euclidean distance <= within * std), else to no mode; a mode is covered when
    it holds at least ``min_share`` of all samples (off-mode samples included in the total).

    >>> centres = ring_centres(4, 1.0)
    >>> found = count_modes([[1.0, 0.01], [0.0, 0.98], [0.99, 0.0], [0.5, 0.5]], centres, 0.05)
    >>> found.counts.tolist(), found.off, found.covered
    ([2, 1, 0, 0], 1, 2)
    """
    x = np.asarray(samples.data if isinstance(samples, tl.Value) else samples, dtype=np.float64)
    c = np.asarray(centres, dtype=np.float64)
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1] or len(x) == 0 or len(c) == 0:
        raise ShapeError(
            f"count_modes: samples {x.shape} and centres {c.shape} must be (N, D) and (M, D) "
            "with N, M >= 1 and the same D"
        )
    if not std > 0 or not within > 0:
        raise ArgumentError(f"count_modes: std={std!r} and within={within!r} must both be > 0")
    if not 0.0 <= min_share <= 1.0:
        raise ArgumentError(f"count_modes: min_share={min_share!r} must be in [0, 1]")
    distance = np.linalg.norm(x[:, None, :] - c[None, :, :], axis=2)  # (N, M)
    nearest = distance.argmin(axis=1)
    close = distance[np.arange(len(x)), nearest] <= within * std
    counts = np.bincount(nearest[close], minlength=len(c))
    return ModeCount(counts=counts, off=int(np.sum(~close)), min_share=float(min_share))


# ---------------------------------------------------------------- the two networks


def generator(noise: int = NOISE, hidden: int = HIDDEN) -> nn.Sequential:
    """Noise (N, noise) -> points (N, 2): an MLP with two ReLU hidden layers."""
    return nn.Sequential(
        nn.Linear(noise, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 2),
    )


def discriminator(hidden: int = HIDDEN) -> nn.Sequential:
    """Points (N, 2) -> one logit each (N, 1): real if positive. LeakyReLU keeps a gradient
    flowing back to the generator from every point."""
    return nn.Sequential(
        nn.Linear(2, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, 1),
    )


@dataclass
class Training:
    """What ``train`` returns: both networks and the generator's samples along the way."""

    G: nn.Module
    D: nn.Module
    snapshots: list[tuple[int, np.ndarray]]  # (step, samples from a fixed noise batch)
    d_losses: list[float]
    g_losses: list[float]


def train(
    steps: int,
    seed: int = 0,
    *,
    snapshots: int = PANELS,
    batch: int = BATCH,
    hidden: int = HIDDEN,
) -> Training:
    """Train a GAN on the ring for ``steps`` steps (one discriminator step, then one generator
    step, each on a fresh batch) and keep ``snapshots`` views of the generator, the last at
    the end of training."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ArgumentError(f"gan_ring.train: steps={steps!r} must be a whole number >= 1")
    tl.manual_seed(seed)
    gen = np.random.default_rng(seed)
    G, D = generator(NOISE, hidden), discriminator(hidden)
    opt_g = optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    ones = np.ones((batch, 1), dtype=np.float32)
    zeros = np.zeros((batch, 1), dtype=np.float32)
    shown = gen.normal(size=(1000, NOISE)).astype(np.float32)  # the same noise in every panel
    when = set(np.linspace(0, steps, snapshots).astype(int).tolist())
    out = Training(G, D, [], [], [])

    def snapshot(step: int) -> None:
        with tl.no_grad():
            out.snapshots.append((step, G(shown).data.copy()))

    for step in range(steps):
        if step in when:
            snapshot(step)
        real = tl.Value(ring_of_gaussians(batch, gen), requires_grad=False)
        z = tl.Value(gen.normal(size=(batch, NOISE)).astype(np.float32), requires_grad=False)
        fake = G(z)
        # the discriminator: real points -> 1, generated ones -> 0 (the generator held fixed)
        still = tl.Value(fake.data, requires_grad=False)
        d_loss = F.binary_cross_entropy_with_logits(
            D(real), ones
        ) + F.binary_cross_entropy_with_logits(D(still), zeros)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        # the generator, non-saturating: make the discriminator say 1 on its points
        g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        out.d_losses.append(d_loss.item())
        out.g_losses.append(g_loss.item())
    snapshot(steps)
    return out


def sample(G: nn.Module, n: int, seed: int) -> np.ndarray:
    """``n`` points (n, 2) from the generator, on noise drawn with ``seed``."""
    z = np.random.default_rng(seed).normal(size=(n, NOISE)).astype(np.float32)
    with tl.no_grad():
        return np.asarray(G(z).data)


# ---------------------------------------------------------------- the picture and the exhibit


def draw(training: Training, path: Path) -> Path:
    """The generator's samples at each snapshot (one panel each) over the real ring."""
    from ..book.runner import figure, save_figure

    panels = len(training.snapshots)
    fig = figure(2.4 * panels, 2.7, what="gan_ring's picture")
    real = ring_of_gaussians(2000, np.random.default_rng(12345))
    axes = fig.subplots(1, panels, sharex=True, sharey=True)
    centres = ring_centres()
    for ax, (step, points) in zip(np.atleast_1d(axes), training.snapshots):
        found = count_modes(points, centres, STD)
        ax.scatter(real[:, 0], real[:, 1], s=2, c="0.75", label="data")
        ax.scatter(points[:, 0], points[:, 1], s=2, c="tab:red", alpha=0.5, label="generated")
        ax.set_title(f"step {step}: {found.covered}/8 modes", fontsize=9)
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
    fig.suptitle("GAN on a ring of 8 Gaussians: generator samples (red) over the data (grey)")
    return save_figure(fig, path)


def run(out: Path, *, full: bool = False, seed: int = 0, plots: bool = True) -> Exhibit:
    """Train the ring GAN (quick: STEPS_QUICK steps; full: STEPS_FULL) and measure its modes."""
    return exhibit(out, STEPS_FULL if full else STEPS_QUICK, seed=seed, plots=plots)


def exhibit(out: Path, steps: int, *, seed: int = 0, plots: bool = True) -> Exhibit:
    """Train for ``steps`` steps, measure the modes, draw the picture into ``out``."""
    start = time.perf_counter()
    training = train(steps, seed)
    seconds = time.perf_counter() - start
    found = count_modes(sample(training.G, EVAL_SAMPLES, seed + 1), ring_centres(), STD)
    pictures = [draw(training, Path(out) / "gan_ring.png")] if plots else []
    return Exhibit(
        architecture="GAN",
        title="a GAN on a ring of 8 Gaussians in 2-D",
        figures=[
            ("modes covered", f"{found.covered} of 8", ">= 7 of 8"),
            ("samples in no mode", f"{100 * found.off_share:.1f}%", "reported"),
        ],
        pictures=pictures,
        book=(
            "A GAN pits two networks against each other: a generator that turns random noise "
            "into samples and a discriminator that learns to tell them from real data. Each "
            "improves by exploiting the other's mistakes, until the generator's samples are "
            "hard to tell apart from the data. Its best-known weakness is mode collapse: the "
            "generator settles on a few kinds of sample that fool the discriminator."
        ),
        command="python examples/gallery/gan_ring.py --full",
        notes=[
            f"ring of {MODES} Gaussians, radius {RADIUS}, std {STD}; a sample counts for its "
            f"nearest mode within {WITHIN:g} std, a mode is covered with >= {MIN_SHARE:.0%} of "
            f"{EVAL_SAMPLES} samples",
            f"generator {NOISE}-{HIDDEN}-{HIDDEN}-2 (ReLU), discriminator 2-{HIDDEN}-{HIDDEN}-1 "
            f"(LeakyReLU 0.2), Adam lr 1e-3 betas (0.5, 0.999), batch {BATCH}",
            f"{steps} steps in {seconds:.1f} s (quick: {STEPS_QUICK}, --full: {STEPS_FULL})",
        ],
        model=training.G,
        example_input=tl.Value(
            np.random.default_rng(seed).normal(size=(2, NOISE)).astype(np.float32),
            requires_grad=False,
        ),
    )
