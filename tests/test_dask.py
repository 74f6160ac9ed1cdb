"""Folds and sweeps on a real Dask cluster (two worker processes) give the serial results."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed")
joblib = pytest.importorskip("joblib")
pytest.importorskip("sklearn")

from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402

import tinygrad_lite as tl  # noqa: E402
from tinygrad_lite import nn, optim  # noqa: E402
from tinygrad_lite.nn import functional as F  # noqa: E402
from tinygrad_lite.sklearn import NeuralNetClassifier, make_mlp  # noqa: E402
from tinygrad_lite.train import cross_validate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: other runs may hold 8787
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def blobs() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n_samples=120, centers=3, n_features=4, random_state=1, cluster_std=3.0)
    return X.astype(np.float32), y


def grid_search() -> GridSearchCV:
    estimator = NeuralNetClassifier(make_mlp, epochs=8, batch_size=16, random_state=0)
    grid = {"lr": [0.001, 0.01], "module_params": [{"hidden": (4,)}, {"hidden": (16,)}]}
    return GridSearchCV(estimator, grid, cv=KFold(3, shuffle=True, random_state=0), n_jobs=-1)


def test_grid_search_on_the_cluster_equals_the_serial_run(client: object) -> None:
    X, y = blobs()
    serial = grid_search().set_params(n_jobs=None).fit(X, y)
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        remote = grid_search().fit(X, y)
    # the fits ran on the cluster: tasks on both worker processes
    assert len(stream.data) >= 12
    assert len({task["worker"] for task in stream.data}) == 2
    assert remote.best_params_ == serial.best_params_
    for key in ("mean_test_score", "std_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], serial.cv_results_[key])
    np.testing.assert_array_equal(
        remote.best_estimator_.predict_proba(X), serial.best_estimator_.predict_proba(X)
    )
    assert serial.best_score_ > 0.6  # it learned something: the scores are worth comparing


def test_cross_validate_folds_on_the_cluster_equal_the_serial_run(client: object) -> None:
    X, y = blobs()

    def run(n_jobs: int | None) -> object:
        tl.manual_seed(3)  # the folds' seeds come from here; each fold's weights from its seed
        return cross_validate(
            lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)),
            lambda params: optim.Adam(params, lr=0.01),
            F.cross_entropy,
            X,
            y,
            k=4,
            epochs=5,
            batch_size=16,
            metrics=["accuracy"],
            standardize=True,
            n_jobs=n_jobs,
        )

    serial = run(None)
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        remote = run(-1)
    assert len(stream.data) >= 4
    assert remote.scores == serial.scores
    assert [h.history for h in remote.histories] == [h.history for h in serial.histories]


def test_the_sweep_example_on_the_cluster_and_serially(
    client: object, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("sweep", ROOT / "examples/scale_out/sweep.py")
    assert spec is not None and spec.loader is not None
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    address = client.scheduler.address  # type: ignore[attr-defined]
    outputs = []
    for flags in (["--scheduler", address], ["--serial"]):
        sweep.main(["--quick", *flags])  # its own Client to this cluster, closed at the end
        outputs.append(capsys.readouterr().out)
    on_cluster, serial = outputs
    assert "4 fits on 2 Dask workers" in on_cluster and "4 fits serially" in serial
    best = [line for line in on_cluster.splitlines() if line.startswith("best:")]
    assert best and best == [line for line in serial.splitlines() if line.startswith("best:")]
    assert client.scheduler_info()["workers"]  # type: ignore[attr-defined]  # still up
