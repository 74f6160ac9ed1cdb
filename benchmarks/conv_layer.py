"""One convolution layer, forward and backward, in three engines (a workload for run.py to come).

A conv2d layer of 32 filters 3x3, padding 1, with bias, on x (64, 16, 14, 14) float32: the
output (64, 32, 14, 14), then the gradients of x, the weight and the bias from a fixed
upstream gradient. Three engines compute the same numbers from the same weights:

* ``tinygrad_lite``: ``nn.Conv2d(16, 32, 3, padding=1)`` and ``out.backward(grad)``;
* ``numpy``: ``HandWrittenConv``, the layer written out by hand the straightforward way:
  im2col through an ``as_strided`` view of the padded input and one matrix product forward,
  one matrix product for dW, and for dx one product and the col2im scatter-add;
* ``torch``: ``torch.nn.Conv2d`` with ``torch.set_num_threads`` threads (if installed).

Each engine runs in its own process (its BLAS and OpenMP get ``--threads`` threads), in
``--rounds`` rounds that alternate the engines, so a busy moment of the machine is shared out;
the table gives the median and the fastest step over all rounds, the ratios of both to
tinygrad_lite's, and the page faults per step (memory the allocator gave back to the system
and took again, whose cost the times include). Before timing, the engines' outputs and
gradients are checked equal.

    .venv/bin/python benchmarks/conv_layer.py                  # 3 rounds of 30 steps
    .venv/bin/python benchmarks/conv_layer.py --rounds 1 --repeats 3   # a smoke run
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from harness import engine_env
from numpy.lib.stride_tricks import as_strided

BATCH, IN_CHANNELS, SIDE = 64, 16, 14
OUT_CHANNELS, KERNEL, PADDING = 32, 3, 1
SEED = 1337
ENGINES = ("numpy", "tinygrad_lite", "torch")
Step = Callable[[], Any]  # one forward + backward; returns (out, dx, dW, db)


def problem() -> dict[str, np.ndarray]:
    """The input, the layer's weights (drawn as torch's default) and the upstream gradient."""
    gen = np.random.default_rng(SEED)
    bound = 1.0 / np.sqrt(IN_CHANNELS * KERNEL * KERNEL)
    shape = (OUT_CHANNELS, IN_CHANNELS, KERNEL, KERNEL)
    x = gen.standard_normal((BATCH, IN_CHANNELS, SIDE, SIDE))
    return {
        "x": x.astype(np.float32),
        "weight": gen.uniform(-bound, bound, shape).astype(np.float32),
        "bias": gen.uniform(-bound, bound, OUT_CHANNELS).astype(np.float32),
        "grad": gen.standard_normal((BATCH, OUT_CHANNELS, SIDE, SIDE)).astype(np.float32),
    }


# ---------------------------------------------------------------- the engines


class HandWrittenConv:
    """conv2d (stride 1, zero padding) forward and backward in plain NumPy.

    >>> p = {k: v[:2] if k in ("x", "grad") else v for k, v in problem().items()}
    >>> out, dx, dw, db = HandWrittenConv(p["weight"], p["bias"]).step(p["x"], p["grad"])
    >>> out.shape, dx.shape, dw.shape, db.shape
    ((2, 32, 14, 14), (2, 16, 14, 14), (32, 16, 3, 3), (32,))
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray, padding: int = PADDING) -> None:
        self.weight, self.bias, self.padding = weight, bias, padding
        self.cols = np.empty(0, dtype=weight.dtype)
        self.x_shape: tuple[int, ...] = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, c, h, w = x.shape
        o, _, k, _ = self.weight.shape
        p = self.padding
        ho, wo = h + 2 * p - k + 1, w + 2 * p - k + 1
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        s_n, s_c, s_h, s_w = xp.strides
        windows = as_strided(xp, (c, k, k, n, ho, wo), (s_c, s_h, s_w, s_n, s_h, s_w))
        self.cols = windows.reshape(c * k * k, n * ho * wo)  # im2col: the one copy
        self.x_shape = x.shape
        out = self.weight.reshape(o, -1) @ self.cols  # (O, N·Ho·Wo)
        out += self.bias[:, None]
        return out.reshape(o, n, ho, wo).transpose(1, 0, 2, 3)

    def backward(self, g: np.ndarray, need_input: bool = True) -> tuple[Any, np.ndarray, Any]:
        """(dx, dW, db); dx is None when ``need_input`` is false (a first layer's data)."""
        n, c, h, w = self.x_shape
        o, _, k, _ = self.weight.shape
        p = self.padding
        ho, wo = g.shape[2:]
        gm = g.transpose(1, 0, 2, 3).reshape(o, -1)  # (O, N·Ho·Wo)
        dw = (gm @ self.cols.T).reshape(self.weight.shape)
        db = gm.sum(axis=1)
        if not need_input:
            return None, dw, db
        dcols = (self.weight.reshape(o, -1).T @ gm).reshape(c, k, k, n, ho, wo)
        dxp = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=g.dtype)
        for i in range(k):  # col2im: each window's gradient added back where it came from
            for j in range(k):
                dxp[:, :, i : i + ho, j : j + wo] += dcols[:, i, j].transpose(1, 0, 2, 3)
        return dxp[:, :, p : p + h, p : p + w], dw, db

    def step(self, x: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, ...]:
        out = self.forward(x)
        return (out, *self.backward(g))


def numpy_step(p: dict[str, np.ndarray]) -> Step:
    layer = HandWrittenConv(p["weight"].copy(), p["bias"].copy())
    return lambda: layer.step(p["x"], p["grad"])


def tinygrad_lite_step(p: dict[str, np.ndarray]) -> Step:
    import tinygrad_lite as tl
    from tinygrad_lite import nn

    layer = nn.Conv2d(IN_CHANNELS, OUT_CHANNELS, KERNEL, padding=PADDING, dtype=p["x"].dtype)
    layer.load_state_dict({"weight": p["weight"], "bias": p["bias"]})
    x = tl.Value(p["x"])  # x needs a gradient too: dx is part of the work

    def step() -> tuple[Any, ...]:
        layer.zero_grad()
        x.grad = None
        out = layer(x)
        out.backward(p["grad"])
        return out.data, x.grad, layer.weight.grad, layer.bias.grad

    return step


def torch_step(p: dict[str, np.ndarray], threads: int) -> Step:
    import torch

    torch.set_num_threads(threads)
    layer = torch.nn.Conv2d(IN_CHANNELS, OUT_CHANNELS, KERNEL, padding=PADDING)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(p["weight"]))
        layer.bias.copy_(torch.from_numpy(p["bias"]))
    x = torch.from_numpy(p["x"]).requires_grad_()
    grad = torch.from_numpy(p["grad"])

    def step() -> tuple[Any, ...]:
        layer.zero_grad(set_to_none=True)
        x.grad = None
        out = layer(x)
        out.backward(grad)
        return out.detach().numpy(), x.grad.numpy(), layer.weight.grad, layer.bias.grad

    return step


def make_step(engine: str, threads: int) -> Step:
    p = problem()
    if engine == "numpy":
        return numpy_step(p)
    if engine == "tinygrad_lite":
        return tinygrad_lite_step(p)
    return torch_step(p, threads)


# ---------------------------------------------------------------- checking and timing


def check(engines: list[str], threads: int) -> None:
    """Every engine's output and gradients equal the hand-written NumPy's (float32)."""
    reference = [np.asarray(a) for a in make_step("numpy", threads)()]
    for engine in engines:
        got = [np.asarray(a) for a in make_step(engine, threads)()]
        for name, a, b in zip(("out", "dx", "dW", "db"), got, reference):
            scale = float(np.abs(b).max())
            if not np.allclose(a, b, rtol=1e-4, atol=1e-4 * scale):
                raise SystemExit(f"{engine}: {name} differs from the hand-written NumPy's")


def measure(engine: str, repeats: int, threads: int) -> dict[str, Any]:
    """The time of each step, and the page faults per step (memory the allocator had handed
    back to the system and had to take again: a cost the timings include)."""
    step = make_step(engine, threads)
    for _ in range(3):  # warm up: caches, BLAS buffers, first-call costs
        step()
    times = []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return {"times": times, "faults": faults / repeats}


def in_process(engine: str, repeats: int, threads: int) -> dict[str, Any]:
    """``measure`` in a fresh interpreter whose BLAS and OpenMP use ``threads`` threads, with
    the allocator settings every engine gets (``harness.engine_env``)."""
    env = engine_env(threads)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", engine]
    cmd += ["--repeats", str(repeats), "--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def installed(engine: str) -> bool:
    return engine != "torch" or importlib.util.find_spec("torch") is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, engines alternating")
    parser.add_argument("--threads", type=int, default=2, help="BLAS / torch threads")
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.worker, args.repeats, args.threads)))
        return 0
    engines = [e for e in ENGINES if installed(e)]
    check(engines, args.threads)
    times: dict[str, list[float]] = {e: [] for e in engines}
    faults: dict[str, list[float]] = {e: [] for e in engines}
    for _ in range(args.rounds):
        for engine in engines:
            result = in_process(engine, args.repeats, args.threads)
            times[engine] += result["times"]
            faults[engine].append(result["faults"])
    print(
        f"conv2d layer, x ({BATCH}, {IN_CHANNELS}, {SIDE}, {SIDE}) float32, {OUT_CHANNELS} "
        f"filters {KERNEL}x{KERNEL}, padding {PADDING}: forward + backward (dx, dW, db), "
        f"{args.threads} threads, {args.rounds} x {args.repeats} steps"
    )
    ours = times["tinygrad_lite"]
    head = f"{'engine':<15}{'median ms':>11}{'fastest ms':>12}{'ours/median':>13}"
    print(f"{head}{'ours/fastest':>14}{'faults/step':>13}")
    for engine in engines:
        t = times[engine]
        med, low = statistics.median(t), min(t)
        ratio_med = statistics.median(ours) / med
        ratio_low = min(ours) / low
        row = f"{engine:<15}{med * 1e3:>11.2f}{low * 1e3:>12.2f}{ratio_med:>12.2f}x"
        print(f"{row}{ratio_low:>13.2f}x{statistics.mean(faults[engine]):>13.0f}")
    if not installed("torch"):
        print("torch is not installed: pip install torch==2.13.0 to compare with it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
