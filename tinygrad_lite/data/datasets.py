"""The data sets of the books, all offline: the hotel table, digits, moons, spirals, MNIST files.

* ``hotels()``: the 32 hotels of "A Visual Introduction to Deep Learning" (shipped with the
  package), with the book's two train/test splits;
* ``digits()``: scikit-learn's bundled 8x8 handwritten digits (no download);
* ``moons()`` and ``spirals()``: two-dimensional toy problems generated with NumPy;
* ``read_idx()`` and ``mnist()``: MNIST's IDX files, for a user who already has them on disk.

Every function returns plain NumPy arrays: features ``X`` of shape (n, features) and labels or
targets ``y`` of shape (n,). Randomness comes from ``seed``, or from ``tl.manual_seed``'s
generator when no seed is given.

>>> from tinygrad_lite.data import datasets
>>> h = datasets.hotels()
>>> len(h), h.price_usd[:3]
(32, array([140., 116., 106.]))
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..optional import optional_import
from .errors import DataError
from .splits import Seed, random_generator

CATEGORIES = ("bronze", "silver", "gold")
"""Chapter 4's classes, in the order of their integer labels (0, 1, 2)."""

FEATURES = ("distance_mi", "rating")
"""The inputs of chapters 2-4: distance from the city centre (miles) and guest rating (0-5)."""


# ---------------------------------------------------------------- the hotel table


class TrainTest(NamedTuple):
    """A train/test split as arrays: X is (n, features), y is (n,)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True, eq=False)
class Hotels:
    """The hotel table of "A Visual Introduction to Deep Learning", one array per column.

    The arrays are read-only: copy one before changing it.

    >>> h = hotels()
    >>> d = h.arrays(features=("distance_mi",), target="price_usd", split="ch1_split")
    >>> d.X_train.shape, d.X_test.shape
    ((8, 1), (4, 1))
    """

    hotel: np.ndarray  # int: the hotel's number in the book
    distance_mi: np.ndarray  # float: distance from the city centre, miles
    rating: np.ndarray  # float: guest rating out of 5
    price_usd: np.ndarray  # float: price of a night, US dollars (chapters 1-2's target)
    hot: np.ndarray  # int 0/1: is the hotel in demand (chapter 3's label)
    category: np.ndarray  # str: bronze, silver or gold (chapter 4's label)
    split: np.ndarray  # str: 'train' or 'test', the split of chapters 2-4 (24/8)
    ch1_split: np.ndarray  # str: 'train', 'test' or '' (not used), chapter 1's split (8/4)

    def __len__(self) -> int:
        return len(self.hotel)

    @property
    def category_index(self) -> np.ndarray:
        """``category`` as integer labels: 0 bronze, 1 silver, 2 gold (see ``CATEGORIES``)."""
        label = {name: i for i, name in enumerate(CATEGORIES)}
        return np.array([label[c] for c in self.category], dtype=np.int64)

    def column(self, name: str) -> np.ndarray:
        """The column ``name`` (one of the fields, or ``category_index``)."""
        names = [f.name for f in fields(self)] + ["category_index"]
        if name not in names:
            raise DataError(f"Hotels.column: no column {name!r}; the columns are {names}")
        return np.asarray(getattr(self, name))

    def arrays(
        self,
        features: Sequence[str] = FEATURES,
        target: str = "price_usd",
        split: str = "split",
    ) -> TrainTest:
        """Train and test arrays: ``features`` stacked as columns of X, ``target`` as y.

        ``split`` names the split column: ``"split"`` (chapters 2-4) or ``"ch1_split"``
        (chapter 1's 12 hotels). ``target="category_index"`` gives chapter 4's integer labels.
        """
        if split not in ("split", "ch1_split"):
            raise DataError(
                f"Hotels.arrays: split={split!r}; use 'split' (chapters 2-4) or 'ch1_split'"
            )
        if isinstance(features, str):
            features = (features,)
        X = np.stack([self.column(f).astype(np.float64) for f in features], axis=1)
        y = self.column(target)
        where = self.column(split)
        train, test = where == "train", where == "test"
        return TrainTest(X[train], y[train], X[test], y[test])


@functools.lru_cache(maxsize=1)
def hotels() -> Hotels:
    """The 32 hotels, read from the CSV file shipped inside the package."""
    text = resources.files(__package__).joinpath("hotels.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    kinds = {"hotel": np.int64, "hot": np.int64, "distance_mi": np.float64}
    kinds.update(rating=np.float64, price_usd=np.float64)
    columns = {}
    for f in fields(Hotels):
        col = np.array([r[f.name] for r in rows], dtype=kinds.get(f.name, np.str_))
        col.flags.writeable = False
        columns[f.name] = col
    return Hotels(**columns)


# ---------------------------------------------------------------- digits, moons, spirals


def digits(flatten: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits (8x8 pixels), scaled to [0, 1].

    Returns ``X`` of shape (1797, 64) (or (1797, 8, 8) with ``flatten=False``) and the integer
    labels ``y`` (0-9). Needs scikit-learn, which ships the images: nothing is downloaded.
    """
    sk = optional_import("sklearn.datasets", "datasets.digits()", "scikit-learn")
    bunch = sk.load_digits()
    images = np.asarray(bunch.images, dtype=np.float64) / 16.0  # pixels are 0..16
    X = images.reshape(len(images), -1) if flatten else images
    return X, np.asarray(bunch.target, dtype=np.int64)


def moons(
    n: int = 100, noise: float = 0.1, seed: int | None = None, shuffle: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (micrograd's demo problem), ``n`` points in all.

    Class 0 is the upper moon, class 1 the lower one; ``noise`` is the standard deviation of
    the Gaussian noise added to each coordinate. With ``noise=0, shuffle=False`` the points
    are the same as ``sklearn.datasets.make_moons(n, shuffle=False)``.

    >>> X, y = moons(6, noise=0.0, shuffle=False)
    >>> X.shape, y.tolist()
    ((6, 2), [0, 0, 0, 1, 1, 1])
    """
    _check_count("moons", n, 2)
    n_upper = n // 2
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n - n_upper)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    X = np.concatenate([upper, lower])
    y = np.repeat([0, 1], [n_upper, n - n_upper])
    return _noisy_and_shuffled(X, y, noise, seed, shuffle)


def spirals(
    n: int = 300,
    classes: int = 3,
    noise: float = 0.2,
    seed: int | None = None,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` interleaved spiral arms (the CS231n toy problem), ``n`` points in all.

    Each arm goes from the centre outwards through a quarter turn and a bit more; ``noise``
    jitters the angle (radians), so the arms blur into one another as it grows.

    >>> X, y = spirals(9, classes=3, noise=0.0, shuffle=False)
    >>> X.shape, y.tolist()
    ((9, 2), [0, 0, 0, 1, 1, 1, 2, 2, 2])
    """
    _check_count("spirals", n, classes)
    if classes < 1:
        raise DataError(f"spirals: classes={classes}; give at least 1")
    gen = random_generator(seed)
    sizes = [len(part) for part in np.array_split(np.arange(n), classes)]
    X, y = [], []
    for label, size in enumerate(sizes):
        radius = np.linspace(0.0, 1.0, size)
        angle = np.linspace(4.0 * label, 4.0 * (label + 1), size) + noise * gen.normal(size=size)
        X.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        y.append(np.full(size, label))
    return _noisy_and_shuffled(np.concatenate(X), np.concatenate(y), 0.0, gen, shuffle)


def _check_count(name: str, n: int, at_least: int) -> None:
    if int(n) != n or n < at_least:
        raise DataError(f"{name}: n={n} points; give a whole number of at least {at_least}")


def _noisy_and_shuffled(
    X: np.ndarray, y: np.ndarray, noise: float, seed: Seed, shuffle: bool
) -> tuple[np.ndarray, np.ndarray]:
    if noise < 0:
        raise DataError(f"noise={noise}: the standard deviation of the noise cannot be negative")
    gen = random_generator(seed)
    if noise:
        X = X + gen.normal(scale=noise, size=X.shape)
    if shuffle:
        order = gen.permutation(len(X))
        X, y = X[order], y[order]
    return X, y.astype(np.int64)


# ---------------------------------------------------------------- MNIST's IDX files

# the third byte of an IDX file's magic number gives the element type (big-endian on disk)
_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (MNIST's format), gzip-compressed or not, into an ndarray.

    The file starts with a magic number (two zero bytes, a type code, the number of
    dimensions), then each dimension as a big-endian int32, then the data. Every part is
    checked: a wrong or truncated file raises ``DataError`` saying what was found. The size
    the header declares is compared with the file (or with what its compressed size can
    hold) before any data is read, so a forged header cannot exhaust memory.
    """
    path = Path(path)
    with path.open("rb") as raw_file:
        compressed = raw_file.read(2) == b"\x1f\x8b"  # gzip's magic number
    on_disk = path.stat().st_size
    opened = gzip.open(path, "rb") if compressed else path.open("rb")
    try:
        with opened as f:
            head = f.read(4)
            dtype, ndim = _idx_type(path, head)
            dims = f.read(4 * ndim)
            if ndim == 0 or len(dims) < 4 * ndim:
                raise DataError(
                    f"read_idx: {path} declares {ndim} dimensions but the file ends inside its "
                    "header"
                )
            shape = struct.unpack(f">{ndim}I", dims)
            expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
            header = 4 + 4 * ndim
            # gzip's deflate cannot expand data by more than about 1032:1
            room = 1032 * on_disk if compressed else on_disk - header
            if expected > room:
                raise _idx_size_error(path, shape, dtype, expected, f"at most {max(room, 0)}")
            payload = f.read(expected + 1)  # one byte more: a longer file is refused too
    except (OSError, EOFError, zlib.error) as e:
        if not compressed:
            raise
        raise DataError(f"read_idx: {path} looks gzip-compressed but is corrupt: {e}") from None
    if len(payload) != expected:
        raise _idx_size_error(path, shape, dtype, expected, str(len(payload)))
    data = np.frombuffer(payload, dtype=dtype, count=math.prod(shape))
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def _idx_type(path: Path, head: bytes) -> tuple[np.dtype, int]:
    """The element type and the number of dimensions from an IDX magic number."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DataError(
            f"read_idx: {path} does not start with an IDX magic number (0x00 0x00 type ndim); "
            f"its first bytes are {head.hex(' ') or 'missing (empty file)'}. "
            "Is it an MNIST idx file (e.g. train-images-idx3-ubyte[.gz])?"
        )
    code, ndim = head[2], head[3]
    if code not in _IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_TYPES)
        raise DataError(f"read_idx: {path} has type code 0x{code:02X}; IDX knows {known}")
    return _IDX_TYPES[code], ndim


def _idx_size_error(
    path: Path, shape: tuple[int, ...], dtype: np.dtype, expected: int, held: str
) -> DataError:
    return DataError(
        f"read_idx: {path} declares shape {shape} of {dtype.name} ({expected} bytes of data) "
        f"but holds {held} bytes after its header; the file is truncated or not an IDX file"
    )


_MNIST_FILES = {
    "X_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "X_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def mnist(directory: str | Path) -> TrainTest:
    """MNIST from the four IDX files in ``directory`` (``.gz`` or not; nothing is downloaded).

    Images come back flattened to (n, 784) float32 in [0, 1], as Deep Learning Illustrated
    prepares them; labels as int64. The result unpacks as ``X_train, y_train, X_test, y_test``.
    """
    folder = Path(directory)
    arrays = {key: read_idx(_find_idx(folder, names)) for key, names in _MNIST_FILES.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"X_{part}"], arrays[f"y_{part}"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"mnist: the {part} images have shape {images.shape} and the labels "
                f"{labels.shape}; expected (n, rows, cols) images and n labels"
            )
        arrays[f"X_{part}"] = images.reshape(len(images), -1).astype(np.float32) / 255.0
        arrays[f"y_{part}"] = labels.astype(np.int64)
    return TrainTest(**arrays)


def _find_idx(folder: Path, names: Sequence[str]) -> Path:
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise DataError(f"mnist: no {names[0]}[.gz] in {folder}; put the four MNIST IDX files there")
