"""Pooling layers: ``MaxPool1d``, ``MaxPool2d``, ``AvgPool1d``, ``AvgPool2d`` and
``AdaptiveAvgPool2d``, as PyTorch's (no parameters: each is its function in
``nn.functional`` with the arguments kept).

>>> import numpy as np
>>> from tinygrad_lite import nn
>>> pool = nn.MaxPool2d(2)
>>> pool
MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1)
>>> pool(np.zeros((1, 3, 8, 8), dtype=np.float32)).shape
(1, 3, 4, 4)
>>> nn.AdaptiveAvgPool2d(1)(np.ones((2, 5, 7, 7))).shape
(2, 5, 1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core import Value
from . import functional_conv as FC
from .module import Module

Size = int | Sequence[int]


class _Pool(Module):
    """Kernel, stride (the kernel's by default) and padding, checked once, kept as given."""

    kind = "max"
    dims = 2

    def __init__(
        self, kernel_size: Size, stride: Size | None = None, padding: Size = 0, dilation: Size = 1
    ) -> None:
        who = type(self).__name__
        # checked here, so that a mistake shows where the layer is made
        FC.sizes(kernel_size, "kernel_size", self.dims, who)
        if stride is not None:
            FC.sizes(stride, "stride", self.dims, who)
        FC.sizes(padding, "padding", self.dims, who, minimum=0)
        FC.sizes(dilation, "dilation", self.dims, who)
        self.kernel_size = _as_given(kernel_size)
        self.stride = self.kernel_size if stride is None else _as_given(stride)
        self.padding = _as_given(padding)
        self.dilation = _as_given(dilation)

    def forward(self, x: Any) -> Value:
        return FC.pool(
            self.kind,
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            dims=self.dims,
            who=type(self).__name__,
        )

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return f"{text}, dilation={self.dilation}" if self.kind == "max" else text


class MaxPool1d(_Pool):
    """The largest element of each window of (N, C, L); ``stride`` defaults to the kernel."""

    dims = 1


class MaxPool2d(_Pool):
    """The largest element of each window of (N, C, H, W), as ``F.max_pool2d``: ``stride``
    defaults to the kernel size; each window's gradient goes to the first of its maxima."""


class AvgPool1d(_Pool):
    """The mean of each window of (N, C, L), padding zeros included."""

    kind, dims = "avg", 1

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0) -> None:
        super().__init__(kernel_size, stride, padding)
        # torch keeps these as 1-tuples (its repr shows kernel_size=(3,)); the other pools
        # keep what they were given
        self.kernel_size = _single(self.kernel_size)
        self.stride = _single(self.stride)
        self.padding = _single(self.padding)


class AvgPool2d(_Pool):
    """The mean of each window of (N, C, H, W), as ``F.avg_pool2d`` (padding zeros included)."""

    kind = "avg"

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0) -> None:
        super().__init__(kernel_size, stride, padding)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (Ho, Wo), whatever the input's size: torch's
    windows (see ``F.adaptive_avg_pool2d``). ``AdaptiveAvgPool2d(1)`` is global average
    pooling; ``None`` in ``output_size`` keeps that axis."""

    def __init__(self, output_size: int | Sequence[int | None]) -> None:
        self.output_size = _as_given(output_size)

    def forward(self, x: Any) -> Value:
        return FC.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


def _single(value: Any) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple) else (value,)


def _as_given(value: Any) -> Any:
    """An int stays an int (torch's repr shows ``kernel_size=2``), a list becomes a tuple."""
    return tuple(value) if isinstance(value, (list, tuple)) else value
