"""fit, History, EarlyStopping, evaluate/predict and cross_validate."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn, optim
from tinygrad_lite.data import DataLoader, k_fold
from tinygrad_lite.nn.scalar import MLP
from tinygrad_lite.train import (
    Callback,
    EarlyStopping,
    History,
    TrainingError,
    cross_validate,
    evaluate,
    fit,
    predict,
)


def line_data(n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    X = gen.normal(size=(n, 2))
    y = X @ np.array([[2.0], [-1.0]]) + 0.5 + 0.1 * gen.normal(size=(n, 1))
    return X, y


def linear_model(seed: int = 0, n_in: int = 2) -> nn.Linear:
    tl.manual_seed(seed)
    return nn.Linear(n_in, 1, dtype=np.float64)


def least_squares(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The optimum of the MSE, from NumPy's solver: an independent reference."""
    A = np.c_[X, np.ones(len(X))]
    return np.linalg.lstsq(A, y, rcond=None)[0]


class CountingSGD(optim.SGD):
    """SGD that counts its steps."""

    steps = 0

    def step(self) -> None:
        self.steps += 1
        super().step()


def test_full_batch_fit_converges_to_least_squares() -> None:
    X, y = line_data()
    model = linear_model()
    fit(model, F.mse_loss, optim.SGD(model.parameters(), lr=0.1), (X, y), epochs=300, verbose=False)
    w = least_squares(X, y)
    np.testing.assert_allclose(model.weight.data, w[:2], atol=1e-8)
    np.testing.assert_allclose(model.bias.data, w[2], atol=1e-8)


def test_fit_is_predict_measure_feedback_adjust() -> None:
    """Full-batch fit gives exactly the weights of the loop written out by hand."""
    X, y = line_data()
    by_hand = linear_model()
    opt = optim.SGD(by_hand.parameters(), lr=0.05)
    costs = []
    for _ in range(5):
        cost = F.mse_loss(by_hand(tl.Value(X, requires_grad=False)), y)  # predict, measure
        opt.zero_grad()
        cost.backward()  # feedback
        opt.step()  # adjust
        costs.append(cost.item())
    model = linear_model()
    history = fit(model, F.mse_loss, optim.SGD(model.parameters(), lr=0.05), (X, y), epochs=5)
    np.testing.assert_array_equal(model.weight.data, by_hand.weight.data)
    assert history["cost"] == costs  # the cost of each epoch, measured before its step
    assert history.epochs == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(("batch_size", "steps"), [(None, 1), (30, 1), (8, 4), (1, 30)])
def test_batch_size_sets_the_steps_per_epoch(batch_size: int | None, steps: int) -> None:
    X, y = line_data()
    model = linear_model()
    opt = CountingSGD(model.parameters(), lr=0.01)
    fit(model, F.mse_loss, opt, (X, y), epochs=3, batch_size=batch_size, seed=0)
    assert opt.steps == 3 * steps


def test_epoch_cost_is_the_mean_over_examples_of_the_batch_costs() -> None:
    X, y = line_data(10)
    model = linear_model()
    history = fit(
        model, F.mse_loss, optim.SGD(model.parameters(), lr=0.0), (X, y), batch_size=4, seed=0
    )
    # lr 0: the weights never move, so the epoch's cost is the cost of the whole set
    assert history["cost"][0] == pytest.approx(evaluate(model, F.mse_loss, X, y)["cost"])


def test_shuffling_is_reproducible_with_a_seed() -> None:
    X, y = line_data()
    weights = []
    for seed in (1, 1, 2):
        model = linear_model()
        opt = optim.SGD(model.parameters(), lr=0.05)
        fit(model, F.mse_loss, opt, (X, y), epochs=2, batch_size=4, seed=seed)
        weights.append(model.weight.data.copy())
    np.testing.assert_array_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0], weights[2])


def test_history_records_validation_and_metrics() -> None:
    gen = np.random.default_rng(0)
    X = gen.normal(size=(40, 2))
    y = (X[:, :1] + X[:, 1:] > 0).astype(np.float64)
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 1, dtype=np.float64), nn.Sigmoid())
    history = fit(
        model,
        F.binary_cross_entropy,
        optim.SGD(model.parameters(), lr=1.0),
        (X[:30], y[:30]),
        epochs=50,
        validation_data=(X[30:], y[30:]),
        metrics=["accuracy", "f1"],
    )
    assert history.keys() == ["cost", "accuracy", "f1", "val_cost", "val_accuracy", "val_f1"]
    assert len(history) == 50 and len(history["val_f1"]) == 50
    assert history["cost"][-1] < history["cost"][0]
    final = evaluate(model, F.binary_cross_entropy, X[30:], y[30:], ["accuracy"])
    assert history["val_accuracy"][-1] == pytest.approx(final["accuracy"])
    epoch, best = history.best("val_cost")
    assert best == min(history["val_cost"]) and history["val_cost"][epoch - 1] == best
    assert history.best("accuracy")[1] == max(history["accuracy"])
    with pytest.raises(TrainingError, match="recorded"):
        history["val_mse"]


def test_fit_accepts_a_dataloader() -> None:
    X, y = line_data()
    model = linear_model()
    opt = CountingSGD(model.parameters(), lr=0.05)
    fit(model, F.mse_loss, opt, DataLoader(X, y, batch_size=10), epochs=2)
    assert opt.steps == 6
    with pytest.raises(TrainingError, match="batch_size"):
        fit(model, F.mse_loss, opt, DataLoader(X, y), batch_size=5)


def test_fit_rejects_bad_arguments() -> None:
    X, y = line_data()
    model = linear_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TrainingError, match="epochs=0"):
        fit(model, F.mse_loss, opt, (X, y), epochs=0)
    with pytest.raises(TrainingError, match=r"\(X, y\)"):
        fit(model, F.mse_loss, opt, X)  # type: ignore[arg-type]
    with pytest.raises(tl.ShapeError, match="target"):
        fit(model, F.mse_loss, opt, (X, y[:, 0]))  # a column against a vector


def test_verbose_prints_lines_and_quiet_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = line_data()
    model = linear_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    fit(model, F.mse_loss, opt, (X, y), epochs=4, verbose=False)
    fit(model, F.mse_loss, opt, (X, y), epochs=4)  # not a terminal: no bar, no lines
    assert capsys.readouterr().out == ""
    fit(model, F.mse_loss, opt, (X, y), epochs=4, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["1/4", "2/4", "4/4"]
    assert "cost" in lines[0]


def test_predict_and_evaluate_use_eval_mode_and_build_no_graph() -> None:
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 50, dtype=np.float64), nn.Dropout(0.5))
    X = np.ones((4, 3))
    first, second = predict(model, X), predict(model, X)
    np.testing.assert_array_equal(first, second)  # no dropout at evaluation
    assert model.training  # the mode is restored
    assert isinstance(first, np.ndarray)
    np.testing.assert_array_equal(predict(model, X, batch_size=3), first)
    evaluate(model, lambda out, t: F.mse_loss(out, t), X, np.zeros((4, 50)))
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------- EarlyStopping


class Scalars(nn.Module):
    """A stand-in model: one parameter whose value we set by hand."""

    def __init__(self) -> None:
        self.w = tl.Value(np.zeros(2))

    def forward(self, x: Any) -> Any:
        return x


def test_early_stopping_waits_patience_epochs_and_restores_the_best() -> None:
    model = Scalars()
    stop = EarlyStopping("val_cost", patience=2, min_delta=0.05)
    stop.on_train_begin(model)
    costs = [1.0, 0.5, 0.48, 0.6]  # 0.48 is not better by more than min_delta
    decisions = []
    for epoch, cost in enumerate(costs, start=1):
        model.w.data[...] = epoch  # the weights of this epoch
        decisions.append(stop.on_epoch_end(epoch, {"val_cost": cost}, model))
    assert decisions == [False, False, False, True]
    assert stop.best_epoch == 2 and stop.best_value == 0.5 and stop.stopped_epoch == 4
    stop.on_train_end(model)
    np.testing.assert_array_equal(model.w.data, [2.0, 2.0])


def test_early_stopping_on_a_score_waits_for_it_to_rise() -> None:
    stop = EarlyStopping("val_accuracy", patience=1, restore_best=False)
    stop.on_train_begin(Scalars())
    logs = [0.5, 0.7, 0.6]
    assert [stop.on_epoch_end(i, {"val_accuracy": a}, Scalars()) for i, a in enumerate(logs)] == [
        False,
        False,
        True,
    ]
    assert stop.best_value == 0.7


def test_early_stopping_in_fit() -> None:
    X, y = line_data()
    model = linear_model()
    stop = EarlyStopping("val_cost", patience=3)
    history = fit(
        model,
        F.mse_loss,
        optim.SGD(model.parameters(), lr=0.1),
        (X[:20], y[:20]),
        epochs=1000,
        validation_data=(X[20:], y[20:]),
        callbacks=[stop],
    )
    assert history.stopped_epoch is not None and len(history) == history.stopped_epoch < 1000
    restored = evaluate(model, F.mse_loss, X[20:], y[20:])["cost"]
    assert restored == pytest.approx(min(history["val_cost"]))
    with pytest.raises(TrainingError, match="validation_data"):
        fit(model, F.mse_loss, optim.SGD(model.parameters(), lr=0.1), (X, y), callbacks=[stop])


class Recorder(Callback):
    """Keeps a copy of the weights at the end of every epoch."""

    def __init__(self) -> None:
        self.weights: dict[int, dict[str, np.ndarray]] = {}

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float], model: nn.Module) -> None:
        self.weights[epoch] = model.state_dict()


def test_early_stopping_restores_the_best_weights_exactly() -> None:
    X, y = line_data()
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))  # float32
    held = model.parameters()
    recorder, stop = Recorder(), EarlyStopping("val_cost", patience=3)
    history = fit(
        model,
        F.mse_loss,
        optim.SGD(held, lr=0.3, momentum=0.9),  # in place: a snapshot must be a copy
        (X[:20], y[:20]),
        epochs=500,
        validation_data=(X[20:], y[20:]),
        callbacks=[recorder, stop],
    )
    assert history.stopped_epoch == stop.best_epoch + 3
    best = recorder.weights[stop.best_epoch]
    assert any(
        not np.array_equal(best[k], v) for k, v in recorder.weights[history.stopped_epoch].items()
    )
    for (name, p), kept in zip(model.named_parameters(), held):
        assert p is kept and p.dtype == np.float32  # written in place, dtype kept
        np.testing.assert_array_equal(p.data, best[name])


def test_early_stopping_restores_a_scalar_mlp_exactly() -> None:
    tl.manual_seed(0)
    model = MLP(2, [3, 1])
    stop = EarlyStopping("val_cost", patience=2)
    stop.on_train_begin(model)
    seen = []
    for epoch, cost in enumerate([3.0, 1.0, 2.0, 2.5], start=1):
        for p in model.parameters():
            p.data += 0.125 * epoch
        seen.append([p.data for p in model.parameters()])
        if stop.on_epoch_end(epoch, {"val_cost": cost}, model):
            break
    stop.on_train_end(model)
    assert stop.best_epoch == 2 and stop.stopped_epoch == 4
    restored = [p.data for p in model.parameters()]
    assert all(type(w) is float for w in restored)  # scalars stay Python floats
    assert restored == seen[1]


def test_early_stopping_restore_best_needs_a_module() -> None:
    class Bare:
        def parameters(self) -> list[tl.Value]:
            return []

    with pytest.raises(TrainingError, match="nn.Module"):
        EarlyStopping().on_train_begin(Bare())  # type: ignore[arg-type]
    EarlyStopping(restore_best=False).on_train_begin(Bare())  # type: ignore[arg-type]


def test_early_stopping_rejects_bad_settings() -> None:
    with pytest.raises(TrainingError, match="patience"):
        EarlyStopping(patience=0)
    with pytest.raises(TrainingError, match="min_delta"):
        EarlyStopping(min_delta=-1.0)


# ---------------------------------------------------------------- cross-validation


def test_cross_validate_matches_least_squares_on_each_fold() -> None:
    X, y = line_data(20)

    def make_optimizer(params: list[tl.Value]) -> optim.SGD:
        return optim.SGD(params, lr=0.2)

    cv = cross_validate(
        lambda: linear_model(), make_optimizer, F.mse_loss, X, y, k=4, epochs=300, shuffle=False
    )
    assert len(cv.histories) == 4 and len(cv.scores) == 4
    for score, (train, val) in zip(cv.scores, k_fold(20, 4)):
        w = least_squares(X[train], y[train])
        expected = np.mean((np.c_[X[val], np.ones(len(val))] @ w - y[val]) ** 2)
        assert score["val_cost"] == pytest.approx(expected, rel=1e-6)
    values = cv.values("val_cost")
    assert cv.mean("val_cost") == pytest.approx(values.mean())
    assert cv.std("val_cost") == pytest.approx(values.std())
    assert "over 4 folds" in cv.summary()
    with pytest.raises(TrainingError, match="val_accuracy"):
        cv.values("val_accuracy")


def test_cross_validate_standardizes_each_fold_on_its_training_part() -> None:
    X, y = line_data(20)
    X_far = 1000.0 + 50.0 * X  # badly scaled: lr 0.2 would diverge without standardizing
    cv = cross_validate(
        lambda: linear_model(),
        lambda p: optim.SGD(p, lr=0.2),
        F.mse_loss,
        X_far,
        y,
        k=4,
        epochs=300,
        standardize=True,
        shuffle=False,
    )
    for score, (train, val) in zip(cv.scores, k_fold(20, 4)):
        w = least_squares(X_far[train], y[train])  # affine rescaling leaves the fit unchanged
        expected = np.mean((np.c_[X_far[val], np.ones(len(val))] @ w - y[val]) ** 2)
        assert math.isclose(score["val_cost"], expected, rel_tol=1e-6)


def _mlp_folds(n_jobs: int | None, **kw: Any) -> Any:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return cross_validate(
        lambda: nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Dropout(0.2), nn.Linear(6, 2)),
        lambda p: optim.Adam(p, lr=0.05),
        F.cross_entropy,
        X,
        y,
        k=4,
        epochs=5,
        batch_size=8,
        metrics=["accuracy"],
        n_jobs=n_jobs,
        **kw,
    )


def test_cross_validate_folds_are_seeded_each_so_threads_give_the_serial_numbers() -> None:
    joblib = pytest.importorskip("joblib")
    serial = _mlp_folds(None, seed=5)
    again = _mlp_folds(None, seed=5)
    assert serial.scores == again.scores
    with joblib.parallel_backend("threading"):  # folds at once, sharing one process
        threads = _mlp_folds(2, seed=5)
    assert threads.scores == serial.scores
    assert [h.history for h in threads.histories] == [h.history for h in serial.histories]
    assert _mlp_folds(None, seed=6).scores != serial.scores
    # with seed=None the folds' seeds come from tl.manual_seed's generator
    tl.manual_seed(1)
    first = _mlp_folds(None)
    tl.manual_seed(1)
    assert _mlp_folds(None).scores == first.scores


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2", True])
def test_cross_validate_refuses_a_bad_n_jobs(n_jobs: Any) -> None:
    with pytest.raises(TrainingError, match=f"cross_validate: n_jobs={n_jobs!r}"):
        _mlp_folds(n_jobs)


def test_history_repr_and_last() -> None:
    h = History()
    h.record(1, {"cost": 2.0})
    h.record(2, {"cost": 1.0})
    assert h.last() == {"cost": 1.0} and "2 epochs" in repr(h)


def test_progress_bar_only_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("tqdm", reason="the progress bar is tqdm's")
    X, y = line_data()
    model = linear_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    fit(model, F.mse_loss, opt, (X, y), epochs=3)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    fit(model, F.mse_loss, opt, (X, y), epochs=3)
    err = capsys.readouterr().err
    assert "training:" in err and "/3 " in err  # a bar over 3 epochs (cleared at the end)


# ---------------------------------------------------------------- arguments a careless user gives


def _setup() -> tuple[nn.Linear, optim.SGD, tuple[np.ndarray, np.ndarray]]:
    model = linear_model()
    return model, optim.SGD(model.parameters(), lr=0.1), line_data(8)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"batch_size": "4"}, "fit: batch_size='4'"),
        ({"batch_size": 0}, "fit: batch_size=0"),
        ({"batch_size": 2.5}, "fit: batch_size=2.5"),
        ({"epochs": math.nan}, "fit: epochs=nan"),
        ({"epochs": None}, "fit: epochs=None"),
        ({"epochs": math.inf}, "fit: epochs=inf"),
        ({"epochs": True}, "fit: epochs=True"),
        ({"validation_data": 3}, "fit: validation_data must be a pair.*got int"),
        ({"validation_data": (1, 2, 3)}, "fit: validation_data must be a pair.*3 items"),
    ],
)
def test_fit_refuses_bad_arguments_before_training(arguments: dict[str, Any], named: str) -> None:
    model, opt, data = _setup()
    before = model.weight.data.copy()
    with pytest.raises(TrainingError, match=named):
        fit(model, F.mse_loss, opt, data, verbose=False, **arguments)
    np.testing.assert_array_equal(model.weight.data, before)  # nothing was trained


def test_fit_and_evaluate_refuse_a_loss_that_is_not_a_value() -> None:
    model, opt, (X, y) = _setup()

    def float_loss(prediction: tl.Value, target: np.ndarray) -> float:
        return float(np.mean((prediction.data - target) ** 2))

    with pytest.raises(TrainingError, match="fit: loss_fn returned a float, not a Value"):
        fit(model, float_loss, opt, (X, y), verbose=False)  # type: ignore[arg-type]
    with pytest.raises(TrainingError, match="evaluate: loss_fn returned a float"):
        evaluate(model, float_loss, X, y)  # type: ignore[arg-type]
    with pytest.raises(TrainingError, match=r"fit: loss_fn returned a Value of shape \(8, 1\)"):
        fit(model, lambda p, t: (p - t) ** 2, opt, (X, y), verbose=False)


def test_fit_refuses_an_optimizer_or_model_of_the_wrong_kind() -> None:
    model, _, data = _setup()
    with pytest.raises(TrainingError, match="fit: optimizer is a list"):
        fit(model, F.mse_loss, [], data)  # type: ignore[arg-type]
    with pytest.raises(TrainingError, match="fit: model is a int"):
        fit(3, F.mse_loss, optim.SGD(model.parameters(), lr=0.1), data)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"patience": math.nan}, "patience=nan"),
        ({"patience": None}, "patience=None"),
        ({"patience": 1.5}, "patience=1.5"),
        ({"monitor": 3}, "monitor=3 must be a name"),
        ({"min_delta": math.nan}, "min_delta=nan"),
        ({"min_delta": "0.1"}, "min_delta='0.1'"),
    ],
)
def test_early_stopping_refuses_bad_arguments(arguments: dict[str, Any], named: str) -> None:
    with pytest.raises(TrainingError, match=f"EarlyStopping: {named}"):
        EarlyStopping(**arguments)


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, "2", math.nan])
def test_predict_refuses_a_batch_size_that_would_drop_or_lose_rows(batch_size: Any) -> None:
    model, _, (X, _) = _setup()
    with pytest.raises(TrainingError, match=f"predict: batch_size={batch_size!r}"):
        predict(model, X, batch_size=batch_size)


@pytest.mark.parametrize("batch_size", [None, 1, 3, 7, 8, 100])
def test_predict_keeps_every_row_whatever_the_batch_size(batch_size: int | None) -> None:
    model, _, (X, _) = _setup()
    out = predict(model, X, batch_size=batch_size)
    np.testing.assert_allclose(out, X @ model.weight.data + model.bias.data)


def test_predict_on_no_rows_gives_no_rows_of_the_models_width() -> None:
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4))
    out = predict(model, np.zeros((0, 3)))
    assert out.shape == (0, 4)
    assert predict(model, np.zeros((0, 3)), batch_size=2).shape == (0, 4)
    with pytest.raises(TrainingError, match="predict: X is a single number"):
        predict(model, 3.0)
