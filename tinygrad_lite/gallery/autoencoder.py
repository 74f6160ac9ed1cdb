"""An autoencoder with a 2-D code on the 8x8 digits: squeeze 64 pixels through two numbers.

The encoder (64 -> 128 -> 32 -> 2, ReLU between) maps a digit to a point of the plane, the
decoder (2 -> 32 -> 128 -> 64, a sigmoid at the end) draws a digit back from that point, and
the two learn together to make the drawing match the input (mean squared error per pixel,
pixels in [0, 1]). Nothing tells the network the classes, yet the code of each test digit,
coloured by its class afterwards, shows the classes as regions of the plane.

The figure is the reconstruction error on held-out digits beside two baselines computed with
NumPy: predicting the mean training digit for every digit (what a code that says nothing
gives), and 2-D PCA (the best *linear* 2-number code, from an SVD of the centred training
digits). A linear encoder and decoder can do no better than PCA; the ReLU layers let the
autoencoder beat it.

    python examples/gallery/autoencoder.py [--full] [--seed 0] [--out gallery_out]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.core import ArgumentError, ShapeError
from tinygrad_lite.nn import functional as F

from . import Exhibit

SPLIT_SEED = 0  # the held-out digits are the same for every training seed
TEST_SIZE = 0.2  # 360 of the 1,797 digits are held out
PIXELS = 64  # 8x8
QUICK_EPOCHS, FULL_EPOCHS = 40, 300
BATCH_SIZE = 64
LR = 2e-3


def held_out_digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 8x8 digits as float32 rows of 64 pixels in [0, 1]: ``X_train, y_train, X_test,
    y_test``, with 360 test digits held out by a fixed seed (the same split every run)."""
    X, y = data.digits()
    X_train, X_test, y_train, y_test = data.train_test_split(
        X.astype(np.float32), y, test_size=TEST_SIZE, seed=SPLIT_SEED
    )
    return X_train, y_train, X_test, y_test


class Autoencoder(nn.Module):
    """encoder 64 -> 128 -> 32 -> ``code``, decoder ``code`` -> 32 -> 128 -> 64 (sigmoid)."""

    def __init__(self, code: int = 2, hidden: tuple[int, int] = (128, 32)) -> None:
        wide, narrow = hidden
        self.encoder = nn.Sequential(
            nn.Linear(PIXELS, wide),
            nn.ReLU(),
            nn.Linear(wide, narrow),
            nn.ReLU(),
            nn.Linear(narrow, code),  # (N, code): the code, no activation
        )
        self.decoder = nn.Sequential(
            nn.Linear(code, narrow),
            nn.ReLU(),
            nn.Linear(narrow, wide),
            nn.ReLU(),
            nn.Linear(wide, PIXELS),
            nn.Sigmoid(),  # (N, 64): pixels in (0, 1), like the data
        )

    def forward(self, x: Any) -> tl.Value:
        return self.decoder(self.encoder(x))


def mean_digit_mse(X_train: np.ndarray, X_test: np.ndarray) -> float:
    """Mean squared error per pixel of predicting the mean training digit for every test digit."""
    _check_rows("mean_digit_mse", X_train, X_test)
    return float(np.mean((X_test - X_train.mean(axis=0)) ** 2))


def pca_reconstruction(X_train: np.ndarray, X_test: np.ndarray, components: int = 2) -> np.ndarray:
    """The test rows rebuilt from their first ``components`` principal components.

    The components are the top right-singular vectors of the centred training rows (NumPy's
    SVD): the best linear code of that size, in squared error, for the training data.
    """
    _check_rows("pca_reconstruction", X_train, X_test)
    limit = min(X_train.shape)
    if isinstance(components, bool) or not isinstance(components, int) or components < 1:
        raise ArgumentError(
            f"pca_reconstruction: components={components!r}; give a whole number >= 1"
        )
    if components > limit:
        raise ArgumentError(
            f"pca_reconstruction: components={components} but the training rows of shape "
            f"{X_train.shape} have at most {limit}; ask for fewer"
        )
    mean = X_train.mean(axis=0)
    _, _, Vt = np.linalg.svd(X_train - mean, full_matrices=False)
    V = Vt[:components].T  # (pixels, components)
    return (X_test - mean) @ V @ V.T + mean


def pca_mse(X_train: np.ndarray, X_test: np.ndarray, components: int = 2) -> float:
    """Mean squared error per pixel of :func:`pca_reconstruction` on the test rows."""
    return float(np.mean((pca_reconstruction(X_train, X_test, components) - X_test) ** 2))


def reconstruction_mse(model: nn.Module, X: np.ndarray) -> float:
    """Mean squared error per pixel between ``X`` and ``model(X)`` (no graph recorded)."""
    with tl.no_grad():
        out = model(tl.Value(X, requires_grad=False)).data
    return float(np.mean((out - X) ** 2))


def first_of_each_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` examples of each class present, class by class.

    >>> first_of_each_class(np.array([1, 0, 1, 0, 1]), 2).tolist()
    [1, 3, 0, 2]
    """
    labels = np.asarray(labels)
    return np.concatenate(
        [np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)]
    ).astype(np.int64)


def epoch_count(epochs: int | None, full: bool, quick_n: int, full_n: int, owner: str) -> int:
    """``epochs`` if given (a whole number >= 1), else ``full_n`` or ``quick_n``."""
    if epochs is None:
        return full_n if full else quick_n
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ArgumentError(f"{owner}: epochs={epochs!r}; give a whole number >= 1 (or None)")
    return epochs


def run_mode(full: bool, full_n: int) -> str:
    """How the notes name the run: "full", or "quick" with the full run's epochs."""
    return "full" if full else f"quick (full: {full_n} epochs)"


def progress(history: list[float], spec: str) -> str:
    """The held-out figure a quarter of the way through training and at the end.

    >>> progress([4.0, 3.0, 2.0, 1.0], ".1f")
    'after 1 epochs 4.0, after 4 1.0'
    """
    quarter = max(len(history) // 4, 1)
    return f"after {quarter} epochs {history[quarter - 1]:{spec}}, after {len(history)} " + (
        f"{history[-1]:{spec}}"
    )


def train_epochs(
    model: nn.Module,
    loss_fn: Callable[[np.ndarray], tl.Value],
    X: np.ndarray,
    epochs: int,
    *,
    lr: float = LR,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    after_epoch: Callable[[int], None] | None = None,
) -> float:
    """Adam on ``loss_fn(batch)`` over shuffled mini-batches of ``X``; returns the seconds."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    order_rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = order_rng.permutation(len(X))
        for first in range(0, len(X), batch_size):
            batch = X[order[first : first + batch_size]]
            optimizer.zero_grad()
            loss_fn(batch).backward()
            optimizer.step()
        if after_epoch is not None:
            after_epoch(epoch)
    return time.perf_counter() - start


def run(
    out: Path, *, full: bool = False, seed: int = 0, plots: bool = True, epochs: int | None = None
) -> Exhibit:
    """Train the 2-D autoencoder, measure it against the baselines and draw its pictures."""
    tl.manual_seed(seed)
    X_train, _, X_test, y_test = held_out_digits()
    epochs = epoch_count(epochs, full, QUICK_EPOCHS, FULL_EPOCHS, "autoencoder.run")
    model = Autoencoder()

    def loss_fn(batch: np.ndarray) -> tl.Value:
        return F.mse_loss(model(tl.Value(batch, requires_grad=False)), batch)

    history: list[float] = []
    seconds = train_epochs(
        model,
        loss_fn,
        X_train,
        epochs,
        seed=seed,
        after_epoch=lambda epoch: history.append(reconstruction_mse(model, X_test)),
    )
    ours = history[-1]
    mean_base = mean_digit_mse(X_train, X_test)
    pca_base = pca_mse(X_train, X_test)
    pictures: list[Path] = []
    if plots:
        shown = X_test[first_of_each_class(y_test, 2)]  # two test digits of each class
        with tl.no_grad():
            codes = model.encoder(tl.Value(X_test, requires_grad=False)).data
            rebuilt = model(tl.Value(shown, requires_grad=False)).data
        pca_rebuilt = pca_reconstruction(X_train, shown)
        pictures = [
            code_scatter(codes, y_test, Path(out) / "autoencoder_codes.png"),
            reconstruction_grid(
                shown, rebuilt, pca_rebuilt, Path(out) / "autoencoder_reconstructions.png"
            ),
        ]
    return Exhibit(
        architecture="autoencoder",
        title="autoencoder with a 2-D code on the 8x8 digits",
        figures=[
            ("test MSE per pixel vs mean digit", f"{ours:.4f}", f"< {mean_base:.4f}"),
            ("test MSE per pixel vs 2-D PCA", f"{ours:.4f}", f"<= {pca_base:.4f}"),
        ],
        pictures=pictures,
        book=(
            "An autoencoder learns to copy its input through a narrow middle layer, so it has "
            "to find a short code that keeps what matters; the encoder half is then a "
            "compressor and feature extractor learned without labels, and the decoder half "
            "turns codes back into data."
        ),
        command="python examples/gallery/autoencoder.py --full",
        notes=[
            f"{len(X_train)} training digits, {len(X_test)} held out (split seed {SPLIT_SEED}); "
            f"MLP 64-128-32-2-32-128-64, Adam lr {LR}, batch {BATCH_SIZE}, MSE loss",
            f"{run_mode(full, FULL_EPOCHS)}: {epochs} epochs in {seconds:.1f} s; "
            f"test MSE {progress(history, '.4f')}",
        ],
        model=model,
        example_input=tl.Value(X_test[:2], requires_grad=False),
    )


def code_scatter(codes: np.ndarray, labels: np.ndarray, path: Path) -> Path:
    """The 2-D code of every test digit, coloured by its class, with each class's label at
    the middle (median) of its points."""
    from tinygrad_lite.book.runner import figure, save_figure

    fig = figure(5.6, 5.0, "the autoencoder's pictures")
    ax = fig.subplots()
    colours = class_colours()
    for digit in range(10):
        points = codes[labels == digit]
        ax.scatter(points[:, 0], points[:, 1], s=9, color=colours[digit], label=str(digit))
        if len(points):
            x, y = np.median(points, axis=0)
            ax.text(x, y, str(digit), fontsize=14, weight="bold", ha="center", va="center")
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
    ax.legend(title="class", fontsize=7, markerscale=1.5, loc="best", ncols=2)
    ax.set_title(f"the 2-D code of the {len(codes)} test digits (labels unused in training)")
    return save_figure(fig, path)


def reconstruction_grid(
    originals: np.ndarray, rebuilt: np.ndarray, pca: np.ndarray | None, path: Path
) -> Path:
    """Rows of digits: the originals, the autoencoder's reconstructions, then (if given)
    2-D PCA's reconstructions of the same digits."""
    from tinygrad_lite.book.runner import figure, save_figure

    rows = [("original", originals), ("autoencoder", rebuilt)]
    if pca is not None:
        rows.append(("2-D PCA", pca))
    n = len(originals)
    fig = figure(0.55 * n + 1.2, 0.7 * len(rows) + 0.5, "the autoencoder's pictures")
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (name, images) in enumerate(rows):
        for k in range(n):
            ax = axes[r, k]
            ax.imshow(np.clip(images[k].reshape(8, 8), 0, 1), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle("held-out digits and their reconstructions from 2 numbers", fontsize=10)
    return save_figure(fig, path)


def class_colours() -> list[Any]:
    """The ten colours of matplotlib's "tab10" palette, one per digit class."""
    from tinygrad_lite.optional import optional_import

    cm = optional_import("matplotlib.cm", "the autoencoder's pictures", "matplotlib")
    return [cm.tab10(k) for k in range(10)]


def _check_rows(owner: str, X_train: np.ndarray, X_test: np.ndarray) -> None:
    for name, X in (("X_train", X_train), ("X_test", X_test)):
        if np.ndim(X) != 2 or len(X) == 0:
            raise ShapeError(
                f"{owner}: {name} has shape {np.shape(X)}; give a 2-D array of rows "
                "(N, pixels) with at least one row"
            )
    if X_train.shape[1] != X_test.shape[1]:
        raise ShapeError(
            f"{owner}: X_train has {X_train.shape[1]} columns but X_test {X_test.shape[1]}; "
            "both must hold the same pixels"
        )
