"""A transformer layer in three engines: workload W9, forward and backward of one
``TransformerEncoderLayer``.

* W9: a batch of 16 float32 sequences of 64 tokens with d_model 128 (seeded normal), one
  encoder layer as torch's default (post-norm, ReLU, layer norm eps 1e-5) with 4 heads, a
  feed-forward width of 512 and dropout 0; the forward pass, then the backward pass from a
  fixed gradient of the output (seeded normal: the gradient a layer above would send),
  which gives every parameter's gradient and the input's. No update: the layer is the unit.

The engines, from the same weights (drawn once with NumPy, in torch's names and layouts):

* ``tinygrad_lite`` as a user writes it: ``nn.TransformerEncoderLayer(..., batch_first=True)``,
  ``out.backward(gradient)``;
* ``numpy``: ``HandWrittenEncoderLayer``, the same computation with its gradients derived by
  hand (the three projections in one product, the heads as a batch of matrix products, layer
  norm's backward in closed form): the floor for an engine built on NumPy;
* ``torch``: ``torch.nn.TransformerEncoderLayer`` with ``torch.set_num_threads``.

Like the other workload modules, this one imports no engine at module level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from harness import Bench, CheckFailed, Engine, Phases, Target, Workload, has_jit, now, threads
from nets import OURS, TINYGRAD_LITE_JIT, on_cache_lines, scaled_diff

SEED = 2024
LENGTH, D_MODEL, HEADS, FEEDFORWARD = 64, 128, 4, 512
EPS = 1e-5
W9_BATCH = 16
W9_PASSES = 5  # forward and backward passes per timed repeat
NAMES = (
    "self_attn.in_proj_weight",
    "self_attn.in_proj_bias",
    "self_attn.out_proj.weight",
    "self_attn.out_proj.bias",
    "linear1.weight",
    "linear1.bias",
    "linear2.weight",
    "linear2.bias",
    "norm1.weight",
    "norm1.bias",
    "norm2.weight",
    "norm2.bias",
)


def encoder_batch(batch: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The input ``x`` and the gradient of the output, both (N, L, d_model) float32."""
    gen = np.random.default_rng(seed)
    x = gen.standard_normal((batch, LENGTH, D_MODEL)).astype(np.float32)  # (N, L, E)
    return x, gen.standard_normal((batch, LENGTH, D_MODEL)).astype(np.float32)


def encoder_weights(seed: int = SEED) -> dict[str, np.ndarray]:
    """Every parameter in torch's names and layouts ((out, in) matrices), uniform in
    +-1/sqrt(fan_in); the layer norms' scales near 1 and shifts near 0, not exactly 1 and 0,
    so that their gradients matter to the check."""
    gen = np.random.default_rng(seed + 1)
    e, ff = D_MODEL, FEEDFORWARD
    shapes = {
        "self_attn.in_proj_weight": (3 * e, e),
        "self_attn.in_proj_bias": (3 * e,),
        "self_attn.out_proj.weight": (e, e),
        "self_attn.out_proj.bias": (e,),
        "linear1.weight": (ff, e),
        "linear1.bias": (ff,),
        "linear2.weight": (e, ff),
        "linear2.bias": (e,),
    }
    weights = {}
    for k, shape in shapes.items():
        bound = 1.0 / math.sqrt(ff if k.startswith("linear2") else e)
        weights[k] = gen.uniform(-bound, bound, shape).astype(np.float32)
    for k in ("norm1", "norm2"):
        weights[f"{k}.weight"] = gen.uniform(0.9, 1.1, e).astype(np.float32)
        weights[f"{k}.bias"] = gen.uniform(-0.1, 0.1, e).astype(np.float32)
    return weights


# ---------------------------------------------------------------- the floor, by hand


def _layer_norm(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x_hat, 1/std) of each row of ``r`` (M, E), in place: r becomes x_hat."""
    r -= r.mean(axis=1, keepdims=True)
    rstd = 1.0 / np.sqrt(np.square(r).mean(axis=1, keepdims=True) + EPS)  # (M, 1)
    r *= rstd
    return r, rstd


def _layer_norm_backward(d_hat: np.ndarray, x_hat: np.ndarray, rstd: np.ndarray) -> np.ndarray:
    """The input's gradient from x_hat's: (d - mean(d) - x_hat mean(d x_hat)) / std, rows."""
    t = (d_hat * x_hat).mean(axis=1, keepdims=True)
    out = d_hat - d_hat.mean(axis=1, keepdims=True)
    out -= x_hat * t
    out *= rstd
    return out


class HandWrittenEncoderLayer:
    """The post-norm encoder layer with ReLU and its gradients derived by hand, float32 NumPy.

    Rows M = N * L: every token of every sequence is one row of the dense products; the heads
    are a batch (N, heads) of (L, head_dim) matrices for the attention's products.
    """

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.params = {k: on_cache_lines(weights[k]) for k in NAMES}
        self.grads: dict[str, np.ndarray] = {}
        self._saved: dict[str, Any] = {}

    def data(self, x: np.ndarray, grad: np.ndarray) -> tuple[Any, Any]:
        return x, grad

    def forward(self, x: np.ndarray) -> np.ndarray:
        p = self.params
        n, length, e = x.shape
        heads, hd = HEADS, D_MODEL // HEADS
        xf = x.reshape(-1, e)  # (M, E)
        qkv = xf @ p["self_attn.in_proj_weight"].T
        qkv += p["self_attn.in_proj_bias"]  # (M, 3E)
        qkv = qkv.reshape(n, length, 3, heads, hd).transpose(2, 0, 3, 1, 4)  # (3, N, h, L, hd)
        q, k, v = qkv[0] * (1.0 / math.sqrt(hd)), qkv[1], qkv[2]
        s = q @ k.swapaxes(-1, -2)  # (N, h, L, L)
        s -= s.max(axis=-1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)  # the attention weights
        a = (s @ v).transpose(0, 2, 1, 3).reshape(-1, e)  # (M, E): the heads side by side
        r1 = a @ p["self_attn.out_proj.weight"].T
        r1 += p["self_attn.out_proj.bias"]
        r1 += xf  # the residual
        hat1, rstd1 = _layer_norm(r1)
        y1 = hat1 * p["norm1.weight"]
        y1 += p["norm1.bias"]  # (M, E)
        hidden = y1 @ p["linear1.weight"].T
        hidden += p["linear1.bias"]
        np.maximum(hidden, 0.0, out=hidden)  # (M, F)
        r2 = hidden @ p["linear2.weight"].T
        r2 += p["linear2.bias"]
        r2 += y1
        hat2, rstd2 = _layer_norm(r2)
        out = hat2 * p["norm2.weight"]
        out += p["norm2.bias"]
        self._saved = dict(x=xf, q=q, k=k, v=v, weights=s, a=a, hat1=hat1, rstd1=rstd1, y1=y1)
        self._saved.update(hidden=hidden, hat2=hat2, rstd2=rstd2)
        return out.reshape(n, length, e)

    def backward(self, out: np.ndarray, grad: np.ndarray) -> None:
        p, s = self.params, self._saved
        n, length, e = grad.shape
        heads, hd = HEADS, D_MODEL // HEADS
        g = grad.reshape(-1, e)  # (M, E)
        grads = {"norm2.weight": (g * s["hat2"]).sum(axis=0), "norm2.bias": g.sum(axis=0)}
        d2 = _layer_norm_backward(g * p["norm2.weight"], s["hat2"], s["rstd2"])  # (M, E)
        grads["linear2.weight"] = d2.T @ s["hidden"]
        grads["linear2.bias"] = d2.sum(axis=0)
        dh = d2 @ p["linear2.weight"]  # (M, F)
        dh *= s["hidden"] > 0.0
        grads["linear1.weight"] = dh.T @ s["y1"]
        grads["linear1.bias"] = dh.sum(axis=0)
        dy1 = dh @ p["linear1.weight"]
        dy1 += d2  # the residual
        grads["norm1.weight"] = (dy1 * s["hat1"]).sum(axis=0)
        grads["norm1.bias"] = dy1.sum(axis=0)
        d1 = _layer_norm_backward(dy1 * p["norm1.weight"], s["hat1"], s["rstd1"])  # (M, E)
        grads["self_attn.out_proj.weight"] = d1.T @ s["a"]
        grads["self_attn.out_proj.bias"] = d1.sum(axis=0)
        da = (d1 @ p["self_attn.out_proj.weight"]).reshape(n, length, heads, hd)
        da = da.transpose(0, 2, 1, 3)  # (N, h, L, hd)
        w, q, k, v = s["weights"], s["q"], s["k"], s["v"]
        d_qkv = np.empty((n, length, 3, heads, hd), np.float32)
        d_qkv[:, :, 2] = (w.swapaxes(-1, -2) @ da).transpose(0, 2, 1, 3)  # dv
        dw = da @ v.swapaxes(-1, -2)  # (N, h, L, L)
        dw -= (dw * w).sum(axis=-1, keepdims=True)
        dw *= w  # through the softmax: the scores' gradient
        d_qkv[:, :, 0] = (dw @ k).transpose(0, 2, 1, 3) * (1.0 / math.sqrt(hd))  # dq
        d_qkv[:, :, 1] = (dw.swapaxes(-1, -2) @ q).transpose(0, 2, 1, 3)  # dk (q was scaled)
        d_qkv = d_qkv.reshape(-1, 3 * e)  # (M, 3E)
        grads["self_attn.in_proj_weight"] = d_qkv.T @ s["x"]
        grads["self_attn.in_proj_bias"] = d_qkv.sum(axis=0)
        dx = d_qkv @ p["self_attn.in_proj_weight"]
        dx += d1  # the residual
        self.grads, self.input_grad = grads, dx.reshape(n, length, e)

    def result(self, out: Any) -> np.ndarray:
        return out

    def gradients(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        return self.grads, self.input_grad


# ---------------------------------------------------------------- the libraries


class TinygradLiteEncoderLayer:
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        from tinygrad_lite import Value, nn

        self.layer = nn.TransformerEncoderLayer(
            D_MODEL, HEADS, FEEDFORWARD, dropout=0.0, batch_first=True
        )
        self.layer.load_state_dict(weights)
        self._value = Value
        self.x: Any = None

    def data(self, x: np.ndarray, grad: np.ndarray) -> tuple[Any, Any]:
        self.x = self._value(x)  # the input's gradient too, as in a stack of layers
        return self.x, grad

    def forward(self, x: Any) -> Any:
        return self.layer(x)

    def backward(self, out: Any, grad: np.ndarray) -> None:
        self.layer.zero_grad()
        self.x.grad = None
        out.backward(grad)

    def result(self, out: Any) -> np.ndarray:
        return np.asarray(out.data)

    def gradients(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        return {k: p.grad for k, p in self.layer.named_parameters()}, self.x.grad


class TinygradLiteJitEncoderLayer(TinygradLiteEncoderLayer):
    """The same pass (forward, zero_grad, backward) traced by ``tl.jit`` and replayed:
    ``forward`` runs all of it, ``backward`` has nothing left to do."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        import tinygrad_lite as tl

        super().__init__(weights)
        layer = self.layer

        def step(x: Any, grad: np.ndarray) -> Any:
            out = layer(x)
            layer.zero_grad()
            x.grad = None
            out.backward(grad)
            return out

        self._step = tl.jit(step)
        self._grad: Any = None

    def data(self, x: np.ndarray, grad: np.ndarray) -> tuple[Any, Any]:
        self._grad = grad
        return super().data(x, grad)

    def forward(self, x: Any) -> Any:
        return self._step(x, self._grad)

    def backward(self, out: Any, grad: np.ndarray) -> None:
        pass


class TorchEncoderLayer:
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        import torch

        torch.set_num_threads(threads())
        self.layer = torch.nn.TransformerEncoderLayer(
            D_MODEL, HEADS, FEEDFORWARD, dropout=0.0, batch_first=True
        )
        self.layer.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        self._torch = torch
        self.x: Any = None

    def data(self, x: np.ndarray, grad: np.ndarray) -> tuple[Any, Any]:
        self.x = self._torch.from_numpy(x).requires_grad_()
        return self.x, self._torch.from_numpy(grad)

    def forward(self, x: Any) -> Any:
        return self.layer(x)

    def backward(self, out: Any, grad: Any) -> None:
        self.layer.zero_grad()
        self.x.grad = None
        out.backward(grad)

    def result(self, out: Any) -> np.ndarray:
        return out.detach().numpy()

    def gradients(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        grads = {k: p.grad.numpy() for k, p in self.layer.named_parameters()}
        return grads, self.x.grad.numpy()


LAYERS: dict[str, Any] = {
    "tinygrad_lite": TinygradLiteEncoderLayer,
    "tinygrad_lite-jit": TinygradLiteJitEncoderLayer,
    "numpy": HandWrittenEncoderLayer,
    "torch": TorchEncoderLayer,
}


def encoder_bench(engine: str, batch: int) -> Bench:
    layer = LAYERS[engine](encoder_weights())
    x, grad = layer.data(*encoder_batch(batch))

    def run() -> Phases:
        phases: Phases = {"forward": 0.0, "backward": 0.0}
        for _ in range(W9_PASSES):
            start = now()
            out = layer.forward(x)
            middle = now()
            layer.backward(out, grad)
            end = now()
            phases["forward"] += middle - start
            phases["backward"] += end - middle
        return phases

    return Bench(run, units=W9_PASSES)


def encoder_check(installed: Sequence[str]) -> str:
    """The engines agree on the output, every parameter's gradient and the input's."""
    engines = [
        "numpy",
        "tinygrad_lite",
        *(["tinygrad_lite-jit"] if has_jit() else []),
        *(["torch"] if "torch" in installed else []),
    ]
    results = {}
    for engine in engines:
        layer = LAYERS[engine](encoder_weights())
        x, grad = layer.data(*encoder_batch(W9_BATCH))
        for _ in range(3 if engine.endswith("-jit") else 1):  # traced, checked, replayed
            out = layer.forward(x)
            layer.backward(out, grad)
        params, dx = layer.gradients()
        grads = {k: np.array(g) for k, g in params.items()} | {"input": np.array(dx)}
        bad = [f"{k} {g.dtype}" for k, g in grads.items() if g.dtype != np.float32]
        if bad or sorted(grads) != sorted([*NAMES, "input"]):
            raise CheckFailed(f"W9: {engine}'s gradients are {bad or sorted(grads)}")
        results[engine] = (np.array(layer.result(out)), grads)
    ref_out, ref_grads = results["numpy"]
    worst = 0.0
    for engine in engines[1:]:
        out, grads = results[engine]
        out_diff = scaled_diff(out, ref_out)
        grad_diff = max(scaled_diff(grads[k], ref_grads[k]) for k in ref_grads)
        if out_diff > 1e-5 or grad_diff > 1e-4:
            name = max(ref_grads, key=lambda k: scaled_diff(grads[k], ref_grads[k]))
            raise CheckFailed(
                f"W9: {engine} disagrees with the hand-written NumPy layer: output off by "
                f"{out_diff:.2g}, gradients by {grad_diff:.2g} ({name})"
            )
        worst = max(worst, out_diff, grad_diff)
    return (
        f"W9: {' = '.join(engines)} from identical weights: the output and {len(ref_grads)} "
        f"gradients, the input's included (max diff {worst:.1e} of the largest element), "
        "float32 kept"
    )


# ---------------------------------------------------------------- the workload

ENGINES = (
    Engine("torch", "torch ({threads})", needs="torch"),
    Engine("numpy", "hand-written NumPy", short="NumPy"),
    Engine("tinygrad_lite", "tinygrad_lite"),
    TINYGRAD_LITE_JIT,
)

W9 = Workload(
    name="W9",
    title=f"TransformerEncoderLayer d={D_MODEL}, {HEADS} heads, ff {FEEDFORWARD}, "
    f"{LENGTH} tokens, forward + backward",
    noun="batch {size}",
    unit="ms/pass",
    scale=1e3,
    sizes=(W9_BATCH,),
    quick_sizes=(2,),
    engines=ENGINES,
    ours=OURS,
    competitors=("torch", "numpy"),
    target=Target("<= 1.1x NumPy, <= 1.2x torch", max_ratio={"numpy": 1.1, "torch": 1.2}),
    targets={
        "tinygrad_lite-jit": Target(
            "<= 0.95x NumPy, <= 1.0x torch", max_ratio={"numpy": 0.95, "torch": 1.0}
        )
    },
    bench=encoder_bench,
    check=encoder_check,
    threaded=True,
)

WORKLOADS = (W9,)
