"""Bytes a training step allocates, eager and replayed by ``tl.jit``: W2, W3, W7, W8, W9.

    python benchmarks/jit_memory.py

Python's ``tracemalloc`` (NumPy reports its arrays' memory to it) counts every block
allocated during one step; the figure is the peak of memory allocated during the step over
what was held before it, after three warm-up steps (a replay's arrays are made in its first
calls). Deterministic: no timing involved.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cnn  # noqa: E402
import encoder  # noqa: E402
import lstm  # noqa: E402
import nets  # noqa: E402


def step_bytes(step: Callable[[], Any]) -> int:
    """The peak bytes allocated during one call of ``step`` above what was held before."""
    for _ in range(3):
        step()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def trainer_step(t: Any, batch: tuple[Any, Any]) -> Callable[[], Any]:
    data = t.data(*batch)
    return lambda: nets.train(t, data, 1)


def encoder_step(engine: str) -> Callable[[], Any]:
    layer = encoder.LAYERS[engine](encoder.encoder_weights())
    x, grad = layer.data(*encoder.encoder_batch(encoder.W9_BATCH))

    def step() -> None:
        out = layer.forward(x)
        layer.backward(out, grad)

    return step


def main() -> None:
    cases = {
        "W2": lambda e: trainer_step(nets.trainer(e, nets.W2_NET), nets.batch_of(nets.W2_NET, 128)),
        "W3": lambda e: trainer_step(nets.trainer(e, nets.W3_NET), nets.batch_of(nets.W3_NET, 256)),
        "W7": lambda e: trainer_step(
            cnn.LENETS[e](cnn.lenet_weights()), cnn.lenet_batch(cnn.W7_BATCH)
        ),
        "W8": lambda e: trainer_step(
            lstm.LSTMS[e](lstm.lstm_weights()), lstm.lstm_batch(lstm.W8_BATCH)
        ),
        "W9": encoder_step,
    }
    print("| workload | eager | tl.jit replay | replay / eager |")
    print("|---|---|---|---|")
    for name, make in cases.items():
        eager = step_bytes(make("tinygrad_lite"))
        replay = step_bytes(make("tinygrad_lite-jit"))
        mib = f"{eager / 2**20:.2f} MiB | {replay / 2**20:.3f} MiB"
        print(f"| {name} | {mib} | {replay / eager:.1%} |")


if __name__ == "__main__":
    main()
