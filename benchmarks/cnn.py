"""A convolutional network in three engines: workload W7, LeNet-5, one SGD step (the layer
alone is measured by ``conv_layer.py``).

* W7, LeNet-5 as the books' "bigger picture" draws it: conv 6@5x5, ReLU, max-pool 2x2,
  conv 16@5x5, ReLU, max-pool 2x2, 256-120-84-10 with ReLU, softmax cross-entropy; a batch of
  64 1x28x28 float32 "images" (seeded uniform pixels), SGD with lr 0.01.
The engines, from the same initial weights (PyTorch's default distribution, drawn once with
NumPy and copied in):

* ``tinygrad_lite`` as a user writes it (``nn.Conv2d``, ``nn.MaxPool2d``, ``nn.Linear``...);
* ``numpy``: the same computation written out by hand with im2col (``conv_layer.py``'s
  ``HandWrittenConv``: the windows of the input as one matrix, one matrix product for the
  forward pass and one for the weight's gradient, the input's gradient scattered back one
  kernel offset at a time, and none for the first layer's data): the floor for an engine
  built on NumPy;
* ``torch``: ``torch.nn`` with ``torch.set_num_threads`` (its convolutions are oneDNN
  kernels, not NumPy).

Like ``workloads.py`` and ``nets.py``, this module imports no engine at module level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from conv_layer import HandWrittenConv
from harness import Bench, Engine, Target, Workload, threads
from nets import (
    OURS,
    TINYGRAD_LITE_JIT,
    EngineSteps,
    engines_agree,
    on_cache_lines,
    steps_bench,
    traced,
)

SEED = 4242
LR = 0.01
CLASSES = 10
CHECK_STEPS = 3
# LeNet-5: (out_channels, in_channels, kernel) of each conv, then the dense sizes
CONVS = ((6, 1, 5), (16, 6, 5))
DENSE = (16 * 4 * 4, 120, 84, CLASSES)
W7_BATCH = 64
W7_STEPS = 5  # SGD steps per timed repeat


def lenet_batch(batch: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    x = gen.random((batch, 1, 28, 28), dtype=np.float32)  # (N, 1, 28, 28)
    return x, gen.integers(0, CLASSES, batch)


def lenet_weights(seed: int = SEED) -> list[np.ndarray]:
    """[conv1.w, conv1.b, conv2.w, conv2.b, W1, b1, W2, b2, W3, b3] in float32: conv weights
    (out, in, k, k) as torch stores them, dense weights (in, out) as tinygrad_lite does; all
    uniform in (-1/sqrt(fan_in), 1/sqrt(fan_in)) as torch's defaults draw them."""
    gen = np.random.default_rng(seed + 1)
    params = []
    for out_c, in_c, k in CONVS:
        bound = 1.0 / math.sqrt(in_c * k * k)
        params.append(gen.uniform(-bound, bound, (out_c, in_c, k, k)).astype(np.float32))
        params.append(gen.uniform(-bound, bound, out_c).astype(np.float32))
    for n_in, n_out in zip(DENSE[:-1], DENSE[1:]):
        bound = 1.0 / math.sqrt(n_in)
        params.append(gen.uniform(-bound, bound, (n_in, n_out)).astype(np.float32))
        params.append(gen.uniform(-bound, bound, n_out).astype(np.float32))
    return params


# ---------------------------------------------------------------- the floor, by hand


def _max_pool2(x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """2x2 max pooling with stride 2 as the maximum of the four strided corners (elementwise
    maxima are much faster than a reduction over two short axes), and each corner's mask."""
    corners = [x[:, :, a::2, b::2] for a in (0, 1) for b in (0, 1)]  # 4 x (N, C, H/2, W/2)
    out = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    return out, [c == out for c in corners]


def _max_pool2_backward(g: np.ndarray, masks: list[np.ndarray], shape: tuple[int, ...]) -> Any:
    dx = np.empty(shape, dtype=g.dtype)
    for (a, b), mask in zip(((0, 0), (0, 1), (1, 0), (1, 1)), masks):
        np.multiply(g, mask, out=dx[:, :, a::2, b::2])
    return dx


class HandWrittenLeNet:
    """LeNet-5 with its gradients derived by hand, in float32 NumPy."""

    def __init__(self, weights: Sequence[np.ndarray]) -> None:
        self.params = [on_cache_lines(w) for w in weights]
        p = self.params
        self.convs = [HandWrittenConv(p[0], p[1], 0), HandWrittenConv(p[2], p[3], 0)]
        self.grads: list[np.ndarray] = []
        self._saved: dict[str, Any] = {}

    def data(self, x: np.ndarray, labels: np.ndarray) -> tuple[Any, Any]:
        return x, labels

    def forward(self, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        s = self._saved
        a = x
        for i, conv in enumerate(self.convs):
            z = np.ascontiguousarray(conv.forward(a))  # (N, O, Ho, Wo)
            np.maximum(z, 0.0, out=z)
            a, s[f"mask{i}"] = _max_pool2(z)
            s[f"relu{i}"] = z
        n = a.shape[0]
        a = a.reshape(n, -1)  # (N, 256)
        dense = self.params[4:]
        s["inputs"] = [a]
        for j in range(3):
            z = a @ dense[2 * j]
            z += dense[2 * j + 1]
            if j < 2:
                np.maximum(z, 0.0, out=z)
                s["inputs"].append(z)
            a = z
        a -= a.max(axis=1, keepdims=True)
        picked = a[np.arange(n), labels]
        np.exp(a, out=a)
        sums = a.sum(axis=1, keepdims=True)
        a /= sums
        s["probs"], s["labels"] = a, labels
        return np.mean(np.log(sums[:, 0]) - picked)

    def backward(self, loss: np.ndarray) -> None:
        s = self._saved
        g, labels = s["probs"], s["labels"]
        n = len(labels)
        g[np.arange(n), labels] -= 1.0
        g *= 1.0 / n
        dense = self.params[4:]
        grads: list[np.ndarray] = []
        for j in reversed(range(3)):
            a = s["inputs"][j]
            grads += [g.sum(axis=0), a.T @ g]  # db, dW
            g = g @ dense[2 * j].T
            if j:
                g *= a > 0.0
        for i in reversed(range(2)):
            masks, z = s[f"mask{i}"], s[f"relu{i}"]
            gz = _max_pool2_backward(g.reshape(masks[0].shape), masks, z.shape)  # (N, C, H, W)
            gz *= z > 0.0
            dx, dw, db = self.convs[i].backward(gz, need_input=i > 0)
            grads += [db, dw]
            g = dx
        self.grads = grads[::-1]

    def update(self) -> None:
        for p, g in zip(self.params, self.grads):
            g *= LR
            p -= g

    def loss_value(self, loss: Any) -> float:
        return float(loss)

    def gradients(self) -> list[np.ndarray]:
        return self.grads


# ---------------------------------------------------------------- the libraries


class TinygradLiteLeNet(EngineSteps):
    def __init__(self, weights: Sequence[np.ndarray]) -> None:
        import tinygrad_lite as tl
        import tinygrad_lite.nn.functional as F
        from tinygrad_lite import nn, optim

        self.model = nn.Sequential(
            nn.Conv2d(1, 6, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(256, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, CLASSES),
        )
        for p, w in zip(self.model.parameters(), weights, strict=True):
            p.data[...] = w
        self.optimizer = optim.SGD(self.model.parameters(), lr=LR)
        self._value, self._cross_entropy = tl.Value, F.cross_entropy

    def data(self, x: np.ndarray, labels: np.ndarray) -> tuple[Any, Any]:
        return x, labels

    def forward(self, x: Any, labels: Any) -> Any:
        return self._cross_entropy(self.model(self._value(x, requires_grad=False)), labels)

    def gradients(self) -> list[np.ndarray]:
        return [p.grad for p in self.model.parameters()]


class TorchLeNet(EngineSteps):
    def __init__(self, weights: Sequence[np.ndarray]) -> None:
        import torch

        torch.set_num_threads(threads())
        nn = torch.nn
        self.model = nn.Sequential(
            nn.Conv2d(1, 6, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(256, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, CLASSES),
        )
        with torch.no_grad():
            for i, (p, w) in enumerate(zip(self.model.parameters(), weights, strict=True)):
                dense_weight = i >= 4 and w.ndim == 2  # tinygrad_lite's (in, out) layout
                p.copy_(torch.from_numpy(w.T.copy() if dense_weight else w))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)
        self._torch = torch

    def data(self, x: np.ndarray, labels: np.ndarray) -> tuple[Any, Any]:
        return self._torch.from_numpy(x), self._torch.from_numpy(labels)

    def forward(self, x: Any, labels: Any) -> Any:
        return self._torch.nn.functional.cross_entropy(self.model(x), labels)

    def gradients(self) -> list[np.ndarray]:
        grads = [np.asarray(p.grad) for p in self.model.parameters()]
        return [g.T if i >= 4 and g.ndim == 2 else g for i, g in enumerate(grads)]


LENETS: dict[str, Any] = {
    "tinygrad_lite": TinygradLiteLeNet,
    "tinygrad_lite-jit": traced(TinygradLiteLeNet),
    "numpy": HandWrittenLeNet,
    "torch": TorchLeNet,
}


def lenet_bench(engine: str, batch: int) -> Bench:
    return steps_bench(LENETS[engine](lenet_weights()), lenet_batch(batch), W7_STEPS)


def lenet_check(installed: Sequence[str]) -> str:
    """The engines agree on the first loss, every gradient, and the loss after a few steps."""
    make = lambda engine: LENETS[engine](lenet_weights())  # noqa: E731
    return engines_agree("W7", "LeNet", make, lenet_batch(W7_BATCH), installed, 1e-4, 1e-3)


# ---------------------------------------------------------------- the workloads

ENGINES = (
    Engine("torch", "torch ({threads})", needs="torch"),
    Engine("numpy", "hand-written NumPy im2col", short="NumPy"),
    Engine("tinygrad_lite", "tinygrad_lite"),
    TINYGRAD_LITE_JIT,
)

W7 = Workload(
    name="W7",
    title="LeNet-5 on 1x28x28, one SGD step",
    noun="batch {size}",
    unit="ms/step",
    scale=1e3,
    sizes=(W7_BATCH,),
    quick_sizes=(4,),
    engines=ENGINES,
    ours=OURS,
    competitors=("torch", "numpy"),
    target=Target("<= 1.1x NumPy", max_ratio={"numpy": 1.1}),
    targets={"tinygrad_lite-jit": Target("<= 0.95x NumPy", max_ratio={"numpy": 0.95})},
    bench=lenet_bench,
    check=lenet_check,
    threaded=True,
)

WORKLOADS = (W7,)
