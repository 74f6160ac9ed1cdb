"""The four hotel tasks of "A Visual Introduction to Deep Learning", as the book trains them.

Every task follows the book's recipe: full-batch gradient descent with learning rate 0.08,
inputs standardized with the TRAINING set's mean and (population) standard deviation, and
for regression the price standardized the same way; the errors are then reported in the
original units, dollars squared. Weights start as PyTorch's default (uniform in
+-1/sqrt(fan_in)), drawn after ``tl.manual_seed(seed)``.

* chapter 1: one linear neuron, distance -> price, on chapter 1's 12 hotels;
* chapter 2: distance and rating -> price, a hidden layer of 3 (linear, then ReLU);
* chapter 3: -> ``hot`` (in demand or not), sigmoid output and binary cross-entropy;
* chapter 4: -> ``category`` (bronze, silver, gold), softmax and categorical cross-entropy
  on one-hot labels.

>>> r = ch1_linear_regression()
>>> r.figure("train MSE").rounded, r.figure("test MSE").rounded
(16.4, 144.5)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .. import metrics, nn, optim
from ..core import manual_seed
from ..data import CATEGORIES, FEATURES, Standardizer, TrainTest, hotels, one_hot
from ..nn import functional as F
from ..train import History, fit, predict
from .results import Figure, TaskResult

LEARNING_RATE = 0.08  # the book's, for every hotel task
EPOCHS = {1: 100, 2: 800, 3: 800, 4: 800}  # the book's epochs per chapter


def mlp(sizes: Sequence[int], hidden: str = "relu", output: nn.Module | None = None) -> nn.Module:
    """``Linear`` layers of ``sizes`` (float64, for exact figures) with ``hidden`` activations
    ("relu" or "linear") between them and ``output`` (e.g. ``nn.Sigmoid()``) at the end."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, dtype=np.float64))
        if i < len(sizes) - 2 and hidden == "relu":
            layers.append(nn.ReLU())
    if output is not None:
        layers.append(output)
    return nn.Sequential(*layers)


def _sizes_name(sizes: Sequence[int], hidden: str) -> str:
    inner = [f"{n}({hidden})" if hidden != "linear" else str(n) for n in sizes[1:-1]]
    return "-".join([str(sizes[0]), *inner, str(sizes[-1])])


# ---------------------------------------------------------------- regression (chapters 1-2)


class Prepared(NamedTuple):
    """A hotel task's arrays, standardized with the training set's statistics."""

    raw: TrainTest  # the arrays in their own units (miles, stars, dollars, labels)
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    x_scale: Standardizer
    y_scale: Standardizer | None  # regression only: the price's standardizer


def regression_data(features: Sequence[str] = FEATURES, split: str = "split") -> Prepared:
    """Price from ``features``: X and the price standardized, y as a column (n, 1)."""
    d = hotels().arrays(features, "price_usd", split)
    x_scale, y_scale = Standardizer().fit(d.X_train), Standardizer().fit(d.y_train)
    return Prepared(
        d,
        x_scale.transform(d.X_train),
        y_scale.transform(d.y_train)[:, None],
        x_scale.transform(d.X_test),
        y_scale.transform(d.y_test)[:, None],
        x_scale,
        y_scale,
    )


def classification_data(target: str) -> Prepared:
    """``hot`` as a column of 0/1 (n, 1), or ``category_index`` as one-hot rows (n, 3)."""
    d = hotels().arrays(FEATURES, target, "split")
    x_scale = Standardizer().fit(d.X_train)
    if target == "hot":
        y_train, y_test = d.y_train[:, None].astype(np.float64), d.y_test[:, None]
    else:
        y_train, y_test = one_hot(d.y_train, len(CATEGORIES)), one_hot(d.y_test, len(CATEGORIES))
    X_train, X_test = x_scale.transform(d.X_train), x_scale.transform(d.X_test)
    return Prepared(d, X_train, y_train, X_test, y_test, x_scale, None)


def train_full_batch(
    model: nn.Module,
    loss: Callable[[Any, Any], Any],
    data: Prepared,
    epochs: int,
    lr: float,
    metrics: Sequence[Any] = (),
    batch_size: int | None = None,
) -> History:
    """The book's training: SGD with learning rate ``lr``, full batch unless told otherwise.

    The test set is measured after every epoch for the plots; nothing is decided on it.
    """
    return fit(
        model,
        loss,
        optim.SGD(model.parameters(), lr=lr),
        (data.X_train, data.y_train),
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(data.X_test, data.y_test),
        metrics=metrics,
        seed=0,
        verbose=False,
    )


def price_mse(y_scale: Standardizer) -> Callable[[Any, Any], float]:
    """A metric: the MSE in dollars squared, from standardized prices."""

    dollars_squared = float(np.asarray(y_scale.std_)) ** 2  # one standardized unit, squared

    def mse_usd(y_true: Any, y_pred: Any) -> float:
        return metrics.mse(y_true, y_pred) * dollars_squared

    return mse_usd


def _regression(
    task: str,
    features: Sequence[str],
    split: str,
    hidden_sizes: Sequence[int],
    hidden: str,
    book: tuple[float, float],
    epochs: int,
    lr: float,
    seed: int,
) -> TaskResult:
    """Predict the price from ``features``; the MSE is reported in dollars squared."""
    data = regression_data(features, split)
    assert data.y_scale is not None
    manual_seed(seed)
    sizes = [len(features), *hidden_sizes, 1]
    model = mlp(sizes, hidden)
    history = train_full_batch(model, F.mse_loss, data, epochs, lr, [price_mse(data.y_scale)])
    price_train = data.y_scale.inverse_transform(predict(model, data.X_train))[:, 0]
    price_test = data.y_scale.inverse_transform(predict(model, data.X_test))[:, 0]
    figures = [
        Figure("train MSE", metrics.mse(data.raw.y_train, price_train), book[0], "lower"),
        Figure("test MSE", metrics.mse(data.raw.y_test, price_test), book[1], "lower"),
    ]
    details = dict(
        data=data,
        features=tuple(features),
        price_train=price_train,
        price_test=price_test,
        network=_sizes_name(sizes, hidden),
    )
    return TaskResult(task, figures, history, model, seed, details)


def ch1_linear_regression(
    epochs: int = EPOCHS[1], lr: float = LEARNING_RATE, seed: int = 0
) -> TaskResult:
    """Chapter 1: one linear neuron, distance -> price, chapter 1's 8 training hotels.

    Book: train MSE 16.4, test MSE 144.5. It is linear least squares, which 100 steps reach
    from any start: the figures are exact.
    """
    return _regression(
        "Chapter 1: linear regression, 1 neuron",
        ("distance_mi",),
        "ch1_split",
        (),
        "linear",
        (16.4, 144.5),
        epochs,
        lr,
        seed,
    )


def ch2_linear_hidden_layer(
    epochs: int = EPOCHS[2], lr: float = LEARNING_RATE, seed: int = 0
) -> TaskResult:
    """Chapter 2: distance and rating -> price through a LINEAR hidden layer of 3, 2-3-1.

    Book: train MSE 923.8, test MSE 1090.9. Linear layers compose to one linear function,
    so the network converges to the least-squares plane: the figures are exact.
    """
    return _regression(
        "Chapter 2: linear hidden layer 2-3-1",
        FEATURES,
        "split",
        (3,),
        "linear",
        (923.8, 1090.9),
        epochs,
        lr,
        seed,
    )


def ch2_relu_hidden_layer(
    epochs: int = EPOCHS[2], lr: float = LEARNING_RATE, seed: int = 0
) -> TaskResult:
    """Chapter 2: the same network with ReLU in the hidden layer, 2-3(ReLU)-1.

    Book: train MSE 50.8, test MSE 100.4. The result depends on the initial weights (ReLU
    makes the cost non-convex): run it over several seeds with ``over_seeds``.
    """
    return _regression(
        "Chapter 2: ReLU hidden layer 2-3(ReLU)-1",
        FEATURES,
        "split",
        (3,),
        "relu",
        (50.8, 100.4),
        epochs,
        lr,
        seed,
    )


# ---------------------------------------------------------------- classification (chapters 3-4)


def _classify(
    task: str, target: str, hidden_sizes: Sequence[int], epochs: int, lr: float, seed: int
) -> tuple[TaskResult, np.ndarray, np.ndarray]:
    """Train a classifier of ``target``; returns the result (figures still to fill in) and the
    predicted labels of the training and test sets."""
    data = classification_data(target)
    loss: Callable[..., Any]
    if target == "hot":  # one sigmoid output: the probability of "hot"
        loss, output, outputs = F.binary_cross_entropy, nn.Sigmoid(), 1
    else:  # one output per class; the softmax is inside the cross-entropy
        loss, output, outputs = F.cross_entropy, None, len(CATEGORIES)
    manual_seed(seed)
    sizes = [len(FEATURES), *hidden_sizes, outputs]
    model = mlp(sizes, "relu", output)
    history = train_full_batch(model, loss, data, epochs, lr, ["accuracy"])
    pred_train = metrics.to_labels(predict(model, data.X_train))
    pred_test = metrics.to_labels(predict(model, data.X_test))
    details = dict(data=data, network=_sizes_name(sizes, "ReLU"), binary=target == "hot")
    return TaskResult(task, [], history, model, seed, details), pred_train, pred_test


def ch3_binary(
    epochs: int = EPOCHS[3],
    lr: float = LEARNING_RATE,
    seed: int = 0,
    hidden_sizes: Sequence[int] = (3,),
) -> TaskResult:
    """Chapter 3: is the hotel "hot"? 2-3(ReLU)-1, sigmoid output, binary cross-entropy.

    Book (2-3-1): train accuracy 92% (p.170), test 88%; on the training set (p.178) TP 10,
    FN 1, FP 2, TN 11, precision 83%, recall 91% (F1 87%, from those counts) and, beside that
    matrix, accuracy 88% (21 of 24). No run can give both training accuracies, so each
    figure names its page and ``SeedSpread.seeds_reaching_page`` finds the seeds of each: of
    seeds 0-9, seeds 1 and 8 reach p.170 and seed 9 p.178 (docs/book.md).
    ``hidden_sizes=(5, 10)`` is the book's bigger network, 2-5-10-1: train accuracy 100%.
    """
    small = tuple(hidden_sizes) == (3,)
    name = "Chapter 3: binary classification " + _sizes_name([2, *hidden_sizes, 1], "ReLU")
    result, pred_train, pred_test = _classify(name, "hot", hidden_sizes, epochs, lr, seed)
    d = result.details["data"].raw
    if not small:
        result.figures = [
            Figure.percent("train accuracy", metrics.accuracy(d.y_train, pred_train), 100),
            Figure.percent("test accuracy", metrics.accuracy(d.y_test, pred_test), None),
        ]
        return result
    counts = metrics.binary_counts(d.y_train, pred_train)
    train_accuracy = metrics.accuracy(d.y_train, pred_train)
    matrix = "p.178"  # the confusion matrix's page
    result.figures = [
        Figure.percent("train accuracy", train_accuracy, 92, page="p.170"),
        Figure.percent("test accuracy", metrics.accuracy(d.y_test, pred_test), 88),
        Figure.percent("train accuracy (matrix)", train_accuracy, 88, "equal", page=matrix),
        Figure("TP (train)", counts.tp, 10, decimals=0, page=matrix),
        Figure("FN (train)", counts.fn, 1, decimals=0, page=matrix),
        Figure("FP (train)", counts.fp, 2, decimals=0, page=matrix),
        Figure("TN (train)", counts.tn, 11, decimals=0, page=matrix),
        Figure.percent(
            "precision (train)", metrics.precision(d.y_train, pred_train), 83, page=matrix
        ),
        Figure.percent("recall (train)", metrics.recall(d.y_train, pred_train), 91, page=matrix),
        Figure.percent("F1 (train)", metrics.f1(d.y_train, pred_train), 87, page=matrix),
    ]
    result.details["counts"] = counts
    return result


def ch4_multiclass(
    epochs: int = EPOCHS[4],
    lr: float = LEARNING_RATE,
    seed: int = 0,
    hidden_sizes: Sequence[int] = (3,),
) -> TaskResult:
    """Chapter 4: bronze, silver or gold? 2-3(ReLU)-3, softmax + categorical cross-entropy.

    Book (2-3-3): train accuracy 96%, test 75%. ``hidden_sizes=(5, 10)`` is the bigger
    network 2-5-10-3: train accuracy 100%.
    """
    small = tuple(hidden_sizes) == (3,)
    name = "Chapter 4: multi-class classification " + _sizes_name([2, *hidden_sizes, 3], "ReLU")
    result, pred_train, pred_test = _classify(
        name, "category_index", hidden_sizes, epochs, lr, seed
    )
    d = result.details["data"].raw
    result.figures = [
        Figure.percent(
            "train accuracy", metrics.accuracy(d.y_train, pred_train), 96 if small else 100
        ),
        Figure.percent(
            "test accuracy", metrics.accuracy(d.y_test, pred_test), 75 if small else None
        ),
    ]
    result.details["confusion"] = metrics.confusion_matrix(d.y_train, pred_train, labels=[0, 1, 2])
    return result
