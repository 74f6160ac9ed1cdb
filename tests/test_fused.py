"""Every fused row of the op table gives the numbers of the plain composite it names
(``Op.composite``): the same value and the same gradients, first and second order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import Value
from tinygrad_lite.core import OPS
from tinygrad_lite.nn.recurrent import gru_states, lstm_states
from tinygrad_lite.nn.transformer import relu_feed_forward

GEN = np.random.default_rng(7)


def _array(*shape: int, dtype: Any = np.float64) -> np.ndarray:
    return GEN.standard_normal(shape).astype(dtype)


def _labels() -> np.ndarray:
    return np.array([0, 2, 1, 2])


# each case makes the fused node from fresh Values: (make(values) -> fused output, inputs)
CASES: dict[str, list[tuple[Callable[..., Value], list[Any]]]] = {
    "linear": [
        (lambda x, w, b: tl.linear(x, w, b), [_array(4, 3), _array(3, 2), _array(2)]),
        (lambda x, w: tl.linear(x, w), [_array(2, 4, 3), _array(3, 2)]),
    ],
    "linear_t": [
        (
            lambda x, w, b: tl.linear(x, w, b, transposed=True),
            [_array(4, 3), _array(2, 3), _array(2)],
        ),
        (lambda x, w: tl.linear(x, w, transposed=True), [_array(2, 4, 3), _array(2, 3)]),
    ],
    "feed_forward": [
        (
            lambda *xs: relu_feed_forward(*xs),
            [_array(2, 3, 4), _array(5, 4), _array(5), _array(4, 5), _array(4)],
        ),
        (
            lambda *xs: relu_feed_forward(*xs),
            [_array(3, 2), _array(4, 2), _array(4), _array(2, 4), _array(2)],
        ),
        # a single sample, and a frozen first layer (its products skipped)
        (
            lambda *xs: relu_feed_forward(*xs),
            [_array(3), _array(2, 3), _array(2), _array(3, 2), _array(3)],
        ),
        (
            lambda x, w2, b2: relu_feed_forward(
                x,
                Value(_array(4, 3), requires_grad=False),
                Value(_array(4), requires_grad=False),
                w2,
                b2,
            ),
            [_array(2, 3), _array(3, 4), _array(3)],
        ),
    ],
    "weighted_sum": [
        (
            lambda w1, w2, x1, x2, b: tl.weighted_sum([w1, w2], [x1, x2], b),
            [0.5, -1.5, 2.0, 3.0, 1.0],
        ),
        (lambda w, x: tl.weighted_sum([w], [x]), [0.7, -2.0]),
        (lambda w1, w2, x1, x2: tl.weighted_sum([w1, w2], [x1, x2]), [0.5, -1.5, 2.0, 3.0]),
    ],
    "softmax_cross_entropy": [
        (lambda z, r=r: F.cross_entropy(z, _labels(), reduction=r), [_array(4, 3)])
        for r in ("mean", "sum", "none")
    ]
    + [
        (lambda z: F.cross_entropy(z, np.full((4, 3), 1 / 3), reduction="sum"), [_array(4, 3)]),
        (lambda z: F.cross_entropy(z, np.zeros((2, 5), dtype=int)), [_array(2, 5, 3)]),
    ],
    "lstm": [
        (lambda *xs: lstm_states(*xs), [_array(3, 2, 8), _array(2, 2), _array(2, 2), _array(8, 2)]),
        (lambda *xs: lstm_states(*xs), [_array(1, 1, 4), _array(1, 1), _array(1, 1), _array(4, 1)]),
    ],
    "gru": [
        (lambda *xs: gru_states(*xs), [_array(3, 2, 6), _array(2, 2), _array(6, 2), _array(6)]),
        (lambda *xs: gru_states(*xs), [_array(1, 1, 3), _array(1, 1), _array(3, 1), _array(3)]),
    ],
    "attention": [
        (lambda qkv: F.multi_head_attention(qkv, num_heads=2), [_array(2, 3, 12)]),
        (
            lambda qkv: F.multi_head_attention(qkv, num_heads=1, mask=_array(3, 3)),
            [_array(1, 3, 6)],
        ),
        (
            lambda q, k, v: F.multi_head_attention(
                q, k, v, num_heads=2, mask=np.array([0.0, -np.inf, 0.0, 0.0]).reshape(1, 1, 1, 4)
            ),
            [_array(2, 3, 4), _array(2, 4, 4), _array(2, 4, 4)],
        ),
    ],
    "bce_with_logits": [
        (
            lambda z: F.binary_cross_entropy_with_logits(z, np.array([0.0, 1.0, 1.0]), "none"),
            [_array(3)],
        ),
    ],
    "upsample": [
        (lambda x: F.interpolate(x, 2), [_array(2, 3, 2, 2)]),
        (lambda x: F.interpolate(x, (3, 1, 2)), [_array(1, 2, 2, 3, 1)]),
        (lambda x: F.interpolate(x, (3,)), [_array(2, 1, 4)]),
    ],
    "standardize": [
        (lambda x: F.batch_norm(x, None, None, training=True), [_array(4, 3, 2, 2)]),
        (lambda x: F.batch_norm(x, None, None, training=True, eps=0.0), [_array(5, 2)]),
        (lambda x: F.layer_norm(x, (2, 3)), [_array(2, 4, 2, 3)]),
    ],
}


def fused_node(out: Value, name: str) -> Value:
    return next(v for v in tl.core.toposort([out]) if v.op == name)


def test_every_fused_row_names_a_composite_and_has_cases():
    fused = {name for name, row in OPS.items() if row.composite is not None}
    assert fused == set(CASES)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "name, make, inputs",
    [(name, make, inputs) for name, cases in CASES.items() for make, inputs in cases],
)
def test_a_fused_row_equals_its_composite_in_value_and_gradient(name, make, inputs, dtype):
    cast = [x.astype(dtype) if isinstance(x, np.ndarray) else x for x in inputs]
    values = [Value(x) for x in cast]
    node = fused_node(make(*values), name)
    row = OPS[name]
    plain = row.composite(node.static, *node.parents)
    assert all(v.op != name for v in tl.core.toposort([plain]))  # really the plain rows
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(plain.data), np.asarray(node.data), **tol)
    assert np.asarray(plain.data).dtype == np.asarray(node.data).dtype
    seed = GEN.standard_normal(np.shape(node.data)).astype(dtype)
    seed = float(seed) if type(node.data) is float else seed
    wanted = [p for p in node.parents if p.requires_grad]
    first = tl.grad(node, wanted, seed, create_graph=True)
    again = tl.grad(plain, wanted, seed, create_graph=True)
    for a, b in zip(first, again):
        np.testing.assert_allclose(np.asarray(b.data), np.asarray(a.data), **tol)
    # second order: the gradient of the gradients' sum agrees too
    total_a = sum(g.sum() if g.ndim else g for g in first)
    total_b = sum(g.sum() if g.ndim else g for g in again)
    if not (total_a.requires_grad or total_b.requires_grad):
        return  # a linear op (upsample): its gradient does not depend on the inputs
    for a, b in zip(
        tl.grad(total_a, wanted, allow_unused=True), tl.grad(total_b, wanted, allow_unused=True)
    ):
        a = np.asarray(0.0 if a is None else a)
        b = np.asarray(0.0 if b is None else b)
        # a second-order gradient that is zero in exact arithmetic comes out as rounding noise
        # of the first-order terms it cancels: allow that noise, scaled by their size
        scale = max(1.0, *(float(np.abs(np.asarray(g.data)).max(initial=0.0)) for g in first))
        np.testing.assert_allclose(b, a, rtol=tol["rtol"], atol=tol["atol"] * scale)
