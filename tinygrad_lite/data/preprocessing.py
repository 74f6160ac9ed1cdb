"""Getting data ready for a network: standardizing features and one-hot encoding labels.

Standardizing puts every feature on the same scale (mean 0, standard deviation 1), so one
learning rate suits every weight. The mean and the standard deviation come from the TRAINING
set only, and are then applied unchanged to the validation and test sets, as the book does:
the test set must stay unseen.

>>> import numpy as np
>>> scaler = Standardizer().fit(np.array([[1.0], [3.0]]))
>>> scaler.transform(np.array([[1.0], [5.0]])).ravel().tolist()
[-1.0, 3.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import room, whole_number
from ..core import ShapeError
from .errors import DataError
from .splits import as_array


def one_hot(labels: Any, num_classes: int | None = None) -> np.ndarray:
    """Integer labels (n,) as one-hot rows (n, num_classes) of float64 zeros and ones.

    ``num_classes`` defaults to the largest label plus one.

    >>> one_hot([0, 2, 1]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    y = as_array(labels, "one_hot", "labels")
    if y.ndim != 1:
        raise ShapeError(f"one_hot: labels of shape {y.shape}; give a 1-D array of class numbers")
    if y.size and (y.dtype.kind not in "biuf" or np.any(y != np.round(y))):
        raise DataError(f"one_hot: labels must be whole numbers 0, 1, 2...; got {y[:5]!r}...")
    y = y.astype(np.int64)
    if num_classes is not None:
        num_classes = whole_number("one_hot", "num_classes", num_classes, 1, DataError)
        room("one_hot", (len(y), num_classes), 8, DataError)
    classes = int(y.max()) + 1 if num_classes is None and y.size else (num_classes or 0)
    room("one_hot", (len(y), classes), 8, DataError)
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise DataError(
            f"one_hot: labels range from {y.min()} to {y.max()}, outside 0..{classes - 1} "
            f"for num_classes={classes}; raise num_classes or fix the labels"
        )
    out = np.zeros((len(y), classes))
    out[np.arange(len(y)), y] = 1.0
    return out


class Standardizer:
    """Rescale to mean 0 and standard deviation 1, with statistics learned on training data.

    Works column by column on (n, features) arrays, and on 1-D arrays (a target such as a
    price). ``ddof=0`` (the default) divides by n: the population standard deviation, which
    is what NumPy's ``std`` and scikit-learn's ``StandardScaler`` use. A feature that is
    constant in the training set is only shifted (its standard deviation counts as 1).

    >>> price = np.array([100.0, 140.0, 180.0])
    >>> s = Standardizer().fit(price)
    >>> s.mean_, s.std_
    (array(140.), array(32.65986324))
    >>> s.inverse_transform(s.transform(price)).tolist()
    [100.0, 140.0, 180.0]
    """

    def __init__(self, ddof: int = 0) -> None:
        if ddof not in (0, 1):
            raise DataError(f"Standardizer: ddof={ddof}; use 0 (population std) or 1 (sample)")
        self.ddof = ddof
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def fit(self, X: Any) -> Standardizer:
        """Learn the mean and standard deviation of each column of ``X`` (the training set)."""
        X = self._floats(X, "fit")
        if len(X) <= self.ddof:
            raise DataError(
                f"Standardizer.fit: {len(X)} examples cannot give a standard deviation "
                f"with ddof={self.ddof}"
            )
        self.mean_ = np.asarray(X.mean(axis=0))
        std = X.std(axis=0, ddof=self.ddof)
        self.std_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """``(X - mean) / std`` with the training statistics."""
        mean, std = self._stats(X, "transform")
        return (self._floats(X, "transform") - mean) / std

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Back to the original units: ``Z * std + mean`` (e.g. predicted prices in dollars)."""
        mean, std = self._stats(Z, "inverse_transform")
        return self._floats(Z, "inverse_transform") * std + mean

    def _floats(self, X: Any, what: str) -> np.ndarray:
        X = as_array(X, f"Standardizer.{what}", "X")
        if X.ndim not in (1, 2) or X.dtype.kind not in "biuf":
            raise ShapeError(
                f"Standardizer.{what}: got an array of shape {X.shape} and dtype {X.dtype}; "
                "give numbers as (n,) or (n, features)"
            )
        return X.astype(np.float64) if X.dtype.kind != "f" else X

    def _stats(self, X: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
        if self.mean_ is None or self.std_ is None:
            raise DataError(f"Standardizer.{what}: call fit(X_train) first")
        shape = as_array(X, f"Standardizer.{what}", "X").shape
        width = shape[1] if len(shape) == 2 else None
        fitted = self.mean_.shape[0] if self.mean_.ndim == 1 else None
        if width != fitted and not (width == 1 and fitted is None):
            raise ShapeError(
                f"Standardizer.{what}: array of shape {shape}, but the Standardizer was fit on "
                f"{'1-D data' if fitted is None else f'{fitted} columns'}"
            )
        return self.mean_, self.std_

    def __repr__(self) -> str:
        if self.mean_ is None:
            return f"Standardizer(ddof={self.ddof}, not fitted)"
        return f"Standardizer(mean={self.mean_}, std={self.std_})"
