"""A hyperparameter sweep on a Dask cluster: 3 learning rates x 2 hidden sizes x 4 folds = 24 fits.

scikit-learn's ``GridSearchCV`` tries every setting of a ``NeuralNetClassifier`` on the 8x8
digits with 4-fold cross-validation. Its fits go through joblib; inside
``joblib.parallel_backend("dask")`` joblib hands each one to a Dask worker, so the same
sweep runs on one core (``--serial``), on a local cluster, or on many machines:

    python examples/scale_out/sweep.py --serial            # one fit after another, no Dask
    python examples/scale_out/sweep.py --workers 2         # starts a LocalCluster of 2 processes
    python examples/scale_out/sweep.py --scheduler tcp://10.0.0.5:8786   # a running cluster

A cluster on several machines: ``dask scheduler`` on one, ``dask worker tcp://HOST:8786`` on
each of the others, then ``--scheduler tcp://HOST:8786`` here (docs/scale_out.md). While it
runs, the Dask dashboard (http://HOST:8787) shows each fit as a bar in its task stream.
Every fit is seeded (``random_state``), so the cluster finds the same best setting, with the
same scores, as the serial run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_lite import data
from tinygrad_lite.optional import optional_import
from tinygrad_lite.sklearn import NeuralNetClassifier, make_mlp

GRID = {"lr": [0.001, 0.003, 0.01], "module_params": [{"hidden": (16,)}, {"hidden": (64,)}]}
FOLDS = 4


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="address of a running Dask scheduler, tcp://HOST:PORT")
    where.add_argument("--serial", action="store_true", help="run the fits one by one, no Dask")
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes of a local cluster"
    )
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a small sweep for the smoke test")
    return parser.parse_args(argv)


def sweep(args: argparse.Namespace, n_jobs: int | None) -> Any:
    """The grid search; where its fits run is up to the joblib backend around the call
    (``n_jobs=None``: one after another; -1 inside the Dask backend: every worker)."""
    model_selection = optional_import("sklearn.model_selection", "the sweep", "scikit-learn")
    X, y = data.digits()
    grid: dict[str, list[Any]] = dict(GRID)
    folds, epochs = FOLDS, args.epochs
    if args.quick:  # 2 settings x 2 folds on 300 digits, 2 epochs
        X, y, grid, folds, epochs = X[:300], y[:300], {**grid, "lr": [0.003]}, 2, 2
    estimator = NeuralNetClassifier(make_mlp, epochs=epochs, batch_size=64, random_state=0)
    search = model_selection.GridSearchCV(
        estimator, grid, cv=model_selection.KFold(folds), refit=False, n_jobs=n_jobs
    )
    return search.fit(X.astype(np.float32), y)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    if args.serial:
        where = "serially, in this process"
        load, start = os.getloadavg(), time.perf_counter()
        search = sweep(args, n_jobs=None)
    else:
        distributed = optional_import("dask.distributed", "the sweep", "dask[distributed]", "dask")
        joblib = optional_import("joblib", "the sweep", "joblib", "dask")
        if args.scheduler:
            client, cluster = distributed.Client(args.scheduler), None
        else:
            cluster = distributed.LocalCluster(
                n_workers=args.workers, threads_per_worker=1, processes=True
            )
            client = distributed.Client(cluster)
        try:
            # each worker imports the library (and scikit-learn) once, before the clock starts
            client.run(importlib.import_module, "tinygrad_lite.sklearn")
            workers = len(client.scheduler_info()["workers"])
            where = f"on {workers} Dask workers ({client.scheduler.address})"
            print(f"dashboard: {client.dashboard_link}")
            load, start = os.getloadavg(), time.perf_counter()  # time the sweep alone
            with joblib.parallel_backend("dask"):
                search = sweep(args, n_jobs=-1)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    seconds = time.perf_counter() - start
    fits = len(search.cv_results_["params"]) * search.n_splits_
    print(f"{fits} fits {where}: {seconds:.1f} s (load average before: {load[0]:.2f})")
    for params, mean, std in zip(
        search.cv_results_["params"],
        search.cv_results_["mean_test_score"],
        search.cv_results_["std_test_score"],
    ):
        print(
            f"  lr={params['lr']:<6g} hidden={params['module_params']['hidden']}  "
            f"accuracy {mean:.4f} +/- {std:.4f}"
        )
    print(f"best: {search.best_params_}  accuracy {search.best_score_:.4f}")


if __name__ == "__main__":
    main()
