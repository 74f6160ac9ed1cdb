"""Metrics agree with scikit-learn, take every label form a network produces, build no graph."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import metrics
from tinygrad_lite.data import DataError

skm = pytest.importorskip("sklearn.metrics", reason="the reference implementation")

CLASSIFIERS = {
    "precision": skm.precision_score,
    "recall": skm.recall_score,
    "f1": skm.f1_score,
}


def random_labels(seed: int, n: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    return gen.integers(0, classes, n), gen.integers(0, classes, n)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("classes", [2, 3, 5])
def test_accuracy_and_confusion_matrix_match_sklearn(seed: int, classes: int) -> None:
    t, p = random_labels(seed, 40, classes)
    assert metrics.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p), skm.confusion_matrix(t, p))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_binary_scores_match_sklearn(seed: int, name: str) -> None:
    t, p = random_labels(seed, 30, 2)
    ours = getattr(metrics, name)
    assert ours(t, p) == pytest.approx(CLASSIFIERS[name](t, p, zero_division=0))
    assert ours(t, p, positive=0) == pytest.approx(
        CLASSIFIERS[name](t, p, pos_label=0, zero_division=0)
    )


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
@pytest.mark.parametrize("average", ["macro", "weighted", None])
def test_multiclass_scores_match_sklearn(seed: int, name: str, average: str | None) -> None:
    t, p = random_labels(seed, 50, 4)
    ours = getattr(metrics, name)(t, p, average=average)
    theirs = CLASSIFIERS[name](t, p, average=average, zero_division=0)
    np.testing.assert_allclose(ours, theirs)


def test_specificity_is_the_recall_of_the_negative_class() -> None:
    t, p = random_labels(7, 40, 2)
    assert metrics.specificity(t, p) == pytest.approx(skm.recall_score(t, p, pos_label=0))
    per_class = metrics.specificity(t, p, average=None)
    np.testing.assert_allclose(per_class[::-1], skm.recall_score(t, p, average=None))


def test_zero_division_gives_zero_like_sklearn() -> None:
    t, p = np.array([0, 0, 1]), np.array([0, 0, 0])  # nothing predicted positive
    assert metrics.precision(t, p) == 0.0 == skm.precision_score(t, p, zero_division=0)
    assert metrics.f1([0, 0], [0, 0]) == 0.0


def test_the_books_fraud_matrix_gives_its_precision_and_recall() -> None:
    # 100 transactions, 7 frauds: TN 90, FP 3, FN 5, TP 2 (the book's numbers)
    t = np.array([0] * 93 + [1] * 7)
    p = np.array([0] * 90 + [1] * 3 + [0] * 5 + [1] * 2)
    assert metrics.binary_counts(t, p) == (2, 5, 3, 90)
    assert round(metrics.precision(t, p), 2) == 0.40
    assert round(metrics.recall(t, p), 2) == 0.29
    assert metrics.accuracy(t, np.zeros(100)) == 0.93


@pytest.mark.parametrize("seed", range(3))
def test_regression_metrics_match_sklearn(seed: int) -> None:
    gen = np.random.default_rng(seed)
    t, p = gen.normal(size=20), gen.normal(size=20)
    assert metrics.mse(t, p) == pytest.approx(skm.mean_squared_error(t, p))
    assert metrics.mae(t, p) == pytest.approx(skm.mean_absolute_error(t, p))
    assert metrics.rmse(t, p) == pytest.approx(np.sqrt(skm.mean_squared_error(t, p)))
    assert metrics.mse(t, p[:, None]) == pytest.approx(metrics.mse(t, p))  # column vs vector


def test_every_label_form_gives_the_same_answer() -> None:
    labels = np.array([0, 2, 1, 1])
    scores = np.array([[3.0, 1, 0], [0, 1, 5], [0, 2, 1], [1, 9, 1]])
    one_hot = np.eye(3)[labels]
    assert metrics.accuracy(labels, scores) == 1.0
    assert metrics.accuracy(one_hot, scores) == 1.0
    probs = np.array([0.1, 0.8, 0.5, 0.49])
    np.testing.assert_array_equal(metrics.to_labels(probs), [0, 1, 1, 0])
    np.testing.assert_array_equal(metrics.to_labels(probs[:, None], threshold=0.3), [0, 1, 1, 1])


def test_values_are_read_and_no_graph_is_built() -> None:
    pred = tl.Value(np.array([[0.2], [0.9]]))
    assert metrics.accuracy(np.array([0, 1]), pred) == 1.0
    assert metrics.mse(tl.Value(np.array([1.0, 2.0])), pred) == pytest.approx(
        ((0.2 - 1) ** 2 + (0.9 - 2) ** 2) / 2
    )
    assert pred.grad is None


def test_confusion_matrix_with_given_labels() -> None:
    m = metrics.confusion_matrix([1, 0, 1], [1, 1, 1], labels=[1, 0])
    np.testing.assert_array_equal(m, [[2, 0], [1, 0]])
    np.testing.assert_array_equal(m, skm.confusion_matrix([1, 0, 1], [1, 1, 1], labels=[1, 0]))


def test_mistakes_raise_named_errors() -> None:
    with pytest.raises(tl.ShapeError, match="y_true"):
        metrics.accuracy([0, 1, 1], [0, 1])
    with pytest.raises(DataError, match="average='macro'"):
        metrics.precision([0, 1, 2], [0, 1, 2])
    with pytest.raises(DataError, match="average="):
        metrics.recall([0, 1], [0, 1], average="micro")
    with pytest.raises(tl.ShapeError, match="same values"):
        metrics.mse([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="unknown"):
        metrics.get_metric("auc")


@pytest.mark.parametrize("metric", [metrics.accuracy, metrics.precision, metrics.f1, metrics.mse])
def test_a_metric_names_itself_when_its_data_is_not_numbers(metric) -> None:
    for bad in (["a", "b"], [[1.0, 2.0], [3.0]], [1, None], 10**400):
        with pytest.raises(tl.TinygradLiteError, match=f"^{metric.__name__}: "):
            metric(bad, [0, 1])
