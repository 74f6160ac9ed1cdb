"""The books' network diagram as plain data: neurons as circles in columns, one per layer,
and a link from every input of a layer to every neuron of it, carrying its weight.

``network_scene(model)`` reads an ``nn.scalar.MLP`` (its ``layers``, each neuron's ``w``,
``b`` and ``activation``) or an ``nn.Sequential`` of ``Linear`` layers and activations
(``Linear.weight`` is (in, out), the books' layout, so ``weight[j, k]`` links input ``j`` to
neuron ``k``). Neurons are numbered 1, 2, 3 ... through the network, as the drawings and the
stepper name them (``z3``, ``a3``); ``render/dot.py`` turns the scene into DOT text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DrawingError
from .text import number

# activation modules of an nn.Sequential, by class name: what the diagram writes for them
ACTIVATION_MODULES = {
    "ReLU": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Softmax": "softmax",
    "GELU": "gelu",
    "LeakyReLU": "leaky_relu",
}
PASS_THROUGH = {"Identity", "Dropout", "Flatten"}  # drawn as nothing: no neurons, no weights


@dataclass
class Neuron:
    key: str  # the DOT node id: "i1" for an input, "n3" for neuron 3
    label: str  # in the circle
    tooltip: str  # on hover: the neuron's formula and its bias
    kind: str  # "input", "hidden" or "output"


@dataclass
class Column:
    title: str  # "input layer", "hidden layer 1: 3 relu"...
    neurons: list[Neuron]


@dataclass
class Link:
    src: str
    dst: str
    weight: float
    tooltip: str


@dataclass
class Network:
    columns: list[Column]
    links: list[Link]
    caption: list[str] = field(default_factory=list)


@dataclass
class _Layer:
    weights: np.ndarray  # (in, out)
    bias: np.ndarray | None  # (out,)
    activation: str


def network_scene(model: Any, inputs: Sequence[str] | None = None) -> Network:
    """The diagram of ``model``; ``inputs`` names the input neurons (default ``x1``, ``x2``...)."""
    layers = _layers(model)
    n_in = layers[0].weights.shape[0]
    names = list(inputs) if inputs is not None else [f"x{j + 1}" for j in range(n_in)]
    if len(names) != n_in:
        raise DrawingError(
            f"draw_network: {len(names)} input names for a network of {n_in} inputs; give one "
            "name per input"
        )
    previous = [Neuron(f"i{j + 1}", name, f"input {name}", "input") for j, name in enumerate(names)]
    columns = [Column(f"input layer\n{len(previous)} inputs", previous)]
    links: list[Link] = []
    unit = 0
    for depth, layer in enumerate(layers):
        last = depth == len(layers) - 1
        column = []
        for k in range(layer.weights.shape[1]):
            unit += 1
            b = 0.0 if layer.bias is None else float(layer.bias[k])
            act = layer.activation
            formula = f"z{unit} = w{unit} \u00b7 inputs + b{unit}, b{unit} = {number(b)}"
            if act != "linear":
                formula += f"; a{unit} = {act}(z{unit})"
            label = f"z{unit}" if act == "linear" else f"a{unit}"
            neuron = Neuron(
                f"n{unit}", label, f"neuron {unit}: {formula}", "output" * last or "hidden"
            )
            column.append(neuron)
            for j, src in enumerate(previous):
                w = float(layer.weights[j, k])
                tip = f"w{unit}_{j + 1} = {number(w)}  ({src.label} \u2192 {label})"
                links.append(Link(src.key, neuron.key, w, tip))
        kind = "output layer" if last else f"hidden layer {depth + 1}"
        columns.append(Column(f"{kind}\n{len(column)} {layer.activation}", column))
        previous = column
    caption = [
        f"{' - '.join(str(len(c.neurons)) for c in columns)} network, "
        f"{sum(len(c.neurons) for c in columns[1:])} neurons, {len(links)} weights",
        "links: red w > 0, blue w < 0, thicker for larger |w|; hover for w",
    ]
    return Network(columns, links, caption)


def _layers(model: Any) -> list[_Layer]:
    kind = type(model).__name__
    if hasattr(model, "layers") and all(hasattr(layer, "neurons") for layer in model.layers):
        return [_scalar_layer(layer) for layer in model.layers]  # nn.scalar.MLP
    if kind == "Layer" and hasattr(model, "neurons"):
        return [_scalar_layer(model)]
    if kind == "Sequential":
        return _sequential(model.layers)
    if kind == "Linear":
        return _sequential([model])
    raise DrawingError(
        f"draw_network: a {kind} is not a network of neurons; give an nn.scalar.MLP or an "
        "nn.Sequential of Linear layers and activations (draw_forward draws any graph)"
    )


def _scalar_layer(layer: Any) -> _Layer:
    w = np.array([[float(wj.data) for wj in n.w] for n in layer.neurons]).T  # (in, out)
    b = np.array([float(n.b.data) for n in layer.neurons])
    acts = {n.activation for n in layer.neurons}
    return _Layer(w, b, acts.pop() if len(acts) == 1 else "mixed")


def _sequential(modules: Sequence[Any]) -> list[_Layer]:
    layers: list[_Layer] = []
    for i, m in enumerate(modules):
        name = type(m).__name__
        if name == "Linear":
            bias = None if m.bias is None else np.asarray(m.bias.data, dtype=np.float64)
            layers.append(_Layer(np.asarray(m.weight.data, dtype=np.float64), bias, "linear"))
        elif name in ACTIVATION_MODULES and layers and layers[-1].activation == "linear":
            layers[-1].activation = ACTIVATION_MODULES[name]
        elif name not in PASS_THROUGH:
            raise DrawingError(
                f"draw_network: layer {i} is a {name}; the diagram draws Linear layers, each "
                f"followed by at most one of {', '.join(ACTIVATION_MODULES)} (draw_forward "
                "draws any model)"
            )
    if not layers:
        raise DrawingError("draw_network: the Sequential has no Linear layer: no neurons to draw")
    for a, b in zip(layers, layers[1:]):
        if a.weights.shape[1] != b.weights.shape[0]:
            raise DrawingError(
                f"draw_network: a layer of {a.weights.shape[1]} outputs feeds one of "
                f"{b.weights.shape[0]} inputs"
            )
    return layers
