"""The books' pictures of a task: cost per epoch, predictions against prices, decision regions.

Needs matplotlib (optional: ``pip install matplotlib``). Figures are drawn with
``matplotlib.figure.Figure`` and written straight to a file, so nothing here touches pyplot's
global state or needs a display: it works on a server and inside the test suite alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data import CATEGORIES, FEATURES
from ..optional import optional_import
from ..train import History, predict
from .results import TaskResult

LABELS = {"distance_mi": "distance (miles)", "rating": "rating (stars)"}
# the colours the classes are named after (the hot hotels red, the others blue)
CLASS_COLORS = {
    "bronze": "#b06a2c",
    "silver": "#8f9499",
    "gold": "#d4a017",
    "hot": "#d62728",
    "not hot": "#1f77b4",
}


def _figure(width: float = 5.5, height: float = 4.0) -> Any:
    mpl_figure = optional_import("matplotlib.figure", "the book's plots", "matplotlib")
    return mpl_figure.Figure(figsize=(width, height), layout="constrained")


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def cost_per_epoch(
    histories: History | Mapping[str, History],
    path: str | Path,
    names: Sequence[str] = ("cost", "val_cost"),
    title: str = "cost per epoch",
    ylabel: str = "cost",
    log: bool = False,
    val_label: str = "test",
) -> Path:
    """Lines of ``names`` from one History, or of ``names[0]`` from several labelled ones.

    In one History, ``val_`` names are labelled ``val_label`` ("test" by default: the book
    tasks measure their test set as validation data) and the others "train".
    """
    fig = _figure()
    ax = fig.add_subplot()
    if isinstance(histories, History):
        for name in names:
            if name in histories:
                part = val_label if name.startswith("val_") else "train"
                ax.plot(histories.epochs, histories[name], label=part)
    else:
        for label, h in histories.items():
            ax.plot(h.epochs, h[names[0]], label=label)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.legend()
    return _save(fig, path)


def predictions_vs_actual(result: TaskResult, path: str | Path) -> Path:
    """Predicted against actual prices, train and test; perfect predictions lie on the line."""
    d = result.details["data"].raw
    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter(d.y_train, result.details["price_train"], label="train", marker="o")
    ax.scatter(d.y_test, result.details["price_test"], label="test", marker="s")
    low = min(d.y_train.min(), d.y_test.min())
    high = max(d.y_train.max(), d.y_test.max())
    ax.plot([low, high], [low, high], color="grey", linestyle="--", label="perfect")
    ax.set(xlabel="actual price ($)", ylabel="predicted price ($)", title=result.task)
    ax.legend()
    return _save(fig, path)


def regression_line(result: TaskResult, path: str | Path) -> Path:
    """Chapter 1's picture: price against distance with the neuron's straight line."""
    data = result.details["data"]
    d = data.raw
    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter(d.X_train[:, 0], d.y_train, label="train")
    ax.scatter(d.X_test[:, 0], d.y_test, marker="s", label="test")
    xs = np.linspace(0.0, max(d.X_train.max(), d.X_test.max()) * 1.05, 50)[:, None]
    prices = data.y_scale.inverse_transform(predict(result.model, data.x_scale.transform(xs)))
    ax.plot(xs[:, 0], prices[:, 0], color="black", label="prediction")
    ax.set(xlabel=LABELS["distance_mi"], ylabel="price ($)", title=result.task)
    ax.legend()
    return _save(fig, path)


def decision_regions(result: TaskResult, path: str | Path, steps: int = 150) -> Path:
    """The classifier's answer over the whole distance-rating plane, with the hotels on it."""
    data = result.details["data"]
    d = data.raw
    X_all = np.concatenate([d.X_train, d.X_test])
    low, high = X_all.min(axis=0), X_all.max(axis=0)
    pad = 0.08 * (high - low)
    gx, gy = (np.linspace(a, b, steps) for a, b in zip(low - pad, high + pad))
    grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    outputs = predict(result.model, data.x_scale.transform(grid))
    binary = result.details["binary"]
    names = ("not hot", "hot") if binary else CATEGORIES
    if binary:
        classes = (outputs[:, 0] >= 0.5).astype(int)
    else:
        classes = outputs.argmax(axis=1)
    fig = _figure(width=7.5)  # room on the right for the legend, off the regions
    ax = fig.add_subplot()
    levels = np.arange(len(names) + 1) - 0.5
    colors = [CLASS_COLORS.get(name, f"C{i}") for i, name in enumerate(names)]
    ax.contourf(gx, gy, classes.reshape(steps, steps), levels=levels, colors=colors, alpha=0.25)
    for label, name in enumerate(names):
        for X, y, marker, part in (
            (d.X_train, d.y_train, "o", "train"),
            (d.X_test, d.y_test, "s", "test"),
        ):
            chosen = y == label
            ax.scatter(
                X[chosen, 0],
                X[chosen, 1],
                marker=marker,
                color=colors[label],
                label=f"{name} ({part})",
            )
    ax.set(xlabel=LABELS[FEATURES[0]], ylabel=LABELS[FEATURES[1]], title=result.task)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return _save(fig, path)


def bars(
    labels: Sequence[str], values: Sequence[float], path: str | Path, title: str, ylabel: str
) -> Path:
    """A bar chart: one bar per label (e.g. accuracy per network, error per learning rate)."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.bar(list(labels), list(values), color=[f"C{i}" for i in range(len(labels))])
    ax.set(title=title, ylabel=ylabel)
    return _save(fig, path)


def bias_variance(result: TaskResult, path: str | Path) -> Path:
    """``book.bias_variance``'s picture: squared bias, variance and their sum (the test MSE
    averaged over the bootstrap runs) against the hidden layer's size."""
    sizes, curves = result.details["hidden_sizes"], result.details["curves"]
    fig = _figure()
    ax = fig.add_subplot()
    for (name, values), marker in zip(curves.items(), "osD"):
        ax.plot(sizes, values, marker=marker, label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(sizes), [str(h) for h in sizes])
    ax.set(xlabel="hidden neurons", ylabel="dollars squared", title=result.task)
    ax.legend()
    return _save(fig, path)
