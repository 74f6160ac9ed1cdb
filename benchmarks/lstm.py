"""A recurrent network in three engines: workload W8, one training step of a 1-layer LSTM.

* W8: a batch of 32 float32 sequences of 50 steps with 64 features (seeded normal), an LSTM
  of 128 hidden units, a linear head to 64 classes at every step, softmax cross-entropy
  averaged over every step of every sequence, backward, and an SGD update (lr 0.1).

The engines, from the same initial weights (torch's default distribution, drawn once with
NumPy and copied in):

* ``tinygrad_lite`` as a user writes it: ``nn.LSTM``, ``nn.Linear``, ``F.cross_entropy``,
  ``optim.SGD``;
* ``numpy``: ``HandWrittenLSTM``, the same computation written out by hand (one product for
  every step's input share of the gates, the time loop, backpropagation through time, one
  product for each weight's gradient): the floor for an engine built on NumPy;
* ``torch``: ``torch.nn.LSTM`` with ``torch.set_num_threads``.

Like ``workloads.py``, ``nets.py`` and ``cnn.py``, this module imports no engine at module
level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
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
STEPS, INPUTS, HIDDEN, CLASSES = 50, 64, 128, 64  # sequence length, features, units, classes
LR = 0.1
W8_BATCH = 32
W8_STEPS = 3  # SGD steps per timed repeat
CHECK_STEPS = 3
NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "head.weight", "head.bias")


def lstm_batch(batch: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (T, N, 64) float32 and the labels (T, N): one class per step of each sequence."""
    gen = np.random.default_rng(seed)
    x = gen.standard_normal((STEPS, batch, INPUTS)).astype(np.float32)  # (T, N, H_in)
    return x, gen.integers(0, CLASSES, (STEPS, batch))


def lstm_weights(seed: int = SEED) -> dict[str, np.ndarray]:
    """Every parameter in torch's names and layouts: weight_ih (4H, H_in), weight_hh (4H, H),
    the biases (4H,), head.weight (C, H), head.bias (C,); uniform in +-1/sqrt(H), as torch's
    LSTM and Linear(H, C) draw them."""
    gen = np.random.default_rng(seed + 1)
    bound = 1.0 / math.sqrt(HIDDEN)
    shapes = {
        "weight_ih_l0": (4 * HIDDEN, INPUTS),
        "weight_hh_l0": (4 * HIDDEN, HIDDEN),
        "bias_ih_l0": (4 * HIDDEN,),
        "bias_hh_l0": (4 * HIDDEN,),
        "head.weight": (CLASSES, HIDDEN),
        "head.bias": (CLASSES,),
    }
    return {k: gen.uniform(-bound, bound, s).astype(np.float32) for k, s in shapes.items()}


# ---------------------------------------------------------------- the floor, by hand


class HandWrittenLSTM:
    """The LSTM, its head and the loss with their gradients derived by hand, in float32 NumPy.

    The sigmoids of the gates i, f, o are written ``(tanh(a / 2) + 1) / 2``: one tanh for all
    four gates' columns, between two scalings (1/2 for i, f, o and 1 for g).
    """

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.params = {k: on_cache_lines(weights[k]) for k in NAMES}
        self.grads: dict[str, np.ndarray] = {}
        self._saved: dict[str, Any] = {}
        self.half = np.full(4 * HIDDEN, 0.5, np.float32)  # the scaling of each gate's column
        self.half[2 * HIDDEN : 3 * HIDDEN] = 1.0
        self.shift = np.where(self.half == 0.5, 0.5, 0.0).astype(np.float32)

    def data(self, x: np.ndarray, labels: np.ndarray) -> tuple[Any, Any]:
        return x, labels

    def forward(self, x: np.ndarray, labels: np.ndarray) -> float:
        p, hid = self.params, HIDDEN
        steps, n, _ = x.shape
        bias = p["bias_ih_l0"] + p["bias_hh_l0"]
        gates = (x.reshape(-1, INPUTS) @ p["weight_ih_l0"].T).reshape(steps, n, 4 * hid)
        gates += bias  # (T, N, 4H): the input's share, then each step's activated i, f, g, o
        hs = np.zeros((steps + 1, n, hid), np.float32)  # hs[0] = h_0 = 0
        cs = np.zeros((steps + 1, n, hid), np.float32)  # cs[0] = c_0 = 0
        tanh_c = np.empty((steps, n, hid), np.float32)
        w_t = p["weight_hh_l0"].T  # (H, 4H)
        for t in range(steps):
            a = gates[t]
            a += hs[t] @ w_t
            a *= self.half
            np.tanh(a, out=a)
            a *= self.half
            a += self.shift
            np.multiply(a[:, hid : 2 * hid], cs[t], out=cs[t + 1])  # f c
            cs[t + 1] += a[:, :hid] * a[:, 2 * hid : 3 * hid]  # + i g
            np.tanh(cs[t + 1], out=tanh_c[t])
            np.multiply(a[:, 3 * hid :], tanh_c[t], out=hs[t + 1])  # o tanh(c)
        out = hs[1:].reshape(-1, hid)  # (T*N, H)
        logits = out @ p["head.weight"].T
        logits += p["head.bias"]  # (T*N, C)
        logits -= logits.max(axis=1, keepdims=True)
        flat = labels.reshape(-1)
        picked = logits[np.arange(flat.size), flat]
        np.exp(logits, out=logits)
        sums = logits.sum(axis=1, keepdims=True)
        logits /= sums  # the softmax, kept for backward
        self._saved = {"x": x, "gates": gates, "hs": hs, "cs": cs, "tanh_c": tanh_c}
        self._saved.update(probs=logits, labels=flat)
        return float(np.mean(np.log(sums[:, 0]) - picked))

    def backward(self, loss: float) -> None:
        p, s, hid = self.params, self._saved, HIDDEN
        x, gates, hs, cs, tanh_c = s["x"], s["gates"], s["hs"], s["cs"], s["tanh_c"]
        steps, n, _ = x.shape
        d_logits, flat = s["probs"], s["labels"]
        d_logits[np.arange(flat.size), flat] -= 1.0
        d_logits *= 1.0 / flat.size
        out = hs[1:].reshape(-1, hid)
        grads = {"head.weight": d_logits.T @ out, "head.bias": d_logits.sum(axis=0)}
        d_hs = (d_logits @ p["head.weight"]).reshape(steps, n, hid)  # (T, N, H)
        w_hh = p["weight_hh_l0"]
        below = 1.0 - 2.0 * self.shift  # activation derivatives: (1 - a)(a + below)
        dh = np.zeros((n, hid), np.float32)
        dc = np.zeros((n, hid), np.float32)
        d = np.empty((n, 4 * hid), np.float32)  # the gradient of the activated gates
        local = np.empty((n, 4 * hid), np.float32)
        for t in range(steps - 1, -1, -1):
            dh += d_hs[t]
            a, tc = gates[t], tanh_c[t]
            i, f, g, o = a[:, :hid], a[:, hid : 2 * hid], a[:, 2 * hid : 3 * hid], a[:, 3 * hid :]
            np.multiply(dh, tc, out=d[:, 3 * hid :])  # do
            dc += dh * o * (1.0 - tc * tc)  # through h = o tanh(c)
            np.multiply(dc, g, out=d[:, :hid])  # di
            np.multiply(dc, cs[t], out=d[:, hid : 2 * hid])  # df
            np.multiply(dc, i, out=d[:, 2 * hid : 3 * hid])  # dg
            dc *= f  # to c_{t-1}
            np.subtract(1.0, a, out=local)  # through the activations, into the gates array
            a += below
            a *= local
            a *= d  # (N, 4H): the step's pre-activation gradient
            dh = a @ w_hh  # to h_{t-1}
        d_a = gates.reshape(-1, 4 * hid)  # (T*N, 4H)
        grads["weight_ih_l0"] = d_a.T @ x.reshape(-1, INPUTS)
        grads["weight_hh_l0"] = d_a.T @ hs[:-1].reshape(-1, hid)
        grads["bias_ih_l0"] = d_a.sum(axis=0)
        grads["bias_hh_l0"] = grads["bias_ih_l0"].copy()
        self.grads = grads

    def update(self) -> None:
        for k, w in self.params.items():
            g = self.grads[k]
            g *= LR
            w -= g

    def loss_value(self, loss: Any) -> float:
        return float(loss)

    def gradients(self) -> list[np.ndarray]:
        return [self.grads[k] for k in NAMES]


# ---------------------------------------------------------------- the libraries


class TinygradLiteLSTM(EngineSteps):
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        import tinygrad_lite.nn.functional as F
        from tinygrad_lite import nn, optim

        self.lstm, self.head = nn.LSTM(INPUTS, HIDDEN), nn.Linear(HIDDEN, CLASSES)
        self.lstm.load_state_dict({k: v for k, v in weights.items() if not k.startswith("head")})
        self.head.load_state_dict(
            {"weight": weights["head.weight"].T, "bias": weights["head.bias"]}
        )
        self.optimizer = optim.SGD(self.lstm.parameters() + self.head.parameters(), lr=LR)
        self._cross_entropy = F.cross_entropy

    def data(self, x: np.ndarray, labels: np.ndarray) -> tuple[Any, Any]:
        return x, labels

    def forward(self, x: Any, labels: Any) -> Any:
        out, _ = self.lstm(x)  # (T, N, H)
        return self._cross_entropy(self.head(out), labels)

    def gradients(self) -> list[np.ndarray]:
        grads = {k: p.grad for k, p in self.lstm.named_parameters()}
        grads["head.weight"] = self.head.weight.grad.T  # ours is (in, out)
        grads["head.bias"] = self.head.bias.grad
        return [grads[k] for k in NAMES]  # a missing one is a KeyError: the check fails loudly


class TorchLSTM(EngineSteps):
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        import torch

        torch.set_num_threads(threads())
        self.lstm, self.head = torch.nn.LSTM(INPUTS, HIDDEN), torch.nn.Linear(HIDDEN, CLASSES)
        self.modules = {"": self.lstm, "head.": self.head}
        with torch.no_grad():
            for k, v in weights.items():
                module = self.head if k.startswith("head.") else self.lstm
                getattr(module, k.removeprefix("head.")).copy_(torch.from_numpy(v))
        params = [*self.lstm.parameters(), *self.head.parameters()]
        self.optimizer = torch.optim.SGD(params, lr=LR)
        self._torch = torch

    def data(self, x: np.ndarray, labels: np.ndarray) -> tuple[Any, Any]:
        return self._torch.from_numpy(x), self._torch.from_numpy(labels.reshape(-1))

    def forward(self, x: Any, labels: Any) -> Any:
        out, _ = self.lstm(x)  # (T, N, H)
        logits = self.head(out).reshape(-1, CLASSES)
        return self._torch.nn.functional.cross_entropy(logits, labels)

    def gradients(self) -> list[np.ndarray]:
        grads = {
            prefix + k: np.asarray(p.grad)
            for prefix, module in self.modules.items()
            for k, p in module.named_parameters()
        }
        return [grads[k] for k in NAMES]


LSTMS: dict[str, Any] = {
    "tinygrad_lite": TinygradLiteLSTM,
    "tinygrad_lite-jit": traced(TinygradLiteLSTM),
    "numpy": HandWrittenLSTM,
    "torch": TorchLSTM,
}


def lstm_bench(engine: str, batch: int) -> Bench:
    return steps_bench(LSTMS[engine](lstm_weights()), lstm_batch(batch), W8_STEPS)


def lstm_check(installed: Sequence[str]) -> str:
    """The engines agree on the first loss, every gradient, and the loss after a few steps."""
    make = lambda engine: LSTMS[engine](lstm_weights())  # noqa: E731
    return engines_agree("W8", "LSTM", make, lstm_batch(W8_BATCH), installed, 1e-4, 1e-3)


# ---------------------------------------------------------------- the workload

ENGINES = (
    Engine("torch", "torch ({threads})", needs="torch"),
    Engine("numpy", "hand-written NumPy", short="NumPy"),
    Engine("tinygrad_lite", "tinygrad_lite"),
    TINYGRAD_LITE_JIT,
)

W8 = Workload(
    name="W8",
    title=f"LSTM {INPUTS}-{HIDDEN} over {STEPS} steps + head, one SGD step",
    noun="batch {size}",
    unit="ms/step",
    scale=1e3,
    sizes=(W8_BATCH,),
    quick_sizes=(4,),
    engines=ENGINES,
    ours=OURS,
    competitors=("torch", "numpy"),
    target=Target("<= 1.1x NumPy", max_ratio={"numpy": 1.1}),
    targets={"tinygrad_lite-jit": Target("<= 0.95x NumPy", max_ratio={"numpy": 0.95})},
    bench=lstm_bench,
    check=lstm_check,
    threaded=True,
)

WORKLOADS = (W8,)
