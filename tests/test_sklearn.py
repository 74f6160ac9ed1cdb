"""tinygrad_lite.sklearn: scikit-learn's own estimator checks, model selection, pickling."""

from __future__ import annotations

import io
import pickle
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.8")  # parametrize_with_checks(xfail_strict=)

from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import tinygrad_lite as tl  # noqa: E402
from tinygrad_lite import nn, optim  # noqa: E402
from tinygrad_lite.errors import ArgumentError, MissingDependencyError  # noqa: E402
from tinygrad_lite.sklearn import (  # noqa: E402
    NeuralNetClassifier,
    NeuralNetRegressor,
    make_mlp,
)

# ---------------------------------------------------------------- scikit-learn's checks

# Small settings: the checks call fit about a hundred times per estimator.
CHECKED = [
    NeuralNetClassifier(make_mlp, lr=0.05, epochs=40, batch_size=None, random_state=0),
    NeuralNetRegressor(make_mlp, lr=0.01, epochs=10, batch_size=32, random_state=0),
    NeuralNetClassifier(
        make_mlp, lr=0.05, epochs=20, early_stopping=True, patience=3, random_state=0
    ),
    # a built network: its input width and its number of outputs are fixed
    NeuralNetRegressor(nn.Linear(10, 1), lr=0.05, epochs=20, batch_size=None, random_state=0),
]

FIXED_WIDTH = (
    "a built nn.Module has a fixed input width (10 features here); the check fits data with "
    "another number of features (pass a builder such as make_mlp to fit any width)"
)
# The checks that fit data of another width than 10 columns, or several targets. Measured
# with scikit-learn 1.9: every other check passes on a built network too.
FIXED_WIDTH_CHECKS = [
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_partial_fit_n_features",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_regressor_multioutput",
    "check_regressors_no_decision_function",
    "check_supervised_y_2d",
]


def expected_failed_checks(estimator: object) -> dict[str, str]:
    """The checks that cannot apply to an estimator, with the reason (docs/scale_out.md)."""
    if isinstance(getattr(estimator, "module", None), nn.Module):
        return {name: FIXED_WIDTH for name in FIXED_WIDTH_CHECKS}
    return {}  # a builder fits any data: every check applies and passes


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks, xfail_strict=True)
def test_scikit_learn_estimator_checks(estimator, check) -> None:
    check(estimator)


# ---------------------------------------------------------------- behaviour


def blobs(n: int = 150, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n_samples=n, centers=3, n_features=4, random_state=seed)
    return StandardScaler().fit_transform(X), y


def quick_classifier(**kw: object) -> NeuralNetClassifier:
    settings: dict[str, object] = dict(lr=0.05, epochs=30, batch_size=None, random_state=0)
    settings.update(kw)
    return NeuralNetClassifier(make_mlp, **settings)


def test_classifier_learns_blobs_with_string_labels() -> None:
    X, y = blobs()
    names = np.array(["ant", "bee", "cat"])[y]
    clf = quick_classifier().fit(X, names)
    assert clf.classes_.tolist() == ["ant", "bee", "cat"]
    assert clf.n_features_in_ == 4 and clf.n_outputs_ == 3 and clf.n_iter_ == 30
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert clf.score(X, names) > 0.95
    assert set(clf.predict(X)) == {"ant", "bee", "cat"}
    assert len(clf.history_) == 30 and clf.history_["cost"][-1] < clf.history_["cost"][0]
    assert isinstance(clf.module_, nn.Module)


def test_regressor_fits_a_line_and_several_targets() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.3
    reg = NeuralNetRegressor(make_mlp, lr=0.02, epochs=60, batch_size=32, random_state=0)
    reg.fit(X, y)
    assert reg.predict(X).shape == (200,) and reg.score(X, y) > 0.95
    Y = np.stack([y, -y], axis=1)
    reg.fit(X, Y)
    assert reg.predict(X).shape == (200, 2) and reg.n_outputs_ == 2
    assert reg.predict(X).dtype == np.float64


def test_random_state_repeats_a_fit_and_leaves_the_callers_generator_alone() -> None:
    X, y = blobs()
    tl.manual_seed(123)
    expected_next = tl.rng().random()
    tl.manual_seed(123)
    a = quick_classifier(random_state=7).fit(X, y).predict_proba(X)
    assert tl.rng().random() == expected_next  # the fit drew from a generator of its own
    b = quick_classifier(random_state=7).fit(X, y).predict_proba(X)
    c = quick_classifier(random_state=8).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_a_module_passed_in_is_copied_not_trained() -> None:
    X, y = blobs()
    tl.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    before = net.state_dict()
    clf = NeuralNetClassifier(net, lr=0.05, epochs=20, batch_size=None, random_state=0).fit(X, y)
    assert clf.module is net and clf.module_ is not net
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    assert clf.score(X, y) > 0.9


def _load_recording_globals(data: bytes) -> tuple[object, set[str]]:
    """Unpickle ``data``; also every ``module.name`` it loaded (classes and functions)."""
    found: set[str] = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> object:
            found.add(f"{module}.{name}")
            return super().find_class(module, name)

    return Recorder(io.BytesIO(data)).load(), found


def test_pickle_keeps_arrays_not_values_and_predicts_the_same() -> None:
    X, y = blobs()
    clf = quick_classifier(optimizer=optim.SGD, optimizer_params={"momentum": 0.9}).fit(X, y)
    back, refs = _load_recording_globals(pickle.dumps(clf))
    assert not [r for r in refs if r.startswith(("tinygrad_lite.core", "tinygrad_lite.nn"))]
    assert "tinygrad_lite.sklearn.make_mlp" in refs  # the builder, by name
    assert "tinygrad_lite.optim.SGD" in refs  # the class, a constructor argument
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.history_.history == clf.history_.history and back.n_iter_ == clf.n_iter_
    assert back.get_params() == clf.get_params()
    # the optimizer's momentum came along: one more epoch goes the same way on both
    np.testing.assert_array_equal(
        back.partial_fit(X, y).predict_proba(X), clf.partial_fit(X, y).predict_proba(X)
    )


def test_partial_fit_goes_on_from_where_it_was() -> None:
    X, y = blobs()
    clf = quick_classifier()
    for _ in range(3):
        clf.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    assert clf.n_iter_ == 3 and clf.history_.epochs == [1, 2, 3]
    costs = clf.history_["cost"]
    assert costs[2] < costs[0]
    with pytest.raises(ArgumentError, match=r"labels \[7\] that are not in classes_"):
        clf.partial_fit(X[:5], [0, 1, 2, 7, 0])
    with pytest.raises(
        ValueError, match="X has 2 features, but NeuralNetClassifier is expecting 4"
    ):
        clf.partial_fit(X[:5, :2], y[:5])


def test_early_stopping_stops_and_keeps_the_best_epoch() -> None:
    X, y = blobs(200)
    clf = quick_classifier(
        lr=0.5, epochs=300, early_stopping=True, patience=5, validation_fraction=0.25
    ).fit(X, y)
    history = clf.history_
    assert history.stopped_epoch is not None and history.stopped_epoch < 300
    assert "val_cost" in history and len(history) == history.stopped_epoch
    best_epoch, _ = history.best("val_cost")
    assert best_epoch == history.stopped_epoch - 5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"optimizer": "adam"}, "optimizer='adam' must be an optimizer class"),
        ({"module": 3}, "module=3 is neither an nn.Module nor a function"),
        ({"module": lambda n, k: 3}, "returned a int; the builder must return an nn.Module"),
        ({"module_params": [16]}, r"module_params=\[16\] must be a dict"),
        ({"early_stopping": True, "validation_fraction": 1.5}, "validation_fraction=1.5"),
        ({"random_state": -1}, "random_state=-1"),
        ({"module": nn.Linear(4, 3), "module_params": {"hidden": 4}}, "they are arguments for"),
    ],
)
def test_bad_settings_raise_a_named_error_at_fit(kwargs: dict, message: str) -> None:
    X, y = blobs(30)
    settings = {"module": make_mlp, **kwargs}
    clf = NeuralNetClassifier(**settings)  # the constructor stores, fit checks
    with pytest.raises(ArgumentError, match=message):
        clf.fit(X, y)


def test_scikit_learns_own_errors_for_bad_data() -> None:
    X, y = blobs(30)
    with pytest.raises(NotFittedError):
        quick_classifier().predict(X)
    with pytest.raises(ValueError, match="Unknown label type"):
        quick_classifier().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        quick_classifier().fit(np.where(X > 1, np.nan, X), y)


# ---------------------------------------------------------------- model selection


def test_grid_search_picks_a_setting_and_refits() -> None:
    X, y = blobs(120)
    grid = GridSearchCV(
        quick_classifier(epochs=15),
        {"lr": [1e-4, 0.05], "module_params": [{"hidden": (4,)}, {"hidden": (16,)}]},
        cv=3,
    ).fit(X, y)
    assert grid.best_params_["lr"] == 0.05  # 15 epochs at 1e-4 barely move the weights
    assert grid.cv_results_["mean_test_score"].shape == (4,)
    assert grid.best_score_ > 0.9 and grid.score(X, y) > 0.9
    assert (
        grid.best_estimator_.module_[0].out_features
        == grid.best_params_["module_params"]["hidden"][0]
    )


def test_cross_val_score_in_threads_equals_serial() -> None:
    # threads share the process: each fit's seeding must stay in its own context
    joblib = pytest.importorskip("joblib")
    X, y = blobs(90)
    est = quick_classifier(epochs=10)
    serial = cross_val_score(est, X, y, cv=KFold(3))
    with joblib.parallel_backend("threading"):
        threads = cross_val_score(est, X, y, cv=KFold(3), n_jobs=2)
    np.testing.assert_array_equal(serial, threads)
    assert serial.shape == (3,) and serial.min() > 0.8


def test_pipeline_with_a_standard_scaler() -> None:
    X, y = blobs()
    X_raw = X * 50.0 + 1000.0  # badly scaled: the scaler puts it back
    pipe = make_pipeline(StandardScaler(), quick_classifier()).fit(X_raw, y)
    alone = quick_classifier().fit(StandardScaler().fit_transform(X_raw), y)
    np.testing.assert_allclose(pipe.predict_proba(X_raw), alone.predict_proba(X), rtol=1e-6)
    assert pipe.score(X_raw, y) > 0.95


def test_missing_scikit_learn_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.base", None)  # import sklearn.base fails
    monkeypatch.delitem(sys.modules, "tinygrad_lite.sklearn")
    with pytest.raises(MissingDependencyError, match=r"tinygrad_lite\[sklearn\]"):
        import tinygrad_lite.sklearn  # noqa: F401
