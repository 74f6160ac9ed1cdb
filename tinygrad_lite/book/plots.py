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
from ..train import History, predict
from . import curves
from .results import TaskResult
from .runner import figure, save_figure

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
    return figure(width, height, "the book's plots")


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
    return save_figure(fig, path)


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
    return save_figure(fig, path)


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
    return save_figure(fig, path)


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
    return save_figure(fig, path)


def bars(
    labels: Sequence[str], values: Sequence[float], path: str | Path, title: str, ylabel: str
) -> Path:
    """A bar chart: one bar per label (e.g. accuracy per network, error per learning rate)."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.bar(list(labels), list(values), color=[f"C{i}" for i in range(len(labels))])
    ax.set(title=title, ylabel=ylabel)
    return save_figure(fig, path)


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
    return save_figure(fig, path)


# ---------------------------------------------------------------- the books' pictures of functions
# The numbers come from tinygrad_lite.book.curves (computed with the engine); these draw them.


def activation_curves(path: str | Path) -> Path:
    """The activations the books use, one small panel each: linear, ReLU, sigmoid, tanh, exp."""
    a = curves.activations()
    names = ("linear", "ReLU", "sigmoid", "tanh", "exp")
    fig = _figure(width=11.0, height=2.8)
    for k, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), k + 1)
        ax.plot(a["z"], a[name], color=f"C{k}")
        ax.axhline(0.0, color="grey", linewidth=0.6)
        ax.axvline(0.0, color="grey", linewidth=0.6)
        ax.set(title=name, xlabel="z")
        if k == 0:
            ax.set_ylabel("a")
    return save_figure(fig, path)


def descent_steps(
    path: str | Path, rates: Mapping[str, float] = curves.LEARNING_RATES, steps: int = 10
) -> Path:
    """Chapter 1's cost against one weight (the U-curve), with gradient-descent steps on it
    for each learning rate of ``rates``: one panel each (too small, right, too big)."""
    paths = {label: curves.descend(lr, steps) for label, lr in rates.items()}
    fig = _figure(width=11.0, height=3.6)
    for k, (label, d) in enumerate(paths.items()):
        ax = fig.add_subplot(1, len(paths), k + 1)
        low = min(min(d.weights), curves.U_CURVE_MINIMUM - 2.0)
        high = max(max(d.weights), curves.U_CURVE_MINIMUM + 2.0)
        ws = np.linspace(low, high, 200)
        ax.plot(ws, curves.u_curve(ws), color="grey", label="cost")
        ax.plot(d.weights, d.costs, marker="o", color=f"C{k + 1}", markersize=4, label="steps")
        ax.annotate("start", (d.weights[0], d.costs[0]), textcoords="offset points",
                    xytext=(4, 4), fontsize="small")  # fmt: skip
        ax.set(title=f"learning rate {d.lr} ({label})", xlabel="weight w")
        if k == 0:
            ax.set_ylabel("cost (MSE, standardized)")
        ax.legend(fontsize="small")
    return save_figure(fig, path)


def cost_and_metric(
    history: History,
    path: str | Path,
    metric: str = "accuracy",
    title: str = "",
    cost_label: str = "cost",
) -> Path:
    """Cost and a metric against epochs as the book shows them: two charts, side by side."""
    fig = _figure(width=10.0, height=3.8)
    for k, (name, label) in enumerate(((("cost"), cost_label), (metric, metric))):
        ax = fig.add_subplot(1, 2, k + 1)
        for key, part in ((name, "train"), (f"val_{name}", "test")):
            if key in history:
                ax.plot(history.epochs, history[key], label=part)
        ax.set(xlabel="epoch", ylabel=label, title=f"{title}: {label}" if title else label)
        ax.legend()
    return save_figure(fig, path)


def bce_curves(path: str | Path) -> Path:
    """Binary cross-entropy of one prediction p: -ln p when y = 1, -ln(1 - p) when y = 0."""
    c = curves.bce_curves()
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(c["p"], c["y = 1"], color=CLASS_COLORS["hot"], label="y = 1 (hot): -ln p")
    ax.plot(c["p"], c["y = 0"], color=CLASS_COLORS["not hot"], label="y = 0: -ln(1 - p)")
    ax.set(xlabel="predicted probability p", ylabel="cost", title="binary cross-entropy")
    ax.legend()
    return save_figure(fig, path)


def mse_vs_cross_entropy(path: str | Path) -> Path:
    """A sigmoid neuron's cost against one weight: MSE (not convex) and cross-entropy (convex)."""
    c = curves.sigmoid_costs()
    fig = _figure(width=10.0, height=3.8)
    for k, name in enumerate(("mean squared error", "cross-entropy")):
        ax = fig.add_subplot(1, 2, k + 1)
        ax.plot(c["w"], c[name], color=f"C{k}")
        convex = "convex" if k else "not convex"
        ax.set(xlabel="weight w of p = sigmoid(w x)", ylabel="cost", title=f"{name} ({convex})")
    return save_figure(fig, path)


def prediction_plane(result: TaskResult, path: str | Path) -> Path:
    """Chapter 2's linear network in 3-D: its predictions over distance x rating are a plane,
    drawn with the hotels' prices."""
    gx, gy, prices = curves.prediction_grid(result)
    d = result.details["data"].raw
    fig = _figure(width=6.5, height=5.0)
    ax = fig.add_subplot(projection="3d")
    X, Y = np.meshgrid(gx, gy)
    ax.plot_surface(X, Y, prices, alpha=0.35, color="C0")
    ax.scatter(d.X_train[:, 0], d.X_train[:, 1], d.y_train, color="C1", label="train")
    ax.scatter(d.X_test[:, 0], d.X_test[:, 1], d.y_test, color="C2", marker="s", label="test")
    ax.set(xlabel=LABELS["distance_mi"], ylabel=LABELS["rating"], zlabel="price ($)")
    ax.set_title(f"{result.task}: predictions")
    ax.legend()
    return save_figure(fig, path)


def predictions_vs_distance(result: TaskResult, path: str | Path) -> Path:
    """Chapter 2's picture: the prices and the network's predictions against distance."""
    d = result.details["data"].raw
    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter(d.X_train[:, 0], d.y_train, color="C0", label="actual (train)")
    ax.scatter(d.X_test[:, 0], d.y_test, color="C0", marker="s", label="actual (test)")
    ax.scatter(d.X_train[:, 0], result.details["price_train"], color="C1", marker="x",
               label="predicted (train)")  # fmt: skip
    ax.scatter(d.X_test[:, 0], result.details["price_test"], color="C1", marker="+",
               label="predicted (test)")  # fmt: skip
    ax.set(xlabel=LABELS["distance_mi"], ylabel="price ($)", title=result.task)
    ax.legend(fontsize="small")
    return save_figure(fig, path)


def confusion_matrix(result: TaskResult, path: str | Path, split: str = "test") -> Path:
    """A classifier's confusion matrix as a picture, counts in the cells (rows: actual)."""
    counts = curves.confusion_counts(result, split)
    binary = result.details["binary"]
    names = ("not hot", "hot") if binary else CATEGORIES
    fig = _figure(width=4.8, height=4.2)
    ax = fig.add_subplot()
    ax.imshow(counts, cmap="Blues")
    for (i, j), n in np.ndenumerate(counts):
        color = "white" if n > counts.max() / 2 else "black"
        ax.text(j, i, str(n), ha="center", va="center", color=color, fontsize="large")
    ticks = list(range(len(names)))
    ax.set_xticks(ticks, list(names))
    ax.set_yticks(ticks, list(names))
    ax.set(xlabel="predicted", ylabel="actual", title=f"confusion matrix ({split})")
    return save_figure(fig, path)
