"""The book's (and micrograd's) scalar network: Neuron, Layer and MLP on lists of scalar Values.

Every weight is its own scalar Value, so every number of the network, and its gradient, can be
printed or drawn. Shaped like micrograd's ``nn.py`` (``MLP.layers``, ``Layer.neurons``,
``Neuron.w``, ``Neuron.b``, ``parameters()``, ``zero_grad()``), so micrograd code ports by
changing its import. They are ``nn.Module`` s: ``parameters()`` comes from the attribute walk
(micrograd's order: each neuron's ``w`` then its ``b``, neuron after neuron, layer after
layer), and ``named_parameters()``, ``state_dict()``, ``save()`` and ``load()`` work on them too
(``layers.0.neurons.1.w.0`` names one weight).

Weights are drawn as micrograd draws them, from Python's ``random`` module
(``random.uniform(-1, 1)`` for each weight, in micrograd's order; the bias starts at 0), NOT
from ``tl.manual_seed``'s generator: ``random.seed(1337)`` before building a network gives
micrograd's weights, so a ported micrograd program gives micrograd's published numbers.
Inputs may be Python numbers, NumPy scalars (``np.float32(0.5)``) or scalar Values.

A neuron's weighted sum ``z = w_1 x_1 + ... + w_n x_n + b`` is ONE node (``tl.weighted_sum``),
as the books draw it, instead of a chain of 2n additions and multiplications: the graph is
smaller to draw and much faster to run, and the gradients are the same.

>>> import random
>>> from tinygrad_lite.nn.scalar import MLP
>>> random.seed(1337)
>>> model = MLP(2, [4, 1])
>>> y = model([1.0, -2.0])
>>> len(model.parameters()), round(model.layers[0].neurons[0].w[0].data, 6)
(17, 0.235506)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from ..core import ArgumentError, ShapeError, Value
from ..functions import weighted_sum
from .module import Module

ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": lambda z: z,
}


class Neuron(Module):
    """One neuron: z = w . x + b, then the activation (``relu``, ``tanh``, ``sigmoid``,
    ``linear``). ``nonlin=False`` is micrograd's spelling of ``activation="linear"``."""

    def __init__(self, nin: int, activation: str = "relu", nonlin: bool | None = None) -> None:
        if nonlin is not None:
            activation = activation if nonlin else "linear"
        if activation not in ACTIVATIONS:
            raise ArgumentError(
                f"Neuron: unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}"
            )
        self.w = [Value(random.uniform(-1.0, 1.0)) for _ in range(nin)]  # micrograd's draw
        self.b = Value(0.0)
        self.activation = activation
        self._act = ACTIVATIONS[activation]

    def forward(self, x: Sequence[Any]) -> Value:
        if len(x) != len(self.w):
            raise ShapeError(
                f"Neuron: got {len(x)} inputs but the neuron has {len(self.w)} weights"
            )
        return self._act(weighted_sum(self.w, x, self.b))

    def __repr__(self) -> str:
        shown = "ReLU" if self.activation == "relu" else self.activation.capitalize()
        return f"{shown}Neuron({len(self.w)})"  # micrograd's ReLUNeuron(2), LinearNeuron(16)


class Layer(Module):
    """``nout`` neurons that all read the same inputs."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def forward(self, x: Sequence[Any]) -> Any:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of neurons; every layer but the last uses ``activation``, the last is linear."""

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu") -> None:
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation=activation if i != last else "linear")
            for i in range(len(nouts))
        ]

    def forward(self, x: Sequence[Any]) -> Any:
        for layer in self.layers:
            x = layer(x)
            if isinstance(x, Value):
                x = [x]
        return x[0] if len(x) == 1 else x

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
