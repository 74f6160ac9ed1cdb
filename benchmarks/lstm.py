"""One training step of a 1-layer LSTM in three engines (the workload to become W8 in run.py).

The step: a batch of 32 float32 sequences of 50 steps with 64 features, an LSTM of 128 hidden
units, a linear head to 64 classes at every step, softmax cross-entropy averaged over every
step of every sequence, backward, and an SGD update (lr 0.1). The engines start from the same
weights (torch's default distribution, drawn once with NumPy and copied in):

* ``tinygrad_lite`` as a user writes it: ``nn.LSTM``, ``nn.Linear``, ``F.cross_entropy``,
  ``optim.SGD``;
* ``numpy``: the same computation written out by hand (one product for every step's input
  share of the gates, the time loop, backpropagation through time, one product for the
  recurrent weight's gradient): the floor for an engine built on NumPy;
* ``torch``: ``torch.nn.LSTM`` with ``torch.set_num_threads(2)``.

Before timing, three steps of each engine are checked to give the same losses.

    python benchmarks/lstm.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np

SEED = 4242
BATCH, STEPS, INPUTS, HIDDEN, CLASSES = 32, 50, 64, 128, 64
LR = 0.1


def make_data(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    x = gen.standard_normal((STEPS, BATCH, INPUTS)).astype(np.float32)  # (T, N, H_in)
    return x, gen.integers(0, CLASSES, (STEPS, BATCH))  # labels (T, N)


def make_weights(seed: int = SEED) -> dict[str, np.ndarray]:
    """torch's layouts: weight_ih (4H, H_in), weight_hh (4H, H), head (C, H)."""
    gen = np.random.default_rng(seed + 1)
    b = 1.0 / math.sqrt(HIDDEN)
    h = 1.0 / math.sqrt(HIDDEN)
    shapes = {
        "weight_ih_l0": ((4 * HIDDEN, INPUTS), b),
        "weight_hh_l0": ((4 * HIDDEN, HIDDEN), b),
        "bias_ih_l0": ((4 * HIDDEN,), b),
        "bias_hh_l0": ((4 * HIDDEN,), b),
        "head.weight": ((CLASSES, HIDDEN), h),
        "head.bias": ((CLASSES,), h),
    }
    return {k: gen.uniform(-r, r, s).astype(np.float32) for k, (s, r) in shapes.items()}


# ---------------------------------------------------------------- the floor: by hand


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


class NumpyLSTM:
    def __init__(self, w: dict[str, np.ndarray]) -> None:
        self.w_ih, self.w_hh = w["weight_ih_l0"].copy(), w["weight_hh_l0"].copy()
        self.b = w["bias_ih_l0"] + w["bias_hh_l0"]  # (4H,)
        self.b_ih, self.b_hh = w["bias_ih_l0"].copy(), w["bias_hh_l0"].copy()
        self.w_out, self.b_out = w["head.weight"].T.copy(), w["head.bias"].copy()  # (H, C)

    def step(self, x: np.ndarray, labels: np.ndarray) -> float:
        t_, n, _ = x.shape
        hid = HIDDEN
        xw = (x.reshape(-1, INPUTS) @ self.w_ih.T + (self.b_ih + self.b_hh)).reshape(t_, n, -1)
        gates = np.empty_like(xw)  # activated i, f, g, o
        hs = np.empty((t_ + 1, n, hid), np.float32)  # hs[0] = h0 = 0
        cs = np.empty((t_ + 1, n, hid), np.float32)
        hs[0] = 0.0
        cs[0] = 0.0
        for t in range(t_):
            a = xw[t] + hs[t] @ self.w_hh.T
            a[:, : 2 * hid] = _sigmoid(a[:, : 2 * hid])
            a[:, 2 * hid : 3 * hid] = np.tanh(a[:, 2 * hid : 3 * hid])
            a[:, 3 * hid :] = _sigmoid(a[:, 3 * hid :])
            gates[t] = a
            cs[t + 1] = a[:, hid : 2 * hid] * cs[t] + a[:, :hid] * a[:, 2 * hid : 3 * hid]
            hs[t + 1] = a[:, 3 * hid :] * np.tanh(cs[t + 1])
        out = hs[1:].reshape(-1, hid)  # (T*N, H)
        logits = out @ self.w_out + self.b_out  # (T*N, C)
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        flat = labels.reshape(-1)
        rows = np.arange(flat.size)
        loss = float(np.mean(np.log(s[:, 0]) - z[rows, flat]))
        # backward
        dlog = e / s
        dlog[rows, flat] -= 1.0
        dlog /= flat.size
        dw_out = out.T @ dlog
        db_out = dlog.sum(axis=0)
        dhs = (dlog @ self.w_out.T).reshape(t_, n, hid)
        da = np.empty_like(xw)
        dh = np.zeros((n, hid), np.float32)
        dc = np.zeros((n, hid), np.float32)
        for t in range(t_ - 1, -1, -1):
            dh += dhs[t]
            a = gates[t]
            i, f, g, o = a[:, :hid], a[:, hid : 2 * hid], a[:, 2 * hid : 3 * hid], a[:, 3 * hid :]
            tc = np.tanh(cs[t + 1])
            dc += dh * o * (1.0 - tc * tc)
            d = da[t]
            d[:, :hid] = dc * g * i * (1.0 - i)
            d[:, hid : 2 * hid] = dc * cs[t] * f * (1.0 - f)
            d[:, 2 * hid : 3 * hid] = dc * i * (1.0 - g * g)
            d[:, 3 * hid :] = dh * tc * o * (1.0 - o)
            dc *= f
            dh = d @ self.w_hh
        da2 = da.reshape(-1, 4 * hid)
        dw_ih = da2.T @ x.reshape(-1, INPUTS)
        dw_hh = da2.T @ hs[:-1].reshape(-1, hid)
        db = da2.sum(axis=0)
        for p, gp in (
            (self.w_ih, dw_ih),
            (self.w_hh, dw_hh),
            (self.b_ih, db),
            (self.b_hh, db),
            (self.w_out, dw_out),
            (self.b_out, db_out),
        ):
            p -= LR * gp
        return loss


# ---------------------------------------------------------------- the engines


def ours(w: dict[str, np.ndarray]) -> Any:
    import tinygrad_lite as tl
    import tinygrad_lite.nn.functional as F
    from tinygrad_lite import nn

    lstm, head = nn.LSTM(INPUTS, HIDDEN), nn.Linear(HIDDEN, CLASSES)
    lstm.load_state_dict({k: v for k, v in w.items() if not k.startswith("head")})
    head.load_state_dict({"weight": w["head.weight"].T, "bias": w["head.bias"]})
    opt = tl.optim.SGD(lstm.parameters() + head.parameters(), lr=LR)

    def step(x: np.ndarray, labels: np.ndarray) -> float:
        out, _ = lstm(x)  # (T, N, H)
        loss = F.cross_entropy(head(out), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def torch_engine(w: dict[str, np.ndarray]) -> Any:
    import torch

    torch.set_num_threads(2)
    lstm, head = torch.nn.LSTM(INPUTS, HIDDEN), torch.nn.Linear(HIDDEN, CLASSES)
    with torch.no_grad():
        for k, v in w.items():
            target = head if k.startswith("head") else lstm
            getattr(target, k.removeprefix("head.")).copy_(torch.from_numpy(v))
    opt = torch.optim.SGD([*lstm.parameters(), *head.parameters()], lr=LR)

    def step(x: np.ndarray, labels: np.ndarray) -> float:
        out, _ = lstm(torch.from_numpy(x))
        loss = torch.nn.functional.cross_entropy(
            head(out).reshape(-1, CLASSES), torch.from_numpy(labels.reshape(-1))
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    repeats = parser.parse_args().repeats
    x, labels = make_data()
    engines = {"tinygrad_lite": ours, "numpy": lambda w: NumpyLSTM(w).step}
    try:
        import torch  # noqa: F401

        engines["torch"] = torch_engine
    except ImportError:
        print("torch is not installed: it is left out")
    losses = {}
    for name, make in engines.items():
        step = make(make_weights())
        losses[name] = [step(x, labels) for _ in range(3)]
    print("losses of three steps:", {k: [round(v, 6) for v in vs] for k, vs in losses.items()})
    reference = np.array(losses["numpy"])
    for name, got in losses.items():
        np.testing.assert_allclose(got, reference, rtol=1e-4, err_msg=name)
    # the engines take turns in blocks of steps, so a busy moment of a shared machine falls on
    # all of them; the first step of a block is not counted (torch's worker threads keep
    # spinning for a moment after its last step, which would slow the next engine's first)
    steps = {name: make(make_weights()) for name, make in engines.items()}
    samples: dict[str, list[float]] = {name: [] for name in engines}
    block = 5
    for _ in range(max(1, repeats // block)):
        for name, step in steps.items():
            step(x, labels)
            for _ in range(block):
                start = time.perf_counter()
                step(x, labels)
                samples[name].append(time.perf_counter() - start)
    # the fastest step is the engine's own cost; the median adds what other work on the machine
    # took from it (both printed: on a quiet machine they agree)
    for label, pick in (("fastest", np.min), ("median", np.median)):
        times = {name: float(pick(s)) for name, s in samples.items()}
        for name, t in times.items():
            ratios = ", ".join(f"{t / times[o]:.2f}x {o}" for o in times if o != name)
            count = len(samples[name])
            print(f"{label:>8} {name:>14}: {1000 * t:7.2f} ms per step of {count}; {ratios}")


if __name__ == "__main__":
    main()
