"""Hyperparameters on the hotel data: batch size, learning rate, early stopping, k-fold.

The book's last chapter lists the knobs that are set before training rather than learned:

* ``gradient_descent_variants``: full-batch, mini-batch and stochastic gradient descent are
  the same loop with different batch sizes (1, 3 or 24 steps per epoch here);
* ``learning_rates``: too small learns slowly, too large overshoots and diverges;
* ``early_stopping``: stop when the validation cost stops improving, keep the best weights;
* ``k_fold_validation``: compare two networks by their mean validation accuracy over k folds.

None of these has a figure in the book; the results report ours.

>>> r = learning_rates(rates=(0.01, 0.08), epochs=50)
>>> r.figure("lr 0.08: train MSE").ours < r.figure("lr 0.01: train MSE").ours
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from .. import metrics, nn, optim
from ..core import manual_seed
from ..data import FEATURES, train_test_split
from ..nn import functional as F
from ..train import EarlyStopping, cross_validate, fit, predict
from .hotels import (
    LEARNING_RATE,
    Prepared,
    classification_data,
    mlp,
    price_mse,
    regression_data,
    train_full_batch,
)
from .results import Figure, TaskResult


def _label(batch_size: int | None, n: int) -> str:
    if batch_size is None or batch_size >= n:
        return "full-batch"
    return "stochastic" if batch_size == 1 else f"mini-batch {batch_size}"


def gradient_descent_variants(
    epochs: int = 100,
    lr: float = 0.02,
    seed: int = 0,
    batch_sizes: Sequence[int | None] = (None, 8, 1),
) -> TaskResult:
    """Chapter 2's 2-3(ReLU)-1 price network trained with each batch size, same start.

    More steps per epoch learn more per epoch, but each step sees fewer examples: its
    gradient is noisier and the cost curve is bumpier. The learning rate is smaller than the
    book's 0.08, which makes the 24 steps per epoch of stochastic descent too jumpy.
    """
    data = regression_data()
    assert data.y_scale is not None
    n = len(data.X_train)
    figures, histories, seconds = [], {}, {}
    for batch_size in batch_sizes:
        label = _label(batch_size, n)
        manual_seed(seed)
        model = mlp([len(FEATURES), 3, 1], "relu")
        start = time.perf_counter()
        histories[label] = train_full_batch(
            model, F.mse_loss, data, epochs, lr, [price_mse(data.y_scale)], batch_size
        )
        seconds[label] = time.perf_counter() - start
        price = data.y_scale.inverse_transform(predict(model, data.X_train))[:, 0]
        figures.append(Figure(f"{label}: train MSE", metrics.mse(data.raw.y_train, price)))
    steps = {_label(b, n): -(-n // (b or n)) for b in batch_sizes}
    details = dict(histories=histories, seconds=seconds, steps_per_epoch=steps)
    return TaskResult(
        "Full-batch, mini-batch and stochastic gradient descent", figures, None, None, seed, details
    )


def learning_rates(
    rates: Sequence[float] = (0.001, 0.01, 0.08, 0.5, 1.05), epochs: int = 100, seed: int = 0
) -> TaskResult:
    """Chapter 1's linear neuron trained with each learning rate for ``epochs`` epochs.

    On standardized data its cost is a bowl whose curvature is 2, so gradient descent
    converges for learning rates below 1 (fastest at 0.5) and diverges above.
    """
    data = regression_data(("distance_mi",), "ch1_split")
    assert data.y_scale is not None
    figures, histories = [], {}
    for lr in rates:
        manual_seed(seed)
        model = mlp([1, 1], "linear")
        histories[lr] = train_full_batch(
            model, F.mse_loss, data, epochs, lr, [price_mse(data.y_scale)]
        )
        with np.errstate(over="ignore", invalid="ignore"):
            price = data.y_scale.inverse_transform(predict(model, data.X_train))[:, 0]
            figures.append(Figure(f"lr {lr:g}: train MSE", metrics.mse(data.raw.y_train, price)))
    diverged = [lr for lr, h in histories.items() if not h["cost"][-1] < h["cost"][0]]
    details = dict(histories=histories, diverged=diverged)
    return TaskResult("Learning rates", figures, None, None, seed, details)


def early_stopping(
    max_epochs: int = 3000,
    patience: int = 100,
    seed: int = 3,
    hidden_sizes: Sequence[int] = (10, 10),
) -> TaskResult:
    """A price network bigger than it needs, 2-10-10-1, with 6 of the 24 training hotels
    held out for validation: training stops when the validation cost has not improved for
    ``patience`` epochs, and the weights of the best epoch come back.

    The same network is also trained for all ``max_epochs`` from the same start, to compare
    test errors. Six validation hotels make a noisy judge: across seeds early stopping
    sometimes helps (seeds 1, 3, 4: lower test MSE), sometimes not (seed 0).
    """
    full = regression_data()
    assert full.y_scale is not None
    X_train, X_val, y_train, y_val = train_test_split(
        full.X_train, full.y_train, test_size=6, seed=seed
    )
    stopper = EarlyStopping("val_cost", patience=patience, restore_best=True)
    runs = {}
    for name, callbacks in (("early stopping", [stopper]), ("all epochs", [])):
        manual_seed(seed)  # the same start for both runs
        model = mlp([len(FEATURES), *hidden_sizes, 1], "relu")
        history = fit(
            model,
            F.mse_loss,
            optim.SGD(model.parameters(), lr=LEARNING_RATE),
            (X_train, y_train),
            epochs=max_epochs,
            validation_data=(X_val, y_val),
            callbacks=callbacks,
            verbose=False,
        )
        price = full.y_scale.inverse_transform(predict(model, full.X_test))[:, 0]
        runs[name] = (model, history, metrics.mse(full.raw.y_test, price))
    dollars = float(np.asarray(full.y_scale.std_)) ** 2
    model, history, test_mse = runs["early stopping"]
    figures = [
        Figure("stopped at epoch", history.stopped_epoch or len(history), decimals=0),
        Figure("best epoch", stopper.best_epoch, decimals=0),
        Figure("best val MSE", stopper.best_value * dollars),
        Figure("test MSE", test_mse),
        Figure(f"test MSE, {max_epochs} epochs", runs["all epochs"][2]),
    ]
    details = dict(stopper=stopper, dollars=dollars, all_epochs=runs["all epochs"][1])
    return TaskResult("Early stopping", figures, history, model, seed, details)


def k_fold_validation(
    k: int = 4,
    epochs: int = 800,
    seed: int = 0,
    networks: Sequence[Sequence[int]] = ((3,), (5, 10)),
) -> TaskResult:
    """Chapter 3's "hot" classifier, k-fold cross-validated on the 24 training hotels for
    each hidden-layer shape in ``networks``: the mean validation accuracy picks one."""
    data: Prepared = classification_data("hot")
    X, y = data.raw.X_train, data.y_train  # raw X: each fold is standardized on its own
    figures, runs = [], {}
    manual_seed(seed)
    for hidden in networks:
        name = "-".join(str(n) for n in (len(FEATURES), *hidden, 1))
        cv = cross_validate(
            _hot_classifier(hidden),
            lambda params: optim.SGD(params, lr=LEARNING_RATE),
            F.binary_cross_entropy,
            X,
            y,
            k=k,
            epochs=epochs,
            metrics=["accuracy"],
            standardize=True,
            seed=seed,
        )
        runs[name] = cv
        acc = cv.values("val_accuracy")
        figures.append(Figure(f"{name}: mean accuracy", 100 * acc.mean(), decimals=0, unit="%"))
        figures.append(Figure(f"{name}: std accuracy", 100 * acc.std(), decimals=0, unit="%"))
    return TaskResult(f"{k}-fold cross-validation", figures, None, None, seed, dict(runs=runs))


def _hot_classifier(hidden: Sequence[int]) -> Callable[[], nn.Module]:
    """A function that builds a fresh, untrained "hot" classifier (one per fold)."""
    return lambda: mlp([len(FEATURES), *hidden, 1], "relu", nn.Sigmoid())
