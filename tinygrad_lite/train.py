"""The training loop: ``fit``, its ``History``, ``EarlyStopping`` and ``cross_validate``.

Training repeats the four steps of "A Visual Introduction to Deep Learning" for every batch:

1. **predict**: run the inputs forward through the network (``model(x)``);
2. **measure**: compare the predictions with the targets, with the cost (the loss function):
   the number the algorithm minimises;
3. **feedback**: send the cost back through the network (``cost.backward()``): every weight
   learns how the cost changes when it changes (its gradient);
4. **adjust**: move every weight a small step against its gradient (``optimizer.step()``).

One pass over the training set is an epoch. The batch size decides how many steps an epoch
takes: full-batch gradient descent (``batch_size=None``) takes one, mini-batch gradient
descent one per batch, stochastic gradient descent (``batch_size=1``) one per example.
Metrics (accuracy, precision...) are numbers for the human; they do not steer training.

>>> import numpy as np
>>> import tinygrad_lite as tl
>>> from tinygrad_lite import nn, optim
>>> import tinygrad_lite.nn.functional as F
>>> _ = tl.manual_seed(0)
>>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
>>> y = 3 * X + 1
>>> model = nn.Linear(1, 1, dtype=np.float64)
>>> history = fit(model, F.mse_loss, optim.SGD(model.parameters(), lr=0.5), (X, y),
...               epochs=100, verbose=False)
>>> round(history["cost"][-1], 6), np.round(model.weight.data.ravel(), 3)
(0.0, array([3.]))
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .checks import flag, real_number, whole_number
from .core import TinygradLiteError, Value, manual_seed, no_grad
from .data.loader import DataLoader
from .data.preprocessing import Standardizer
from .data.splits import Seed, as_array, k_fold, random_generator
from .metrics import LOWER_IS_BETTER, Metric, get_metric
from .nn.module import Module
from .optim import Optimizer
from .optional import optional_import


class TrainingError(TinygradLiteError, ValueError):
    """A training run that cannot start or continue: epochs=0, an unknown monitored name..."""


LossFn = Callable[[Any, Any], Value]
Data = tuple[Any, Any] | DataLoader


# ---------------------------------------------------------------- History


@dataclass
class History:
    """The numbers of a training run, one entry per epoch, by name.

    ``cost`` is the training cost, ``val_cost`` the validation cost, and each metric appears
    as ``accuracy`` / ``val_accuracy`` and so on. Training numbers are measured during the
    epoch, on the predictions the steps used (as Keras does); ``evaluate`` measures the final
    weights.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epochs: list[int] = field(default_factory=list)
    stopped_epoch: int | None = None  # set when a callback stopped training early

    def record(self, epoch: int, logs: Mapping[str, float]) -> None:
        self.epochs.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))

    def __getitem__(self, name: str) -> list[float]:
        if name not in self.history:
            raise TrainingError(f"History: nothing recorded as {name!r}; recorded: {self.keys()}")
        return self.history[name]

    def __contains__(self, name: object) -> bool:
        return name in self.history

    def __len__(self) -> int:
        return len(self.epochs)

    def keys(self) -> list[str]:
        return list(self.history)

    def last(self) -> dict[str, float]:
        """The numbers of the last epoch."""
        return {name: values[-1] for name, values in self.history.items()}

    def best(self, name: str) -> tuple[int, float]:
        """``(epoch, value)`` where ``name`` was best (lowest for costs and errors)."""
        values = np.asarray(self[name])
        i = int(values.argmin() if lower_is_better(name) else values.argmax())
        return self.epochs[i], float(values[i])

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v:.4g}" for k, v in self.last().items())
        return f"History({len(self)} epochs{': ' + last if last else ''})"


LOWER_IS_BETTER_ENDINGS = ("_error", "_loss", "_cost")  # your own metric's name may say so


def lower_is_better(name: str) -> bool:
    """True for costs and errors (``cost``, ``val_mse``, and a metric of your own whose name
    ends in ``_error``, ``_loss`` or ``_cost``), False for scores (accuracy)."""
    name = name.removeprefix("val_")
    return name in LOWER_IS_BETTER or name.endswith(LOWER_IS_BETTER_ENDINGS)


# ---------------------------------------------------------------- callbacks


class Callback:
    """Hooks into ``fit``. ``on_epoch_end`` returns True to stop training."""

    def on_train_begin(self, model: Module) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float], model: Module) -> bool | None:
        """Called after every epoch with its numbers; return True to stop."""
        return None

    def on_train_end(self, model: Module) -> None:
        """Called once after the last epoch (also after an early stop)."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``monitor`` is a name in the History (``"val_cost"``, ``"val_accuracy"``...): costs and
    errors improve as they fall, scores as they rise. With ``restore_best`` the model gets back
    the weights of its best epoch when training ends: a copy of its ``state_dict()`` is kept
    at each new best and loaded back in place, so the optimizer's Values stay the model's.
    """

    def __init__(
        self,
        monitor: str = "val_cost",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        if not isinstance(monitor, str):
            raise TrainingError(
                f"EarlyStopping: monitor={monitor!r} must be a name in the History, "
                "such as 'val_cost' or 'val_accuracy'"
            )
        self.monitor = monitor
        self.patience = whole_number("EarlyStopping", "patience", patience, 1, TrainingError)
        self.min_delta = real_number("EarlyStopping", "min_delta", min_delta, 0.0, TrainingError)
        self.restore_best = restore_best
        self._sign = 1.0 if lower_is_better(monitor) else -1.0  # compare as "lower is better"
        self.best = float("inf")
        self.best_epoch = 0
        self.stopped_epoch: int | None = None
        self._wait = 0
        self._best_state: dict[str, np.ndarray] | None = None

    def on_train_begin(self, model: Module) -> None:
        if self.restore_best and not isinstance(model, Module):
            raise TrainingError(
                f"EarlyStopping: restore_best=True keeps the best weights with state_dict(), "
                f"which a {type(model).__name__} lacks; make the model an nn.Module or pass "
                "restore_best=False"
            )
        self.best, self.best_epoch, self.stopped_epoch, self._wait = float("inf"), 0, None, 0
        self._best_state = None

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float], model: Module) -> bool:
        if self.monitor not in logs:
            raise TrainingError(
                f"EarlyStopping: monitor={self.monitor!r} is not measured; the epoch measured "
                f"{sorted(logs)} (val_ names need validation_data=)"
            )
        value = self._sign * logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self._wait = value, epoch, 0
            if self.restore_best:
                self._best_state = model.state_dict()  # copies: later steps leave it alone
            return False
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model: Module) -> None:
        if self.restore_best and self._best_state is not None:
            model.load_state_dict(self._best_state)  # in place: the optimizer keeps its Values

    @property
    def best_value(self) -> float:
        """The best value of ``monitor`` seen so far, in its own sign."""
        return self._sign * self.best


# ---------------------------------------------------------------- fit


def fit(
    model: Module,
    loss_fn: LossFn,
    optimizer: Optimizer,
    train_data: Data,
    epochs: int = 1,
    batch_size: int | None = None,
    validation_data: tuple[Any, Any] | None = None,
    metrics: Sequence[str | Metric] = (),
    callbacks: Sequence[Callback] = (),
    shuffle: bool = True,
    seed: Seed = None,
    verbose: bool | int | None = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_data``; returns the ``History``.

    Each step predicts, measures the cost ``loss_fn(model(x), y)``, feeds it back
    (``backward``) and adjusts the weights (``optimizer.step()``).

    ``train_data`` is ``(X, y)`` (arrays) or a ``DataLoader``. ``batch_size=None`` is
    full-batch gradient descent; ``shuffle`` reorders the examples every epoch when there
    is more than one batch (drawing from ``seed``, or from ``tl.manual_seed``'s generator).
    ``validation_data=(X_val, y_val)`` is measured after every epoch, without gradients.
    ``metrics`` are names from ``metrics.METRICS`` (``"accuracy"``, ``"mse"``...) or functions
    ``f(y_true, y_pred)``. ``verbose``: None shows a progress bar when attached to a terminal
    (and tqdm is installed), True prints every epoch, an int n every n-th, False nothing.
    """
    epochs = whole_number("fit", "epochs", epochs, 1, TrainingError)
    shuffle = flag("fit", "shuffle", shuffle, TrainingError)
    if (
        verbose is not None
        and not isinstance(verbose, (bool, int, np.integer))
        or (isinstance(verbose, (int, np.integer)) and verbose < 0)
    ):
        raise TrainingError(
            f"fit: verbose={verbose!r}; give None (a progress bar on a terminal), True, "
            "False, or print every n-th epoch with an int n >= 1"
        )
    _check_model_and_optimizer("fit", model, optimizer)
    loader = _loader(train_data, batch_size, shuffle, seed)
    if validation_data is not None:
        _pair("fit", "validation_data", validation_data)
    named = [get_metric(m) for m in metrics]
    history = History()
    progress = _Progress(epochs, verbose)
    for cb in callbacks:
        cb.on_train_begin(model)
    try:
        for epoch in range(1, epochs + 1):
            _set_training(model, True)
            logs = train_epoch(model, loss_fn, optimizer, loader, named)
            if validation_data is not None:
                X_val, y_val = _pair("fit", "validation_data", validation_data)
                measured = _evaluate(model, loss_fn, X_val, y_val, named)
                logs.update({f"val_{name}": value for name, value in measured.items()})
            history.record(epoch, logs)
            progress.update(epoch, logs)
            stops = [bool(cb.on_epoch_end(epoch, logs, model)) for cb in callbacks]
            if any(stops):
                history.stopped_epoch = epoch
                break
    finally:
        progress.close()
    for cb in callbacks:
        cb.on_train_end(model)
    return history


def train_epoch(
    model: Module,
    loss_fn: LossFn,
    optimizer: Optimizer,
    loader: Iterable[tuple[np.ndarray, np.ndarray]],
    metrics: Sequence[tuple[str, Metric]] = (),
) -> dict[str, float]:
    """One epoch of predict, measure, feedback, adjust; returns its cost and metrics."""
    total, seen = 0.0, 0
    outputs, targets = [], []
    for xb, yb in loader:
        prediction = model(Value(xb, requires_grad=False))  # 1. predict
        cost = _cost("fit", loss_fn, prediction, yb)  # 2. measure
        optimizer.zero_grad()
        cost.backward()  # 3. feedback
        optimizer.step()  # 4. adjust
        total += cost.item() * len(xb)
        seen += len(xb)
        if metrics:
            outputs.append(as_array(prediction))
            targets.append(yb)
    logs = {"cost": total / seen}
    if metrics:
        y_true, y_pred = np.concatenate(targets), np.concatenate(outputs)
        logs.update({name: float(fn(y_true, y_pred)) for name, fn in metrics})
    return logs


def predict(model: Module, X: Any, batch_size: int | None = None) -> np.ndarray:
    """The model's outputs for ``X`` as an array: evaluation mode, no graph recorded.

    ``batch_size`` rows go through the model at a time (all of them when None). ``X`` with
    no rows gives an array with no rows and the model's output width: the model runs once
    on the empty batch, so the width is the model's own.

    >>> import numpy as np
    >>> from tinygrad_lite import nn
    >>> predict(nn.Linear(3, 2), np.zeros((0, 3))).shape
    (0, 2)
    """
    if not callable(model):
        raise TrainingError(f"predict: model is a {type(model).__name__}, not a callable model")
    X = as_array(X, "predict", "X")
    if X.ndim == 0:
        raise TrainingError(
            f"predict: X is a single number ({X!r}); give an array with one row per example"
        )
    size = (
        len(X)
        if batch_size is None
        else whole_number("predict", "batch_size", batch_size, 1, TrainingError)
    )
    was_training = _set_training(model, False)
    try:
        with no_grad():
            parts = [
                _as_output("predict", model(Value(X[i : i + size], requires_grad=False)))
                for i in range(0, max(len(X), 1), max(size, 1))  # once for an empty X
            ]
    finally:
        _set_training(model, was_training)
    return np.concatenate(parts)


def evaluate(
    model: Module,
    loss_fn: LossFn,
    X: Any,
    y: Any,
    metrics: Sequence[str | Metric] = (),
    batch_size: int | None = None,
) -> dict[str, float]:
    """The cost and the metrics of the model's current weights on ``(X, y)``."""
    return _evaluate(model, loss_fn, X, y, [get_metric(m) for m in metrics], batch_size)


def _evaluate(
    model: Module,
    loss_fn: LossFn,
    X: Any,
    y: Any,
    metrics: Sequence[tuple[str, Metric]],
    batch_size: int | None = None,
) -> dict[str, float]:
    outputs = predict(model, X, batch_size)
    y = as_array(y, "evaluate", "y")
    with no_grad():
        logs = {"cost": _cost("evaluate", loss_fn, Value(outputs, requires_grad=False), y).item()}
    logs.update({name: float(fn(y, outputs)) for name, fn in metrics})
    return logs


def _loader(data: Data, batch_size: int | None, shuffle: bool, seed: Seed) -> DataLoader:
    if isinstance(data, DataLoader):
        if batch_size is not None:
            raise TrainingError(
                "fit: batch_size= was given with a DataLoader, which has its own batch size; "
                "give one or the other"
            )
        return data
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TrainingError(
            f"fit: train_data must be (X, y) or a DataLoader; got {type(data).__name__}"
        )
    X, y = data
    if batch_size is not None:
        batch_size = whole_number("fit", "batch_size", batch_size, 1, TrainingError)
    n = DataLoader(X, y).n  # checks X and y: arrays of numbers, one row per example each
    full_batch = batch_size is None or batch_size >= n
    return DataLoader(X, y, batch_size, shuffle=shuffle and not full_batch, seed=seed)


def _pair(owner: str, name: str, data: Any) -> tuple[Any, Any]:
    """``data`` as ``(X, y)``, or a TrainingError that says what it got."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        got = f"{len(data)} items" if isinstance(data, (tuple, list)) else type(data).__name__
        raise TrainingError(f"{owner}: {name} must be a pair (X, y); got {got}")
    return data[0], data[1]


def _check_model_and_optimizer(owner: str, model: Any, optimizer: Any) -> None:
    if not callable(model):
        raise TrainingError(f"{owner}: model is a {type(model).__name__}, not a callable model")
    if not isinstance(optimizer, Optimizer):
        raise TrainingError(
            f"{owner}: optimizer is a {type(optimizer).__name__}; give one from "
            "tinygrad_lite.optim, e.g. optim.SGD(model.parameters(), lr=0.1)"
        )


def _cost(owner: str, loss_fn: LossFn, prediction: Value, y: Any) -> Value:
    """``loss_fn(prediction, y)``, checked to be one number held in a Value."""
    if not callable(loss_fn):
        raise TrainingError(f"{owner}: loss_fn is a {type(loss_fn).__name__}, not a function")
    cost = loss_fn(prediction, y)
    if not isinstance(cost, Value):
        raise TrainingError(
            f"{owner}: loss_fn returned a {type(cost).__name__}, not a Value; training needs "
            "the cost as a Value to run backward from: build it with tinygrad_lite ops "
            "(e.g. nn.functional.mse_loss), not with float() or NumPy"
        )
    if cost.size != 1:
        raise TrainingError(
            f"{owner}: loss_fn returned a Value of shape {cost.shape}; the cost must be one "
            "number (reduce it with .mean() or .sum())"
        )
    return cost


def _as_output(owner: str, output: Any) -> np.ndarray:
    """The model's output for one batch as an array with at least one axis."""
    if output is None:
        raise TrainingError(f"{owner}: the model returned None; its forward must return a Value")
    return np.atleast_1d(as_array(output, owner, "the model's output"))


def _set_training(model: Any, mode: bool) -> bool:
    """Switch a Module's training mode (Dropout...); returns the mode it had."""
    was = bool(getattr(model, "training", True))
    if hasattr(model, "train"):
        model.train(mode)
    return was


# ---------------------------------------------------------------- progress


class _Progress:
    """A tqdm bar on a terminal, printed lines when asked, silence otherwise."""

    def __init__(self, epochs: int, verbose: bool | int | None) -> None:
        self.epochs = epochs
        self.every = 0 if verbose is None or verbose is False else int(verbose)
        self.bar: Any = None
        if verbose is None and sys.stderr.isatty():
            try:
                from tqdm.auto import tqdm
            except ImportError:  # optional: no bar without tqdm
                return
            self.bar = tqdm(total=epochs, desc="training", unit="epoch", leave=False)

    def update(self, epoch: int, logs: Mapping[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
            self.bar.update(1)
        elif self.every and (epoch % self.every == 0 or epoch in (1, self.epochs)):
            print(format_logs(epoch, self.epochs, logs), flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def format_logs(epoch: int, epochs: int, logs: Mapping[str, float]) -> str:
    """``epoch  3/10  cost 0.1234  accuracy 0.9100``: one line of a training log."""
    width = len(str(epochs))
    numbers = "  ".join(f"{name} {value:.4f}" for name, value in logs.items())
    return f"epoch {epoch:>{width}}/{epochs}  {numbers}"


# ---------------------------------------------------------------- k-fold cross-validation


@dataclass
class CrossValidation:
    """What ``cross_validate`` found: per fold, the History and the final validation numbers."""

    histories: list[History]
    scores: list[dict[str, float]]  # one dict per fold: val_cost, val_<metric>...

    def values(self, name: str) -> np.ndarray:
        """``name`` for every fold."""
        if not self.scores or name not in self.scores[0]:
            known = sorted(self.scores[0]) if self.scores else []
            raise TrainingError(f"CrossValidation: no score {name!r}; the scores are {known}")
        return np.array([s[name] for s in self.scores])

    def mean(self, name: str) -> float:
        return float(self.values(name).mean())

    def std(self, name: str) -> float:
        """The population standard deviation of ``name`` over the folds."""
        return float(self.values(name).std())

    def summary(self) -> str:
        """One line per score: ``val_cost 0.1234 +/- 0.0100 over 5 folds``."""
        names = list(self.scores[0]) if self.scores else []
        return "\n".join(
            f"{n} {self.mean(n):.4f} +/- {self.std(n):.4f} over {len(self.scores)} folds"
            for n in names
        )


def cross_validate(
    make_model: Callable[[], Module],
    make_optimizer: Callable[[list[Value]], Optimizer],
    loss_fn: LossFn,
    X: Any,
    y: Any,
    k: int = 5,
    epochs: int = 1,
    batch_size: int | None = None,
    metrics: Sequence[str | Metric] = (),
    standardize: bool = False,
    shuffle: bool = True,
    seed: Seed = None,
    verbose: bool | int | None = False,
    n_jobs: int | None = None,
) -> CrossValidation:
    """k-fold cross-validation: train a fresh model on k-1 folds, measure it on the last one.

    Every example is used for validation exactly once, so the mean of the k scores says more
    than one split's score, and their spread says how much it depends on the split.
    ``make_model()`` builds a new, untrained model; ``make_optimizer(params)`` its optimizer,
    e.g. ``lambda p: optim.SGD(p, lr=0.08)``. With ``standardize`` each fold's inputs are
    standardized with the statistics of that fold's training part only.

    Each fold draws its initial weights, shuffling and dropout from a seed of its own, drawn
    from ``seed`` (or from ``tl.manual_seed``'s generator) before any fold runs, so the folds
    can run anywhere, in any order, and give the same numbers. ``n_jobs`` runs them through
    joblib (scikit-learn's convention: None is one at a time unless a
    ``joblib.parallel_backend`` says otherwise, -1 every core); inside
    ``with joblib.parallel_backend("dask"):`` they run on a Dask cluster.
    """
    X, y = as_array(X, "cross_validate", "X"), as_array(y, "cross_validate", "y")
    if not callable(make_model) or not callable(make_optimizer):
        raise TrainingError("cross_validate: make_model and make_optimizer must be functions")
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0
    ):
        raise TrainingError(
            f"cross_validate: n_jobs={n_jobs!r}; give None (one at a time), a whole number "
            ">= 1 of parallel folds, or -1 for every core"
        )
    gen = random_generator(seed, "cross_validate")
    folds = list(k_fold(len(X), k, shuffle=shuffle, seed=gen))
    fold_seeds = gen.integers(0, 2**63 - 1, size=len(folds))
    common: dict[str, Any] = dict(
        epochs=epochs,
        batch_size=batch_size,
        metrics=metrics,
        standardize=standardize,
        shuffle=shuffle,
        verbose=verbose,
    )
    tasks = [
        functools.partial(
            _run_fold,
            make_model,
            make_optimizer,
            loss_fn,
            X[train],
            y[train],
            X[val],
            y[val],
            seed=int(fold_seed),
            **common,
        )
        for (train, val), fold_seed in zip(folds, fold_seeds)
    ]
    parallel: Any = None
    if n_jobs not in (None, 1):
        parallel = optional_import("joblib", "cross_validate(n_jobs=...)", "joblib", "dask")
    else:
        try:  # a joblib.parallel_backend(...) block decides where n_jobs=None runs
            parallel = importlib.import_module("joblib")
        except ImportError:
            parallel = None
    if parallel is None:
        results = [task() for task in tasks]
    else:
        results = parallel.Parallel(n_jobs=n_jobs)(parallel.delayed(task)() for task in tasks)
    return CrossValidation([h for h, _ in results], [s for _, s in results])


def _run_fold(
    make_model: Callable[[], Module],
    make_optimizer: Callable[[list[Value]], Optimizer],
    loss_fn: LossFn,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    seed: int,
    epochs: int,
    batch_size: int | None,
    metrics: Sequence[str | Metric],
    standardize: bool,
    shuffle: bool,
    verbose: bool | int | None,
) -> tuple[History, dict[str, float]]:
    """Train and measure one fold; its random draws come from ``seed`` alone.

    It runs in a copy of the caller's context, so seeding it leaves the caller's generator
    (``tl.rng()``) as it was, in whichever thread or process the fold runs.
    """

    def run() -> tuple[History, dict[str, float]]:
        manual_seed(seed)
        X_fit, X_check = X_train, X_val
        if standardize:
            scaler = Standardizer().fit(X_fit)
            X_fit, X_check = scaler.transform(X_fit), scaler.transform(X_check)
        model = make_model()
        history = fit(
            model,
            loss_fn,
            make_optimizer(model.parameters()),
            (X_fit, y_train),
            epochs=epochs,
            batch_size=batch_size,
            metrics=metrics,
            shuffle=shuffle,
            verbose=verbose,
        )
        measured = evaluate(model, loss_fn, X_check, y_val, metrics)
        return history, {f"val_{name}": value for name, value in measured.items()}

    return contextvars.copy_context().run(run)
