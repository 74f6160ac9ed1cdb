"""Do the normalisation and upsampling layers take the fast path? Two questions, measured:

* is the fused ``standardize`` row (batch norm's and layer norm's ``(x - mean) / std``)
  faster than the same thing written with plain rows, its composite?
* is the ``upsample`` row (nearest upsampling, strided slices both ways) faster than its
  composite of reshape and broadcast_to, whose backward sums over small interleaved axes?

and, for scale, the exact GELU (erf) against the tanh one, and torch where it is installed.

Run from the repository root::

    .venv/bin/python benchmarks/layers.py           # about 30 seconds on 2 cores
    .venv/bin/python benchmarks/layers.py --quick   # tiny sizes (the smoke test)

Each row is a forward and a backward pass, float32; the figure is the fastest of the rounds
(on a shared machine the fastest round is the steadiest figure), in milliseconds.
"""

from __future__ import annotations

import argparse
import importlib.util
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import functions
from tinygrad_lite.core import OPS
from tinygrad_lite.core.ops.fused import Kept
from tinygrad_lite.core.ops.norm import Standardize

GEN = np.random.default_rng(0)


def fastest(fn: Callable[[], object], rounds: int, number: int) -> float:
    """The fastest of ``rounds`` rounds of ``number`` calls, in milliseconds per call."""
    fn()  # warm-up
    return min(timeit.repeat(fn, number=number, repeat=rounds)) / number * 1e3


def ours_pass(make: Callable[[tl.Value], tl.Value], x: np.ndarray) -> Callable[[], object]:
    v = tl.Value(x)
    g = GEN.standard_normal(make(v).shape).astype(x.dtype)

    def run() -> object:
        v.grad = None
        make(v).backward(g)
        return v.grad

    return run


def torch_pass(torch: Any, make: Callable[[Any], Any], x: np.ndarray) -> Callable[[], object]:
    t = torch.tensor(x, requires_grad=True)
    g = torch.as_tensor(GEN.standard_normal(tuple(make(t).shape)).astype(x.dtype))

    def run() -> object:
        t.grad = None
        make(t).backward(g)
        return t.grad

    return run


def upsample_by_hand(x: np.ndarray, s: int) -> Callable[[], object]:
    """Nearest x s upsampling of (N, C, H, W) and its gradient, written directly in NumPy."""
    n, c, h, w = x.shape
    g = GEN.standard_normal((n, c, h * s, w * s)).astype(x.dtype)

    def run() -> object:
        y = np.repeat(np.repeat(x, s, axis=2), s, axis=3)
        gx = g.reshape(n, c, h, s, w, s).sum(axis=(3, 5))
        return y, gx

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 rounds")
    args = parser.parse_args()
    rounds, number = (2, 1) if args.quick else (7, 10)
    scale = 8 if args.quick else 1
    bn_x = GEN.normal(size=(64 // scale, 32, 16, 16)).astype(np.float32)
    ln_x = GEN.normal(size=(32 // scale, 64, 256)).astype(np.float32)
    up_x = GEN.normal(size=(32 // scale, 16, 16, 16)).astype(np.float32)
    act_x = GEN.normal(size=(256 // scale, 1024)).astype(np.float32)

    plain = OPS["standardize"].composite  # the same normalisation written with plain rows
    plain_upsample = OPS["upsample"].composite
    assert plain is not None and plain_upsample is not None

    def composite(axes: tuple[int, ...]) -> Callable[[tl.Value], tl.Value]:
        return lambda v: plain(Standardize(axes, 1e-5, Kept()), v)

    def fused(axes: tuple[int, ...]) -> Callable[[tl.Value], tl.Value]:
        return lambda v: functions.standardize(v, axes, 1e-5)

    bn, ln = f"batch norm {bn_x.shape}", f"layer norm {ln_x.shape}"
    up, act = f"nearest upsampling x2 {up_x.shape}", f"GELU {act_x.shape}"
    rows: list[tuple[str, str, Callable[[], object]]] = [
        (bn, "standardize: fused row", ours_pass(fused((0, 2, 3)), bn_x)),
        (bn, "standardize: composite (plain rows)", ours_pass(composite((0, 2, 3)), bn_x)),
        (ln, "standardize: fused row", ours_pass(fused((2,)), ln_x)),
        (ln, "standardize: composite (plain rows)", ours_pass(composite((2,)), ln_x)),
        (up, "upsample: row", ours_pass(lambda v: F.interpolate(v, 2), up_x)),
        (
            up,
            "upsample: composite (plain rows)",
            ours_pass(lambda v: plain_upsample((2, 2), v), up_x),
        ),
        (up, "NumPy by hand (np.repeat; block sums)", upsample_by_hand(up_x, 2)),
        (act, "exact (erf row)", ours_pass(lambda v: F.gelu(v), act_x)),
        (act, "tanh approximation", ours_pass(lambda v: F.gelu(v, approximate="tanh"), act_x)),
    ]
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(2)
        tf = torch.nn.functional

        def t_bn(t: Any) -> Any:
            return tf.batch_norm(t, None, None, training=True)

        rows += [
            (bn, "torch batch_norm, training", torch_pass(torch, t_bn, bn_x)),
            (ln, "torch layer_norm", torch_pass(torch, lambda t: tf.layer_norm(t, (256,)), ln_x)),
            (
                up,
                "torch interpolate",
                torch_pass(torch, lambda t: tf.interpolate(t, None, 2.0), up_x),
            ),
            (act, "torch gelu (erf)", torch_pass(torch, lambda t: tf.gelu(t), act_x)),
        ]
    else:
        print("torch is not installed: its rows are skipped")
    print("| workload | variant | ms (fastest round) |")
    print("|---|---|---|")
    for workload, variant, run in rows:
        print(f"| {workload} | {variant} | {fastest(run, rounds, number):.3f} |")


if __name__ == "__main__":
    main()
