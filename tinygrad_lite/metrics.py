"""Metrics: the numbers a person reads to judge a model (the cost is what the algorithm reads).

Every function works on NumPy arrays and never builds a graph; a Value is accepted and its
``.data`` is used. Classification metrics take labels in any of the forms a network produces:

* class labels, (n,): ``[0, 2, 1]``;
* one-hot rows or class scores, (n, classes): the largest entry of each row is the class;
* probabilities of the positive class, (n,) or (n, 1) floats: ``p >= threshold`` is class 1.

The conventions are scikit-learn's, and the tests check the results against it: the
confusion matrix has the true classes as rows and the predicted classes as columns; a ratio
whose denominator is 0 (no predicted positives for precision...) is 0.

>>> y_true = [1, 1, 0, 0, 0]
>>> y_pred = [1, 0, 1, 0, 0]
>>> accuracy(y_true, y_pred), precision(y_true, y_pred), recall(y_true, y_pred)
(0.6, 0.5, 0.5)
>>> binary_counts(y_true, y_pred)
BinaryCounts(tp=1, fn=1, fp=1, tn=2)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .core import ShapeError
from .data.errors import DataError
from .data.splits import as_array, same_length

AVERAGES = ("binary", "macro", "weighted", None)


class BinaryCounts(NamedTuple):
    """The four cells of a binary confusion matrix, in the books' reading order."""

    tp: int  # positives predicted positive
    fn: int  # positives predicted negative (missed)
    fp: int  # negatives predicted positive (false alarms)
    tn: int  # negatives predicted negative


# ---------------------------------------------------------------- labels


def to_labels(y: Any, threshold: float = 0.5, where: str = "to_labels") -> np.ndarray:
    """Class labels (n,) from labels, one-hot rows, class scores or probabilities.

    >>> to_labels([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1]]).tolist()
    [1, 0]
    >>> to_labels([0.2, 0.9, 0.5]).tolist()
    [0, 1, 1]
    """
    arr = as_array(y, where, "labels")
    if arr.ndim == 2 and arr.shape[1] > 1:
        return arr.argmax(axis=1)
    if arr.ndim == 2:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ShapeError(
            f"{where}: got labels of shape {arr.shape}; give labels (n,), probabilities (n,) "
            "or (n, 1), or one score per class (n, classes)"
        )
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iuf":
        raise DataError(f"{where}: labels of dtype {arr.dtype}; use integers 0, 1, 2...")
    if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
        return (arr >= threshold).astype(np.int64)  # probabilities of class 1
    return arr.astype(np.int64)


def _labels_pair(
    where: str, y_true: Any, y_pred: Any, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    t, p = to_labels(y_true, threshold, where), to_labels(y_pred, threshold, where)
    same_length(where, y_true=t, y_pred=p)
    return t, p


# ---------------------------------------------------------------- classification


def accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> float:
    """The fraction of examples whose predicted class is the true class.

    >>> accuracy([0, 1, 2, 2], [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [1, 0, 0]])
    0.75
    """
    t, p = _labels_pair("accuracy", y_true, y_pred, threshold)
    return float(np.mean(t == p)) if len(t) else 0.0


def confusion_matrix(
    y_true: Any, y_pred: Any, labels: Any = None, threshold: float = 0.5
) -> np.ndarray:
    """Counts of (true class, predicted class): rows are true classes, columns predictions.

    ``labels`` fixes which classes appear, in which order (default: every class seen, sorted).
    For a binary problem with labels [0, 1] that is ``[[TN, FP], [FN, TP]]``.

    >>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2]).tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    t, p = _labels_pair("confusion_matrix", y_true, y_pred, threshold)
    classes = np.union1d(t, p) if labels is None else np.asarray(labels, dtype=np.int64)
    return _counts(t, p, classes)


def _counts(t: np.ndarray, p: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The confusion matrix over ``classes`` (in their order); other labels are not counted."""
    order = np.argsort(classes)
    ranked = classes[order]

    def position(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        at = np.clip(np.searchsorted(ranked, labels), 0, max(len(ranked) - 1, 0))
        found = ranked[at] == labels if len(ranked) else np.zeros(len(labels), dtype=bool)
        return order[at] if len(ranked) else at, found

    (ti, t_ok), (pi, p_ok) = position(t), position(p)
    keep = t_ok & p_ok
    out = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(out, (ti[keep], pi[keep]), 1)
    return out


def binary_counts(
    y_true: Any, y_pred: Any, positive: int = 1, threshold: float = 0.5
) -> BinaryCounts:
    """TP, FN, FP and TN of a binary problem, ``positive`` being the class of interest.

    >>> binary_counts([1, 0, 0, 0], [0.9, 0.6, 0.1, 0.2])
    BinaryCounts(tp=1, fn=0, fp=1, tn=2)
    """
    t, p = _labels_pair("binary_counts", y_true, y_pred, threshold)
    _check_binary("binary_counts", t, p, positive)
    is_t, is_p = t == positive, p == positive
    return BinaryCounts(
        tp=int(np.sum(is_t & is_p)),
        fn=int(np.sum(is_t & ~is_p)),
        fp=int(np.sum(~is_t & is_p)),
        tn=int(np.sum(~is_t & ~is_p)),
    )


def _check_binary(where: str, t: np.ndarray, p: np.ndarray, positive: int) -> np.ndarray:
    """The (at most two) classes of a binary problem, sorted; raise if there are more."""
    classes = np.union1d(np.union1d(t, p), [positive])
    if len(classes) > 2:
        raise DataError(
            f"{where}: average='binary' needs two classes but the labels hold {classes.tolist()}; "
            "use average='macro' or average=None (one score per class)"
        )
    return classes


# Each ratio as a function of per-class counts (arrays): numerator, denominator.
Ratio = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
_RATIOS: dict[str, Ratio] = {
    "precision": lambda tp, fn, fp, tn: (tp, tp + fp),
    "recall": lambda tp, fn, fp, tn: (tp, tp + fn),
    "specificity": lambda tp, fn, fp, tn: (tn, tn + fp),
    "f1": lambda tp, fn, fp, tn: (2 * tp, 2 * tp + fp + fn),
}


def _score(
    name: str, y_true: Any, y_pred: Any, average: str | None, positive: int, threshold: float
) -> Any:
    """One of ``_RATIOS``, per class and then averaged as ``average`` asks."""
    if average not in AVERAGES:
        raise DataError(f"{name}: average={average!r}; choose one of {AVERAGES}")
    t, p = _labels_pair(name, y_true, y_pred, threshold)
    binary = average == "binary"
    classes = _check_binary(name, t, p, positive) if binary else np.union1d(t, p)
    matrix = _counts(t, p, classes)
    tp = np.diag(matrix)
    fn, fp = matrix.sum(axis=1) - tp, matrix.sum(axis=0) - tp
    tn = matrix.sum() - tp - fn - fp
    num, den = _RATIOS[name](tp, fn, fp, tn)
    per_class = np.divide(num, den, out=np.zeros(len(tp)), where=den > 0)
    if binary:
        return float(per_class[int(np.searchsorted(classes, positive))])
    if average is None:
        return per_class
    weights = None if average == "macro" else matrix.sum(axis=1)
    return float(np.average(per_class, weights=weights)) if len(per_class) else 0.0


def precision(
    y_true: Any,
    y_pred: Any,
    average: str | None = "binary",
    positive: int = 1,
    threshold: float = 0.5,
) -> Any:
    """Of the examples predicted positive, the fraction that are: TP / (TP + FP).

    ``average``: ``"binary"`` (the score of class ``positive``), ``None`` (an array, one score
    per class, sorted by class), ``"macro"`` (their plain mean) or ``"weighted"`` (their mean
    weighted by each class's number of true examples).
    """
    return _score("precision", y_true, y_pred, average, positive, threshold)


def recall(
    y_true: Any,
    y_pred: Any,
    average: str | None = "binary",
    positive: int = 1,
    threshold: float = 0.5,
) -> Any:
    """Of the positive examples, the fraction predicted positive: TP / (TP + FN).

    Also called sensitivity or true-positive rate. ``average`` as in ``precision``.
    """
    return _score("recall", y_true, y_pred, average, positive, threshold)


def specificity(
    y_true: Any,
    y_pred: Any,
    average: str | None = "binary",
    positive: int = 1,
    threshold: float = 0.5,
) -> Any:
    """Of the negative examples, the fraction predicted negative: TN / (TN + FP).

    The recall of the negative class. ``average`` as in ``precision``.
    """
    return _score("specificity", y_true, y_pred, average, positive, threshold)


def f1(
    y_true: Any,
    y_pred: Any,
    average: str | None = "binary",
    positive: int = 1,
    threshold: float = 0.5,
) -> Any:
    """The harmonic mean of precision and recall: 2 TP / (2 TP + FP + FN).

    ``average`` as in ``precision`` (``"macro"`` averages the per-class F1 scores).
    """
    return _score("f1", y_true, y_pred, average, positive, threshold)


# ---------------------------------------------------------------- regression


def _errors(where: str, y_true: Any, y_pred: Any) -> np.ndarray:
    """``y_pred - y_true``; a column (n, 1) and a vector (n,) are taken to be the same thing."""
    t = as_array(y_true, where, "y_true").astype(np.float64)
    p = as_array(y_pred, where, "y_pred").astype(np.float64)
    if t.shape != p.shape:
        if t.size != p.size or t.squeeze().shape != p.squeeze().shape:
            raise ShapeError(
                f"{where}: y_true has shape {t.shape} and y_pred {p.shape}; they must hold the "
                "same values in the same shape"
            )
        t, p = t.reshape(p.shape), p
    if t.size == 0:
        raise DataError(f"{where}: no examples to measure")
    return p - t


def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error, in the units of y squared.

    >>> mse([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    1.3333333333333333
    """
    return float(np.mean(_errors("mse", y_true, y_pred) ** 2))


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error, in the units of y."""
    return float(np.sqrt(np.mean(_errors("rmse", y_true, y_pred) ** 2)))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error, in the units of y."""
    return float(np.mean(np.abs(_errors("mae", y_true, y_pred))))


# ---------------------------------------------------------------- by name (for fit)

Metric = Callable[[Any, Any], Any]

METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "precision": precision,
    "recall": recall,
    "specificity": specificity,
    "f1": f1,
    "mse": mse,
    "rmse": rmse,
    "mae": mae,
}
"""The metrics ``fit`` knows by name."""

LOWER_IS_BETTER = frozenset({"cost", "loss", "mse", "rmse", "mae"})
"""Names of quantities that improve as they fall (the others improve as they rise)."""


def get_metric(metric: str | Metric) -> tuple[str, Metric]:
    """``(name, function)`` for a metric given by name or as a function ``(y_true, y_pred)``."""
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    if not isinstance(metric, str) or metric not in METRICS:
        raise DataError(
            f"metric {metric!r} is unknown; use one of {sorted(METRICS)} "
            "or a function f(y_true, y_pred) -> float"
        )
    return metric, METRICS[metric]
