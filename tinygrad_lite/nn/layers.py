"""Layers without weights for convolutional and transformer networks: ``GELU``,
``Dropout2d``, ``Upsample`` and ``Unflatten``, with torch's arguments and behaviour.

Each is a thin Module around its function in ``nn.functional`` (``gelu``, ``dropout2d``,
``interpolate``) or a reshape, so that it can sit in a ``Sequential``.

>>> import numpy as np
>>> import tinygrad_lite as tl
>>> from tinygrad_lite import nn
>>> decoder = nn.Sequential(nn.Unflatten(1, (2, 2, 2)), nn.Upsample(scale_factor=2), nn.GELU())
>>> decoder(np.ones((5, 8), dtype=np.float32)).shape
(5, 2, 4, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core import ArgumentError, ShapeError, Value
from . import functional as F
from .module import Module


class GELU(Module):
    """GELU, ``x Phi(x)``: exact, with erf (``approximate="none"``, torch's default), or the
    tanh approximation (``approximate="tanh"``).

    >>> from tinygrad_lite import nn
    >>> round(nn.GELU()(-1.0).item(), 6), round(nn.GELU("tanh")(-1.0).item(), 6)
    (-0.158655, -0.158808)
    """

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ArgumentError(
                f"GELU: approximate={approximate!r}; choose 'none' (exact, with erf) or 'tanh'"
            )
        self.approximate = approximate

    def forward(self, x: Any) -> Value:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Dropout2d(Module):
    """Channel dropout while training: each channel of (N, C, H, W) is zeroed with
    probability ``p`` (the whole H x W map), the others scaled by 1/(1-p); the identity in eval
    mode. Neighbouring pixels are correlated, so dropping single pixels regularises little;
    dropping whole feature maps does (Tompson et al., 2015)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = F.check_probability(p, "Dropout2d")

    def forward(self, x: Any) -> Value:
        return F.dropout2d(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Upsample(Module):
    """Nearest-neighbour upsampling of (N, C, *spatial) by whole factors: each element
    repeated ``scale_factor`` times along each spatial axis (one factor, or one per axis).

    >>> import numpy as np
    >>> from tinygrad_lite import nn
    >>> nn.Upsample(scale_factor=2)(np.array([[[[1.0, 2.0]]]])).data
    array([[[[1., 1., 2., 2.],
             [1., 1., 2., 2.]]]])
    """

    def __init__(self, scale_factor: int | Sequence[int], mode: str = "nearest") -> None:
        F.check_upsampling(scale_factor, mode, "Upsample")
        self.scale_factor = scale_factor
        self.mode = mode

    def forward(self, x: Any) -> Value:
        return F.interpolate(x, self.scale_factor, self.mode)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor!r}, mode={self.mode!r}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size`` (the reverse of ``Flatten``); one size may
    be -1, worked out from the others.

    >>> import numpy as np
    >>> from tinygrad_lite import nn
    >>> nn.Unflatten(1, (2, -1))(np.zeros((4, 6))).shape
    (4, 2, 3)
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        sizes = tuple(unflattened_size) if isinstance(unflattened_size, (tuple, list)) else None
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise ArgumentError(f"Unflatten: dim={dim!r} must be an int (the axis to split)")
        if (
            not sizes
            or not all(isinstance(n, (int, np.integer)) and (n > 0 or n == -1) for n in sizes)
            or sizes.count(-1) > 1
        ):
            raise ArgumentError(
                f"Unflatten: unflattened_size={unflattened_size!r} must be a tuple of positive "
                "sizes, at most one of them -1"
            )
        self.dim = int(dim)
        self.unflattened_size = tuple(int(n) for n in sizes)

    def forward(self, x: Any) -> Value:
        v = F.as_value(x)
        if not -v.ndim <= self.dim < v.ndim:
            raise ShapeError(
                f"Unflatten: dim={self.dim} is out of range for an input of shape {v.shape}"
            )
        d = self.dim % v.ndim
        sizes, n = self.unflattened_size, v.shape[d]
        known = int(np.prod([s for s in sizes if s != -1]))
        if (n != known) if -1 not in sizes else (n % known != 0):
            raise ShapeError(
                f"Unflatten: axis {self.dim} of the input {v.shape} has {n} elements, which "
                f"unflattened_size {sizes} does not split (its sizes must multiply to {n})"
            )
        return v.reshape(v.shape[:d] + sizes + v.shape[d + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
