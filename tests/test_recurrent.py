"""Recurrent layers and Embedding against PyTorch: outputs, final states, and the gradients of
the inputs and of every parameter, with torch's weights loaded through ``load_state_dict``;
sizes, depths, directions and layouts drawn by hypothesis. Then the named errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import Value, nn
from tinygrad_lite.core import ArgumentError, DTypeError, IndexingError, ShapeError

TOL = dict(rtol=1e-9, atol=1e-10)


def numpy_state(module: Any) -> dict[str, np.ndarray]:
    """A torch module's state_dict as NumPy arrays: what a user would load into ours."""
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def check_grads(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert ours.keys() == theirs.keys()
    for name, g in theirs.items():
        assert ours[name] is not None, name
        np.testing.assert_allclose(ours[name], g, **TOL, err_msg=name)


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["RNN", "RNN_relu", "LSTM", "GRU"]),
    input_size=st.integers(1, 4),
    hidden_size=st.integers(1, 4),
    num_layers=st.integers(1, 2),
    bias=st.booleans(),
    batch_first=st.booleans(),
    bidirectional=st.booleans(),
    steps=st.integers(1, 4),
    batch=st.one_of(st.none(), st.integers(1, 3)),
    with_state=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_recurrent_layers_match_torch(
    torch: Any,
    kind: str,
    input_size: int,
    hidden_size: int,
    num_layers: int,
    bias: bool,
    batch_first: bool,
    bidirectional: bool,
    steps: int,
    batch: int | None,
    with_state: bool,
    seed: int,
) -> None:
    gen = np.random.default_rng(seed)
    torch.manual_seed(seed)
    name, extra = (kind, {}) if kind != "RNN_relu" else ("RNN", {"nonlinearity": "relu"})
    args = dict(
        num_layers=num_layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional
    )
    theirs = getattr(torch.nn, name)(input_size, hidden_size, **args, **extra).double()
    ours = getattr(nn, name)(input_size, hidden_size, **args, **extra, dtype=np.float64)
    ours.load_state_dict(numpy_state(theirs))
    if batch is None:
        x_shape: tuple[int, ...] = (steps, input_size)
    else:
        x_shape = (batch, steps, input_size) if batch_first else (steps, batch, input_size)
    x = gen.standard_normal(x_shape)
    states = num_layers * (2 if bidirectional else 1)
    s_shape = (states, hidden_size) if batch is None else (states, batch, hidden_size)
    hx = [gen.standard_normal(s_shape) for _ in range(2 if kind == "LSTM" else 1)]

    tx = torch.tensor(x, requires_grad=True)
    thx = [torch.tensor(h, requires_grad=True) for h in hx]
    xv, hv = Value(x), [Value(h) for h in hx]
    if kind == "LSTM":
        t_out, (t_h, t_c) = theirs(tx, tuple(thx) if with_state else None)
        o_out, (o_h, o_c) = ours(xv, tuple(hv) if with_state else None)
        t_finals, o_finals = [t_h, t_c], [o_h, o_c]
    else:
        t_out, t_h = theirs(tx, thx[0] if with_state else None)
        o_out, o_h = ours(xv, hv[0] if with_state else None)
        t_finals, o_finals = [t_h], [o_h]
    np.testing.assert_allclose(o_out.data, t_out.detach().numpy(), **TOL)
    for o, t in zip(o_finals, t_finals):
        np.testing.assert_allclose(o.data, t.detach().numpy(), **TOL)

    # one scalar that reads the output and every final state, with random weights
    seeds = [gen.standard_normal(t.shape) for t in [t_out, *t_finals]]
    t_loss = sum((t * torch.tensor(s)).sum() for t, s in zip([t_out, *t_finals], seeds))
    o_loss = sum((o * s).sum() for o, s in zip([o_out, *o_finals], seeds))
    t_loss.backward()
    o_loss.backward()
    check_grads(
        {k: p.grad for k, p in ours.named_parameters()},
        {k: p.grad.numpy() for k, p in theirs.named_parameters()},
    )
    np.testing.assert_allclose(xv.grad, tx.grad.numpy(), **TOL)
    if with_state:
        for o, t in zip(hv, thx):
            np.testing.assert_allclose(o.grad, t.grad.numpy(), **TOL)


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["RNNCell", "LSTMCell", "GRUCell"]),
    input_size=st.integers(1, 4),
    hidden_size=st.integers(1, 4),
    bias=st.booleans(),
    batch=st.one_of(st.none(), st.integers(1, 3)),
    seed=st.integers(0, 2**16),
)
def test_cells_match_torch(
    torch: Any, kind: str, input_size: int, hidden_size: int, bias: bool, batch: Any, seed: int
) -> None:
    gen = np.random.default_rng(seed)
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, kind)(input_size, hidden_size, bias=bias).double()
    ours = getattr(nn, kind)(input_size, hidden_size, bias=bias, dtype=np.float64)
    ours.load_state_dict(numpy_state(theirs))
    lead = () if batch is None else (batch,)
    x = gen.standard_normal((*lead, input_size))
    hx = [gen.standard_normal((*lead, hidden_size)) for _ in range(2 if kind == "LSTMCell" else 1)]
    tx, thx = torch.tensor(x, requires_grad=True), [torch.tensor(h) for h in hx]
    xv = Value(x)
    t_out = theirs(tx, tuple(thx) if kind == "LSTMCell" else thx[0])
    o_out = ours(xv, tuple(hx) if kind == "LSTMCell" else hx[0])
    t_outs = list(t_out) if kind == "LSTMCell" else [t_out]
    o_outs = list(o_out) if kind == "LSTMCell" else [o_out]
    for o, t in zip(o_outs, t_outs):
        np.testing.assert_allclose(o.data, t.detach().numpy(), **TOL)
    sum(t.sum() for t in t_outs).backward()
    sum(o.sum() for o in o_outs).backward()
    check_grads(
        {k: p.grad for k, p in ours.named_parameters()},
        {k: p.grad.numpy() for k, p in theirs.named_parameters()},
    )
    np.testing.assert_allclose(xv.grad, tx.grad.numpy(), **TOL)


def test_parameter_names_and_layouts_are_torchs():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    shapes = {k: v.shape for k, v in lstm.state_dict().items()}
    assert shapes["weight_ih_l0"] == (20, 3)
    assert shapes["weight_hh_l0_reverse"] == (20, 5)
    assert shapes["weight_ih_l1"] == (20, 10)
    assert shapes["bias_hh_l1_reverse"] == (20,)
    assert len(shapes) == 16
    bound = 1 / np.sqrt(5)
    assert all(np.abs(v).max() <= bound for v in lstm.state_dict().values())
    assert nn.GRU(2, 4).weight_hh_l0.shape == (12, 4)


def test_dropout_between_layers_only_in_training():
    _ = tl.manual_seed(0)
    rnn = nn.GRU(3, 8, num_layers=2, dropout=0.5)
    x = np.ones((4, 2, 3), dtype=np.float32)
    rnn.eval()
    a, _ = rnn(x)
    b, _ = rnn(x)
    np.testing.assert_array_equal(a.data, b.data)
    rnn.train()
    c, _ = rnn(x)
    assert not np.allclose(a.data, c.data)


def test_lstm_trains_through_time_on_float32():
    _ = tl.manual_seed(0)
    lstm, head = nn.LSTM(2, 8, batch_first=True), nn.Linear(8, 1)
    x = tl.rng().standard_normal((16, 5, 2)).astype(np.float32)
    y = x[:, 0, :1]  # remember the first step's input until the end
    params = lstm.parameters() + head.parameters()
    opt = tl.optim.Adam(params, lr=0.03)
    losses = []
    for _ in range(60):
        out, _ = lstm(x)
        loss = F.mse_loss(head(out[:, -1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert out.dtype == np.float32
    assert losses[-1] < 0.2 * losses[0]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_layer_is_its_cell_unrolled(kind):
    # the layers' fused time loops (LSTM, GRU) give the numbers of the plain cells, step by step
    _ = tl.manual_seed(1)
    layer = getattr(nn, kind)(3, 4, dtype=np.float64)
    cell = getattr(nn, kind + "Cell")(3, 4, dtype=np.float64)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x = Value(tl.rng().standard_normal((5, 2, 3)))
    out, _ = layer(x)
    state: Any = None
    for t in range(5):
        state = cell(x[t], state)
        h = state[0] if kind == "LSTM" else state
        np.testing.assert_allclose(out.data[t], h.data, rtol=1e-12, atol=1e-12)
    (gx_layer,) = tl.grad(out[-1].sum(), [x])
    (gx_cells,) = tl.grad(h.sum(), [x])
    np.testing.assert_allclose(gx_layer, gx_cells, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- embedding


@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    num=st.integers(1, 6),
    dim=st.integers(1, 4),
    ids_shape=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    padding=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_embedding_matches_torch(torch: Any, num, dim, ids_shape, padding, seed) -> None:
    gen = np.random.default_rng(seed)
    pad = int(gen.integers(num)) if padding else None
    theirs = torch.nn.Embedding(num, dim, padding_idx=pad).double()
    ours = nn.Embedding(num, dim, padding_idx=pad, dtype=np.float64)
    ours.load_state_dict(numpy_state(theirs))
    ids = gen.integers(0, num, size=tuple(ids_shape))
    t_out, o_out = theirs(torch.tensor(ids)), ours(ids)
    np.testing.assert_allclose(o_out.data, t_out.detach().numpy(), **TOL)
    w = gen.standard_normal(t_out.shape)
    (t_out * torch.tensor(w)).sum().backward()
    (o_out * w).sum().backward()
    want = theirs.weight.grad.numpy()
    got = np.zeros_like(want) if ours.weight.grad is None else ours.weight.grad
    np.testing.assert_allclose(got, want, **TOL)


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    _ = tl.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=-1)
    assert emb.padding_idx == 4 and not emb.weight.data[4].any()
    emb(np.array([4, 1, 4])).sum().backward()
    assert not emb.weight.grad[4].any() and (emb.weight.grad[1] == 1).all()


# ---------------------------------------------------------------- named errors


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: nn.LSTM(3, 4)(np.ones((5, 2, 2))), ShapeError, ["LSTM", "(5, 2, 2)", "H_in"]),
        (lambda: nn.GRU(3, 4)(np.ones((5, 2, 2, 3))), ShapeError, ["GRU", "(5, 2, 2, 3)"]),
        (
            lambda: nn.LSTM(3, 4)(np.ones((5, 2, 3)), (np.zeros((1, 2, 4)), np.zeros((1, 3, 4)))),
            ShapeError,
            ["LSTM", "c_0", "(1, 3, 4)", "(1, 2, 4)"],
        ),
        (
            lambda: nn.RNN(3, 4, num_layers=2)(np.ones((5, 2, 3)), np.zeros((1, 2, 4))),
            ShapeError,
            ["RNN", "h_0", "(2, 2, 4)"],
        ),
        # a sequence of no steps: before, an IndexingError of the layer's own slicing
        (lambda: nn.LSTM(3, 4)(np.ones((0, 2, 3))), ShapeError, ["LSTM", "(0, 2, 3)", "no time"]),
        (
            lambda: nn.GRU(3, 4, batch_first=True)(np.ones((2, 0, 3))),
            ShapeError,
            ["GRU", "(2, 0, 3)", "at least one step"],
        ),
        (lambda: nn.RNN(3, 4)(np.ones((0, 3))), ShapeError, ["RNN", "(0, 3)", "no time"]),
        (lambda: nn.GRUCell(3, 4)(np.ones((2, 3)), np.zeros((3, 4))), ShapeError, ["GRUCell"]),
        (lambda: nn.LSTMCell(3, 4)(np.ones((2, 5))), ShapeError, ["LSTMCell", "(2, 5)"]),
        (lambda: nn.RNN(3, 4, nonlinearity="gelu"), ArgumentError, ["RNN", "gelu"]),
        (lambda: nn.LSTM(0, 4), ArgumentError, ["LSTM", "input_size=0"]),
        (lambda: nn.LSTM(3, 4, dropout=2.0), ArgumentError, ["LSTM", "2.0"]),
        (lambda: nn.Embedding(4, 2)(np.array([1, 4])), IndexingError, ["embedding", "4 rows"]),
        (lambda: nn.Embedding(4, 2)(np.array([-1])), IndexingError, ["embedding", "-1"]),
        (lambda: nn.Embedding(4, 2)(np.array([1.0, 2.0])), DTypeError, ["embedding", "integers"]),
        (lambda: nn.Embedding(4, 2, padding_idx=4), IndexingError, ["padding_idx=4"]),
    ],
)
def test_named_errors(call, error, words):
    with pytest.raises(error) as info:
        call()
    for w in words:
        assert w in str(info.value)
