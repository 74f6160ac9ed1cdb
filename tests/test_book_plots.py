"""The books' pictures: each plot writes its file, and the numbers behind it are checked.

The curves come from ``tinygrad_lite.book.curves`` (computed with the engine); the plots of
``tinygrad_lite.book.plots`` draw them. The numbers are tested without matplotlib; the files
need it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lite import ArgumentError, book
from tinygrad_lite.book import curves

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def ch2() -> book.TaskResult:
    return book.ch2_linear_hidden_layer()


@pytest.fixture(scope="module")
def ch4() -> book.TaskResult:
    return book.ch4_multiclass(seed=0)


# ---------------------------------------------------------------- the numbers


def test_activations_are_the_books_functions() -> None:
    a = curves.activations()
    z = a["z"]
    assert z[0] == -4.0 and z[-1] == 4.0
    np.testing.assert_allclose(a["sigmoid"], 1 / (1 + np.exp(-z)), rtol=1e-14)
    np.testing.assert_allclose(a["tanh"], np.tanh(z), rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(a["ReLU"], np.maximum(z, 0.0))
    np.testing.assert_array_equal(a["linear"], z)
    np.testing.assert_allclose(a["exp"], np.exp(z), rtol=1e-14)


def test_the_u_curve_is_a_parabola_with_its_bottom_at_the_least_squares_weight() -> None:
    data = book.regression_data(("distance_mi",), "ch1_split")
    x, y = data.X_train[:, 0], data.y_train[:, 0]
    assert curves.U_CURVE_MINIMUM == pytest.approx(np.linalg.lstsq(x[:, None], y)[0][0])
    ws = np.linspace(-3.0, 1.0, 41)  # steps of h = 0.1
    cost = curves.u_curve(ws)
    # standardized x: the cost is 1 - 2 w w* + w^2, second differences 2 h^2 everywhere
    np.testing.assert_allclose(np.diff(cost, 2), 2 * 0.1**2, rtol=1e-9)
    assert ws[cost.argmin()] == pytest.approx(-1.0)  # the grid point nearest w* = -0.98


def test_gradient_descent_steps_come_from_backward() -> None:
    d = curves.descend(lr=0.3, steps=1, start=1.0)
    data = book.regression_data(("distance_mi",), "ch1_split")
    x, y = data.X_train[:, 0], data.y_train[:, 0]
    grad = float(np.mean(2 * (1.0 * x - y) * x))  # d/dw mean((w x - y)^2) at w = 1
    assert d.weights == pytest.approx([1.0, 1.0 - 0.3 * grad], rel=1e-12)
    assert d.costs[0] == pytest.approx(float(np.mean((x - y) ** 2)), rel=1e-12)


def test_learning_rates_too_small_right_and_too_big() -> None:
    w_star = curves.U_CURVE_MINIMUM
    runs = {label: curves.descend(lr, steps=10) for label, lr in curves.LEARNING_RATES.items()}
    small, right, big = runs["too small"], runs["right"], runs["too big"]
    for d in runs.values():
        assert len(d.weights) == len(d.costs) == 11
    # right: converges to the bottom (the distance shrinks by |1 - 2 lr| = 0.4 a step)
    assert right.weights[-1] == pytest.approx(w_star, abs=1e-3)
    assert right.costs[-1] == pytest.approx(float(curves.u_curve([w_star])[0]), abs=1e-6)
    assert all(a > b for a, b in zip(right.costs, right.costs[1:]))
    # too small: goes downhill every step but is still far away after 10 (0.96 a step)
    assert all(a > b for a, b in zip(small.costs, small.costs[1:]))
    assert abs(small.weights[-1] - w_star) > 0.6 * abs(small.weights[0] - w_star)
    # too big: overshoots to the other side every step, further each time (|1 - 2 lr| = 1.1)
    gaps = np.array(big.weights) - w_star
    assert np.all(np.sign(gaps[1:]) == -np.sign(gaps[:-1]))
    np.testing.assert_allclose(np.abs(gaps[1:]) / np.abs(gaps[:-1]), 1.1, rtol=1e-9)
    assert all(a < b for a, b in zip(big.costs, big.costs[1:]))


def test_binary_cross_entropy_curves() -> None:
    c = curves.bce_curves()
    at_half = curves.bce_curves([0.5])
    assert at_half["y = 1"][0] == pytest.approx(math.log(2)) == at_half["y = 0"][0]
    np.testing.assert_allclose(c["y = 1"], -np.log(c["p"]), rtol=1e-12)
    np.testing.assert_allclose(c["y = 0"], c["y = 1"][::-1], rtol=1e-9)  # mirror images
    assert np.all(np.diff(c["y = 1"]) < 0) and np.all(np.diff(c["y = 0"]) > 0)


def test_mse_on_a_sigmoid_is_not_convex_and_cross_entropy_is() -> None:
    c = curves.sigmoid_costs()
    mse, ce = np.diff(c["mean squared error"], 2), np.diff(c["cross-entropy"], 2)
    assert (mse < -1e-6).sum() > 20  # a whole region curving downward: not convex
    assert ce.min() > 0.0  # curving upward everywhere: convex
    # both are lowest for a positive weight: hot hotels have the better ratings
    assert c["w"][c["cross-entropy"].argmin()] > 0 and c["w"][c["mean squared error"].argmin()] > 0


def test_chapter_2s_linear_network_predicts_a_plane(ch2: book.TaskResult) -> None:
    gx, gy, prices = curves.prediction_grid(ch2, steps=11)
    assert prices.shape == (11, 11)
    scale = np.abs(prices).max()
    assert np.abs(np.diff(prices, 2, axis=0)).max() < 1e-9 * scale  # straight along ratings
    assert np.abs(np.diff(prices, 2, axis=1)).max() < 1e-9 * scale  # and along distances
    d = ch2.details["data"].raw  # the plane is NumPy's least-squares plane
    A = np.c_[d.X_train, np.ones(len(d.X_train))]
    coef = np.linalg.lstsq(A, d.y_train, rcond=None)[0]
    X, Y = np.meshgrid(gx, gy)
    np.testing.assert_allclose(prices, coef[0] * X + coef[1] * Y + coef[2], rtol=1e-4)


def test_chapter_4s_confusion_counts(ch4: book.TaskResult) -> None:
    test = curves.confusion_counts(ch4, "test")
    assert test.shape == (3, 3) and test.sum() == 8  # the 8 test hotels
    assert np.trace(test) == 6  # seed 0: the book's 75% on the test set
    assert ch4.figure("test accuracy").ours == 100 * np.trace(test) / test.sum()
    train = curves.confusion_counts(ch4, "train")
    np.testing.assert_array_equal(train, ch4.details["confusion"])
    with pytest.raises(ArgumentError, match="'train' or 'test'"):
        curves.confusion_counts(ch4, "validation")


# ---------------------------------------------------------------- the files


@pytest.fixture(scope="module")
def plots():  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib", reason="the book's plots are drawn with matplotlib")
    from tinygrad_lite.book import plots

    return plots


def _is_png(path: Path) -> bool:
    return path.exists() and path.read_bytes()[:8] == PNG and path.stat().st_size > 5000


@pytest.mark.parametrize(
    "name", ["activation_curves", "descent_steps", "bce_curves", "mse_vs_cross_entropy"]
)
def test_each_picture_of_a_function_writes_a_png(plots, tmp_path, name) -> None:  # type: ignore[no-untyped-def]
    path = getattr(plots, name)(tmp_path / "sub" / f"{name}.png")
    assert path == tmp_path / "sub" / f"{name}.png" and _is_png(path)


def test_pictures_of_the_tasks_write_files(plots, tmp_path, ch2, ch4) -> None:  # type: ignore[no-untyped-def]
    ch3 = book.ch3_binary(seed=8, epochs=50)
    written = [
        plots.prediction_plane(ch2, tmp_path / "plane.png"),
        plots.predictions_vs_distance(ch2, tmp_path / "distance.svg"),
        plots.cost_and_metric(ch3.history, tmp_path / "cost.png", title="ch3"),
        plots.confusion_matrix(ch4, tmp_path / "confusion.png"),
    ]
    assert all(p.stat().st_size > 5000 for p in written)
    assert _is_png(written[0]) and written[1].read_text().lstrip().startswith("<?xml")
    assert {"cost", "val_cost", "accuracy", "val_accuracy"} <= set(ch3.history.keys())
