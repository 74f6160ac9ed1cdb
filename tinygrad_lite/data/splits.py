"""Splitting data: train/test, train/validation/test, and the k folds of cross-validation.

The model learns from the training set, its hyperparameters are chosen on the validation
set, and the test set is looked at once, at the end. The helpers follow scikit-learn's
conventions (``test_size`` as a fraction or a count, ``KFold``'s fold sizes), so results can
be compared with it.

>>> import numpy as np
>>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
>>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=2, shuffle=False)
>>> y_train.tolist(), y_test.tolist()
([0, 1, 2], [3, 4])
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..checks import flag, room, whole_number
from ..core import ShapeError, Value, rng
from .errors import DataError

Seed = int | np.random.Generator | None


def random_generator(seed: Seed = None, owner: str = "random_generator") -> np.random.Generator:
    """The generator to shuffle with: ``tl.manual_seed``'s one when ``seed`` is None, a fresh
    ``np.random.default_rng(seed)`` for an int, or the Generator itself."""
    if seed is None:
        return rng()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(
            f"{owner}: seed={seed!r}: give a whole number >= 0, a numpy Generator, or None for "
            "tl.manual_seed's generator"
        )
    return np.random.default_rng(seed)


def as_array(x: Any, owner: str = "as_array", name: str = "the data") -> np.ndarray:
    """The data of a Value, or ``np.asarray`` of anything else (lists, arrays), checked to
    hold numbers (or booleans): ragged rows, text, objects, complex numbers and integers too
    large for 64 bits raise a DataError that names ``owner`` and ``name``."""
    raw = x.data if isinstance(x, Value) else x
    try:
        arr = np.asarray(raw)
    except (ValueError, TypeError, OverflowError) as e:
        why = str(e).split(". ")[0]
        raise DataError(
            f"{owner}: {name} cannot be made an array of numbers ({why}); give rows of numbers "
            "of one length"
        ) from None
    if arr.dtype.kind not in "biuf":
        shown = repr(raw) if len(repr(raw)) < 60 else repr(raw)[:57] + "..."
        raise DataError(
            f"{owner}: {name} {shown} holds {arr.dtype} values, not real numbers; give numbers"
        )
    return arr


def same_length(where: str, **arrays: np.ndarray) -> int:
    """The common length of ``arrays`` (their first axis); a ShapeError names them if not."""
    lengths = {name: len(a) if np.ndim(a) else 0 for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        shapes = ", ".join(f"{name} {np.shape(a)}" for name, a in arrays.items())
        raise ShapeError(f"{where}: {shapes}: the arrays need the same number of rows (examples)")
    return next(iter(lengths.values()))


def train_test_split(
    X: Any, y: Any, test_size: float | int = 0.25, shuffle: bool = True, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split into ``X_train, X_test, y_train, y_test`` (scikit-learn's order).

    ``test_size`` is a fraction of the examples (rounded up, as scikit-learn does) or a count.
    Without ``shuffle`` the last examples form the test set.
    """
    X, y = as_array(X, "train_test_split", "X"), as_array(y, "train_test_split", "y")
    n = same_length("train_test_split", X=X, y=y)
    n_test = _part_size("train_test_split", "test_size", test_size, n)
    _check_train_left("train_test_split", n, n - n_test)
    if flag("train_test_split", "shuffle", shuffle, DataError):
        order = random_generator(seed, "train_test_split").permutation(n)
        train, test = order[n_test:], order[:n_test]
    else:
        train, test = np.arange(n - n_test), np.arange(n - n_test, n)
    return X[train], X[test], y[train], y[test]


def train_val_test_split(
    X: Any,
    y: Any,
    val_size: float | int = 0.2,
    test_size: float | int = 0.2,
    shuffle: bool = True,
    seed: Seed = None,
) -> tuple[np.ndarray, ...]:
    """Split into ``X_train, X_val, X_test, y_train, y_val, y_test``.

    ``val_size`` and ``test_size`` are fractions of ALL the examples (or counts). Without
    ``shuffle`` the order is kept: training examples first, then validation, then test.

    >>> parts = train_val_test_split(np.zeros((10, 1)), np.arange(10), 0.2, 0.3, shuffle=False)
    >>> [p.tolist() for p in parts[3:]]
    [[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]]
    """
    X, y = as_array(X, "train_val_test_split", "X"), as_array(y, "train_val_test_split", "y")
    n = same_length("train_val_test_split", X=X, y=y)
    n_val = _part_size("train_val_test_split", "val_size", val_size, n)
    n_test = _part_size("train_val_test_split", "test_size", test_size, n)
    n_train = n - n_val - n_test
    _check_train_left("train_val_test_split", n, n_train)
    if flag("train_val_test_split", "shuffle", shuffle, DataError):
        order = random_generator(seed, "train_val_test_split").permutation(n)
    else:
        order = np.arange(n)
    train, val, test = np.split(order, [n_train, n_train + n_val])
    return X[train], X[val], X[test], y[train], y[val], y[test]


def k_fold(
    n: int | Any, k: int = 5, shuffle: bool = False, seed: Seed = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The ``k`` folds of cross-validation: yields ``(train_index, val_index)`` k times.

    ``n`` is the number of examples (or an array, whose length is used). Every example is in
    exactly one validation fold; the first ``n % k`` folds hold one example more, as in
    scikit-learn's ``KFold``.

    >>> [val.tolist() for _, val in k_fold(5, k=2)]
    [[0, 1, 2], [3, 4]]
    """
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
        count = int(n)
    else:
        arr = as_array(n, "k_fold", "n")
        if arr.ndim == 0:
            raise DataError(f"k_fold: n={n!r}; give the number of examples or an array of them")
        count = len(arr)
    room("k_fold", (count,), 8, DataError)  # the permutation of the examples
    k = whole_number("k_fold", "k", k, 2, DataError)
    if k > count:
        raise DataError(
            f"k_fold: k={k} folds of {count} examples; k must be a whole number from 2 to {count}"
        )
    if flag("k_fold", "shuffle", shuffle, DataError):
        order = random_generator(seed, "k_fold").permutation(count)
    else:
        order = np.arange(count)
    folds = np.array_split(order, k)
    for i, val in enumerate(folds):
        train = np.concatenate([f for j, f in enumerate(folds) if j != i])
        yield train, val


def _part_size(where: str, name: str, size: float | int, n: int) -> int:
    """A fraction (0 < size < 1, rounded up) or a count (0 <= size <= n) as a count."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        if 0 <= size <= n:
            return int(size)
    elif isinstance(size, float) and 0.0 < size < 1.0:
        return math.ceil(size * n)
    raise DataError(
        f"{where}: {name}={size!r}; give a fraction strictly between 0 and 1, "
        f"or a count of examples from 0 to {n}"
    )


def _check_train_left(where: str, n: int, n_train: int) -> None:
    if n_train < 1:
        raise DataError(
            f"{where}: the sizes asked for leave no training example out of {n}; make them smaller"
        )
