"""TransformerEncoderLayer against torch's: outputs and every gradient, post- and pre-norm,
with masks, from a torch state_dict loaded unchanged."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn


def _pair(
    torch: Any,
    d_model: int,
    nhead: int,
    ff: int,
    activation: str,
    norm_first: bool,
    batch_first: bool,
) -> tuple[Any, nn.TransformerEncoderLayer]:
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(
        d_model,
        nhead,
        dim_feedforward=ff,
        dropout=0.0,
        activation=activation,
        batch_first=batch_first,
        norm_first=norm_first,
    ).double()
    ours = nn.TransformerEncoderLayer(
        d_model,
        nhead,
        dim_feedforward=ff,
        dropout=0.0,
        activation=activation,
        batch_first=batch_first,
        norm_first=norm_first,
        dtype=np.float64,
    )
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert set(state) == set(ours.state_dict())  # the same keys ...
    ours.load_state_dict(state)  # ... and layouts: it loads unchanged
    return theirs, ours


@settings(
    deadline=None, max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    heads=st.sampled_from([1, 2, 4]),
    head_dim=st.integers(1, 4),
    ff=st.integers(1, 12),
    length=st.integers(1, 5),
    batch=st.integers(1, 3),
    activation=st.sampled_from(["relu", "gelu"]),
    norm_first=st.booleans(),
    batch_first=st.booleans(),
    causal=st.booleans(),
)
def test_the_layer_matches_torch(
    torch, heads, head_dim, ff, length, batch, activation, norm_first, batch_first, causal
):
    d_model = heads * head_dim
    theirs, ours = _pair(torch, d_model, heads, ff, activation, norm_first, batch_first)
    shape = (batch, length, d_model) if batch_first else (length, batch, d_model)
    x = np.random.default_rng(length * 7 + batch).standard_normal(shape)
    mask = nn.causal_mask(length).astype(np.float64) if causal else None
    tx = torch.tensor(x, requires_grad=True)
    t_out = theirs(tx, src_mask=None if mask is None else torch.tensor(mask))
    g = np.random.default_rng(1).standard_normal(shape)
    t_out.backward(torch.tensor(g))
    vx = tl.Value(x)
    out = ours(vx, src_mask=mask)
    out.backward(g)
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(vx.grad, tx.grad.numpy(), rtol=1e-8, atol=1e-9)
    grads = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(
            grads[name].grad, p.grad.numpy(), rtol=1e-8, atol=1e-9, err_msg=name
        )


def test_a_padding_mask_matches_torch(torch):
    theirs, ours = _pair(torch, 8, 2, 16, "relu", False, True)
    x = np.random.default_rng(3).standard_normal((2, 4, 8))
    padding = np.array([[False, False, True, True], [False, False, False, False]])
    t_out = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(padding))
    out = ours(x, src_key_padding_mask=padding)
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-9, atol=1e-10)


def test_the_layer_trains_and_says_what_is_wrong():
    tl.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1, batch_first=True)
    x = np.ones((2, 3, 8), dtype=np.float32)
    layer.train()
    a, b = layer(x).data, layer(x).data
    assert not np.array_equal(a, b)  # dropout draws fresh masks in training
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)
    with pytest.raises(tl.ArgumentError, match="activation='swish'"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")
    with pytest.raises(tl.ArgumentError, match="not divisible by num_heads=3"):
        nn.TransformerEncoderLayer(8, 3)
    with pytest.raises(tl.ArgumentError, match="dim_feedforward=0"):
        nn.TransformerEncoderLayer(8, 2, dim_feedforward=0)


def _ops(out: tl.Value) -> set[str | None]:
    return {v.op for v in tl.core.toposort([out])}


def _pass(layer: nn.TransformerEncoderLayer, x: np.ndarray, g: np.ndarray) -> list[Any]:
    """The output, the input's gradient and every parameter's, after one pass."""
    layer.zero_grad()
    vx = tl.Value(x)
    out = layer(vx)
    out.backward(g)
    return [out.data, vx.grad, *(p.grad for p in layer.parameters())]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_relu_feed_forward_block_is_one_node_with_the_three_nodes_numbers(dtype):
    # relu between the layer's two linears and no dropout there: relu_feed_forward's one node
    # (its hidden gradient masked in place); its numbers are those of linear, relu, linear
    tl.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 4, 24, dropout=0.0, batch_first=True, dtype=dtype)
    gen = np.random.default_rng(5)
    x, g = (gen.standard_normal((3, 5, 16)).astype(dtype) for _ in range(2))
    assert {"feed_forward"} <= _ops(layer(x)) and "relu" not in _ops(layer(x))
    fused = _pass(layer, x, g)
    layer.activation = lambda h: h.relu()  # the same function, not F.relu: the three nodes
    assert "feed_forward" not in _ops(layer(x)) and "relu" in _ops(layer(x))
    plain = _pass(layer, x, g)
    for a, b in zip(fused, plain):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)


def test_the_feed_forward_block_is_three_nodes_where_dropout_or_gelu_sits_between():
    tl.manual_seed(0)
    x = np.ones((2, 3, 8), dtype=np.float32)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5, batch_first=True)
    assert "feed_forward" not in _ops(layer(x))  # training: dropout between the linears
    layer.eval()
    assert "feed_forward" in _ops(layer(x))  # dropout is the identity
    gelu = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu", batch_first=True)
    assert "feed_forward" not in _ops(gelu(x))


def test_a_traced_step_follows_the_dropout_between_the_linears():
    # the block's form depends on the dropout module it does not call: a traced step that
    # recorded the one node (eval) traces again once that dropout trains, and draws masks
    tl.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5, batch_first=True)
    layer.eval()
    x = np.random.default_rng(2).standard_normal((2, 3, 8)).astype(np.float32)
    step = tl.jit(lambda v: layer(v))
    still = [step(x) for _ in range(3)]
    np.testing.assert_array_equal(still[2], layer(x).data)
    layer.dropout.train()  # only the dropout between the linears
    a, b = step(x), step(x)
    assert not np.array_equal(a, still[0]) and not np.array_equal(a, b)


def test_relu_feed_forward_names_the_shapes_that_do_not_fit():
    from tinygrad_lite.nn.transformer import relu_feed_forward

    x = tl.Value(np.ones((2, 3, 8)))
    w1, b1, w2, b2 = (tl.Value(np.ones(s)) for s in [(16, 8), (16,), (8, 16), (8,)])
    assert relu_feed_forward(x, w1, b1, w2, b2).shape == (2, 3, 8)
    with pytest.raises(tl.ShapeError, match=r"x \(2, 3, 7\) must end in E and W1 \(16, 8\)"):
        relu_feed_forward(tl.Value(np.ones((2, 3, 7))), w1, b1, w2, b2)
    with pytest.raises(tl.ShapeError, match=r"W2 \(16, 8\), b2 \(8,\) be \(F, E\)"):
        relu_feed_forward(x, w1, b1, tl.Value(np.ones((16, 8))), b2)
