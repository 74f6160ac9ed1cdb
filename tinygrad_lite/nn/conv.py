"""Convolution layers: ``Conv1d``, ``Conv2d`` and ``ConvTranspose2d``, as PyTorch's.

Same arguments, same parameter names and layouts as torch, so a torch ``state_dict`` (as
arrays) loads unchanged: ``weight`` is (out_channels, in_channels/groups, *kernel) for a
convolution and (in_channels, out_channels/groups, kH, kW) for a transposed one, ``bias`` is
(out_channels,). Initialisation is torch's default too: weight and bias uniform in
(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from ``tl.rng()``, with ``fan_in`` the inputs of one
output (in_channels/groups * kernel area; for the transposed layer torch uses
``weight.shape[1]`` * kernel area). Parameters are float32 unless ``dtype=`` says otherwise.

>>> import numpy as np
>>> import tinygrad_lite as tl
>>> from tinygrad_lite import nn
>>> _ = tl.manual_seed(0)
>>> conv = nn.Conv2d(3, 8, 5, padding="same")
>>> conv
Conv2d(3, 8, kernel_size=(5, 5), stride=(1, 1), padding=same)
>>> conv(np.zeros((2, 3, 32, 32), dtype=np.float32)).shape
(2, 8, 32, 32)
>>> conv(np.zeros((2, 1, 32, 32), dtype=np.float32))
Traceback (most recent call last):
...
tinygrad_lite.core.errors.ShapeError: Conv2d(3, 8, 5): input has 1 channel, expected 3; ...
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core import ArgumentError, Value
from ..core.shapes import empty_aligned
from . import functional_conv as FC
from . import init
from .linear import float_dtype
from .module import Module

Size = int | Sequence[int]


class _ConvNd(Module):
    """What the convolution layers share: checked arguments, parameters, init, repr."""

    transposed = False

    def __init__(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: Size,
        stride: Size,
        padding: Size | str,
        dilation: Size,
        groups: int,
        bias: bool,
        dtype: Any,
        output_padding: Size = 0,
    ) -> None:
        kernel = _sizes(kernel_size, dims, "kernel_size", type(self).__name__)
        kernel_text = kernel[0] if len(set(kernel)) == 1 else kernel
        who = f"{type(self).__name__}({in_channels}, {out_channels}, {kernel_text})"
        for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            _positive(n, name, who)
        _positive(groups, "groups", who)
        for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if n % groups:
                raise ArgumentError(
                    f"{who}: groups={groups} does not divide {name}={n}; each group takes "
                    "in_channels/groups inputs to out_channels/groups outputs"
                )
        self.who = who
        self.dims = dims
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = kernel
        self.stride = _sizes(stride, dims, "stride", who)
        self.padding: tuple[int, ...] | str
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ArgumentError(f"{who}: padding={padding!r}; use 'same', 'valid' or ints")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ArgumentError(
                    f"{who}: padding='same' needs stride 1 (got stride {self.stride}); give "
                    "the padding as numbers"
                )
            self.padding = padding
        else:
            self.padding = _sizes(padding, dims, "padding", who, minimum=0)
        self.dilation = _sizes(dilation, dims, "dilation", who)
        self.output_padding = _sizes(output_padding, dims, "output_padding", who, minimum=0)
        self.groups = int(groups)
        self.dtype = float_dtype(dtype, who)
        if self.transposed:  # torch's layouts: (in, out/groups, *kernel) for the transpose
            shape = (self.in_channels, self.out_channels // self.groups, *kernel)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *kernel)
        # storage that starts on a cache line, as Linear's: optimizers write it in place
        self.weight = Value(empty_aligned(shape, self.dtype))
        self.bias = Value(empty_aligned(self.out_channels, self.dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights: torch's default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both.

        That is ``kaiming_uniform_`` with ``a=sqrt(5)``, the fan in taken from torch's layout
        (``weight.shape[1]`` times the kernel area).
        """
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text if self.dtype == np.float32 else f"{text}, dtype={self.dtype}"


class _Conv(_ConvNd):
    """A convolution over ``_dims`` axes: what ``Conv1d`` and ``Conv2d`` share."""

    _dims = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size,
        stride: Size = 1,
        padding: Size | str = 0,
        dilation: Size = 1,
        groups: int = 1,
        bias: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(
            self._dims,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            dtype,
        )

    def forward(self, x: Any) -> Value:
        return _convolve(self, x)


class Conv1d(_Conv):
    """1-d convolution over (N, C, L): ``weight`` (out, in/groups, k), ``bias`` (out,).

    >>> import numpy as np
    >>> from tinygrad_lite import nn
    >>> nn.Conv1d(4, 6, 3, stride=2)(np.ones((5, 4, 11), dtype=np.float32)).shape
    (5, 6, 5)
    """

    _dims = 1


class Conv2d(_Conv):
    """2-d convolution over (N, C, H, W): ``weight`` (out, in/groups, kH, kW), ``bias`` (out,).

    ``kernel_size``, ``stride``, ``padding`` and ``dilation`` are ints or (H, W) pairs;
    ``padding="same"`` keeps the image's size (stride 1), ``"valid"`` adds none. The output
    is (N, out, Ho, Wo), ``Ho = (H + 2 padding - dilation (kH - 1) - 1) // stride + 1``.

    >>> import numpy as np
    >>> from tinygrad_lite import nn
    >>> layer = nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False)
    >>> layer
    Conv2d(16, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
    >>> layer.weight.shape, layer(np.ones((4, 16, 28, 28), dtype=np.float32)).shape
    ((32, 16, 3, 3), (4, 32, 14, 14))
    """

    _dims = 2


class ConvTranspose2d(_ConvNd):
    """Transposed 2-d convolution (the gradient of ``Conv2d`` in its input): upsampling.

    ``weight`` (in, out/groups, kH, kW), ``bias`` (out,). The output is (N, out, Ho, Wo) with
    ``Ho = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1``;
    ``forward(x, output_size=(Ho, Wo))`` picks ``output_padding`` to reach that size.

    >>> import numpy as np
    >>> from tinygrad_lite import nn
    >>> up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
    >>> up
    ConvTranspose2d(8, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))
    >>> up.weight.shape, up(np.ones((1, 8, 7, 7), dtype=np.float32)).shape
    ((8, 4, 3, 3), (1, 4, 14, 14))
    """

    transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size,
        stride: Size = 1,
        padding: Size = 0,
        output_padding: Size = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Size = 1,
        dtype: Any = np.float32,
    ) -> None:
        if isinstance(padding, str):
            raise ArgumentError(
                f"ConvTranspose2d: padding={padding!r}; a transposed convolution takes ints"
            )
        super().__init__(
            2,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            dtype,
            output_padding,
        )

    def forward(self, x: Any, output_size: Sequence[int] | None = None) -> Value:
        """``x`` (N, in, H, W) upsampled to (N, out, Ho, Wo); ``output_size`` (Ho, Wo)
        chooses among the sizes a strided convolution maps to H, W."""
        x = FC.images(x, 2, self.who)
        FC.check_channels(x, self.in_channels, self.who, 2)
        extra: tuple[int, ...] = self.output_padding
        if output_size is not None:
            extra = self._output_padding_for(x.shape[2:], output_size)
        return FC.convolve_transpose(
            x,
            self.weight,
            self.bias,
            self.stride,
            self._pads(),
            extra,
            self.groups,
            self.dilation,
            who=self.who,
            channels_checked=True,
        )

    def _pads(self) -> tuple[int, ...]:
        assert not isinstance(self.padding, str)  # __init__ refuses "same" and "valid"
        return self.padding

    def _output_padding_for(
        self, image: tuple[int, ...], output_size: Sequence[int]
    ) -> tuple[int, ...]:
        """The output_padding that makes the output (Ho, Wo) = ``output_size``: torch's rule,
        which reaches the sizes from the smallest to stride - 1 more."""
        wanted = tuple(output_size)[-2:]
        smallest = tuple(
            (n - 1) * s - 2 * p + d * (k - 1) + 1
            for n, s, p, d, k in zip(
                image, self.stride, self._pads(), self.dilation, self.kernel_size
            )
        )
        extra = tuple(int(w) - m for w, m in zip(wanted, smallest))
        if len(wanted) != 2 or any(e < 0 or e >= s for e, s in zip(extra, self.stride)):
            largest = tuple(m + s - 1 for m, s in zip(smallest, self.stride))
            raise ArgumentError(
                f"{self.who}: output_size={tuple(output_size)} is out of reach for an input of "
                f"size {image}: the output can be from {smallest} to {largest}"
            )
        return extra


def _convolve(layer: _ConvNd, x: Any) -> Value:
    x = FC.images(x, layer.dims, layer.who)
    FC.check_channels(x, layer.in_channels, layer.who, layer.dims)
    return FC.convolve(
        x,
        layer.weight,
        layer.bias,
        layer.stride,
        layer.padding,
        layer.dilation,
        layer.groups,
        dims=layer.dims,
        who=layer.who,
        channels_checked=True,
    )


def _positive(n: Any, name: str, who: str) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ArgumentError(f"{who}: {name}={n!r} must be a positive whole number")


def _sizes(value: Any, dims: int, name: str, who: str, minimum: int = 1) -> tuple[int, ...]:
    return FC.sizes(value, name, dims, who, minimum)
