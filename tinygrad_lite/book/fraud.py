"""The credit-card fraud example: why accuracy misleads when one class is rare.

100 transactions, 7 of them fraud. A "model" that always answers "not fraud" is 93% accurate
and catches no fraud at all. The book's model has the confusion matrix TN 90, FP 3, FN 5,
TP 2: a lower accuracy (92%), but it finds some fraud, and precision (40%: of the
transactions it flags, how many are fraud) and recall (29%: of the frauds, how many it
flags) say how well.

>>> r = fraud_metrics()
>>> r.figure("precision").rounded, r.figure("recall").rounded
(40.0, 29.0)
"""

from __future__ import annotations

import numpy as np

from .. import metrics
from .results import Figure, TaskResult

TRANSACTIONS, FRAUDS = 100, 7
BOOK_MATRIX = {"tn": 90, "fp": 3, "fn": 5, "tp": 2}  # the book's model


def fraud_labels() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The truth (1 = fraud), the always-"not fraud" baseline, and predictions with the book's
    confusion matrix (the first 93 transactions are genuine, the last 7 fraud)."""
    truth = np.repeat([0, 1], [TRANSACTIONS - FRAUDS, FRAUDS])
    baseline = np.zeros(TRANSACTIONS, dtype=np.int64)
    m = BOOK_MATRIX
    model = np.repeat([0, 1, 0, 1], [m["tn"], m["fp"], m["fn"], m["tp"]])
    return truth, baseline, model


def fraud_metrics() -> TaskResult:
    """Accuracy, precision, recall, F1 and specificity of the baseline and the book's model."""
    truth, baseline, model = fraud_labels()
    counts = metrics.binary_counts(truth, model)
    figures = [
        Figure.percent("baseline accuracy", metrics.accuracy(truth, baseline), 93),
        Figure.percent("baseline recall", metrics.recall(truth, baseline), None),
        Figure("TN", counts.tn, BOOK_MATRIX["tn"], decimals=0),
        Figure("FP", counts.fp, BOOK_MATRIX["fp"], decimals=0),
        Figure("FN", counts.fn, BOOK_MATRIX["fn"], decimals=0),
        Figure("TP", counts.tp, BOOK_MATRIX["tp"], decimals=0),
        Figure.percent("accuracy", metrics.accuracy(truth, model), None),
        Figure.percent("precision", metrics.precision(truth, model), 40),
        Figure.percent("recall", metrics.recall(truth, model), 29),
        Figure.percent("F1", metrics.f1(truth, model), None),
        Figure.percent("specificity", metrics.specificity(truth, model), None),
    ]
    details = dict(truth=truth, baseline=baseline, predictions=model, counts=counts)
    return TaskResult(
        "Credit-card fraud: accuracy vs precision and recall", figures, details=details
    )
