"""Convolutional network: a small CNN on the 8x8 handwritten digits, and its learned filters.

Two 3x3 convolutions with ReLU, a 2x2 max-pool, then dense layers: filters that scan the
image for a local pattern wherever it is, pooling that keeps the strongest response of each
neighbourhood, then a standard classifier. Trained with Adam; each batch is shifted by up to
one pixel (augmentation) in the full run. The picture: the first layer's filters, and the
feature map each makes of one test digit.

    from tinygrad_lite import gallery
    print(gallery.run("cnn", "gallery_out").report())
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.book.runner import figure, save_figure
from tinygrad_lite.nn import functional as F
from tinygrad_lite.train import fit, predict

from . import Exhibit


@dataclass(frozen=True)
class Size:
    """How big a run is: quick (the tour) or full."""

    channels: tuple[int, int]  # filters of the two conv layers
    epochs: int
    shift: bool  # shift each batch by up to a pixel (augmentation)


TARGET = 0.98  # test accuracy (examples/cnn/digits_cnn.py reaches 98.5% in 30 epochs)
QUICK = Size(channels=(8, 16), epochs=20, shift=False)  # a few seconds
FULL = Size(channels=(16, 32), epochs=30, shift=True)

BOOK = (
    "Convolutional networks are the books' answer to images: instead of one weight per pixel, "
    "a small filter slides over the image and responds to a pattern (an edge, a stroke, a "
    "corner) wherever it occurs, so far fewer weights see the whole picture. Pooling then "
    "keeps the strongest response of each neighbourhood, and a standard layer classifies "
    "what the filters found."
)


def small_cnn(channels: tuple[int, int], classes: int = 10) -> nn.Sequential:
    """conv 3x3 -> ReLU -> conv 3x3 -> ReLU -> max-pool 2x2 -> dense 64 -> scores."""
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1),  # (N, 1, 8, 8) -> (N, c1, 8, 8)
        nn.ReLU(),
        nn.Conv2d(c1, c2, 3, padding=1),  # (N, c2, 8, 8)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, c2, 4, 4)
        nn.Flatten(),  # (N, 16 c2)
        nn.Linear(c2 * 16, 64),
        nn.ReLU(),
        nn.Linear(64, classes),  # (N, classes)
    )


def digit_images(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits as float32 images (N, 1, 8, 8) in [0, 1]; 80% train, 20% test."""
    X, y = data.digits(flatten=False)
    X = X.astype(np.float32)[:, None]  # (N, 1, 8, 8): one channel
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, seed=seed)
    return X_train, y_train, X_test, y_test


def run(out: Path, *, full: bool = False, seed: int = 0, plots: bool = True) -> Exhibit:
    """Train the CNN, measure its test accuracy, draw its first layer's filters."""
    size = FULL if full else QUICK
    X_train, y_train, X_test, y_test = digit_images(seed)
    tl.manual_seed(seed)
    model = small_cnn(size.channels)
    transform = data.RandomCrop(8, padding=1) if size.shift else None
    loader = data.DataLoader(
        X_train, y_train, batch_size=64, shuffle=True, seed=seed, transform=transform
    )
    start = time.perf_counter()
    fit(
        model,
        F.cross_entropy,
        optim.Adam(model.parameters(), lr=2e-3),
        loader,
        epochs=size.epochs,
        seed=seed,
        verbose=False,
    )
    seconds = time.perf_counter() - start
    accuracy = float((predict(model, X_test).argmax(axis=1) == y_test).mean())
    pictures = []
    if plots:
        pictures.append(plot_filters(model, X_test[0], out / "cnn_filters.png"))
    c1, c2 = size.channels
    n_params = sum(p.size for p in model.parameters())
    return Exhibit(
        architecture="convolutional network (CNN)",
        title="a small CNN classifies the 8x8 handwritten digits",
        figures=[("test accuracy", f"{accuracy:.1%}", f">= {TARGET:.0%}")],
        pictures=pictures,
        book=BOOK,
        command="python examples/gallery/cnn.py --full",
        notes=[
            f"conv {c1} -> conv {c2} (3x3, ReLU) -> max-pool 2x2 -> dense 64 -> 10, "
            f"{n_params:,} parameters; Adam (lr 2e-3), batches of 64, {size.epochs} epochs"
            + (", each batch shifted by up to a pixel" if size.shift else "")
            + f" on {len(y_train)} digits, tested on {len(y_test)}: {seconds:.1f} s"
            + (
                ""
                if full
                else f" (quick mode; --full: {FULL.channels[0]} and "
                f"{FULL.channels[1]} filters, {FULL.epochs} epochs with shifts)"
            ),
        ],
        model=model,
        example_input=tl.Value(X_test[:2], requires_grad=False),
    )


def plot_filters(model: Any, image: np.ndarray, path: Path) -> Path:
    """Left: one test digit. Right: the first conv layer's filters (red +, blue -), each
    above the feature map it makes of the digit after the ReLU: bright where its pattern is
    found. Eight filters a row."""
    conv, relu = model[0], model[1]
    with tl.no_grad():
        maps = relu(conv(tl.Value(image[None], requires_grad=False))).data[0]  # (c1, 8, 8)
    filters = conv.weight.data[:, 0]  # (c1, 3, 3)
    n = len(filters)
    columns = min(n, 8)
    rows = -(-n // columns)  # each row of filters has a row of maps beneath it
    fig = figure(1.0 * columns + 2.2, 2.0 * rows + 0.5, "the gallery's pictures")
    left, right = fig.subfigures(1, 2, width_ratios=[2.0, 1.0 * columns])
    ax = left.subplots()
    ax.imshow(image[0], cmap="gray_r")
    ax.set_axis_off()
    ax.set_title("a test digit", fontsize=9)
    axes: Any = right.subplots(2 * rows, columns, squeeze=False)
    for cell in axes.ravel():
        cell.set_axis_off()
    top = float(abs(filters).max())
    for k in range(n):
        row, col = divmod(k, columns)
        axes[2 * row, col].imshow(filters[k], cmap="RdBu_r", vmin=-top, vmax=top)
        axes[2 * row, col].set_title(f"filter {k}", fontsize=7)
        axes[2 * row + 1, col].imshow(maps[k], cmap="viridis")
    fig.suptitle(
        "learned 3x3 filters of the first layer (red +, blue -), each above its feature map"
    )
    return save_figure(fig, path)
