"""The numbers behind the books' pictures of functions: activations, costs, descent steps.

Every curve is computed with the engine (Values, ``Value.backward`` for the gradients), not
by formula; ``tinygrad_lite.book.plots`` draws them and the tests check them.

* ``activations``: linear, ReLU, sigmoid, tanh and exp over a range of weighted sums;
* ``u_curve`` and ``descend``: chapter 1's cost as a function of ONE weight (the U-curve),
  and gradient descent on it with a learning rate too small, right or too big;
* ``bce_curves``: binary cross-entropy's two branches, -ln p (y = 1) and -ln(1 - p) (y = 0);
* ``sigmoid_costs``: mean squared error and cross-entropy of a sigmoid neuron as a function
  of one weight: the first is not convex, the second is;
* ``prediction_grid`` (chapter 2's plane) and ``confusion_counts`` (chapter 4's matrix): the
  numbers behind the pictures of a trained task.

>>> d = descend(lr=0.3, steps=20)
>>> round(d.weights[-1], 4) == round(U_CURVE_MINIMUM, 4)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .. import ArgumentError, Value, metrics
from ..data import CATEGORIES
from ..functions import identity
from ..nn import functional as F
from ..train import predict
from .hotels import classification_data, regression_data
from .results import TaskResult


def activations(z: Sequence[float] | np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each activation of the books over the weighted sums ``z`` (default -4 to 4).

    >>> a = activations([-1.0, 0.0, 2.0])
    >>> a["ReLU"].tolist(), a["sigmoid"][1].item(), a["tanh"][1].item()
    ([0.0, 0.0, 2.0], 0.5, 0.0)
    """
    zs = np.linspace(-4.0, 4.0, 161) if z is None else np.asarray(z, dtype=np.float64)
    v = Value(zs, requires_grad=False, name="z")
    curves = {
        "linear": identity(v),
        "ReLU": v.relu(),
        "sigmoid": v.sigmoid(),
        "tanh": v.tanh(),
        "exp": v.exp(),
    }
    return {"z": zs, **{name: np.asarray(a.data) for name, a in curves.items()}}


# ---------------------------------------------------------------- the U-curve


def _one_weight_data() -> tuple[np.ndarray, np.ndarray]:
    """Chapter 1's training hotels, standardized: distance x and price y, shape (8,) each."""
    data = regression_data(("distance_mi",), "ch1_split")
    return data.X_train[:, 0], data.y_train[:, 0]


def u_curve(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Chapter 1's cost (the mean squared error on standardized data) for each weight.

    The neuron is ``a = w x + b`` with the bias at its best value, 0: the inputs and the
    prices are standardized, so the least-squares line passes through (0, 0) whatever w is.
    The cost is then a parabola in w, the book's U-curve.
    """
    x, y = _one_weight_data()
    w = Value(np.asarray(weights, dtype=np.float64)[:, None], requires_grad=False)  # (W, 1)
    cost = F.mse_loss(w * x, np.broadcast_to(y, (w.shape[0], len(y))), reduction="none")
    return np.asarray(cost.mean(axis=1).data)  # (W,)


class Descent(NamedTuple):
    """Gradient descent on one weight: the weights visited and their costs (``steps + 1``)."""

    lr: float
    weights: list[float]
    costs: list[float]


def descend(lr: float, steps: int = 10, start: float = 1.0) -> Descent:
    """``steps`` of gradient descent on the U-curve's weight, from ``start``.

    Each step builds the cost with Values, calls ``backward()`` and moves the weight by
    ``-lr * dcost/dw``. On this parabola (curvature 2) a learning rate below 1 converges
    and one above 1 overshoots further at every step.
    """
    x, y = _one_weight_data()
    weights, costs = [float(start)], []
    for _ in range(steps + 1):
        w = Value(weights[-1], name="w")
        cost = F.mse_loss(w * x, y)
        costs.append(cost.item())
        if len(costs) > steps:
            break
        cost.backward()
        weights.append(weights[-1] - lr * float(w.grad))
    return Descent(lr, weights, costs)


def _u_minimum() -> float:
    x, y = _one_weight_data()
    return float(np.mean(x * y) / np.mean(x * x))  # least squares through the origin


U_CURVE_MINIMUM = _u_minimum()  # the weight at the bottom of the U-curve: -0.98
# the book's three learning rates: too small (crawls), right (converges), too big (diverges)
LEARNING_RATES = {"too small": 0.02, "right": 0.3, "too big": 1.05}


# ---------------------------------------------------------------- cross-entropy's curves


def bce_curves(p: Sequence[float] | np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Binary cross-entropy of one prediction ``p``: -ln p if y = 1, -ln(1 - p) if y = 0.

    Computed by the library's ``binary_cross_entropy`` (natural log), per element.

    >>> c = bce_curves([0.5])
    >>> float(c["y = 1"][0]) == float(c["y = 0"][0]) == float(np.log(2))
    True
    """
    ps = np.linspace(0.005, 0.995, 199) if p is None else np.asarray(p, dtype=np.float64)
    v = Value(ps, requires_grad=False, name="p")
    return {
        "p": ps,
        "y = 1": np.asarray(F.binary_cross_entropy(v, np.ones_like(ps), reduction="none").data),
        "y = 0": np.asarray(F.binary_cross_entropy(v, np.zeros_like(ps), reduction="none").data),
    }


def sigmoid_costs(weights: Sequence[float] | np.ndarray | None = None) -> dict[str, Any]:
    """MSE and binary cross-entropy of ``p = sigmoid(w x)`` as functions of one weight w.

    ``x`` is chapter 3's standardized rating of the 24 training hotels and the target is
    ``hot``. The cross-entropy is convex in w (its second differences are never negative);
    the squared error of a sigmoid is not: it flattens into plateaus where the sigmoid
    saturates, which is why the book pairs the sigmoid with cross-entropy.
    """
    ws = np.linspace(-8.0, 8.0, 161) if weights is None else np.asarray(weights, np.float64)
    data = classification_data("hot")
    x, y = data.X_train[:, 1], data.y_train[:, 0]  # rating, hot: (24,) each
    targets = np.broadcast_to(y, (len(ws), len(y)))  # (W, 24)
    w = Value(ws[:, None], requires_grad=False)  # (W, 1)
    p = (w * x).sigmoid()  # (W, 24)
    mse = F.mse_loss(p, targets, reduction="none").mean(axis=1)
    ce = F.binary_cross_entropy(p, targets, reduction="none").mean(axis=1)
    return {
        "w": ws,
        "mean squared error": np.asarray(mse.data),
        "cross-entropy": np.asarray(ce.data),
    }


# ---------------------------------------------------------------- chapter 2's plane


def prediction_grid(
    result: TaskResult, steps: int = 25
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A regression task's predicted price (dollars) over a grid of distance x rating.

    Returns the distances (steps,), the ratings (steps,) and the prices (steps, steps), row
    i for rating i. For chapter 2's linear network the prices lie on a plane.
    """
    data = result.details["data"]
    d = data.raw
    X_all = np.concatenate([d.X_train, d.X_test])  # (N, 2): distance, rating
    low, high = X_all.min(axis=0), X_all.max(axis=0)
    gx, gy = (np.linspace(a, b, steps) for a, b in zip(low, high))
    grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)  # (steps * steps, 2)
    prices = data.y_scale.inverse_transform(predict(result.model, data.x_scale.transform(grid)))
    return gx, gy, np.asarray(prices).reshape(steps, steps)


# ---------------------------------------------------------------- chapter 4's confusion matrix


def confusion_counts(result: TaskResult, split: str = "test") -> np.ndarray:
    """A classifier's confusion matrix on ``split`` ("train" or "test"), as
    ``plots.confusion_matrix`` draws it: row = actual class, column = predicted."""
    if split not in ("train", "test"):
        raise ArgumentError(f"book.confusion_counts: split={split!r}; use 'train' or 'test'")
    data = result.details["data"]
    X = data.X_train if split == "train" else data.X_test
    y = data.raw.y_train if split == "train" else data.raw.y_test
    classes = 2 if result.details["binary"] else len(CATEGORIES)
    predicted = metrics.to_labels(predict(result.model, X))
    return np.asarray(metrics.confusion_matrix(y, predicted, labels=list(range(classes))))
