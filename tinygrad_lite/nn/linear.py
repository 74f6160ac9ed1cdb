"""``Linear``: the fully connected layer, y = x @ W + b.

The weight is stored as ``(in_features, out_features)``, the books' and Keras' layout, so the
forward pass is one matrix product with no transpose: a batch ``x`` of shape (N, in) gives
(N, out), and the forward graph reads ``x @ W + b`` exactly as the books draw it. PyTorch
stores the transpose, ``(out_features, in_features)``: to copy weights from a torch layer, use
``torch_layer.weight.detach().numpy().T``.

The default dtype is float32, as in PyTorch and Keras (and twice as fast as float64 for large
layers); pass ``dtype=np.float64`` for exact comparisons with a float64 computation.
Initialisation is PyTorch's default: weight and bias both uniform in
(-1/sqrt(in_features), 1/sqrt(in_features)), drawn from ``tl.rng()``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import flag, room
from ..core import DTypeError, ShapeError, Value
from ..core.shapes import empty_aligned
from . import functional as F
from . import init
from .module import Module


class Linear(Module):
    """y = x @ weight + bias, with ``weight`` of shape (in_features, out_features).

    >>> import numpy as np
    >>> import tinygrad_lite as tl
    >>> from tinygrad_lite import nn
    >>> _ = tl.manual_seed(0)
    >>> layer = nn.Linear(3, 2)
    >>> layer
    Linear(in_features=3, out_features=2, bias=True)
    >>> layer(np.ones((5, 3), dtype=np.float32)).shape
    (5, 2)
    >>> layer.weight.shape, layer.weight.dtype
    ((3, 2), dtype('float32'))
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = np.float32
    ) -> None:
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ShapeError(f"Linear: {name}={n!r} must be a positive whole number")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.dtype = float_dtype(dtype, "Linear")
        room("Linear", (self.in_features, self.out_features), self.dtype.itemsize, ShapeError)
        # storage that starts on a cache line: the optimizer writes these in place every step,
        # and an array that starts mid-line makes each of those vector stores straddle two lines
        bias = flag("Linear", "bias", bias, ShapeError)
        self.weight = Value(empty_aligned((self.in_features, self.out_features), self.dtype))
        self.bias = Value(empty_aligned(self.out_features, self.dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights: PyTorch's default, U(-1/sqrt(in), 1/sqrt(in)) for both."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5.0))  # = U(-1/sqrt(in), 1/sqrt(in))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Any) -> Value:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        text = (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
        return text if self.dtype == np.float32 else f"{text}, dtype={self.dtype}"


def float_dtype(dtype: Any, layer: str) -> np.dtype:
    """``dtype`` as a NumPy floating-point dtype, or a DTypeError that names ``layer``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise DTypeError(
            f"{layer}: dtype={dtype!r} is not a floating-point dtype; use np.float32 or np.float64"
        )
    return dt
