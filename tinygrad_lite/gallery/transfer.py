"""Transfer learning: filters learned on the digits 0-4 teach a network 5-9 from 10 labels each.

1. **Pretrain** a small CNN on the digits 0-4 (80% of them; the rest measure it), with every
   batch shifted by up to a pixel (data augmentation), so that its filters learn strokes that
   do not depend on where a digit sits.
2. **Transfer**: freeze its convolutional layers (``Module.requires_grad_(False)``), put a new
   linear head on them for the five classes 5-9 and train only the head on ``per_class``
   labelled images of each of those digits.
3. **Baselines**, trained on the same few images: the same network from scratch (every layer
   trained), and the same frozen architecture with *random* filters (what the head alone
   can do, so that the gap to it is what the pretraining brought).

The figure is the accuracy on every other image of 5-9 (about 850 the few-shot learners never
saw), for several draws of the labelled images. On these easy 8x8 digits a network trained from
scratch on 50 images is already good (about 94%), so the gain is a point or so, not the tens
of points of a large pretrained model on photographs; without the shifts in pretraining, the
frozen filters of 0-4 are no better than frozen random ones.

    from tinygrad_lite import gallery
    print(gallery.run("transfer", "gallery_out").report())
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.nn import functional as F
from tinygrad_lite.train import fit

from ..core import ArgumentError, Value
from . import Exhibit

FEATURES = 6  # small_cnn()[:FEATURES]: conv, ReLU, conv, ReLU, max-pool, flatten
CHANNELS = (16, 32)


def small_cnn(classes: int = 5, channels: tuple[int, int] = CHANNELS) -> nn.Sequential:
    """conv 3x3 -> ReLU -> conv 3x3 -> ReLU -> max-pool 2x2 -> flatten -> dense 64 -> ReLU ->
    dense ``classes``, for (N, 1, 8, 8) images. Its first ``FEATURES`` layers are the feature
    extractor that transfer learning keeps."""
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1),  # (N, c1, 8, 8)
        nn.ReLU(),
        nn.Conv2d(c1, c2, 3, padding=1),  # (N, c2, 8, 8)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, c2, 4, 4)
        nn.Flatten(),  # (N, c2 * 16): the features
        nn.Linear(c2 * 16, 64),
        nn.ReLU(),
        nn.Linear(64, classes),
    )


def with_new_head(network: nn.Sequential, classes: int) -> nn.Sequential:
    """``network``'s feature extractor, frozen, followed by a new linear layer for ``classes``.

    The feature layers are shared with ``network`` (not copied) and frozen in place with
    ``requires_grad_(False)``: an optimizer given the result's parameters moves the head only.
    """
    dense = network[FEATURES] if len(network) > FEATURES else None
    if not isinstance(dense, nn.Linear):
        raise ArgumentError(
            f"with_new_head: layer {FEATURES} of the network must be the nn.Linear that reads "
            f"the features, got {type(dense).__name__}; pass a network made by small_cnn()"
        )
    features = nn.Sequential(*[network[i] for i in range(FEATURES)]).requires_grad_(False)
    return nn.Sequential(features, nn.Linear(dense.in_features, classes))


def few_per_class(labels: np.ndarray, per_class: int, gen: np.random.Generator) -> np.ndarray:
    """The positions of ``per_class`` examples of each class in ``labels``, drawn from ``gen``.

    >>> few_per_class(np.array([0, 0, 1, 1, 1]), 2, np.random.default_rng(0)).shape
    (4,)
    """
    classes, counts = np.unique(labels, return_counts=True)
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)):
        raise ArgumentError(f"few_per_class: per_class={per_class!r} must be a whole number")
    if per_class < 1 or per_class > counts.min():
        raise ArgumentError(
            f"few_per_class: per_class={per_class} must be between 1 and {counts.min()} (the "
            f"fewest examples of a class, class {classes[counts.argmin()]})"
        )
    picks = [gen.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in classes]
    return np.concatenate(picks)


def train(
    model: nn.Module,
    params: Sequence[Value],
    X: Any,
    y: np.ndarray,
    epochs: int,
    *,
    lr: float,
    batch_size: int | None = None,
    shift: int = 0,
    seed: int = 0,
) -> None:
    """Adam on the cross-entropy, moving ``params`` only; ``shift`` > 0 moves each image of
    each batch by up to that many pixels (``data.RandomCrop`` with padding)."""
    train_data: Any = (X, y)
    if shift:
        augment = data.RandomCrop(X.shape[-1], padding=shift)
        train_data = data.DataLoader(X, y, batch_size, shuffle=True, seed=seed, transform=augment)
        batch_size = None  # the loader batches
    optimizer = optim.Adam(list(params), lr=lr)
    fit(model, F.cross_entropy, optimizer, train_data, epochs, batch_size, seed=seed, verbose=False)


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """The share of ``X`` that ``model`` classifies as ``y`` (evaluation mode, no graph)."""
    with tl.no_grad():
        predicted = model(Value(X, requires_grad=False)).numpy().argmax(axis=1)
    return float(np.mean(predicted == y))


@dataclass
class Comparison:
    """What ``compare`` measured: accuracies on the held-out digits 5-9, one per draw."""

    pretrained: float  # the pretrained network on held-out 0-4
    transfer: list[float] = field(default_factory=list)  # frozen pretrained filters + new head
    scratch: list[float] = field(default_factory=list)  # the same network, every layer trained
    random: list[float] = field(default_factory=list)  # frozen random filters + new head
    labelled: int = 0  # labelled images of 5-9 per draw
    tested: int = 0  # held-out images of 5-9 in the last draw
    unchanged: bool = False  # the frozen filters did not move while the head trained
    model: Any = None  # the last transferred network
    base: Any = None  # the pretrained network


def compare(
    *,
    per_class: int = 10,
    draws: int = 1,
    pretrain_epochs: int = 15,
    epochs: int = 150,
    shift: int = 1,
    seed: int = 0,
) -> Comparison:
    """Pretrain on 0-4, then for each of ``draws`` draws of ``per_class`` labelled images of each
    of 5-9: train a new head on the frozen filters, the same network from scratch and a head on
    frozen random filters, each for ``epochs`` full-batch epochs; measure all three on the rest.
    ``shift``: the pretraining batches are moved by up to that many pixels (0: not at all)."""
    counts = (("draws", draws, 1), ("pretrain_epochs", pretrain_epochs, 1), ("epochs", epochs, 1))
    for name, n, least in (*counts, ("shift", shift, 0)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < least:
            raise ArgumentError(f"transfer.compare: {name}={n!r} must be a whole number >= {least}")
    X, y = data.digits(flatten=False)
    X = X.astype(np.float32)[:, None]  # (1797, 1, 8, 8)
    gen = np.random.default_rng(seed)
    first, second = np.flatnonzero(y < 5), np.flatnonzero(y >= 5)
    pre_train, pre_test = np.split(gen.permutation(first), [int(0.8 * len(first))])

    tl.manual_seed(seed)
    base = small_cnn()
    X_pre, y_pre = X[pre_train], y[pre_train]
    train(
        base,
        base.parameters(),
        X_pre,
        y_pre,
        pretrain_epochs,
        lr=3e-3,
        batch_size=64,
        shift=shift,
        seed=seed,
    )
    result = Comparison(pretrained=accuracy(base, X[pre_test], y[pre_test]))
    for _ in range(draws):
        labelled = second[few_per_class(y[second], per_class, gen)]
        rest = np.setdiff1d(second, labelled)
        X_few, y_few, X_rest, y_rest = X[labelled], y[labelled] - 5, X[rest], y[rest] - 5

        transferred = with_new_head(base, 5)
        before = [p.data.copy() for p in transferred[0].parameters()]
        train(transferred, transferred[1].parameters(), X_few, y_few, epochs, lr=1e-2)
        result.transfer.append(accuracy(transferred, X_rest, y_rest))
        after = transferred[0].parameters()
        result.unchanged = all(np.array_equal(a, p.data) for a, p in zip(before, after))

        scratch = small_cnn()
        train(scratch, scratch.parameters(), X_few, y_few, epochs, lr=3e-3)
        result.scratch.append(accuracy(scratch, X_rest, y_rest))

        random = with_new_head(small_cnn(), 5)
        train(random, random[1].parameters(), X_few, y_few, epochs, lr=1e-2)
        result.random.append(accuracy(random, X_rest, y_rest))
        result.labelled, result.tested, result.model = len(labelled), len(rest), transferred
    result.base = base
    return result


def run(out: Path, *, full: bool = False, seed: int = 0, plots: bool = True) -> Exhibit:
    """Pretrain on 0-4, transfer to 5-9 from 10 labels per digit, compare with scratch."""
    start = time.perf_counter()
    draws, pretrain_epochs = (10 if full else 2), 15
    result = compare(per_class=10, draws=draws, pretrain_epochs=pretrain_epochs, seed=seed)
    seconds = time.perf_counter() - start
    transfer, scratch, random = (
        np.mean(r) for r in (result.transfer, result.scratch, result.random)
    )
    wins = sum(t > s for t, s in zip(result.transfer, result.scratch))
    pictures = [draw_transfer(out / "gallery_transfer.png", result)] if plots else []
    return Exhibit(
        architecture="transfer learning",
        title="CNN filters learned on digits 0-4, reused for 5-9 from 10 labels per digit",
        figures=[
            ("pretrained CNN on held-out 0-4", f"{result.pretrained:.1%}", "(pretraining)"),
            ("frozen 0-4 filters + new head, on 5-9", f"{transfer:.1%}", "> scratch"),
            ("the same network from scratch, on 5-9", f"{scratch:.1%}", "(baseline)"),
            ("frozen random filters + new head, on 5-9", f"{random:.1%}", "< transfer"),
            (
                "draws where transfer beats scratch",
                f"{wins} of {draws}",
                f"> {draws // 2} of {draws}",
            ),
        ],
        pictures=pictures,
        book=(
            "Transfer learning reuses what a network learned on one task for another: keep the "
            "early layers, which detect general features (edges, strokes), freeze them, and "
            "train a new head on the few labelled examples of the new task. The features are "
            "a head start that a network learning from those few examples alone lacks."
        ),
        command="python examples/gallery/transfer.py --full",
        notes=[
            f"CNN conv {CHANNELS[0]}-{CHANNELS[1]} 3x3, max-pool, dense 64; pretrained "
            f"{pretrain_epochs} epochs (Adam 3e-3, batch 64, shifts of up to 1 pixel) on "
            f"80% of 0-4; head / scratch: 150 full-batch epochs on {result.labelled} images, "
            f"tested on {result.tested}",
            f"mean over {draws} draws of the labelled images ({'full' if full else 'quick'} "
            f"mode: quick 2 draws, full 10); {seconds:.1f} s",
        ],
        model=result.model,
        example_input=np.zeros((2, 1, 8, 8), dtype=np.float32),
    )


def draw_transfer(path: Path, result: Comparison) -> Path:
    """Left: the three accuracies on 5-9 for each draw of the labelled images. Right: the 16
    filters of the first convolution, learned on 0-4 and reused as they are."""
    from ..book.runner import figure, save_figure

    fig = figure(10.0, 4.0, "gallery.transfer's picture")
    bars, filters = fig.subfigures(1, 2, width_ratios=[1.3, 1.0])
    ax = bars.subplots()
    draws = np.arange(len(result.transfer))
    series = (
        ("frozen 0-4 filters + head", result.transfer, "#2ca02c"),
        ("from scratch", result.scratch, "#1f77b4"),
        ("frozen random filters + head", result.random, "#bbbbbb"),
    )
    for k, (label, accs, colour) in enumerate(series):
        label = f"{label} (mean {np.mean(accs):.1%})"
        ax.bar(draws + (k - 1) * 0.27, accs, width=0.27, label=label, color=colour)
    low = min(min(r) for _, r, _ in series)
    ax.set_ylim(max(0.0, low - 0.05), 1.0)
    ax.set_xticks(draws, [str(d + 1) for d in draws])
    ax.set_xlabel(f"draw of the {result.labelled} labelled images of 5-9")
    ax.set_ylabel(f"accuracy on {result.tested} other images of 5-9")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, frameon=False)
    weights = result.base[0].weight.data[:, 0]  # (16, 3, 3): the first layer's filters
    grid = filters.subplots(4, 4)
    for w, cell in zip(weights, grid.ravel()):
        cell.imshow(w, cmap="RdBu_r", vmin=-abs(weights).max(), vmax=abs(weights).max())
        cell.set_axis_off()
    filters.suptitle("first-layer filters learned on 0-4", fontsize=10)
    return save_figure(fig, path)
