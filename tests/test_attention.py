"""Attention against PyTorch: ``F.scaled_dot_product_attention`` and ``nn.MultiheadAttention``
(outputs, weights, gradients of the inputs and of every parameter, torch's weights loaded
through ``load_state_dict``), with masks; the helpers; the named errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import Value, nn
from tinygrad_lite.core import ArgumentError, ShapeError

TOL = dict(rtol=1e-9, atol=1e-10)
FIXTURE = [HealthCheck.function_scoped_fixture]


def _some_true_per_row(gen: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A random bool mask with at least one True in each last-axis row (no row all shut out)."""
    mask = gen.random(shape) < 0.6
    mask[..., 0] = True
    return mask


@settings(max_examples=12, suppress_health_check=FIXTURE)
@given(
    batch=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    length=st.integers(1, 4),
    source=st.integers(1, 4),
    dims=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    mask_kind=st.sampled_from([None, "bool", "float", "causal"]),
    seed=st.integers(0, 2**16),
)
def test_scaled_dot_product_attention_matches_torch(
    torch: Any, batch, length, source, dims, mask_kind, seed
) -> None:
    gen = np.random.default_rng(seed)
    e, ev = dims
    if mask_kind == "causal":
        source = length
    q = gen.standard_normal((*batch, length, e))
    k = gen.standard_normal((*batch, source, e))
    v = gen.standard_normal((*batch, source, ev))
    mask: Any = None
    if mask_kind == "bool":
        mask = _some_true_per_row(gen, (length, source))
    elif mask_kind == "float":
        mask = gen.standard_normal((*batch, length, source))
    causal = mask_kind == "causal"
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    t_mask = None if mask is None else torch.tensor(mask)
    t_out = torch.nn.functional.scaled_dot_product_attention(
        *ts, attn_mask=t_mask, is_causal=causal
    )
    vs = [Value(a) for a in (q, k, v)]
    o_out = F.scaled_dot_product_attention(*vs, attn_mask=mask, is_causal=causal)
    np.testing.assert_allclose(o_out.data, t_out.detach().numpy(), **TOL)
    w = gen.standard_normal(t_out.shape)
    (t_out * torch.tensor(w)).sum().backward()
    (o_out * w).sum().backward()
    for o, t in zip(vs, ts):
        np.testing.assert_allclose(o.grad, t.grad.numpy(), **TOL)


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@settings(max_examples=15, suppress_health_check=FIXTURE)
@given(
    heads=st.integers(1, 3),
    head_dim=st.integers(1, 3),
    length=st.integers(1, 4),
    source=st.integers(1, 4),
    batch=st.one_of(st.none(), st.integers(1, 3)),
    batch_first=st.booleans(),
    bias=st.booleans(),
    self_attention=st.booleans(),
    attn_mask=st.sampled_from([None, "bool", "float", "causal", "per_head"]),
    padding=st.sampled_from([None, "bool", "float"]),
    average=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_multihead_attention_matches_torch(
    torch: Any,
    heads,
    head_dim,
    length,
    source,
    batch,
    batch_first,
    bias,
    self_attention,
    attn_mask,
    padding,
    average,
    seed,
) -> None:
    gen = np.random.default_rng(seed)
    torch.manual_seed(seed)
    e = heads * head_dim
    if self_attention or attn_mask == "causal":
        source = length
    theirs = torch.nn.MultiheadAttention(e, heads, bias=bias, batch_first=batch_first).double()
    ours = nn.MultiheadAttention(e, heads, bias=bias, batch_first=batch_first, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    n = batch or 1

    def layout(steps: int) -> tuple[int, ...]:
        if batch is None:
            return (steps, e)
        return (batch, steps, e) if batch_first else (steps, batch, e)

    q = gen.standard_normal(layout(length))
    k = q if self_attention else gen.standard_normal(layout(source))
    v = q if self_attention else gen.standard_normal(layout(source))
    mask: Any = None
    if attn_mask == "bool":  # True: may NOT attend; keep the first key open in every row
        mask = ~_some_true_per_row(gen, (length, source))
    elif attn_mask == "float":
        mask = gen.standard_normal((length, source))
    elif attn_mask == "causal":
        mask = nn.causal_mask(length, np.float64)
    elif attn_mask == "per_head":
        mask = gen.standard_normal((n * heads, length, source))
        if batch is None:
            mask = mask.reshape(heads, length, source)
    pad: Any = None
    pad_shape = (source,) if batch is None else (batch, source)
    if padding == "bool":
        pad = ~_some_true_per_row(gen, pad_shape)
        if mask is not None and mask.dtype == bool:
            mask = mask & False  # two bool masks could shut a whole row out: keep one
    elif padding == "float":
        pad = gen.standard_normal(pad_shape)

    distinct = [q] if self_attention else [q, k, v]
    ts = [torch.tensor(a, requires_grad=True) for a in distinct]
    vs = [Value(a) for a in distinct]
    t_qkv = ts * 3 if self_attention else ts
    o_qkv = vs * 3 if self_attention else vs

    def t(x: Any) -> Any:
        return None if x is None else torch.tensor(x)

    t_out, t_w = theirs(
        *t_qkv, key_padding_mask=t(pad), attn_mask=t(mask), average_attn_weights=average
    )
    o_out, o_w = ours(*o_qkv, key_padding_mask=pad, attn_mask=mask, average_attn_weights=average)
    np.testing.assert_allclose(o_out.data, t_out.detach().numpy(), **TOL)
    np.testing.assert_allclose(o_w.data, t_w.detach().numpy(), **TOL)
    s_out, s_w = gen.standard_normal(t_out.shape), gen.standard_normal(t_w.shape)
    ((t_out * torch.tensor(s_out)).sum() + (t_w * torch.tensor(s_w)).sum()).backward()
    ((o_out * s_out).sum() + (o_w * s_w).sum()).backward()
    for name, p in theirs.named_parameters():
        got = dict(ours.named_parameters())[name].grad
        np.testing.assert_allclose(got, p.grad.numpy(), **TOL, err_msg=name)
    for o, tt in zip(vs, ts):
        np.testing.assert_allclose(o.grad, tt.grad.numpy(), **TOL)


@pytest.mark.parametrize("self_attention", [True, False])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("mask", [None, "float", "padding"])
def test_without_weights_one_attention_node_gives_the_plain_rows_numbers(
    self_attention, batch_first, mask
):
    # need_weights=False runs every head in the fused ``attention`` row (the weights are not
    # returned, so they need not be a node); it must give the per-head rows' numbers
    gen = np.random.default_rng(3)
    mha = nn.MultiheadAttention(6, 3, batch_first=batch_first, dtype=np.float64)
    length, source = 4, 4 if self_attention else 5
    shape = (2, length, 6) if batch_first else (length, 2, 6)
    kv_shape = (2, source, 6) if batch_first else (source, 2, 6)
    arrays = [gen.standard_normal(shape)]
    if not self_attention:
        arrays += [gen.standard_normal(kv_shape), gen.standard_normal(kv_shape)]
    options: dict[str, Any] = {}
    if mask == "float":
        options["attn_mask"] = gen.standard_normal((length, source))
    elif mask == "padding":
        options["key_padding_mask"] = np.array([[False] * (source - 1) + [True]] * 2)
    seed = gen.standard_normal(shape)
    results = []
    for need_weights in (False, True):
        mha.zero_grad()
        vs = [Value(a) for a in arrays]
        qkv = vs * 3 if self_attention else vs
        out, _ = mha(*qkv, need_weights=need_weights, **options)
        assert any(v.op == "attention" for v in tl.core.toposort([out])) is not need_weights
        (out * seed).sum().backward()
        grads = [p.grad.copy() for p in mha.parameters()] + [v.grad for v in vs]
        results.append((out.data, grads))
    (fused, fused_grads), (plain, plain_grads) = results
    np.testing.assert_allclose(fused, plain, rtol=1e-12, atol=1e-12)
    for a, b in zip(fused_grads, plain_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_state_dict_keys_and_layouts_are_torchs():
    mha = nn.MultiheadAttention(6, 2)
    shapes = {k: v.shape for k, v in mha.state_dict().items()}
    assert shapes == {
        "in_proj_weight": (18, 6),
        "in_proj_bias": (18,),
        "out_proj.weight": (6, 6),
        "out_proj.bias": (6,),
    }


def test_is_causal_without_a_mask_hides_the_future():
    _ = tl.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    x = tl.rng().standard_normal((2, 5, 4)).astype(np.float32)
    a, wa = mha(x, x, x, is_causal=True)
    b, wb = mha(x, x, x, attn_mask=nn.causal_mask(5))
    np.testing.assert_allclose(a.data, b.data)
    assert np.all(np.triu(wa.data[0], k=1) == 0)


def test_dropout_on_the_weights_only_in_training():
    _ = tl.manual_seed(0)
    mha = nn.MultiheadAttention(4, 1, dropout=0.5)
    x = np.ones((3, 2, 4), dtype=np.float32)
    mha.eval()
    a, _ = mha(x, x, x)
    b, _ = mha(x, x, x)
    np.testing.assert_array_equal(a.data, b.data)


def test_sinusoidal_positional_encoding_follows_the_formula():
    pe = nn.sinusoidal_positional_encoding(7, 5, dtype=np.float64)
    p, i = 3, 1  # dims 2 and 3
    angle = p / 10000 ** (2 * i / 5)
    assert pe.shape == (7, 5)
    np.testing.assert_allclose(pe[p, 2 * i : 2 * i + 2], [np.sin(angle), np.cos(angle)])


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: nn.MultiheadAttention(6, 4), ArgumentError, ["embed_dim=6", "num_heads=4"]),
        (
            lambda: nn.MultiheadAttention(4, 2)(*[np.ones((3, 2, 5))] * 3),
            ShapeError,
            ["MultiheadAttention", "(3, 2, 5)", "embed_dim = 4"],
        ),
        (
            lambda: nn.MultiheadAttention(4, 2)(*[np.ones((1, 3, 2, 4))] * 3),
            ShapeError,
            ["MultiheadAttention", "(1, 3, 2, 4)", "(L, N, E)"],
        ),
        (
            lambda: nn.MultiheadAttention(4, 2)(
                *[np.ones((3, 2, 4))] * 3, attn_mask=np.ones((3, 4))
            ),
            ShapeError,
            ["attn_mask", "(3, 4)", "(3, 3)"],
        ),
        (
            lambda: nn.MultiheadAttention(4, 2)(
                *[np.ones((3, 2, 4))] * 3, key_padding_mask=np.zeros((3, 2), dtype=bool)
            ),
            ShapeError,
            ["key_padding_mask", "(3, 2)", "(2, 3)"],
        ),
        (
            lambda: F.scaled_dot_product_attention(
                np.ones((2, 3, 4)), np.ones((2, 5, 4)), np.ones((2, 5, 4)), np.ones((3, 4))
            ),
            ShapeError,
            ["scaled_dot_product_attention", "(3, 4)", "(3, 5)"],
        ),
        (
            lambda: F.scaled_dot_product_attention(
                np.ones((3, 4)), np.ones((3, 2)), np.ones((3, 4))
            ),
            ShapeError,
            ["scaled_dot_product_attention", "(3, 2)"],
        ),
        (lambda: nn.causal_mask(0), ArgumentError, ["causal_mask", "length=0"]),
        (
            lambda: F.multi_head_attention(np.ones((2, 3, 12)), num_heads=0),
            ArgumentError,
            ["multi_head_attention", "num_heads=0"],
        ),
        (
            lambda: F.multi_head_attention(np.ones((2, 3, 10)), num_heads=2),
            ShapeError,
            ["multi_head_attention", "(2, 3, 10)", "3E"],
        ),
        (
            lambda: F.multi_head_attention(np.ones((2, 3, 4)), np.ones((2, 5, 4)), num_heads=2),
            ArgumentError,
            ["multi_head_attention", "key and value"],
        ),
        (
            lambda: F.multi_head_attention(
                np.ones((2, 3, 4)), np.ones((2, 5, 4)), np.ones((2, 4, 4)), num_heads=2
            ),
            ShapeError,
            ["multi_head_attention", "(2, 5, 4)", "(2, 4, 4)"],
        ),
        (
            lambda: F.multi_head_attention(np.ones((1, 3, 12)), num_heads=2, mask=np.ones((4, 4))),
            ShapeError,
            ["multi_head_attention", "(4, 4)", "(1, 2, 3, 3)"],
        ),
    ],
)
def test_named_errors(call, error, words):
    with pytest.raises(error) as info:
        call()
    for w in words:
        assert w in str(info.value)
