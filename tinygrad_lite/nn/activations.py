"""Layers without weights: activations, ``Identity``, ``Flatten``, ``Dropout``, ``Sequential``.

Each activation layer is a thin Module around the function of the same name in
``nn.functional``, so that it can sit in a ``Sequential``.

>>> import tinygrad_lite as tl
>>> from tinygrad_lite import nn
>>> _ = tl.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
>>> model
Sequential(
  (0): Linear(in_features=2, out_features=3, bias=True)
  (1): ReLU()
  (2): Linear(in_features=3, out_features=1, bias=True)
  (3): Sigmoid()
)
>>> [name for name, _ in model.named_parameters()]
['0.weight', '0.bias', '2.weight', '2.bias']
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, overload

from ..core import ArgumentError, ShapeError, Value
from . import functional as F
from .module import Module


class Sequential(Module):
    """Modules applied one after the other; they are named ``0``, ``1``, ... as in PyTorch."""

    def __init__(self, *layers: Module) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise ArgumentError(
                    f"Sequential: argument {i} is a {type(layer).__name__}, not a Module; wrap "
                    "a function in a Module subclass (or use the layer classes of nn)"
                )
        self.layers = list(layers)

    def _members(self) -> Iterator[tuple[str, Any]]:
        return ((str(i), layer) for i, layer in enumerate(self.layers))

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def append(self, layer: Module) -> Sequential:
        if not isinstance(layer, Module):
            raise ArgumentError(f"Sequential.append: {type(layer).__name__} is not a Module")
        self.layers.append(layer)
        return self

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a layer switched off)."""

    def forward(self, x: Any) -> Any:
        return x


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x: Any) -> Value:
        return F.relu(x)


class LeakyReLU(Module):
    """x where x > 0, else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Value:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + exp(-x)): a probability, for binary classification."""

    def forward(self, x: Any) -> Value:
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x: Any) -> Value:
        return F.tanh(x)


class Softmax(Module):
    """exp(x) / sum(exp(x)) along ``axis``: a distribution, for multi-class classification."""

    def __init__(self, axis: int = -1) -> None:
        self.axis = int(axis)

    def forward(self, x: Any) -> Value:
        return F.softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...): keeps the batch axis, flattens the rest."""

    def forward(self, x: Any) -> Value:
        v = F.as_value(x)
        if v.ndim < 2:
            raise ShapeError(
                f"Flatten: input of shape {v.shape} has no axes after the batch axis to flatten"
            )
        return v.reshape(v.shape[0], -1)


class Dropout(Module):
    """Inverted dropout while training (zero with probability ``p``, scale by 1/(1-p));
    the identity in eval mode (``model.eval()``)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = F.check_probability(p, "Dropout")

    def forward(self, x: Any) -> Value:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
