"""DataLoader: the training set in batches, reshuffled every epoch.

The batch size is what separates the three flavours of gradient descent of the books:

* full-batch (``batch_size=None``): one step per epoch, on all the examples;
* mini-batch (``batch_size=32``, say): one step per batch;
* stochastic (``batch_size=1``): one step per example.

Batches are plain NumPy arrays (views or copies of rows of X and y), never Values: data needs
no gradient, and arrays go straight into metrics and plots. ``fit`` wraps the inputs in
``Value(xb, requires_grad=False)`` before calling the model; losses take the arrays as
targets.

>>> import numpy as np
>>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
>>> [yb.tolist() for _, yb in DataLoader(X, y, batch_size=2)]
[[0, 1], [2, 3], [4]]

``transform`` changes every batch of inputs as it is made (data augmentation, see
``data.transforms``); the labels are left as they are:

>>> [xb.tolist() for xb, _ in DataLoader(X, y, batch_size=2, transform=lambda xb: -xb)][0]
[[-0.0, -1.0], [-2.0, -3.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..checks import flag, whole_number
from ..core import ShapeError
from .errors import DataError
from .splits import Seed, as_array, random_generator, same_length


class DataLoader:
    """Iterate over ``(xb, yb)`` batches of ``X`` and ``y`` (NumPy arrays).

    ``batch_size=None`` gives the whole set as one batch. With ``shuffle=True`` every pass
    (epoch) visits the examples in a new order, drawn from ``np.random.default_rng(seed)``, or
    from ``tl.manual_seed``'s generator when ``seed`` is None. ``drop_last`` skips a last batch
    smaller than ``batch_size``. ``transform`` (a function of an array that returns one, such
    as ``data.Compose([...])``) is applied to every batch of ``X``, afresh each epoch.
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        batch_size: int | None = None,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: Seed = None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.X, self.y = as_array(X, "DataLoader", "X"), as_array(y, "DataLoader", "y")
        if self.X.ndim == 0 or self.y.ndim == 0:
            raise DataError(
                f"DataLoader: X has shape {self.X.shape} and y {self.y.shape}; give one row "
                "per example (a single number is not a data set)"
            )
        self.n = same_length("DataLoader", X=self.X, y=self.y)
        if self.n == 0:
            raise DataError("DataLoader: X and y hold no examples")
        if batch_size is not None:  # None: the full batch
            batch_size = min(
                whole_number("DataLoader", "batch_size", batch_size, 1, DataError), self.n
            )
        self.batch_size = self.n if batch_size is None else batch_size
        self.shuffle = flag("DataLoader", "shuffle", shuffle, DataError)
        self.drop_last = flag("DataLoader", "drop_last", drop_last, DataError)
        if transform is not None and not callable(transform):
            raise DataError(
                f"DataLoader: transform={transform!r} is not callable; give a function of a "
                "batch array (such as data.Compose([...])) or None"
            )
        self.transform = transform
        # an explicit seed: one generator for the loader's life, so every epoch differs;
        # None: tl.manual_seed's generator, looked up each epoch
        self._seed_rng = None if seed is None else random_generator(seed, "DataLoader")

    def __len__(self) -> int:
        """The number of batches (optimizer steps) in one epoch."""
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order = None
        if self.shuffle:
            order = (self._seed_rng or random_generator()).permutation(self.n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, self.n)
            if order is None:  # slices: views, no copy
                xb, yb = self.X[start:stop], self.y[start:stop]
            else:
                rows = order[start:stop]
                xb, yb = self.X[rows], self.y[rows]
            if self.transform is not None:
                xb = _same_rows(self.transform(xb), xb)
            yield xb, yb

    def __repr__(self) -> str:
        transform = "" if self.transform is None else f", transform={self.transform!r}"
        return (
            f"DataLoader({self.n} examples, batch_size={self.batch_size}, "
            f"{len(self)} batches, shuffle={self.shuffle}{transform})"
        )


def _same_rows(out: Any, xb: np.ndarray) -> np.ndarray:
    """A transform's result, checked to keep one row per example of the batch ``xb``."""
    out = np.asarray(out)
    if out.ndim == 0 or len(out) != len(xb):
        raise ShapeError(
            f"DataLoader: the transform turned a batch of shape {xb.shape} into "
            f"{out.shape}; it must keep one row per example (the labels are not changed)"
        )
    return out
