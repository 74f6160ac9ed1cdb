"""Contrastive self-supervised learning (SimCLR) on the 8x8 digits, labels used only at the end.

SimCLR learns features without labels: each image of a batch is distorted twice at random
(shifted by a pixel, turned a little, a patch erased, noise added), an encoder maps both
views to features, a small projection head maps those to vectors ``z``, and the NT-Xent loss
asks each view to pick its partner out of all the other views of the batch:

    loss_i = -log( exp(cos(z_i, z_j(i)) / tau) / sum_{k != i} exp(cos(z_i, z_k) / tau) ),

the cross-entropy of a softmax over cosine similarities (temperature ``tau``), whose right
answer is the other view of the same image. What stays the same under the distortions (the
digit's shape) is what the features keep.

Then the labels come in, 10 per class: a logistic regression on the encoder's features (the
projection head is dropped, as in the paper) against the same logistic regression on the raw
pixels, both scored on held-out digits the encoder never saw.

Reference: Chen, Kornblith, Norouzi and Hinton, "A Simple Framework for Contrastive
Learning of Visual Representations" (2020).
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
from ..optional import optional_import
from . import Exhibit

# ---------------------------------------------------------------------------------------------
# augmentations, on (N, 8, 8) images in [0, 1]


def _check_images(images: Any, op: str) -> np.ndarray:
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 3:
        raise ShapeError(f"{op}: images of shape {x.shape} must be (N, H, W)")
    return x


def shift_and_rotate(
    images: Any, gen: np.random.Generator, max_shift: int = 1, max_degrees: float = 15.0
) -> np.ndarray:
    """Each image moved by a whole number of pixels (up to ``max_shift`` each way) and turned
    about its centre by up to ``max_degrees``, by bilinear interpolation; outside is 0.

    >>> img = np.zeros((1, 8, 8), dtype=np.float32); img[0, 3, 3] = 1.0
    >>> out = shift_and_rotate(img, np.random.default_rng(0), max_shift=0, max_degrees=0)
    >>> bool((out == img).all())
    True
    """
    x = _check_images(images, "shift_and_rotate")
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
        raise ArgumentError(
            f"shift_and_rotate: max_shift={max_shift!r} must be a whole number of pixels >= 0"
        )
    n, h, w = x.shape
    angle = np.deg2rad(gen.uniform(-max_degrees, max_degrees, n))[:, None, None]  # (N, 1, 1)
    dx = gen.integers(-max_shift, max_shift + 1, (n, 1, 1))  # (N, 1, 1)
    dy = gen.integers(-max_shift, max_shift + 1, (n, 1, 1))
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)  # (H, W) each
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    # where each output pixel comes from: undo the shift, then the rotation
    ry, rx = rows - dy - cy, cols - dx - cx  # (N, H, W)
    src_x = np.cos(angle) * rx + np.sin(angle) * ry + cx
    src_y = -np.sin(angle) * rx + np.cos(angle) * ry + cy
    x0, y0 = np.floor(src_x).astype(np.int64), np.floor(src_y).astype(np.int64)
    fx, fy = src_x - x0, src_y - y0
    out = np.zeros_like(x)
    batch = np.arange(n)[:, None, None]
    for ox, oy, weight in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        xi, yi = x0 + ox, y0 + oy
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        pixel = x[batch, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]
        out += np.where(inside, pixel * weight, 0.0).astype(np.float32)
    return out


def random_erase(
    images: Any, gen: np.random.Generator, p: float = 0.5, sizes: tuple[int, int] = (2, 4)
) -> np.ndarray:
    """With probability ``p`` per image, a random rectangle (sides ``sizes[0]..sizes[1]``
    pixels) set to 0."""
    x = _check_images(images, "random_erase")
    n, h, w = x.shape
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"random_erase: p={p!r} must be a probability in [0, 1]")
    lo, hi = sizes
    if not 1 <= lo <= hi <= min(h, w):
        raise ArgumentError(
            f"random_erase: sizes={sizes!r} must be (smallest, largest) side with "
            f"1 <= smallest <= largest <= {min(h, w)} (the images are {h}x{w})"
        )
    height, width = gen.integers(lo, hi + 1, n), gen.integers(lo, hi + 1, n)  # (N,)
    top = (gen.random(n) * (h - height + 1)).astype(np.int64)
    left = (gen.random(n) * (w - width + 1)).astype(np.int64)
    rows, cols = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    inside = (
        (rows >= top[:, None, None])
        & (rows < (top + height)[:, None, None])
        & (cols >= left[:, None, None])
        & (cols < (left + width)[:, None, None])
    )  # (N, H, W)
    erase = inside & (gen.random((n, 1, 1)) < p)
    return np.where(erase, 0.0, x).astype(np.float32)


def augment(
    images: Any,
    gen: np.random.Generator,
    degrees: float = 15.0,
    erase: float = 0.5,
    noise: float = 0.1,
) -> np.ndarray:
    """One random view of each image: shift by up to a pixel and rotate by up to ``degrees``,
    erase a patch with probability ``erase``, add Gaussian noise of deviation ``noise``."""
    x = random_erase(shift_and_rotate(images, gen, max_degrees=degrees), gen, p=erase)
    return np.clip(x + noise * gen.standard_normal(x.shape), 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# the loss


def nt_xent(z: Any, temperature: float = 0.5) -> Value:
    """The NT-Xent (normalized temperature-scaled cross-entropy) loss of SimCLR.

    ``z`` is (2N, D): rows i and i + N are the two views of image i. Each row's cosine
    similarities with all other rows, divided by ``temperature``, are the logits of a softmax
    whose right class is its partner; the loss is the mean cross-entropy over all 2N rows.

    >>> z = tl.Value(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]))
    >>> round(nt_xent(z, temperature=1.0).item(), 4)  # log(e + 2) - 1
    0.5514
    """
    z = z if isinstance(z, Value) else Value(np.asarray(z, dtype=np.float32), requires_grad=False)
    if z.ndim != 2 or z.shape[0] < 2 or z.shape[0] % 2:
        raise ShapeError(
            f"nt_xent: z of shape {z.shape} must be (2N, D) with N >= 1: the first N rows "
            "one view of each image, the next N the other view"
        )
    if not np.isfinite(temperature) or temperature <= 0:
        raise ArgumentError(f"nt_xent: temperature={temperature!r} must be a positive number")
    rows, n = z.shape[0], z.shape[0] // 2
    unit = z / ((z * z).sum(axis=1, keepdims=True) + 1e-12).sqrt()  # (2N, D), rows of length 1
    logits = (unit @ unit.T) / temperature  # (2N, 2N) cosine similarities / tau
    # a row is not a candidate for itself: a large negative logit gives it probability 0
    self_mask = np.where(np.eye(rows, dtype=bool), -1e9, 0.0).astype(logits.dtype)
    partner = np.concatenate([np.arange(n, rows), np.arange(n)])  # (2N,)
    return F.cross_entropy(logits + self_mask, partner)


# ---------------------------------------------------------------------------------------------
# the model and its evaluation


class SimCLR(nn.Module):
    """An MLP encoder (the features) and a projection head (what the loss sees).

    ``model(images)`` gives the projections ``z``; ``model.encoder(images)`` the features
    that the linear classifier uses. Images come as (N, 8, 8) or (N, 64).
    """

    def __init__(self, hidden: int = 256, features: int = 128, projection: int = 64) -> None:
        self.encoder = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Linear(hidden, features),
            nn.BatchNorm1d(features),
            nn.ReLU(),
        )
        self.head = nn.Sequential(
            nn.Linear(features, features), nn.ReLU(), nn.Linear(features, projection)
        )

    def forward(self, images: Any) -> Value:
        return self.head(self.encoder(images))  # (N, projection)


def linear_probe(
    train: np.ndarray,
    train_labels: np.ndarray,
    test: np.ndarray,
    test_labels: np.ndarray,
    per_class: int,
    draws: int,
    seed: int,
) -> np.ndarray:
    """Test accuracy of a logistic regression trained on ``per_class`` labelled rows of each
    class of ``train``, for ``draws`` random draws of those rows (the same draws for the
    same ``seed``). Columns are standardized with the whole of ``train`` (no labels needed)."""
    linear_model = optional_import(
        "sklearn.linear_model", "the contrastive exhibit's linear classifier", "scikit-learn"
    )
    mean, std = train.mean(axis=0), train.std(axis=0) + 1e-6
    a, b = (train - mean) / std, (test - mean) / std
    gen = np.random.default_rng(seed)
    classes = np.unique(train_labels)
    scores = []
    for _ in range(draws):
        chosen = np.concatenate(
            [
                gen.choice(np.flatnonzero(train_labels == c), per_class, replace=False)
                for c in classes
            ]
        )
        classifier = linear_model.LogisticRegression(max_iter=2000)
        classifier.fit(a[chosen], train_labels[chosen])
        scores.append(classifier.score(b, test_labels))
    return np.array(scores)


@dataclass(frozen=True)
class Config:
    train_steps: int = 300  # Adam steps, one batch of images (two views each) per step
    batch: int = 256
    lr: float = 2e-3
    temperature: float = 0.5
    degrees: float = 15.0  # largest rotation of a view
    erase: float = 0.5  # probability that a view loses a patch
    noise: float = 0.1  # deviation of the noise added to a view
    hidden: int = 256
    features: int = 128
    test: int = 500  # held-out digits, never seen by the encoder
    per_class: int = 10  # labels per class for the linear classifiers
    draws: int = 10  # random draws of those labels


QUICK = Config()
FULL = Config(train_steps=1000)


@dataclass
class Measured:
    model: SimCLR
    losses: list[float]
    raw: np.ndarray  # the classifier on pixels: test accuracy per draw of labels
    learned: np.ndarray  # the classifier on the encoder's features, the same draws
    test_features: np.ndarray
    test_labels: np.ndarray
    views: np.ndarray  # (4, 6, 8, 8): a few digits and five random views of each
    seconds: float


def train_and_measure(config: Config, seed: int = 0) -> Measured:
    tl.manual_seed(seed)
    gen = np.random.default_rng(seed)
    start = time.perf_counter()
    X, y = data.digits(flatten=False)  # (1797, 8, 8) in [0, 1]
    order = gen.permutation(len(X))
    X, y = X[order].astype(np.float32), y[order]
    X_test, y_test, X_pool, y_pool = (
        X[: config.test],
        y[: config.test],
        X[config.test :],
        y[config.test :],
    )

    def view(images: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        return augment(images, gen, config.degrees, config.erase, config.noise)

    model = SimCLR(config.hidden, config.features)
    optimizer = optim.Adam(model.parameters(), lr=config.lr)
    losses: list[float] = []
    for step in range(config.train_steps):
        images = X_pool[gen.choice(len(X_pool), config.batch, replace=False)]  # no labels
        views = np.concatenate([view(images, gen), view(images, gen)])  # (2B, 8, 8)
        loss = nt_xent(model(views), config.temperature)
        optimizer.zero_grad()
        loss.backward()
        optimizer.lr = config.lr * (1.0 - step / config.train_steps)
        optimizer.step()
        losses.append(float(loss.item()))

    model.eval()
    with tl.no_grad():
        pool_features = model.encoder(X_pool).numpy()
        test_features = model.encoder(X_test).numpy()
    flat = len(X_pool), -1
    raw = linear_probe(
        X_pool.reshape(flat), y_pool, X_test.reshape(len(X_test), -1), y_test,
        config.per_class, config.draws, seed,
    )  # fmt: skip
    learned = linear_probe(
        pool_features, y_pool, test_features, y_test, config.per_class, config.draws, seed
    )
    shown = X_test[[int(np.argmax(y_test == c)) for c in (0, 2, 4, 7)]]  # one of each
    views = np.stack([shown] + [view(shown, gen) for _ in range(5)], axis=1)  # (4, 6, 8, 8)
    return Measured(
        model=model,
        losses=losses,
        raw=raw,
        learned=learned,
        test_features=test_features,
        test_labels=y_test,
        views=views,
        seconds=time.perf_counter() - start,
    )


def plot_results(result: Measured, path: Path) -> Path:
    """The two classifiers' accuracies, and the learned features of the test digits (PCA)."""
    fig = figure(11.0, 4.2, "the contrastive exhibit's pictures")
    ax_bars, ax_pca = fig.subplots(1, 2, width_ratios=[0.7, 1])
    means = [result.raw.mean(), result.learned.mean()]
    spreads = [result.raw.std(), result.learned.std()]
    ax_bars.bar(
        ["raw pixels", "contrastive\nfeatures"], means, yerr=spreads, capsize=6,
        color=["tab:gray", "tab:green"],
    )  # fmt: skip
    for i, m in enumerate(means):
        ax_bars.text(i, m / 2, f"{m:.1%}", ha="center", color="white", fontsize=12)
    ax_bars.set(
        ylim=(0, 1), ylabel="held-out accuracy",
        title=f"logistic regression, 10 labels per class\n({len(result.raw)} draws of the labels)",
    )  # fmt: skip
    f = result.test_features - result.test_features.mean(axis=0)
    _, _, vt = np.linalg.svd(f, full_matrices=False)
    xy = f @ vt[:2].T  # (N, 2): the first two principal components
    for c in range(10):
        pick = result.test_labels == c
        ax_pca.scatter(xy[pick, 0], xy[pick, 1], s=6, color=f"C{c}", alpha=0.6)
        centre = np.median(xy[pick], axis=0)
        ax_pca.text(centre[0], centre[1], str(c), fontsize=13, weight="bold", color=f"C{c}")
    ax_pca.set(
        title="learned features of the held-out digits (PCA), coloured by class",
        xlabel="PC 1", ylabel="PC 2",
    )  # fmt: skip
    return save_figure(fig, path)


def plot_views(result: Measured, path: Path) -> Path:
    """A few digits and five random views of each, as the encoder saw them."""
    rows, cols = result.views.shape[:2]
    fig = figure(1.2 * cols, 1.25 * rows, "the contrastive exhibit's pictures")
    axes = fig.subplots(rows, cols)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(result.views[r, c], cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title("original" if c == 0 else f"view {c}", fontsize=9)
    return save_figure(fig, path)


BOOK = (
    "Zef's guide names self-supervised and contrastive learning as the way to learn from "
    "data without labels: make a task out of the data itself (here: tell which two distorted "
    "images come from the same original), and the features that solve it serve later tasks "
    "that have only a few labels, like transfer learning from a pretrained network."
)


def run(out: Path, *, full: bool = False, seed: int = 0, plots: bool = True) -> Exhibit:
    """Train SimCLR on the digits' pixels, then classify with 10 labels per class."""
    config = FULL if full else QUICK
    result = train_and_measure(config, seed)
    raw, learned = result.raw, result.learned
    wins = int((learned > raw).sum())
    pictures: list[Path] = []
    if plots:
        pictures.append(plot_results(result, Path(out) / "contrastive_accuracy.png"))
        pictures.append(plot_views(result, Path(out) / "contrastive_views.png"))
    return Exhibit(
        architecture="contrastive self-supervised learning (SimCLR)",
        title="SimCLR on the 8x8 digits, then a linear classifier with 10 labels per class",
        figures=[
            ("held-out accuracy, contrastive features", f"{learned.mean():.1%}", "> raw pixels"),
            ("held-out accuracy, raw pixels", f"{raw.mean():.1%}", "(the baseline)"),
            (
                "draws of the labels where features win",
                f"{wins} of {len(raw)}",
                f"> {len(raw) // 2} of {len(raw)}",
            ),
        ],
        pictures=pictures,
        book=BOOK,
        command="python examples/gallery/contrastive.py --full",
        notes=[
            f"accuracy over {len(raw)} draws of 10 labels per class, on {len(result.test_labels)} "
            f"held-out digits: features {learned.mean():.1%} +- {learned.std():.1%}, "
            f"pixels {raw.mean():.1%} +- {raw.std():.1%}",
            f"{'full' if full else 'quick'} run: encoder 64-{config.hidden}-{config.features} "
            f"(BatchNorm, ReLU), head {config.features}-{config.features}-64, "
            f"{config.train_steps} Adam steps of {config.batch} digits x 2 views, "
            f"temperature {config.temperature}, NT-Xent {np.mean(result.losses[:10]):.2f} -> "
            f"{np.mean(result.losses[-10:]):.2f} (chance: ln {2 * config.batch - 1} = "
            f"{np.log(2 * config.batch - 1):.2f}), {result.seconds:.0f} s",
        ],
        model=result.model,
        example_input=np.asarray(data.digits(flatten=False)[0][:2], dtype=np.float32),
    )
