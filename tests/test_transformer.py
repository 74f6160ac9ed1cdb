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
