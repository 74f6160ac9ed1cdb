"""A small convolutional GAN (DCGAN-style) on the 8x8 handwritten digits.

The generator maps 16-D noise to an image: a linear layer, reshaped into a 2x2 map of 64
channels, then twice "upsample by 2, convolve 3x3" (2x2 -> 4x4 -> 8x8), with batch
normalisation and ReLU between, and a tanh, so pixels lie in [-1, 1] like the data
(scikit-learn's digits, scaled from [0, 1]). The discriminator is a small convolutional
network: two strided 3x3 convolutions with LeakyReLU (8x8 -> 4x4 -> 2x2), dropout, and a
linear layer giving one logit. Both train with Adam (lr 1e-3, betas (0.5, 0.999), as in
Radford et al.'s DCGAN), the generator with the non-saturating loss; the discriminator's
targets for real images are 0.9 rather than 1 (one-sided label smoothing, Salimans et al.
2016). Both it and the dropout are common stabilisers; in our runs they changed little, while
upsampling + convolution learned faster than transposed convolutions.

What is measured, and why. "Looks like digits" is hard to put into one honest number, so the
exhibit reports three, each beside the same figure for references that bracket it: real
digits (the best a generator could do), "independent pixels" (images whose every pixel is
drawn on its own from that pixel's values in the training set: the right brightness per
pixel, but no strokes) and uniform noise.

1. A judge, softmax regression trained on the real training digits (96% accurate on the
   held-out ones), reads each generated image. The share it assigns to one class with
   probability >= 0.9, and the number of classes that get at least 5% of those confident
   images: a generator that draws only ones would score well on the share but would cover
   one class. Targets: at least 9 of the 10 classes, and a share above independent pixels'.
2. The energy distance (Szekely and Rizzo) between generated and held-out images, as vectors
   of 64 pixels: 0 for two samples of one distribution, growing with any difference. It is
   reported beside the references, with no target: in pixel space it favours independent
   pixels (each pixel's spread exactly right) over drawings with clean strokes, so a
   generator can be far better at digits and still lose to them on this number.

    from tinygrad_lite import gallery
    exhibit = gallery.run("gan_digits", "gallery_out")
    print(exhibit.report())
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.nn import functional as F

from ..core import ArgumentError, ShapeError
from . import Exhibit

NOISE = 16  # size of the generator's input noise
CHANNELS = 32  # of the generator's last hidden map and the discriminator's first (full run)
CHANNELS_QUICK = 16  # the quick run: half the channels, about 40% less time per step
BATCH = 32  # real and generated images per step: small batches, more steps per second
LR_G = 1e-3
LR_D = 1e-3
REAL_LABEL = 0.9  # the discriminator's target on real images (one-sided label smoothing)
DROPOUT = 0.3  # in the discriminator, before its last layer
STEPS_QUICK = 1000
STEPS_FULL = 3000
TEST = 400  # held-out digits the figures are measured against
EVAL = 400  # generated images measured
CONFIDENT = 0.9  # a classifier probability counted as confident
CLASS_SHARE = 0.05  # a class is drawn when it gets this share of the confident images


# ---------------------------------------------------------------- the networks


def generator(noise: int = NOISE, channels: int = CHANNELS) -> nn.Sequential:
    """Noise (N, noise) -> images (N, 1, 8, 8) in [-1, 1]."""
    return nn.Sequential(
        nn.Linear(noise, 2 * channels * 2 * 2),
        nn.ReLU(),
        nn.Unflatten(1, (2 * channels, 2, 2)),  # (N, 2C, 2, 2)
        nn.Upsample(scale_factor=2),  # (N, 2C, 4, 4)
        nn.Conv2d(2 * channels, channels, 3, padding=1),  # (N, C, 4, 4)
        nn.BatchNorm2d(channels),
        nn.ReLU(),
        nn.Upsample(scale_factor=2),  # (N, C, 8, 8)
        nn.Conv2d(channels, 1, 3, padding=1),  # (N, 1, 8, 8)
        nn.Tanh(),
    )


def discriminator(channels: int = CHANNELS) -> nn.Sequential:
    """Images (N, 1, 8, 8) -> one logit each (N, 1): real if positive."""
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, stride=2, padding=1),  # (N, C, 4, 4)
        nn.LeakyReLU(0.2),
        nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1),  # (N, 2C, 2, 2)
        nn.LeakyReLU(0.2),
        nn.Flatten(),  # (N, 8C)
        nn.Dropout(DROPOUT),
        nn.Linear(2 * channels * 2 * 2, 1),
    )


# ---------------------------------------------------------------- the measures


def energy_distance(x: Any, y: Any) -> float:
    """The energy distance between two samples, rows as points: 2 E|X - Y| - E|X - X'| -
    E|Y - Y'| with Euclidean norms, each mean over all pairs (the V-statistic, so a sample's
    distance to itself is exactly 0). Never negative; 0 only for equal distributions.

    >>> energy_distance([[0.0], [2.0]], [[0.0], [2.0]])
    0.0
    >>> energy_distance([[0.0]], [[3.0]])
    6.0
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or not len(a) or not len(b):
        raise ShapeError(
            f"energy_distance: samples of shapes {a.shape} and {b.shape}; give two (N, D) "
            "arrays of points with the same D and at least one row each"
        )

    def mean_distance(p: np.ndarray, q: np.ndarray) -> float:
        squared = (p * p).sum(1)[:, None] + (q * q).sum(1)[None, :] - 2.0 * p @ q.T
        return float(np.sqrt(np.maximum(squared, 0.0)).mean())

    return 2.0 * mean_distance(a, b) - mean_distance(a, a) - mean_distance(b, b)


def independent_pixels(images: np.ndarray, n: int, gen: np.random.Generator) -> np.ndarray:
    """``n`` images whose every pixel is drawn on its own from that pixel's values among
    ``images`` (N, ...): each pixel's distribution is right, but nothing ties pixels together.

    >>> img = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> out = independent_pixels(img, 50, np.random.default_rng(0))
    >>> set(out[:, 0].tolist()) <= {0.0, 2.0}, set(out[:, 1].tolist()) <= {1.0, 3.0}
    (True, True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 or not len(images):
        raise ArgumentError(
            f"independent_pixels: n={n!r} images from {len(images)} source images; give n >= 1 "
            "and at least one source image"
        )
    flat = np.asarray(images).reshape(len(images), -1)
    rows = gen.integers(0, len(flat), size=(n, flat.shape[1]))  # a source image per pixel
    picked = flat[rows, np.arange(flat.shape[1])[None, :]]
    return picked.reshape((n, *np.shape(images)[1:]))


class Classifier:
    """Softmax regression on the 64 pixels, trained on real digits: the judge of whether a
    generated image reads as a digit. ``probabilities(images)`` gives (N, 10)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, steps: int = 300) -> None:
        x = tl.Value(images.reshape(len(images), -1).astype(np.float32), requires_grad=False)
        self.model = nn.Linear(64, 10)
        opt = optim.Adam(self.model.parameters(), lr=0.05)
        for _ in range(steps):  # full batch: 64 inputs, convex, converges in a few hundred
            loss = F.cross_entropy(self.model(x), labels) + 1e-3 * (self.model.weight**2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        x = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
        with tl.no_grad():
            return np.asarray(self.model(x).softmax(axis=1).data)


@dataclass(frozen=True)
class Confidence:
    """How a classifier of real digits reads a set of images."""

    share: float  # images given one class with probability >= CONFIDENT
    classes: int  # classes that receive at least CLASS_SHARE of those confident images


def confidence(probabilities: np.ndarray, threshold: float = CONFIDENT) -> Confidence:
    """Read (N, classes) probabilities: the share of rows whose top class has at least
    ``threshold``, and how many classes hold at least CLASS_SHARE of those rows.

    >>> p = np.array([[0.95, 0.05], [0.02, 0.98], [0.5, 0.5], [0.91, 0.09]])
    >>> confidence(p)
    Confidence(share=0.75, classes=2)
    """
    p = np.asarray(probabilities)
    if p.ndim != 2 or not len(p):
        raise ShapeError(f"confidence: probabilities of shape {p.shape}; give (N, classes)")
    if not 0.0 < threshold <= 1.0:
        raise ArgumentError(f"confidence: threshold={threshold!r} must be in (0, 1]")
    sure = p.max(axis=1) >= threshold
    counts = np.bincount(p.argmax(axis=1)[sure], minlength=p.shape[1])
    classes = int(np.sum(counts >= CLASS_SHARE * sure.sum())) if sure.any() else 0
    return Confidence(share=float(sure.mean()), classes=classes)


# ---------------------------------------------------------------- training


def split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits as (N, 1, 8, 8) images in [-1, 1], float32, split at random (by ``seed``)
    into training images and labels, and TEST held-out images and labels."""
    X, y = data.digits(flatten=False)
    X = (2.0 * X - 1.0).astype(np.float32)[:, None]  # [0, 1] -> [-1, 1], one channel
    order = np.random.default_rng(seed).permutation(len(X))
    test, train = order[:TEST], order[TEST:]
    return X[train], y[train], X[test], y[test]


@dataclass
class Training:
    """What ``train`` returns: both networks (the generator in eval mode) and the losses."""

    G: nn.Module
    D: nn.Module
    d_losses: list[float]
    g_losses: list[float]


def train(
    images: np.ndarray,
    steps: int,
    seed: int = 0,
    *,
    batch: int = BATCH,
    channels: int = CHANNELS,
    watch: Callable[[int, nn.Module], None] | None = None,
    every: int = 100,
) -> Training:
    """Train the GAN on ``images`` (N, 1, 8, 8) for ``steps`` steps, each one discriminator
    update (real images -> 1, generated -> 0) then one generator update (its images -> 1),
    on a batch drawn at random. ``watch(step, G)``, if given, sees the generator in eval
    mode every ``every`` steps."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ArgumentError(f"gan_digits.train: steps={steps!r} must be a whole number >= 1")
    tl.manual_seed(seed)
    gen = np.random.default_rng(seed)
    G, D = generator(NOISE, channels), discriminator(channels)
    opt_g = optim.Adam(G.parameters(), lr=LR_G, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=LR_D, betas=(0.5, 0.999))
    ones = np.ones((batch, 1), dtype=np.float32)
    out = Training(G, D, [], [])
    for step in range(1, steps + 1):
        real = tl.Value(images[gen.integers(0, len(images), batch)], requires_grad=False)
        z = tl.Value(gen.normal(size=(batch, NOISE)).astype(np.float32), requires_grad=False)
        fake = G(z)  # (B, 1, 8, 8)
        still = tl.Value(fake.data, requires_grad=False)  # the generator held fixed
        d_loss = F.binary_cross_entropy_with_logits(
            D(real), REAL_LABEL * ones
        ) + F.binary_cross_entropy_with_logits(D(still), 0.0 * ones)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)  # non-saturating
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        out.d_losses.append(d_loss.item())
        out.g_losses.append(g_loss.item())
        if watch is not None and step % every == 0:
            G.eval()
            watch(step, G)
            G.train()
    G.eval()
    return out


def sample(G: nn.Module, n: int, seed: int) -> np.ndarray:
    """``n`` images (n, 1, 8, 8) from the generator, on noise drawn with ``seed``."""
    z = np.random.default_rng(seed).normal(size=(n, NOISE)).astype(np.float32)
    with tl.no_grad():
        return np.asarray(G(z).data)


# ---------------------------------------------------------------- the figures and the picture


@dataclass(frozen=True)
class Scores:
    """The figures of one set of images, measured against the held-out digits."""

    energy: float  # energy distance to the held-out digits
    confident: Confidence  # how the classifier of real digits reads them


def score(images: np.ndarray, held_out: np.ndarray, judge: Classifier) -> Scores:
    flat = np.asarray(images).reshape(len(images), -1)
    return Scores(
        energy=energy_distance(flat, held_out.reshape(len(held_out), -1)),
        confident=confidence(judge.probabilities(flat)),
    )


def _tiles(images: np.ndarray, rows: int) -> np.ndarray:
    """(rows * cols, 1, 8, 8) images as one (rows * 9 - 1, cols * 9 - 1) picture, a blank
    pixel (-1, white in the picture) between tiles."""
    cols = len(images) // rows
    padded = np.full((rows, cols, 9, 9), -1.0)
    padded[:, :, :8, :8] = np.asarray(images)[: rows * cols, 0].reshape(rows, cols, 8, 8)
    return padded.transpose(0, 2, 1, 3).reshape(rows * 9, cols * 9)[:-1, :-1]


def draw(fake: np.ndarray, real: np.ndarray, path: Path, caption: str) -> Path:
    """An 8x8 grid of generated digits beside an 8x8 grid of held-out real ones."""
    from ..book.runner import figure, save_figure

    fig = figure(8.0, 4.4, what="gan_digits's picture")
    fig.get_layout_engine().set(wspace=0.08)  # a gap between the two grids
    axes = fig.subplots(1, 2)
    for ax, images, title in zip(axes, (fake, real), ("generated", "real (held out)")):
        ax.imshow(_tiles(images[:64], 8), cmap="gray_r", vmin=-1, vmax=1)
        ax.set_title(title)
        ax.set_axis_off()
    fig.suptitle(f"DCGAN on the 8x8 digits: {caption}", fontsize=10)
    return save_figure(fig, path)


def run(out: Path, *, full: bool = False, seed: int = 0, plots: bool = True) -> Exhibit:
    """Train the digits GAN and score it: quick, STEPS_QUICK steps with CHANNELS_QUICK
    channels; full, STEPS_FULL steps with CHANNELS."""
    if full:
        return exhibit(out, STEPS_FULL, channels=CHANNELS, seed=seed, plots=plots)
    return exhibit(out, STEPS_QUICK, channels=CHANNELS_QUICK, seed=seed, plots=plots)


def exhibit(
    out: Path, steps: int, *, channels: int = CHANNELS, seed: int = 0, plots: bool = True
) -> Exhibit:
    """Train for ``steps`` steps, score the generator against the references, draw it."""
    train_x, train_y, test_x, _ = split(seed)
    start = time.perf_counter()
    training = train(train_x, steps, seed, channels=channels)
    seconds = time.perf_counter() - start
    tl.manual_seed(seed)  # the judge's initial weights do not depend on the steps
    judge = Classifier(train_x, train_y)
    gen = np.random.default_rng(seed + 1)
    fake = sample(training.G, EVAL, seed + 1)
    ours = score(fake, test_x, judge)
    real = score(train_x[gen.permutation(len(train_x))[:EVAL]], test_x, judge)
    pixels = score(independent_pixels(train_x, EVAL, gen), test_x, judge)
    noise = score(gen.uniform(-1.0, 1.0, size=(EVAL, 64)), test_x, judge)
    caption = f"{ours.confident.classes} of 10 classes drawn confidently after {steps} steps"
    pictures = [draw(fake, test_x, Path(out) / "gan_digits.png", caption)] if plots else []
    return Exhibit(
        architecture="GAN",
        title="a convolutional GAN (DCGAN-style) on the 8x8 digits",
        figures=[
            (
                "classes drawn confidently",
                f"{ours.confident.classes} of 10",
                ">= 9 of 10",
            ),
            (
                "read confidently (p >= 0.9)",
                f"{ours.confident.share:.0%}",
                f"> {100 * pixels.confident.share:.0f}% (independent pixels; real digits "
                f"{100 * real.confident.share:.0f}%)",
            ),
            (
                "energy distance to held-out digits",
                f"{ours.energy:.3f}",
                f"reported (real digits {real.energy:.3f}, independent pixels "
                f"{pixels.energy:.3f}, uniform noise {noise.energy:.2f})",
            ),
        ],
        pictures=pictures,
        book=(
            "A GAN's generator learns to draw new examples of the data, here handwritten "
            "digits, by trying to fool a discriminator that sees both real and generated "
            "images. DCGAN made this work for images: both networks are convolutional, the "
            "generator growing a small map of features into a picture with transposed "
            "convolutions or upsampling."
        ),
        command="python examples/gallery/gan_digits.py --full",
        notes=[
            f"{len(train_x)} training digits, {TEST} held out (scaled to [-1, 1]); noise "
            f"{NOISE}-D; batch {BATCH}; Adam lr {LR_G:g} (generator) and {LR_D:g} "
            "(discriminator), betas (0.5, 0.999)",
            f"judge: softmax regression on the training digits; a class counts as drawn when "
            f"it gets >= {CLASS_SHARE:.0%} of the confidently read images; measured on "
            f"{EVAL} generated images",
            f"{channels} and {2 * channels} channels, {steps} steps, in {seconds:.1f} s (quick: "
            f"{CHANNELS_QUICK} channels, {STEPS_QUICK} steps; --full: {CHANNELS}, {STEPS_FULL})",
        ],
        model=training.G,
        example_input=tl.Value(
            np.random.default_rng(seed).normal(size=(2, NOISE)).astype(np.float32),
            requires_grad=False,
        ),
    )
