"""The engine micro-benchmarks W1, W4 and W5: workloads written once for every engine.

Each workload is plain model code that only uses operators and methods that tinygrad_lite's
``Value``, micrograd's ``Value`` and torch tensors share, so the engines run the very same
Python lines. This module does no timing loop and runs no process (``run.py`` does) and
imports no engine at module level: each benchmark process imports only the engine it measures.

* W1, micrograd's demo: an MLP(2, [16, 16, 1]) of scalar Values trained on two moons with a
  hinge loss and L2; one SGD step.
* W4, a chain of elementwise ops on a (16,) float32 array: the per-op overhead of a tensor engine.
* W5, a chain of N scalar additions: graph building and backward at depth up to a million.
"""

from __future__ import annotations

import math
import random
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from harness import (
    Bench,
    CheckFailed,
    Engine,
    Phases,
    Target,
    Workload,
    has_jit,
    now,
    threads,
    timed,
)

SEED = 1337
W1_SHAPE = (2, [16, 16, 1])  # micrograd's demo network
W1_LR = 0.05  # constant SGD step: the graph, not the schedule, is what is timed
W1_POINTS = 100  # the demo's two-moons points
W4_MUL, W4_ADD, W4_TANH_EVERY = 1.0001, 0.0001, 10
W4_OPS = 1000  # ops in the chain
W4_PASSES = 10  # chains per timed repeat
BIG_N = 1_000_000  # the million-node chain of W5


# ---------------------------------------------------------------- the engines' Value classes


def engine_value(engine: str) -> Any:
    """The scalar Value class of ``engine`` ('tinygrad_lite' or 'micrograd')."""
    if engine == "micrograd":
        from micrograd.engine import Value as MicrogradValue

        return MicrogradValue
    import tinygrad_lite

    return tinygrad_lite.Value


def as_inputs(engine: str, rows: Sequence[Sequence[float]]) -> list[list[Any]]:
    """Each number as a Value: micrograd's demo writes ``Value(x)``; tinygrad_lite's docs ask
    data to say that it needs no gradient (``requires_grad=False``)."""
    value = engine_value(engine)
    if engine == "micrograd":
        return [[value(x) for x in row] for row in rows]
    return [[value(x, requires_grad=False) for x in row] for row in rows]


# ---------------------------------------------------------------- W1: micrograd's demo


def two_moons(
    n: int, noise: float = 0.1, seed: int = SEED
) -> tuple[list[list[float]], list[float]]:
    """Two interleaving half circles (scikit-learn's ``make_moons`` formula), labels -1/+1,
    as Python floats so that no NumPy scalar meets an engine's operators."""
    gen = np.random.default_rng(seed)
    n_top = n // 2
    t_top, t_bottom = np.linspace(0.0, math.pi, n_top), np.linspace(0.0, math.pi, n - n_top)
    top = np.stack([np.cos(t_top), np.sin(t_top)], axis=1)
    bottom = np.stack([1.0 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)], axis=1)
    xs = np.concatenate([top, bottom]) + gen.normal(0.0, noise, size=(n, 2))
    ys = np.concatenate([-np.ones(n_top), np.ones(n - n_top)])
    order = gen.permutation(n)
    return xs[order].tolist(), ys[order].tolist()


class OpByOpNeuron:
    """micrograd's ``nn.Neuron`` line for line, with the Value class passed in: the weighted
    sum is built from one ``*`` and one ``+`` node per input."""

    def __init__(self, value: Any, nin: int, nonlin: bool = True) -> None:
        self.w = [value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = value(0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Any]) -> Any:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Any]:
        return self.w + [self.b]


class OpByOpLayer:
    """micrograd's ``nn.Layer``."""

    def __init__(self, value: Any, nin: int, nout: int, nonlin: bool) -> None:
        self.neurons = [OpByOpNeuron(value, nin, nonlin) for _ in range(nout)]

    def __call__(self, x: Sequence[Any]) -> Any:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Any]:
        return [p for n in self.neurons for p in n.parameters()]


class OpByOpMLP:
    """micrograd's ``nn.MLP`` (ReLU hidden layers, linear output) on any scalar Value class.

    Built right after ``random.seed(s)`` it draws the same initial weights as
    ``micrograd.nn.MLP`` does after the same seed.
    """

    def __init__(self, value: Any, nin: int, nouts: list[int]) -> None:
        sz = [nin] + nouts
        self.layers = [
            OpByOpLayer(value, sz[i], sz[i + 1], nonlin=i != len(nouts) - 1)
            for i in range(len(nouts))
        ]

    def __call__(self, x: Sequence[Any]) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Any]:
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0


def w1_model(variant: str) -> Any:
    """The W1 network of ``variant``, with micrograd's initial weights for seed ``SEED``.

    'micrograd': ``micrograd.nn.MLP``; 'tl-opbyop': ``OpByOpMLP`` on tinygrad_lite's Value;
    'tl-scalar': ``tinygrad_lite.nn.scalar.MLP`` as shipped (one weighted-sum node per neuron),
    its weights copied from the op-by-op model.
    """
    nin, nouts = W1_SHAPE
    random.seed(SEED)
    if variant == "micrograd":
        from micrograd.nn import MLP as MicrogradMLP

        return MicrogradMLP(nin, list(nouts))
    opbyop = OpByOpMLP(engine_value("tinygrad_lite"), nin, list(nouts))
    if variant == "tl-opbyop":
        return opbyop
    from tinygrad_lite.nn.scalar import MLP

    shipped = MLP(nin, list(nouts))
    copy_weights(opbyop.parameters(), shipped.parameters())
    return shipped


def _engine_of(variant: str) -> str:
    return "micrograd" if variant == "micrograd" else "tinygrad_lite"


def copy_weights(source: Sequence[Any], target: Sequence[Any]) -> None:
    if len(source) != len(target):
        raise CheckFailed(f"copy_weights: {len(source)} source but {len(target)} target params")
    for s, t in zip(source, target):
        t.data = float(s.data)


def hinge_loss(model: Any, inputs: Sequence[Sequence[Any]], ys: Sequence[float]) -> Any:
    """micrograd demo's loss: mean SVM hinge loss plus 1e-4 times the sum of squared weights."""
    scores = [model(x) for x in inputs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(ys, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def w1_bench(variant: str, n_points: int) -> Bench:
    """One SGD step of micrograd's demo: forward over all points, loss, backward, update."""
    if variant == "tl-scalar-jit":
        return w1_jit_bench(n_points)
    engine, model = _engine_of(variant), w1_model(variant)
    xs, ys = two_moons(n_points)
    params = model.parameters()

    def run() -> Phases:
        phases: Phases = {}
        t = now()
        loss = hinge_loss(model, as_inputs(engine, xs), ys)
        t = timed(phases, "forward", t)
        model.zero_grad()
        loss.backward()
        t = timed(phases, "backward", t)
        for p in params:
            p.data -= W1_LR * p.grad
        timed(phases, "update", t)
        return phases

    return Bench(run, units=1)


def w1_jit_step(n_points: int) -> tuple[Any, Callable[[], Any]]:
    """W1's model (``nn.scalar.MLP``) and its step traced by ``tl.jit``: the same loss, and
    the same update (``optim.SGD`` does ``p.data -= lr * p.grad`` for a scalar, as W1 does)."""
    import tinygrad_lite as tl
    from tinygrad_lite import optim

    model = w1_model("tl-scalar")
    xs, ys = two_moons(n_points)
    opt = optim.SGD(model.parameters(), lr=W1_LR)

    def step() -> Any:
        loss = hinge_loss(model, as_inputs("tinygrad_lite", xs), ys)
        model.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return model, tl.jit(step)


def w1_jit_bench(n_points: int) -> Bench:
    """One replayed step; the warm-up traces it (the first call) and checks it (the second)."""
    _, traced = w1_jit_step(n_points)

    def run() -> Phases:
        t = now()
        traced()
        return {"step": now() - t}

    return Bench(run, units=1, warmup=lambda: [traced() for _ in range(3)])


def w1_check(n_points: int, engines: Sequence[str]) -> str:
    """First loss and gradients of every W1 model, from identical weights, agree to 1e-9.

    The weights are micrograd's (when it is installed) copied into our models; otherwise the
    two tinygrad_lite models are compared with each other.
    """
    xs, ys = two_moons(n_points)
    models = {v: w1_model(v) for v in ("tl-scalar", "tl-opbyop")}
    if "micrograd" in engines:
        models = {"micrograd": w1_model("micrograd"), **models}
    names = list(models)
    reference = models[names[0]].parameters()
    for name in names[1:]:
        copy_weights(reference, models[name].parameters())
    results = {}
    for name, model in models.items():
        loss = hinge_loss(model, as_inputs(_engine_of(name), xs), ys)
        model.zero_grad()
        loss.backward()
        results[name] = (float(loss.data), [float(p.grad) for p in model.parameters()])
    base_loss, base_grads = results[names[0]]
    worst_loss = worst_grad = 0.0
    for name in names[1:]:
        loss_value, grads = results[name]
        worst_loss = max(worst_loss, abs(loss_value - base_loss))
        worst_grad = max(worst_grad, max(abs(a - b) for a, b in zip(grads, base_grads)))
        if worst_loss > 1e-9 or worst_grad > 1e-9:
            raise CheckFailed(
                f"W1: {name} disagrees with {names[0]}: loss {loss_value!r} vs {base_loss!r}, "
                f"largest gradient difference {worst_grad:.3g} (tolerance 1e-9)"
            )
    return (
        f"W1: {' = '.join(names)} from identical weights: first loss {base_loss:.6f} "
        f"(max diff {worst_loss:.1e}), {len(base_grads)} gradients (max diff {worst_grad:.1e}); "
        + (w1_jit_check(n_points) if has_jit() else "tl.jit: not in this tinygrad_lite")
    )


def w1_jit_check(n_points: int, steps: int = 5) -> str:
    """The traced step gives the eager step's losses and weights exactly, step after step."""
    model = w1_model("tl-scalar")
    xs, ys = two_moons(n_points)
    eager = []
    for _ in range(steps):
        loss = hinge_loss(model, as_inputs("tinygrad_lite", xs), ys)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= W1_LR * p.grad
        eager.append(float(loss.data))
    jit_model, traced = w1_jit_step(n_points)
    replayed = [float(traced().data) for _ in range(steps)]
    weights = [p.data for p in model.parameters()] == [p.data for p in jit_model.parameters()]
    if replayed != eager or not weights:
        raise CheckFailed(f"W1: tl-scalar-jit's losses {replayed} differ from eager's {eager}")
    return f"tl-scalar-jit = tl-scalar exactly over {steps} steps (losses and weights)"


# ---------------------------------------------------------------- W4: elementwise chain


def chain_steps(n_ops: int) -> int:
    """Steps of ``x*a + b`` (with a tanh every 10th) so that the chain plus its final sum has
    at least ``n_ops`` ops."""
    steps = 0
    while chain_op_count(steps) < n_ops:
        steps += 1
    return steps


def chain_op_count(steps: int) -> int:
    """Ops that ``elementwise_chain(x, steps).sum()`` creates."""
    return 2 * steps + steps // W4_TANH_EVERY + 1


def elementwise_chain(x: Any, steps: int) -> Any:
    """``x = x*1.0001 + 0.0001``, ``x = x.tanh()`` after every 10th step; for any engine."""
    for i in range(1, steps + 1):
        x = x * W4_MUL + W4_ADD
        if i % W4_TANH_EVERY == 0:
            x = x.tanh()
    return x


def chain_reference(x0: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The chain's output and d(sum)/dx in float64, the derivative written out by hand."""
    x, dx = x0.astype(np.float64), np.ones(x0.shape)
    for i in range(1, steps + 1):
        x, dx = x * W4_MUL + W4_ADD, dx * W4_MUL
        if i % W4_TANH_EVERY == 0:
            x = np.tanh(x)
            dx = dx * (1.0 - x * x)
    return x, dx


def w4_input(size: int = 16) -> np.ndarray:
    return np.random.default_rng(SEED).uniform(-1.0, 1.0, size).astype(np.float32)


def _w4_leaf(engine: str) -> Any:
    if engine == "torch":
        import torch

        torch.set_num_threads(threads())
        return torch.tensor(w4_input(), requires_grad=True)
    import tinygrad_lite

    return tinygrad_lite.Value(w4_input())


def _w4_pass(x: Any, steps: int) -> tuple[Any, Phases]:
    phases: Phases = {}
    x.grad = None
    t = now()
    y = elementwise_chain(x, steps)
    total = y.sum()
    t = timed(phases, "forward", t)
    total.backward()
    timed(phases, "backward", t)
    return y, phases


def numpy_chain(x0: np.ndarray, steps: int, saved: list[np.ndarray]) -> tuple[Any, Any]:
    """The chain and its gradient written out by hand in float32 NumPy, in place: the forward
    pass keeps only the tanh outputs (in ``saved``, arrays reused from pass to pass), the
    backward pass multiplies one gradient array by each step's local derivative. (A Python
    float times a float32 array stays float32.)"""
    mul, add, every = W4_MUL, W4_ADD, W4_TANH_EVERY
    x = x0.copy()
    k = 0
    for i in range(1, steps + 1):
        x *= mul
        x += add
        if i % every == 0:
            np.tanh(x, out=x)
            np.copyto(saved[k], x)
            k += 1
    dx = np.ones_like(x)
    scratch = np.empty_like(x)
    for i in range(steps, 0, -1):
        if i % every == 0:
            k -= 1
            np.multiply(saved[k], saved[k], out=scratch)  # 1 - tanh^2
            np.subtract(1.0, scratch, out=scratch)
            dx *= scratch
        dx *= mul
    return x, dx


def _w4_numpy_bench(steps: int) -> Bench:
    x0 = w4_input()
    saved = [np.empty_like(x0) for _ in range(steps // W4_TANH_EVERY)]

    def run() -> Phases:
        t = now()
        for _ in range(W4_PASSES):
            y, dx = numpy_chain(x0, steps, saved)
            y.sum()
        return {"forward and backward": now() - t}

    return Bench(run, units=W4_PASSES * chain_op_count(steps))


def _w4_jit_step(steps: int) -> tuple[Any, Callable[[], Any]]:
    """The chain's pass (forward, sum, backward) traced by ``tl.jit``."""
    import tinygrad_lite as tl

    x = _w4_leaf("tinygrad_lite")

    def chain() -> Any:
        y = elementwise_chain(x, steps)
        y.sum().backward()
        return y

    return x, tl.jit(chain)


def _w4_jit_bench(steps: int) -> Bench:
    x, traced = _w4_jit_step(steps)

    def run() -> Phases:
        t = now()
        for _ in range(W4_PASSES):
            x.grad = None
            traced()
        return {"forward and backward": now() - t}

    return Bench(run, units=W4_PASSES * chain_op_count(steps))


def w4_bench(engine: str, n_ops: int) -> Bench:
    """One repeat is ``W4_PASSES`` chains (a few ms each): long enough that one preemption on
    a shared machine does not decide the repeat's time."""
    if engine == "numpy":
        return _w4_numpy_bench(chain_steps(n_ops))
    if engine == "tinygrad_lite-jit":
        return _w4_jit_bench(chain_steps(n_ops))
    x, steps = _w4_leaf(engine), chain_steps(n_ops)

    def run() -> Phases:
        phases: Phases = {}
        for _ in range(W4_PASSES):
            for name, seconds in _w4_pass(x, steps)[1].items():
                phases[name] = phases.get(name, 0.0) + seconds
        return phases

    return Bench(run, units=W4_PASSES * chain_op_count(steps))


def w4_check(n_ops: int, engines: Sequence[str]) -> str:
    """Forward values and gradient agree with a float64 reference, and with torch's."""
    steps = chain_steps(n_ops)
    want = chain_reference(w4_input(), steps)
    names = [
        "tinygrad_lite",
        *(["tinygrad_lite-jit"] if has_jit() else []),
        "numpy",
        *(["torch"] if "torch" in engines else []),
    ]
    results = {e: _w4_result(e, steps) for e in names}
    for engine, got in results.items():
        for what, g, w in zip(("forward", "gradient"), got, want):
            if g.dtype != np.float32:
                raise CheckFailed(f"W4: {engine}'s {what} is {g.dtype}, not float32")
            if not np.allclose(g, w, rtol=1e-4, atol=1e-6):
                raise CheckFailed(
                    f"W4: {engine}'s {what} is off the float64 reference by up to "
                    f"{float(np.max(np.abs(g - w))):.3g}"
                )
    ours, torch_result = results["tinygrad_lite"], results.get("torch")
    if torch_result is not None and not all(
        np.allclose(a, b, rtol=1e-5, atol=1e-7) for a, b in zip(ours, torch_result)
    ):
        raise CheckFailed("W4: tinygrad_lite and torch disagree beyond float32 rounding")
    return (
        f"W4: {' and '.join(results)} {'match' if len(results) > 1 else 'matches'} the float64 "
        "reference (forward and gradient, "
        f"{chain_op_count(steps)} ops, float32 kept)"
        + (" and agree with each other to 1e-5" if torch_result is not None else "")
    )


def _w4_result(engine: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The chain's output and the leaf's gradient, as float32 arrays."""
    if engine == "numpy":
        saved = [np.empty(16, np.float32) for _ in range(steps // W4_TANH_EVERY)]
        return numpy_chain(w4_input(), steps, saved)
    if engine == "tinygrad_lite-jit":  # the third call: traced, checked, then replayed
        x, traced = _w4_jit_step(steps)
        for _ in range(3):
            x.grad = None
            y = traced()
        return y.numpy(), x.grad
    x = _w4_leaf(engine)
    y, _ = _w4_pass(x, steps)
    if engine == "torch":
        return y.detach().numpy(), x.grad.numpy()
    return y.numpy(), x.grad


# ---------------------------------------------------------------- W5: a deep scalar chain


def addition_chain(value: Any, n: int) -> Phases:
    """``y = y + 1.0`` n times from a leaf, then ``y.backward()``; checks the result."""
    phases: Phases = {}
    x = value(0.0)
    y = x
    t = now()
    for _ in range(n):
        y = y + 1.0
    t = timed(phases, "forward", t)
    y.backward()
    timed(phases, "backward", t)
    if y.data != n or x.grad != 1:
        raise CheckFailed(f"W5: chain of {n} additions gave y={y.data!r}, dy/dx={x.grad!r}")
    return phases


def on_deep_stack(fn: Callable[[], Phases], depth: int) -> Phases:
    """Run ``fn`` in a thread with a big stack and a recursion limit of ``depth`` frames (plus
    room): what micrograd's recursive topological sort needs. Its exception is re-raised."""
    out: list[Phases] = []
    err: list[BaseException] = []

    def target() -> None:
        try:
            out.append(fn())
        except BaseException as e:  # handed to the caller, which reports it
            err.append(e)

    old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size()
    sys.setrecursionlimit(depth + 10_000)
    threading.stack_size(1 << 29)  # 512 MiB of address space; only the pages used are committed
    try:
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)
    if err:
        raise err[0]
    return out[0]


def w5_bench(engine: str, n: int) -> Bench:
    value = engine_value(engine)
    if engine == "micrograd":
        return Bench(
            lambda: on_deep_stack(lambda: addition_chain(value, n), n),
            units=n,
            warmup=lambda: on_deep_stack(lambda: addition_chain(value, 1000), 1000),
        )
    warm = min(n, 10_000)
    return Bench(
        lambda: addition_chain(value, n), units=n, warmup=lambda: addition_chain(value, warm)
    )


# ---------------------------------------------------------------- the three workloads

MICROGRAD = Engine("micrograd", "micrograd", needs="micrograd")
TORCH = Engine("torch", "torch ({threads})", needs="torch")
TINYGRAD_LITE = Engine("tinygrad_lite", "tinygrad_lite")
TINYGRAD_LITE_JIT = Engine("tinygrad_lite-jit", "tinygrad_lite, tl.jit", short="jit")
NUMPY = Engine("numpy", "hand-written NumPy", short="NumPy")

W1 = Workload(
    name="W1",
    title="micrograd demo, one SGD step",
    noun="points",
    unit="ms/step",
    scale=1e3,
    sizes=(W1_POINTS,),
    quick_sizes=(8,),
    engines=(
        MICROGRAD,
        Engine("tl-scalar", "tinygrad_lite nn.scalar.MLP"),
        Engine("tl-opbyop", "tinygrad_lite op-by-op"),
        Engine("tl-scalar-jit", "tinygrad_lite nn.scalar.MLP, tl.jit", short="jit"),
    ),
    ours=("tl-scalar", "tl-opbyop", "tl-scalar-jit"),
    competitors=("micrograd",),
    target=Target("<= 0.5x micrograd", max_ratio={"micrograd": 0.5}),
    targets={
        "tl-scalar-jit": Target(
            "<= 0.5x tl-scalar (eager)", max_ratio={"micrograd": 0.5, "tl-scalar": 0.5}
        )
    },
    bench=w1_bench,
    check=lambda installed: w1_check(W1_POINTS, installed),
)

W4 = Workload(
    name="W4",
    title="elementwise chain on (16,) float32",
    noun="ops",
    unit="µs/op",
    scale=1e6,
    sizes=(W4_OPS,),
    quick_sizes=(100,),
    engines=(TORCH, NUMPY, TINYGRAD_LITE, TINYGRAD_LITE_JIT),
    ours=("tinygrad_lite", "tinygrad_lite-jit"),
    competitors=("torch", "numpy"),
    target=Target("<= 2.5 µs/op, <= 0.5x torch", max_per_unit=2.5, max_ratio={"torch": 0.5}),
    targets={"tinygrad_lite-jit": Target("<= 1.3x NumPy", max_ratio={"numpy": 1.3})},
    bench=w4_bench,
    check=lambda installed: w4_check(W4_OPS, installed),
)

W5 = Workload(
    name="W5",
    title="chain of scalar additions",
    noun="additions",
    unit="µs/add",
    scale=1e6,
    sizes=(10_000, 100_000, BIG_N),
    quick_sizes=(1000,),
    engines=(MICROGRAD, TINYGRAD_LITE),
    ours=("tinygrad_lite",),
    competitors=("micrograd",),
    target=Target("works, <= 3 µs/add", max_per_unit=3.0, min_size=BIG_N),
    bench=w5_bench,
    check=lambda installed: "W5: every timed run checks y = N and dy/dx = 1",
    few_repeats=(BIG_N, 3),  # each repeat of the million-node chain takes seconds
)

WORKLOADS = (W1, W4, W5)
