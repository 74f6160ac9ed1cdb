"""The books' networks, one SGD step at a time, in three engines: workloads W2, W3 and MEM.

* W2, the shallow net of "Deep Learning Illustrated": 784-64 sigmoid-10, softmax
  cross-entropy, batch 128, float32, SGD with lr 0.01.
* W3, a bigger MLP: 784-512-512-10 with ReLU, batch 256, otherwise the same.
* MEM: W3 for 1,000 steps, with the process's resident memory sampled every 50 steps.

Each engine trains the same network from the same initial weights (PyTorch's default
distribution, drawn once with NumPy and copied in) on the same fixed batch (seeded uniform
"pixels" in [0, 1), labels 0-9). A step is forward, loss, zero_grad, backward and the SGD
update:

* ``tinygrad_lite`` as a user writes it: ``nn.Sequential`` of ``nn.Linear`` and
  ``nn.Sigmoid``/``nn.ReLU``, ``F.cross_entropy``, ``optim.SGD``, the batch wrapped in
  ``Value(x, requires_grad=False)`` as ``tl.train.fit`` does;
* ``numpy``: ``HandWrittenMLP``, the same computation written out by hand, as tight as plain
  NumPy gets: the floor for any engine built on NumPy;
* ``torch``: ``torch.nn`` and ``torch.optim.SGD`` with ``torch.set_num_threads``.

Like ``workloads.py``, this module imports no engine at module level.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from harness import (
    Bench,
    CheckFailed,
    Engine,
    MemoryWorkload,
    Phases,
    Target,
    Workload,
    has_jit,
    minor_page_faults,
    now,
    peak_resident_bytes,
    resident_bytes,
    threads,
)

SEED = 1337
CLASSES = 10
CHECK_STEPS = 5  # SGD steps after which the check compares the losses again


@dataclass(frozen=True)
class Net:
    """A fully connected classifier: layer ``sizes``, the hidden ``activation``, SGD's ``lr``
    and ``steps``, the number of SGD steps in one timed repeat."""

    sizes: tuple[int, ...]
    activation: str  # "sigmoid" or "relu"
    batch: int
    steps: int
    lr: float = 0.01

    @property
    def layers(self) -> list[tuple[int, int]]:
        """(in_features, out_features) of each Linear layer."""
        return list(zip(self.sizes[:-1], self.sizes[1:]))


W2_NET = Net((784, 64, 10), "sigmoid", batch=128, steps=100)
W3_NET = Net((784, 512, 512, 10), "relu", batch=256, steps=10)


def batch_of(net: Net, batch: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """A fixed batch: ``x`` float32 of shape (batch, inputs) in [0, 1), integer labels."""
    gen = np.random.default_rng(seed)
    x = gen.random((batch, net.sizes[0]), dtype=np.float32)
    return x, gen.integers(0, net.sizes[-1], batch)


def initial_weights(net: Net, seed: int = SEED) -> list[np.ndarray]:
    """[W1, b1, W2, b2, ...] in float32, each W of shape (in, out), drawn as PyTorch's
    ``nn.Linear`` does: uniform in (-1/sqrt(in), 1/sqrt(in)), bias included."""
    gen = np.random.default_rng(seed + 1)
    params = []
    for n_in, n_out in net.layers:
        bound = 1.0 / math.sqrt(n_in)
        params.append(gen.uniform(-bound, bound, (n_in, n_out)).astype(np.float32))
        params.append(gen.uniform(-bound, bound, n_out).astype(np.float32))
    return params


# ---------------------------------------------------------------- the three engines


class Trainer(Protocol):
    """One engine's network and optimizer. ``data`` converts the NumPy batch once, outside the
    timing; a step is ``backward(forward(*batch))`` then ``update()``."""

    def data(self, x: np.ndarray, labels: np.ndarray) -> tuple[Any, Any]: ...

    def forward(self, x: Any, labels: Any) -> Any: ...

    def backward(self, loss: Any) -> None: ...

    def update(self) -> None: ...

    def loss_value(self, loss: Any) -> float: ...

    def gradients(self) -> list[np.ndarray]:
        """After ``backward``: [dW1, db1, ...] with each dW of shape (in, out)."""
        ...


class EngineSteps:
    """backward, update and the loss of an engine with an optimizer object: both libraries
    spell them the same way (``zero_grad``, ``backward``, ``step``, ``item``)."""

    optimizer: Any

    def backward(self, loss: Any) -> None:
        self.optimizer.zero_grad()
        loss.backward()

    def update(self) -> None:
        self.optimizer.step()

    def loss_value(self, loss: Any) -> float:
        return float(loss.item())


class TinygradLiteNet(EngineSteps):
    """The network as a tinygrad_lite user writes it."""

    def __init__(self, net: Net, weights: Sequence[np.ndarray]) -> None:
        import tinygrad_lite as tl
        import tinygrad_lite.nn.functional as F
        from tinygrad_lite import nn, optim

        activation = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}[net.activation]
        layers: list[nn.Module] = []
        for n_in, n_out in net.layers:
            layers += [nn.Linear(n_in, n_out), activation()]
        self.model = nn.Sequential(*layers[:-1])  # no activation after the last layer
        for p, w in zip(self.model.parameters(), weights, strict=True):
            p.data[...] = w
        self.optimizer = optim.SGD(self.model.parameters(), lr=net.lr)
        self._value, self._cross_entropy = tl.Value, F.cross_entropy

    def data(self, x: np.ndarray, labels: np.ndarray) -> tuple[Any, Any]:
        return x, labels

    def forward(self, x: Any, labels: Any) -> Any:
        logits = self.model(self._value(x, requires_grad=False))
        return self._cross_entropy(logits, labels)

    def gradients(self) -> list[np.ndarray]:
        return [p.grad for p in self.model.parameters()]


class Traced:
    """A tinygrad_lite trainer's whole step (forward, zero_grad and backward, the update)
    traced by ``tl.jit`` and replayed: ``forward`` runs all of it; ``backward`` and ``update``
    have nothing left to do. The table shows the step as one phase."""

    def __init__(self, inner: Any) -> None:
        import tinygrad_lite as tl

        self.inner = inner

        def step(x: Any, labels: Any) -> Any:
            loss = inner.forward(x, labels)
            inner.backward(loss)
            inner.update()
            return loss

        self._step = tl.jit(step)
        self.data, self.gradients, self.loss_value = inner.data, inner.gradients, inner.loss_value

    def forward(self, x: Any, labels: Any) -> Any:
        return self._step(x, labels)

    def backward(self, loss: Any) -> None:
        pass

    def update(self) -> None:
        pass


def traced(make: Callable[..., Any]) -> Callable[..., Traced]:
    """``make`` (a tinygrad_lite trainer's class), its step traced by ``tl.jit``."""
    return lambda *args: Traced(make(*args))


class TorchNet(EngineSteps):
    """The same network in torch (weights stored transposed, as torch does)."""

    def __init__(self, net: Net, weights: Sequence[np.ndarray]) -> None:
        import torch

        torch.set_num_threads(threads())
        activation = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU}[net.activation]
        layers: list[torch.nn.Module] = []
        for n_in, n_out in net.layers:
            layers += [torch.nn.Linear(n_in, n_out), activation()]
        self.model = torch.nn.Sequential(*layers[:-1])
        with torch.no_grad():
            for p, w in zip(self.model.parameters(), weights, strict=True):
                p.copy_(torch.from_numpy(w.T if w.ndim == 2 else w))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=net.lr)
        self._torch = torch

    def data(self, x: np.ndarray, labels: np.ndarray) -> tuple[Any, Any]:
        return self._torch.from_numpy(x), self._torch.from_numpy(labels)

    def forward(self, x: Any, labels: Any) -> Any:
        return self._torch.nn.functional.cross_entropy(self.model(x), labels)

    def gradients(self) -> list[np.ndarray]:
        grads = [np.asarray(p.grad) for p in self.model.parameters()]
        return [g.T if g.ndim == 2 else g for g in grads]


class HandWrittenMLP:
    """The network with its gradients derived by hand, in float32 NumPy: the floor.

    Forward: ``z = a @ W + b`` and the activation, in place; then a stable softmax
    cross-entropy (the largest logit of each row is subtracted first). Backward: the softmax
    cross-entropy gradient ``(softmax - one_hot) / N``, then for each layer ``dW = a.T @ g``,
    ``db = g.sum(0)`` and ``g = (g @ W.T) * activation'``, with no gradient for the input.
    SGD scales each gradient buffer in place and subtracts it: no temporaries.

    >>> net = Net((4, 3, 2), "sigmoid", batch=5, steps=1)
    >>> mlp = HandWrittenMLP(net, initial_weights(net))
    >>> x, labels = batch_of(net, 5)
    >>> loss = mlp.forward(x, labels)
    >>> mlp.backward(loss)
    >>> [g.shape for g in mlp.gradients()], loss.dtype
    ([(4, 3), (3,), (3, 2), (2,)], dtype('float32'))
    """

    def __init__(self, net: Net, weights: Sequence[np.ndarray]) -> None:
        self.params = [on_cache_lines(w) for w in weights]
        self.grads: list[np.ndarray] = []
        self.lr = net.lr
        self.relu = net.activation == "relu"
        self._inputs: list[np.ndarray] = []  # the input of each layer, saved by forward
        self._probs = np.empty(0, dtype=np.float32)
        self._labels = np.empty(0, dtype=np.intp)

    def data(self, x: np.ndarray, labels: np.ndarray) -> tuple[Any, Any]:
        return x, labels

    def forward(self, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """The mean cross-entropy loss (a float32 scalar)."""
        params, last = self.params, len(self.params) // 2 - 1
        self._inputs = [x]
        a = x
        for i in range(last + 1):
            z = a @ params[2 * i]
            z += params[2 * i + 1]
            if i < last:
                self._activate(z)
                self._inputs.append(z)
            a = z
        a -= a.max(axis=1, keepdims=True)  # logits shifted: exp cannot overflow
        picked = a[np.arange(len(labels)), labels]
        np.exp(a, out=a)
        sums = a.sum(axis=1, keepdims=True)
        a /= sums
        self._probs, self._labels = a, labels
        return np.mean(np.log(sums[:, 0]) - picked)

    def backward(self, loss: np.ndarray) -> None:
        g, labels = self._probs, self._labels
        g[np.arange(len(labels)), labels] -= 1.0
        g *= 1.0 / len(labels)  # d(mean loss)/d(logits) = (softmax - one_hot) / N
        grads: list[np.ndarray] = []  # last layer first
        for i in reversed(range(len(self.params) // 2)):
            a = self._inputs[i]
            grads += [g.sum(axis=0), a.T @ g]  # db, dW
            if i:
                g = g @ self.params[2 * i].T
                self._activation_grad(g, a)
        self.grads = grads[::-1]

    def update(self) -> None:
        for p, g in zip(self.params, self.grads):
            g *= self.lr  # the gradient buffers are ours: scale in place, then subtract
            p -= g

    def loss_value(self, loss: Any) -> float:
        return float(loss)

    def gradients(self) -> list[np.ndarray]:
        return self.grads

    def _activate(self, z: np.ndarray) -> None:
        if self.relu:
            np.maximum(z, 0.0, out=z)
            return
        with np.errstate(over="ignore"):  # exp(-z) = inf for z < -88 gives sigmoid 0: right
            np.negative(z, out=z)
            np.exp(z, out=z)
        z += 1.0
        np.reciprocal(z, out=z)

    def _activation_grad(self, g: np.ndarray, a: np.ndarray) -> None:
        """``g *= activation'`` written with the activation's output ``a``."""
        if self.relu:
            g *= a > 0.0
        else:
            g *= a
            g *= 1.0 - a  # sigmoid' = a (1 - a)


def on_cache_lines(w: np.ndarray) -> np.ndarray:
    """A copy of ``w`` starting on a 64-byte boundary, as tinygrad_lite's and torch's parameters
    do: SGD writes the parameters in place, and a misaligned one makes that twice as slow here."""
    raw = np.empty(w.nbytes + 64, dtype=np.uint8)
    start = -raw.ctypes.data % 64
    out = raw[start : start + w.nbytes].view(w.dtype).reshape(w.shape)
    out[...] = w
    return out


TRAINERS: dict[str, Callable[..., Trainer]] = {
    "tinygrad_lite": TinygradLiteNet,
    "tinygrad_lite-jit": traced(TinygradLiteNet),
    "numpy": HandWrittenMLP,
    "torch": TorchNet,
}


def trainer(engine: str, net: Net) -> Trainer:
    """``engine``'s network, from the shared initial weights."""
    return TRAINERS[engine](net, initial_weights(net))


def train(t: Trainer, batch: tuple[Any, Any], steps: int, phases: Phases | None = None) -> Any:
    """``steps`` SGD steps written as a user's loop; adds each phase's time to ``phases``.

    As in a user's loop, ``loss`` holds the last step's graph until the next forward pass
    returns: freeing it is part of the next step's forward phase. Returns the last loss.
    """
    loss = None
    for _ in range(steps):
        start = now()
        loss = t.forward(*batch)
        middle = now()
        t.backward(loss)
        end = now()
        t.update()
        if phases is not None:
            done = now()
            phases["forward"] += middle - start
            phases["backward"] += end - middle
            phases["update"] += done - end
    return loss


# ---------------------------------------------------------------- timing and checking


def net_bench(net: Net, engine: str, batch: int) -> Bench:
    """``net.steps`` SGD steps of ``engine`` on a fixed batch of ``batch`` samples."""
    return steps_bench(trainer(engine, net), batch_of(net, batch), net.steps)


def steps_bench(t: Trainer, batch: tuple[Any, Any], steps: int) -> Bench:
    """``steps`` SGD steps of the trainer ``t`` on one fixed ``batch``, timed phase by phase."""
    data = t.data(*batch)

    def run() -> Phases:
        phases: Phases = {"forward": 0.0, "backward": 0.0, "update": 0.0}
        train(t, data, steps, phases)
        return phases

    return Bench(run, units=steps)


def net_check(name: str, net: Net, installed: Sequence[str]) -> str:
    """W1-W5's nets: see ``engines_agree``."""
    return engines_agree(
        name, "net", lambda engine: trainer(engine, net), batch_of(net, net.batch), installed
    )


def engines_agree(
    name: str,
    what: str,
    make: Callable[[str], Trainer],
    batch: tuple[Any, Any],
    installed: Sequence[str],
    loss_tol: float = 1e-5,
    grad_tol: float = 1e-4,
) -> str:
    """All engines (``make(engine)``, each from the same weights) agree on ``batch``: on the
    first loss, on every gradient, and on the loss after ``CHECK_STEPS`` SGD steps, to float32
    rounding; and tinygrad_lite keeps float32 throughout. The hand-written NumPy ``what`` is
    the reference."""
    engines = [
        "numpy",
        "tinygrad_lite",
        *(["tinygrad_lite-jit"] if has_jit() else []),
        *(["torch"] if "torch" in installed else []),
    ]
    results = {e: _first_steps(name, e, make(e), batch) for e in engines}
    ref_loss, ref_grads, ref_later = results["numpy"]
    worst_loss = worst_grad = 0.0
    for engine in engines[1:]:
        loss, grads, later = results[engine]
        loss_diff = max(relative(loss, ref_loss), relative(later, ref_later))
        if len(grads) != len(ref_grads):
            raise CheckFailed(
                f"{name}: {engine} has {len(grads)} gradients, NumPy {len(ref_grads)}"
            )
        grad_diff = max(scaled_diff(g, r) for g, r in zip(grads, ref_grads, strict=True))
        if loss_diff > loss_tol or grad_diff > grad_tol:
            raise CheckFailed(
                f"{name}: {engine} disagrees with the hand-written NumPy {what}: losses "
                f"{loss!r} then {later!r} vs {ref_loss!r} then {ref_later!r}, gradients off by "
                f"{grad_diff:.2g} of their largest element (tolerances {loss_tol:g} and "
                f"{grad_tol:g})"
            )
        worst_loss, worst_grad = max(worst_loss, loss_diff), max(worst_grad, grad_diff)
    return (
        f"{name}: {' = '.join(engines)} from identical weights: first loss {ref_loss:.6f}, "
        f"loss after {CHECK_STEPS} SGD steps {ref_later:.6f} (max relative diff "
        f"{worst_loss:.1e}), {len(ref_grads)} gradients (max diff {worst_grad:.1e} of the "
        "largest element), float32 kept"
    )


def _first_steps(
    name: str, engine: str, t: Trainer, batch: tuple[Any, Any]
) -> tuple[float, list[np.ndarray], float]:
    """The first loss and gradients of ``engine``, and its loss after ``CHECK_STEPS`` steps."""
    data = t.data(*batch)
    loss = t.forward(*data)
    t.backward(loss)
    grads = [np.array(g) for g in t.gradients()]  # copies: the next steps may reuse buffers
    bad = [str(g.dtype) for g in grads if g.dtype != np.float32]
    if bad:
        raise CheckFailed(f"{name}: {engine}'s gradients are {', '.join(bad)}, not float32")
    t.update()
    train(t, data, CHECK_STEPS - 1)
    return t.loss_value(loss), grads, t.loss_value(t.forward(*data))


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def scaled_diff(got: np.ndarray, want: np.ndarray) -> float:
    """The largest difference, as a fraction of the largest element of ``want``."""
    if got.shape != want.shape:
        return math.inf
    return float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-30))


# ---------------------------------------------------------------- memory over a long run


def memory_run(engine: str, steps: int, every: int) -> dict[str, object]:
    """W3 for ``steps`` SGD steps. Before the first step and after every ``every`` steps: the
    resident memory and the minor page faults so far (each one a page of memory touched for
    the first time); the wall time of the whole run and the process's peak memory."""
    t = trainer(engine, W3_NET)
    data = t.data(*batch_of(W3_NET, W3_NET.batch))
    at, rss, faults = [0], [resident_bytes()], [minor_page_faults()]
    start = time.perf_counter()
    # one loop, as a user writes it: the last step's graph lives until the next forward returns
    # (calling ``train`` per sample would pin one more graph for the whole call)
    loss = None
    for step in range(1, steps + 1):
        loss = t.forward(*data)
        t.backward(loss)
        t.update()
        if step % every == 0:
            at.append(step)
            rss.append(resident_bytes())
            faults.append(minor_page_faults())
    seconds = time.perf_counter() - start
    del loss
    return {
        "steps": at,
        "rss": rss,
        "faults": faults,
        "seconds": seconds,
        "peak": peak_resident_bytes(),
    }


# ---------------------------------------------------------------- the workloads

TORCH = Engine("torch", "torch ({threads})", needs="torch")
NUMPY = Engine("numpy", "hand-written NumPy", short="NumPy")
TINYGRAD_LITE = Engine("tinygrad_lite", "tinygrad_lite")
TINYGRAD_LITE_JIT = Engine("tinygrad_lite-jit", "tinygrad_lite, tl.jit", short="jit")
NET_ENGINES = (TORCH, NUMPY, TINYGRAD_LITE, TINYGRAD_LITE_JIT)
OURS = ("tinygrad_lite", "tinygrad_lite-jit")

W2 = Workload(
    name="W2",
    title="784-64-10 sigmoid net, one SGD step",
    noun="batch {size}",
    unit="ms/step",
    scale=1e3,
    sizes=(W2_NET.batch,),
    quick_sizes=(16,),
    engines=NET_ENGINES,
    ours=OURS,
    competitors=("torch", "numpy"),
    target=Target("<= 0.85x torch, <= 1.1x NumPy", max_ratio={"torch": 0.85, "numpy": 1.1}),
    targets={
        "tinygrad_lite-jit": Target(
            "<= 0.6x torch, <= 0.9x NumPy", max_ratio={"torch": 0.6, "numpy": 0.9}
        )
    },
    bench=lambda engine, batch: net_bench(W2_NET, engine, batch),
    check=lambda installed: net_check("W2", W2_NET, installed),
    threaded=True,
)

W3 = Workload(
    name="W3",
    title="784-512-512-10 ReLU net, one SGD step",
    noun="batch {size}",
    unit="ms/step",
    scale=1e3,
    sizes=(W3_NET.batch,),
    quick_sizes=(16,),
    engines=NET_ENGINES,
    ours=OURS,
    competitors=("torch", "numpy"),
    target=Target("<= 1.05x NumPy", max_ratio={"numpy": 1.05}),
    targets={"tinygrad_lite-jit": Target("<= 0.97x NumPy", max_ratio={"numpy": 0.97})},
    bench=lambda engine, batch: net_bench(W3_NET, engine, batch),
    check=lambda installed: net_check("W3", W3_NET, installed),
    threaded=True,
)

MEM = MemoryWorkload(
    name="MEM",
    title="W3 trained for many steps: resident memory",
    sizes=(1000,),
    quick_sizes=(30,),
    every=(50, 10),
    engines=NET_ENGINES,
    ours=OURS,
    run=memory_run,
    check=W3.check,  # the same network: run.py runs each check once
    settle=(50, 10),
)

WORKLOADS = (W2, W3, MEM)
