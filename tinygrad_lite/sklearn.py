"""scikit-learn estimators around a tinygrad_lite network: ``NeuralNetClassifier`` and
``NeuralNetRegressor``.

They make a network one more scikit-learn estimator, so ``Pipeline``, ``GridSearchCV`` and
``cross_val_score`` work on it unchanged, and through joblib's backends (``n_jobs=``, or
``with joblib.parallel_backend("dask"):``) the folds and the settings of a sweep run on many
cores or on a Dask cluster. Training is ``tinygrad_lite.train.fit`` (its ``EarlyStopping``
too); the estimator adds scikit-learn's conventions around it: the constructor stores its
arguments unchanged, ``fit`` validates the data and sets the fitted attributes
(``classes_``, ``n_features_in_``, ``module_``, ``history_``...), ``score`` is accuracy or R².

``module`` is either a function that builds the network, called as
``module(n_features, n_outputs, **module_params)`` at every ``fit`` (``n_outputs`` is the number
of classes for the classifier, of targets for the regressor), or an ``nn.Module``, which
``fit`` copies (the module you passed is never trained). A builder is what a grid search wants:
``{"module_params": [{"hidden": (16,)}, {"hidden": (64,)}]}`` tries two networks.
``make_mlp`` is such a builder.

Pickling keeps arrays only: the constructor's arguments, the fitted attributes, and the
trained network as its ``state_dict()`` (NumPy arrays); unpickling builds the network again
and loads the arrays into it. No Value or graph is pickled (except inside an ``nn.Module``
passed as ``module=``, which is a constructor argument and is kept as given).

>>> import numpy as np
>>> from tinygrad_lite.sklearn import NeuralNetClassifier, make_mlp
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
>>> y = np.array(["no", "yes", "yes", "no"] * 10)          # XOR, with string labels
>>> clf = NeuralNetClassifier(make_mlp, module_params={"hidden": (16,)}, lr=0.05,
...                           epochs=200, batch_size=None, random_state=0).fit(X, y)
>>> clf.classes_.tolist(), clf.predict(X[:4]).tolist(), clf.score(X, y)
(['no', 'yes'], ['no', 'yes', 'yes', 'no'], 1.0)
"""

from __future__ import annotations

import contextvars
import copy
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from . import optim
from .core import ArgumentError, manual_seed, rng
from .nn import functional as F
from .nn.activations import ReLU, Sequential, Tanh
from .nn.linear import Linear
from .nn.module import Module
from .optional import optional_import
from .train import EarlyStopping, History, fit, predict

_FEATURE = "tinygrad_lite.sklearn"
_base = optional_import("sklearn.base", _FEATURE, "scikit-learn", extra="sklearn")
_validation = optional_import("sklearn.utils.validation", _FEATURE, "scikit-learn", "sklearn")
_multiclass = optional_import("sklearn.utils.multiclass", _FEATURE, "scikit-learn", "sklearn")
_utils = optional_import("sklearn.utils", _FEATURE, "scikit-learn", "sklearn")
_BaseEstimator: Any = _base.BaseEstimator  # typed Any: scikit-learn ships no type hints
_ClassifierMixin: Any = _base.ClassifierMixin
_RegressorMixin: Any = _base.RegressorMixin

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor", "make_mlp"]

_ACTIVATIONS: dict[str, type[Module]] = {"relu": ReLU, "tanh": Tanh}


def make_mlp(
    n_features: int,
    n_outputs: int,
    hidden: Sequence[int] = (32,),
    activation: str = "relu",
    dtype: Any = np.float32,
) -> Sequential:
    """A multi-layer perceptron ``n_features -> hidden... -> n_outputs``: a ``module=`` builder.

    >>> make_mlp(4, 3, hidden=(8,))
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=3, bias=True)
    )
    """
    if activation not in _ACTIVATIONS:
        raise ArgumentError(
            f"make_mlp: activation={activation!r}; give one of {sorted(_ACTIVATIONS)}"
        )
    if isinstance(hidden, (int, np.integer)):
        hidden = (int(hidden),)
    layers: list[Module] = []
    width = n_features
    for size in hidden:
        layers += [Linear(width, size, dtype=dtype), _ACTIVATIONS[activation]()]
        width = size
    layers.append(Linear(width, n_outputs, dtype=dtype))
    return Sequential(*layers)


def _validate(estimator: Any, X: Any, y: Any = "no_validation", **kwargs: Any) -> Any:
    """scikit-learn's input validation: ``validate_data`` (1.6+) or the older method."""
    kwargs.setdefault("dtype", (np.float64, np.float32))
    validate_data = getattr(_validation, "validate_data", None)
    if validate_data is not None:
        return validate_data(estimator, X, y, **kwargs)
    return estimator._validate_data(X, y, **kwargs)  # scikit-learn < 1.6


def _derived_seed(base: int, step: int) -> int:
    """A seed for the ``step``-th training call of an estimator seeded with ``base``."""
    if step == 0:
        return base
    return int(np.random.SeedSequence([base, step]).generate_state(1)[0])


class _NeuralNet(_BaseEstimator):
    """What the classifier and the regressor share: building, training, pickling."""

    _default_criterion: Callable[[Any, Any], Any] = staticmethod(F.mse_loss)

    def __init__(
        self,
        module: Callable[..., Module] | Module,
        *,
        criterion: Callable[[Any, Any], Any] | None = None,
        optimizer: type[optim.Optimizer] = optim.Adam,
        lr: float = 0.01,
        epochs: int = 50,
        batch_size: int | None = 32,
        module_params: Mapping[str, Any] | None = None,
        optimizer_params: Mapping[str, Any] | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        random_state: int | None = None,
        verbose: bool | int = False,
    ) -> None:
        # scikit-learn's rule: store every argument unchanged; fit checks them
        self.module = module
        self.criterion = criterion
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.module_params = module_params
        self.optimizer_params = optimizer_params
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ what subclasses define

    def _targets(self, y: np.ndarray, first: bool, classes: Any = None) -> np.ndarray:
        """The targets the criterion gets; sets the target's fitted attributes when first."""
        raise NotImplementedError

    # ------------------------------------------------------------ building

    def _name(self) -> str:
        return type(self).__name__

    def _build_module(self, n_features: int, n_outputs: int) -> Module:
        """A fresh network (the builder's) or a copy of the given one, never the given one."""
        name, spec = self._name(), self.module
        if isinstance(spec, Module):
            if self.module_params:
                raise ArgumentError(
                    f"{name}: module_params={self.module_params!r} were given with a built "
                    f"{type(spec).__name__}; they are arguments for a builder: pass a function "
                    "module(n_features, n_outputs, **module_params), e.g. make_mlp"
                )
            return copy.deepcopy(spec)
        if not callable(spec):
            raise ArgumentError(
                f"{name}: module={spec!r} is neither an nn.Module nor a function that builds "
                "one; give e.g. module=make_mlp or module=nn.Sequential(...)"
            )
        params = self.module_params or {}
        if not isinstance(params, Mapping):
            raise ArgumentError(
                f"{name}: module_params={params!r} must be a dict of keyword arguments for "
                "the module builder, e.g. {'hidden': (32,)}"
            )
        built = spec(n_features, n_outputs, **params)
        if not isinstance(built, Module):
            raise ArgumentError(
                f"{name}: module(n_features={n_features}, n_outputs={n_outputs}) returned a "
                f"{type(built).__name__}; the builder must return an nn.Module"
            )
        return built

    def _build_optimizer(self, module: Module) -> optim.Optimizer:
        name, cls = self._name(), self.optimizer
        if not (isinstance(cls, type) and issubclass(cls, optim.Optimizer)):
            raise ArgumentError(
                f"{name}: optimizer={cls!r} must be an optimizer class from tinygrad_lite.optim "
                "(e.g. optim.Adam or optim.SGD), which the estimator builds with lr and "
                "optimizer_params"
            )
        params = self.optimizer_params or {}
        if not isinstance(params, Mapping):
            raise ArgumentError(
                f"{name}: optimizer_params={params!r} must be a dict of keyword arguments "
                "for the optimizer, e.g. {'momentum': 0.9}"
            )
        return cls(module.parameters(), lr=self.lr, **params)

    def _base_seed(self) -> int | None:
        """``random_state`` as an int (None: draw from tl.manual_seed's generator)."""
        if self.random_state is None:
            return None
        if isinstance(self.random_state, numbers.Integral) and not isinstance(
            self.random_state, bool
        ):
            if self.random_state < 0:
                raise ArgumentError(
                    f"{self._name()}: random_state={self.random_state}; give a whole number "
                    ">= 0 or None"
                )
            return int(self.random_state)
        # a RandomState (scikit-learn's other convention); check_random_state refuses the rest
        return int(_utils.check_random_state(self.random_state).randint(2**31 - 1))

    # ------------------------------------------------------------ training

    def _train(self, X: Any, y: Any, *, first: bool, epochs: int, classes: Any = None) -> Any:
        X, y = self._check_xy(X, y, reset=first)
        targets = self._targets(y, first, classes)
        seed = self._base_seed()
        step = 0 if first else getattr(self, "n_iter_", 0)

        def run() -> None:
            if seed is not None:
                # in a copied context, so the caller's tl.rng() is left alone (manual_seed
                # also becomes the default of threads started later, as it always does)
                manual_seed(_derived_seed(seed, step))
            if first:
                self.module_ = self._build_module(X.shape[1], self.n_outputs_)
                self._optimizer = self._build_optimizer(self.module_)
                self.n_iter_ = 0
            self._fit_epochs(X, targets, epochs, first)

        if seed is None:
            run()
        else:
            contextvars.copy_context().run(run)
        return self

    def _fit_epochs(self, X: np.ndarray, targets: np.ndarray, epochs: int, first: bool) -> None:
        dtype = self._dtype()
        X = X.astype(dtype, copy=False)
        if targets.dtype.kind == "f":  # regression targets in the network's dtype
            targets = targets.astype(dtype, copy=False)
        early = first and bool(self.early_stopping)
        criterion = self.criterion if self.criterion is not None else self._default_criterion
        callbacks, validation = [], None
        if early:
            X, targets, validation = self._split_validation(X, targets)
            callbacks.append(EarlyStopping("val_cost", patience=self.patience))
        history = fit(
            self.module_,
            criterion,
            self._optimizer,
            (X, targets),
            epochs=epochs,
            batch_size=self.batch_size,
            validation_data=validation,
            callbacks=callbacks,
            verbose=self.verbose,
        )
        if first:
            self.history_ = history
        else:  # partial_fit: the History goes on, epochs numbered from the first call
            for i in range(len(history)):
                logs = {name: values[i] for name, values in history.history.items()}
                self.history_.record(self.n_iter_ + i + 1, logs)
        self.n_iter_ += len(history)

    def _split_validation(
        self, X: np.ndarray, targets: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        fraction = self.validation_fraction
        if not isinstance(fraction, numbers.Real) or not 0.0 < float(fraction) < 1.0:
            raise ArgumentError(
                f"{self._name()}: validation_fraction={fraction!r} must be a number between 0 "
                "and 1 (exclusive), the share of the training data kept for early stopping"
            )
        n_val = int(np.ceil(float(fraction) * len(X)))
        if n_val >= len(X):
            raise ArgumentError(
                f"{self._name()}: early_stopping with n_samples={len(X)} leaves none to train "
                "on; give more examples, a smaller validation_fraction or early_stopping=False"
            )
        order = rng().permutation(len(X))
        val, train = order[:n_val], order[n_val:]
        return X[train], targets[train], (X[val], targets[val])

    def _dtype(self) -> np.dtype[Any]:
        """The float dtype of the network's parameters (inputs are cast to it)."""
        for p in self.module_.parameters():
            dtype = np.asarray(p.data).dtype
            if dtype.kind == "f":
                return dtype
        return np.dtype(np.float64)

    def _check_xy(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        return _validate(self, X, y, reset=reset)

    def _outputs(self, X: Any) -> np.ndarray:
        """The network's outputs for ``X`` (validated), as float64."""
        _validation.check_is_fitted(self, "module_")
        X = _validate(self, X, reset=False)
        return predict(self.module_, X.astype(self._dtype(), copy=False)).astype(np.float64)

    # ------------------------------------------------------------ pickling by state

    def __getstate__(self) -> dict[str, Any]:
        """The constructor's arguments, the fitted attributes, and the network as arrays."""
        params = self.get_params(deep=False)
        fitted = {k: v for k, v in self.__dict__.items() if k not in params}
        module = fitted.pop("module_", None)
        optimizer = fitted.pop("_optimizer", None)
        history = fitted.pop("history_", None)
        state: dict[str, Any] = {"params": params, "fitted": fitted}
        if module is not None:
            state["module_state"] = module.state_dict()  # NumPy arrays, by name
            state["optimizer_state"] = optimizer.state_dict() if optimizer is not None else None
        if history is not None:
            state["history"] = {
                "epochs": list(history.epochs),
                "history": {k: list(v) for k, v in history.history.items()},
                "stopped_epoch": history.stopped_epoch,
            }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state["params"])
        self.__dict__.update(state["fitted"])
        if "history" in state:
            saved = state["history"]
            self.history_ = History(saved["history"], saved["epochs"], saved["stopped_epoch"])
        if "module_state" in state:

            def rebuild() -> None:
                manual_seed(0)  # the builder draws weights: not from the caller's generator
                module = self._build_module(self.n_features_in_, self.n_outputs_)
                module.load_state_dict(state["module_state"])
                self.module_ = module
                self._optimizer = self._build_optimizer(module)
                if state.get("optimizer_state") is not None:
                    self._optimizer.load_state_dict(state["optimizer_state"])

            contextvars.copy_context().run(rebuild)


class NeuralNetClassifier(_ClassifierMixin, _NeuralNet):
    """A classifier: ``module``'s outputs are one logit per class, trained with
    ``nn.functional.cross_entropy`` (unless ``criterion=`` says otherwise).

    Parameters: ``module`` (a builder ``module(n_features, n_classes, **module_params)`` or an
    ``nn.Module``), ``criterion(logits, labels)`` with integer labels 0..n_classes-1,
    ``optimizer`` (a class from ``tinygrad_lite.optim``, built with ``lr`` and
    ``optimizer_params``), ``epochs``, ``batch_size`` (None: full batch), ``early_stopping``
    (keep ``validation_fraction`` of the data aside and stop when its cost has not improved for
    ``patience`` epochs, restoring the best weights), ``random_state`` (an int makes weights,
    shuffling and dropout reproducible), ``verbose`` (as ``train.fit``).

    Fitted attributes: ``classes_``, ``n_features_in_``, ``n_outputs_`` (the number of
    classes), ``module_`` (the trained network), ``history_`` (``train.History``),
    ``n_iter_`` (epochs trained).
    """

    _default_criterion = staticmethod(F.cross_entropy)

    def fit(self, X: Any, y: Any) -> NeuralNetClassifier:
        """Train a fresh network on ``X`` (n_samples, n_features) and labels ``y``."""
        return self._train(X, y, first=True, epochs=self.epochs)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> NeuralNetClassifier:
        """One more epoch on ``(X, y)``, going on from the current weights and optimizer.

        The first call builds the network; ``classes`` lists every label it will ever see
        (default: the labels of this first ``y``).
        """
        first = not hasattr(self, "module_")
        return self._train(X, y, first=first, epochs=1, classes=classes)

    def _targets(self, y: np.ndarray, first: bool, classes: Any = None) -> np.ndarray:
        _multiclass.check_classification_targets(y)
        if first:
            known = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            self.classes_ = known
            self.n_outputs_ = len(known)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ArgumentError(
                f"{self._name()}: y holds labels {unknown.tolist()[:5]} that are not in "
                f"classes_ {self.classes_.tolist()[:10]}; give every label in the first "
                "partial_fit's classes=, or call fit"
            )
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """The probability of each class (columns in the order of ``classes_``): softmax."""
        logits = self._outputs(X)  # (N, n_classes)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row of ``X``."""
        proba = self.predict_proba(X)  # first: it says NotFittedError before fit
        return self.classes_[np.argmax(proba, axis=1)]


class NeuralNetRegressor(_RegressorMixin, _NeuralNet):
    """A regressor: ``module``'s outputs are the predicted targets, trained with
    ``nn.functional.mse_loss`` (unless ``criterion=`` says otherwise). ``y`` may have one
    column per target (multi-output regression).

    Parameters as ``NeuralNetClassifier``; the builder is called as
    ``module(n_features, n_targets, **module_params)``. Fitted attributes: ``n_features_in_``,
    ``n_outputs_`` (targets), ``module_``, ``history_``, ``n_iter_``.
    """

    def fit(self, X: Any, y: Any) -> NeuralNetRegressor:
        """Train a fresh network on ``X`` (n_samples, n_features) and targets ``y``."""
        return self._train(X, y, first=True, epochs=self.epochs)

    def partial_fit(self, X: Any, y: Any) -> NeuralNetRegressor:
        """One more epoch on ``(X, y)``, going on from the current weights and optimizer."""
        first = not hasattr(self, "module_")
        return self._train(X, y, first=first, epochs=1)

    def _check_xy(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        return _validate(self, X, y, reset=reset, multi_output=True, y_numeric=True)

    def _targets(self, y: np.ndarray, first: bool, classes: Any = None) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        width = 1 if y.ndim == 1 else y.shape[1]
        if first:
            self.n_outputs_ = width
            self._y_1d = y.ndim == 1
        elif width != self.n_outputs_:
            raise ArgumentError(
                f"{self._name()}: y has {width} target column(s) but the network was fitted "
                f"with {self.n_outputs_}; give y of the first call's shape"
            )
        return y.reshape(len(y), width)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted targets: shape (n_samples,) when fitted on a 1-D ``y``."""
        outputs = self._outputs(X)  # (N, n_outputs)
        return outputs.ravel() if self._y_1d else outputs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"multioutput": True}
