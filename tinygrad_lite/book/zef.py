"""Zef's guide to deep learning, on the hotel prices: baselines, bias and variance, your own metric.

* ``regression_baselines``: before trusting a network, compare it with what needs no training:
  always predicting the training set's mean price, and a straight line through one feature.
  MAE and RMSE, in dollars, for all three;
* ``bias_variance``: train the same network on many bootstrap samples of the training hotels;
  over those runs, the squared bias (how far the average prediction is from the truth) and the
  variance (how much the predictions scatter) of each size of network;
* ``asymmetric_cost``: a metric of your own. If a price predicted too low costs twice as much
  as one predicted too high, ``underpricing_error`` measures that, ``fit`` records it every
  epoch, and shifting the network's predictions up lowers it.

The network is chapter 2's 2-3(ReLU)-1 (seed 5 ends in the minimum of the book's figures),
trained with the book's recipe. The figures are ours: the guide prints none for this data.

>>> r = regression_baselines()
>>> [round(r.figure(f"{m}: test RMSE").ours, 1) for m in ("mean", "network 2-3(ReLU)-1")]
[36.2, 10.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import metrics, optim
from ..core import Value, manual_seed, no_grad, rng
from ..data import FEATURES
from ..nn import functional as F
from ..train import predict
from .hotels import (
    EPOCHS,
    LEARNING_RATE,
    ch2_relu_hidden_layer,
    mlp,
    price_mse,
    regression_data,
    train_full_batch,
)
from .results import Figure, TaskResult

NETWORK = "network 2-3(ReLU)-1"


def regression_baselines(
    seed: int = 5, epochs: int = EPOCHS[2], feature: str = "distance_mi"
) -> TaskResult:
    """MAE and RMSE (dollars) of the mean price, a line through ``feature`` (least squares)
    and chapter 2's ReLU network, on the training and the test hotels.

    A network is worth its training only if it beats these. On the 8 test hotels the mean is
    off by $29 on average (RMSE $36); the line through the distance, chapter 1's neuron on
    chapter 2's hotels, does no better ($30, RMSE $35: price is not a straight line in
    either feature alone), and the network is off by $8 (RMSE $10).
    """
    net = ch2_relu_hidden_layer(epochs=epochs, seed=seed)
    raw = net.details["data"].raw
    j = list(FEATURES).index(feature)
    design = np.column_stack([raw.X_train[:, j], np.ones(len(raw.X_train))])  # (n, 2)
    (slope, intercept), *_ = np.linalg.lstsq(design, raw.y_train, rcond=None)
    mean = float(np.mean(raw.y_train))
    predictions = {
        "mean": (np.full(len(raw.y_train), mean), np.full(len(raw.y_test), mean)),
        f"line on {feature}": (
            slope * raw.X_train[:, j] + intercept,
            slope * raw.X_test[:, j] + intercept,
        ),
        NETWORK: (net.details["price_train"], net.details["price_test"]),
    }
    figures = []
    for name, (train, test) in predictions.items():
        figures += [
            Figure(f"{name}: train MAE", metrics.mae(raw.y_train, train)),
            Figure(f"{name}: train RMSE", metrics.rmse(raw.y_train, train)),
            Figure(f"{name}: test MAE", metrics.mae(raw.y_test, test)),
            Figure(f"{name}: test RMSE", metrics.rmse(raw.y_test, test)),
        ]
    details = dict(predictions=predictions, line=(float(slope), float(intercept)), mean=mean)
    return TaskResult("Baselines: the mean price, a line, the network", figures, None, net.model,
                      seed, details)  # fmt: skip


def bias_variance(
    hidden_sizes: Sequence[int] = (1, 2, 3, 8, 16),
    bootstraps: int = 25,
    epochs: int = EPOCHS[2],
    lr: float = LEARNING_RATE,
    seed: int = 0,
) -> TaskResult:
    """Squared bias and variance of a 2-h(ReLU)-1 price network for each ``h`` in
    ``hidden_sizes``, measured on the test hotels over ``bootstraps`` training runs.

    Each run trains a fresh network (the book's recipe: full batch, ``lr``, ``epochs``) on a
    bootstrap sample of the 24 training hotels: 24 drawn with replacement. For each test
    hotel, the runs' mean prediction against its price is the bias, their spread the
    variance; averaged over the test hotels, in dollars squared:
    ``test MSE (averaged over the runs) = bias^2 + variance``, exactly.
    The runs of one size are trained together, as one batch of weight matrices: the cost is
    the sum of the runs' costs, so each run's gradient is its own.
    """
    data = regression_data()
    assert data.y_scale is not None
    std, mean = float(np.asarray(data.y_scale.std_)), float(np.asarray(data.y_scale.mean_))
    n = len(data.X_train)
    rows = np.random.default_rng(seed).integers(0, n, size=(bootstraps, n))  # the samples
    X, y = data.X_train[rows], data.y_train[rows]  # (B, n, 2), (B, n, 1)
    truth = data.raw.y_test  # (m,) dollars
    figures: list[Figure] = []
    curves: dict[str, list[float]] = {"bias^2": [], "variance": [], "test MSE": []}
    for h in hidden_sizes:
        manual_seed(seed)
        price = _bootstrap_runs(X, y, h, epochs, lr, data.X_test) * std + mean  # (B, m)
        bias2 = float(np.mean((price.mean(axis=0) - truth) ** 2))
        variance = float(np.mean(price.var(axis=0)))
        mse = float(np.mean((price - truth) ** 2))
        for name, value in (("bias^2", bias2), ("variance", variance), ("test MSE", mse)):
            curves[name].append(value)
            figures.append(Figure(f"2-{h}-1: {name}", value))
    details = dict(hidden_sizes=tuple(hidden_sizes), curves=curves, bootstraps=bootstraps)
    return TaskResult(f"Bias and variance over {bootstraps} bootstrap samples", figures, None,
                      None, seed, details)  # fmt: skip


def _bootstrap_runs(
    X: np.ndarray, y: np.ndarray, hidden: int, epochs: int, lr: float, X_test: np.ndarray
) -> np.ndarray:
    """Train one 2-``hidden``(ReLU)-1 network per sample of ``X`` (B, n, features) at once;
    their standardized predictions for ``X_test`` (B, m). PyTorch's initialisation, as
    ``nn.Linear``: uniform in +-1/sqrt(fan_in), drawn from ``tl.manual_seed``'s generator."""
    runs, _, features = X.shape
    gen = rng()

    def layer(fan_in: int, fan_out: int) -> tuple[Value, Value]:
        bound = 1.0 / np.sqrt(fan_in)
        weight = Value(gen.uniform(-bound, bound, (runs, fan_in, fan_out)))  # (B, in, out)
        bias = Value(gen.uniform(-bound, bound, (runs, 1, fan_out)))  # (B, 1, out)
        return weight, bias

    (W1, b1), (W2, b2) = layer(features, hidden), layer(hidden, 1)
    optimizer = optim.SGD([W1, b1, W2, b2], lr=lr)
    inputs = Value(X, requires_grad=False)
    for _ in range(epochs):
        out = (inputs @ W1 + b1).relu() @ W2 + b2  # (B, n, 1)
        cost = ((out - y) ** 2).mean(axis=1).sum()  # each run's MSE, added up
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
    with no_grad():
        test = (Value(X_test) @ W1 + b1).relu() @ W2 + b2  # (B, m, 1)
    return np.asarray(test.data)[:, :, 0]


# ---------------------------------------------------------------- a metric of your own

UNDER, OVER = 2.0, 1.0  # what a dollar of error costs when the price is predicted low / high


def underpricing_error(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error, where a price predicted too LOW counts twice.

    A metric is any function ``(y_true, y_pred) -> float``: ``fit(metrics=[...])`` records
    it every epoch under its ``__name__``, and a name ending in ``_error`` is read as "lower
    is better" (``History.best``, ``EarlyStopping``).

    >>> underpricing_error([100.0, 100.0], [90.0, 110.0])   # (2 * 10 + 10) / 2
    15.0
    """
    errors = np.ravel(np.asarray(y_pred, dtype=np.float64)) - np.ravel(
        np.asarray(y_true, dtype=np.float64)
    )
    return float(np.mean(np.where(errors < 0, -UNDER * errors, OVER * errors)))


def asymmetric_cost(seed: int = 5, epochs: int = EPOCHS[2]) -> TaskResult:
    """Chapter 2's ReLU network measured by ``underpricing_error`` (recorded each epoch by
    ``fit``), then shifted up to lower it.

    The network is trained for the mean squared error, which treats both kinds of error the
    same. Adding to every prediction the 2/3 quantile of its training residuals (the constant
    that minimises a 2:1 absolute cost on the training set) trades a higher MAE for a lower
    underpricing error.
    """
    data = regression_data()
    assert data.y_scale is not None
    manual_seed(seed)
    model = mlp([len(FEATURES), 3, 1], "relu")
    history = train_full_batch(
        model,
        F.mse_loss,
        data,
        epochs,
        LEARNING_RATE,
        [price_mse(data.y_scale), underpricing_error],
    )
    raw = data.raw
    price_train = data.y_scale.inverse_transform(predict(model, data.X_train))[:, 0]
    price_test = data.y_scale.inverse_transform(predict(model, data.X_test))[:, 0]
    shift = float(np.quantile(raw.y_train - price_train, UNDER / (UNDER + OVER)))
    figures = [
        Figure("test MAE", metrics.mae(raw.y_test, price_test)),
        Figure("test underpricing error", underpricing_error(raw.y_test, price_test)),
        Figure("shift (dollars)", shift),
        Figure("shifted: test MAE", metrics.mae(raw.y_test, price_test + shift)),
        Figure("shifted: test underpricing error",
               underpricing_error(raw.y_test, price_test + shift)),
    ]  # fmt: skip
    details = dict(shift=shift, price_test=price_test, data=data)
    return TaskResult("A metric of your own: underpricing costs twice", figures, history, model,
                      seed, details)  # fmt: skip
