"""Data augmentation for batches of images: ``Compose``, ``RandomCrop``,
``RandomHorizontalFlip`` and ``GaussianNoise``.

Each transform takes a batch, an array of shape (N, C, H, W) or (N, H, W), and returns a new
array (the input is never changed); each image gets its own random draw. The numbers come
from ``tl.rng()``, so ``tl.manual_seed`` makes a run reproducible. Give one to a
``DataLoader`` (``transform=``) and every training batch is augmented afresh, epoch after
epoch: the network sees slightly different images each time, which makes it generalise
better (the books' "more data" advice, for free).

>>> import numpy as np
>>> import tinygrad_lite as tl
>>> from tinygrad_lite import data
>>> _ = tl.manual_seed(0)
>>> augment = data.Compose([data.RandomCrop(8, padding=1), data.RandomHorizontalFlip()])
>>> images = np.zeros((16, 1, 8, 8), dtype=np.float32)
>>> augment(images).shape, augment(images).dtype
((16, 1, 8, 8), dtype('float32'))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core import ShapeError, rng
from .errors import DataError

Transform = Callable[[np.ndarray], np.ndarray]


def _images(batch: Any, name: str) -> np.ndarray:
    """The batch as an array of shape (N, C, H, W) or (N, H, W)."""
    arr = np.asarray(batch)
    if arr.ndim not in (3, 4):
        raise ShapeError(
            f"{name}: a batch of shape {arr.shape}; expected images (N, C, H, W) or (N, H, W). "
            "Reshape flat rows first, e.g. X.reshape(-1, 1, 28, 28)"
        )
    return arr


def _pair(value: Any, what: str, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (height, width), each at least ``minimum``."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum for v in pair
    ):
        raise DataError(
            f"{name}: {what}={value!r} must be a whole number >= {minimum} or a pair of them"
        )
    return int(pair[0]), int(pair[1])


def _probability(p: Any, name: str) -> float:
    try:
        value = float(p)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise DataError(f"{name}: p={p!r} must be a probability in [0, 1]")
    return value


class Compose:
    """Apply ``transforms`` one after the other.

    >>> flip_all = Compose([RandomHorizontalFlip(p=1.0)])
    >>> flip_all(np.array([[[1, 2, 3]]]))
    array([[[3, 2, 1]]])
    """

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise DataError(
                    f"Compose: item {i} is a {type(t).__name__}, not a transform (a function "
                    "of a batch array that returns an array)"
                )

    def __call__(self, batch: Any) -> np.ndarray:
        for t in self.transforms:
            batch = t(batch)
        return np.asarray(batch)

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class RandomCrop:
    """Pad every image by ``padding`` (filled with ``fill``), then cut a ``size`` crop at a
    random place, as torchvision's ``RandomCrop(size, padding)``.

    ``size`` is an int (square) or (height, width). ``padding`` is an int for every side, a
    pair (left and right, top and bottom) or four numbers (left, top, right, bottom), as in
    torchvision. With ``size`` the image's own size, this shifts each image by up to
    ``padding`` pixels: the classic augmentation of CIFAR-10 and MNIST.

    >>> import tinygrad_lite as tl
    >>> _ = tl.manual_seed(0)
    >>> RandomCrop(2)(np.arange(9.0).reshape(1, 3, 3))       # a 2x2 window of the 3x3 image
    array([[[4., 5.],
            [7., 8.]]])
    """

    def __init__(
        self, size: int | tuple[int, int], padding: int | Sequence[int] = 0, fill: float = 0.0
    ) -> None:
        self.size = _pair(size, "size", "RandomCrop", 1)
        pads = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,)
        if len(pads) not in (1, 2, 4) or not all(
            isinstance(p, (int, np.integer)) and not isinstance(p, bool) and p >= 0 for p in pads
        ):
            raise DataError(
                f"RandomCrop: padding={padding!r} must be a whole number >= 0, a pair (left and "
                "right, top and bottom) or four numbers (left, top, right, bottom)"
            )
        left, top, right, bottom = {1: pads * 4, 2: pads * 2, 4: pads}[len(pads)]
        self.padding = (int(left), int(top), int(right), int(bottom))
        self.fill = float(fill)

    def __call__(self, batch: Any) -> np.ndarray:
        images = _images(batch, "RandomCrop")
        left, top, right, bottom = self.padding
        pad = [(0, 0)] * (images.ndim - 2) + [(top, bottom), (left, right)]
        padded = np.pad(images, pad, constant_values=self.fill)  # (N, [C,] H + pads, W + pads)
        (h, w), (ph, pw) = self.size, padded.shape[-2:]
        if h > ph or w > pw:
            raise DataError(
                f"RandomCrop: the crop {h}x{w} is larger than the padded images {ph}x{pw} "
                f"(batch {images.shape}, padding {self.padding}); crop smaller or pad more"
            )
        n = len(images)
        gen = rng()
        tops = gen.integers(0, ph - h + 1, size=n)  # (N,): one place per image
        lefts = gen.integers(0, pw - w + 1, size=n)
        # every h x w window of every image, as a view: (N, [C,] ph-h+1, pw-w+1, h, w); pick
        # image i's window at (tops[i], lefts[i]): (N, [C,] h, w), a copy of the crops only
        windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(-2, -1))
        return windows[np.arange(n), ..., tops, lefts, :, :]

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left to right with probability ``p`` (the last axis is reversed).

    >>> RandomHorizontalFlip(p=1.0)(np.array([[[1, 2], [3, 4]]]))
    array([[[2, 1],
            [4, 3]]])
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = _probability(p, "RandomHorizontalFlip")

    def __call__(self, batch: Any) -> np.ndarray:
        images = _images(batch, "RandomHorizontalFlip")
        flip = rng().random(len(images)) < self.p  # (N,)
        out = images.copy()
        out[flip] = images[flip, ..., ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class GaussianNoise:
    """Add noise drawn from N(0, std^2) to every element; a float batch keeps its dtype (an
    integer one becomes float64).

    >>> import tinygrad_lite as tl
    >>> _ = tl.manual_seed(0)
    >>> noisy = GaussianNoise(0.1)(np.zeros((1000, 4, 4), dtype=np.float32))
    >>> noisy.dtype, round(float(noisy.std()), 2)
    (dtype('float32'), 0.1)
    """

    def __init__(self, std: float) -> None:
        try:
            value = float(std)
        except (TypeError, ValueError):
            value = float("nan")
        if not value >= 0.0 or value == float("inf"):
            raise DataError(f"GaussianNoise: std={std!r} must be a finite number >= 0")
        self.std = value

    def __call__(self, batch: Any) -> np.ndarray:
        images = _images(batch, "GaussianNoise")
        noise = rng().normal(0.0, self.std, images.shape)
        if images.dtype.kind == "f":
            return images + noise.astype(images.dtype)
        return images + noise

    def __repr__(self) -> str:
        return f"GaussianNoise(std={self.std})"
