"""Module state beyond parameters: buffers (register_buffer, named_buffers, state_dict, save and
load) and freezing (requires_grad_), with the optimizers that must leave frozen weights alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import ArgumentError, DTypeError, GradientError, StateDictError, nn, optim


class Scaler(nn.Module):
    """A layer with a parameter, two buffers (one None) and a sub-module."""

    def __init__(self) -> None:
        self.gain = tl.Value(np.ones(2))
        self.register_buffer("count", np.array(0, dtype=np.int64))
        self.register_buffer("spare", None)
        self.inner = nn.BatchNorm1d(2, dtype=np.float64)

    def forward(self, x):
        self.count += 1
        return self.inner(x) * self.gain


# ---------------------------------------------------------------- buffers


def test_buffers_are_attributes_named_like_parameters_and_skip_none():
    model = nn.Sequential(Scaler(), nn.ReLU())
    names = [n for n, _ in model.named_buffers()]
    assert names == [
        "0.count",
        "0.inner.running_mean",
        "0.inner.running_var",
        "0.inner.num_batches_tracked",
    ]
    assert model[0].spare is None
    assert all(isinstance(b, np.ndarray) for b in model.buffers())
    assert [n for n, _ in model.named_parameters()] == ["0.gain", "0.inner.weight", "0.inner.bias"]


def test_state_dict_holds_each_modules_parameters_then_its_buffers():
    model = nn.Sequential(Scaler())
    assert list(model.state_dict()) == [
        "0.gain",
        "0.count",
        "0.inner.weight",
        "0.inner.bias",
        "0.inner.running_mean",
        "0.inner.running_var",
        "0.inner.num_batches_tracked",
    ]


def test_state_dict_copies_buffers_and_load_writes_them_in_place():
    a, b = Scaler(), Scaler()
    a(np.array([[1.0, 2.0], [3.0, 5.0]]))
    sd = a.state_dict()
    sd["inner.running_mean"][:] = 99.0  # a copy: the module is untouched
    assert not np.any(a.inner.running_mean == 99.0)
    count, mean = b.count, b.inner.running_mean
    b.load_state_dict(a.state_dict())
    assert b.count is count and b.inner.running_mean is mean  # the same arrays, rewritten
    assert int(b.count) == 1 and b.count.dtype == np.int64
    np.testing.assert_array_equal(b.inner.running_var, a.inner.running_var)


def test_save_and_load_keep_buffers_and_their_dtypes(tmp_path: Path):
    a, b = Scaler(), Scaler()
    for _ in range(3):
        a(np.random.default_rng(0).normal(size=(4, 2)))
    a.save(tmp_path / "scaler.npz")
    b.load(tmp_path / "scaler.npz")
    assert int(b.inner.num_batches_tracked) == 3
    assert b.inner.num_batches_tracked.dtype == np.int64 and b.inner.num_batches_tracked.shape == ()
    np.testing.assert_array_equal(b.inner.running_mean, a.inner.running_mean)


def test_missing_or_misshapen_buffers_are_named():
    model = Scaler()
    sd = model.state_dict()
    del sd["inner.running_var"]
    with pytest.raises(StateDictError, match=r"missing: \['inner.running_var'\]"):
        model.load_state_dict(sd)
    assert model.load_state_dict(sd, strict=False).missing_keys == ["inner.running_var"]
    sd["inner.running_var"] = np.ones(3)
    with pytest.raises(StateDictError, match=r"'inner.running_var' has shape \(3,\).*buffer"):
        model.load_state_dict(sd)


def test_a_read_only_buffer_is_replaced_by_a_loaded_copy():
    bn = nn.BatchNorm1d(2)
    bn.running_mean = np.broadcast_to(np.float32(0.0), (2,))  # read-only view
    bn.load_state_dict({**bn.state_dict(), "running_mean": np.array([1.0, 2.0])})
    np.testing.assert_array_equal(bn.running_mean, [1.0, 2.0])
    assert bn.running_mean.dtype == np.float32


def test_register_buffer_mistakes_are_named():
    m = nn.Module()
    with pytest.raises(ArgumentError, match="must be a Python identifier"):
        m.register_buffer("a.b", np.zeros(1))
    with pytest.raises(DTypeError, match="must be a NumPy array or None, not Value"):
        m.register_buffer("v", tl.Value(np.zeros(1)))
    with pytest.raises(DTypeError, match="not float"):
        m.register_buffer("x", 1.0)
    m.w = tl.Value(1.0)
    with pytest.raises(ArgumentError, match="already has an attribute 'w'"):
        m.register_buffer("w", np.zeros(1))
    with pytest.raises(ArgumentError, match="already has an attribute 'training'"):
        m.register_buffer("training", np.zeros(1))
    m.register_buffer("b", np.zeros(1))
    m.register_buffer("b", np.ones(2))  # registering again replaces it
    assert [n for n, _ in m.named_buffers()] == ["b"]
    np.testing.assert_array_equal(m.b, [1.0, 1.0])


# ---------------------------------------------------------------- freezing


def _net(seed: int = 0) -> nn.Sequential:
    tl.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1),
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
        lambda ps: optim.Adam(ps, lr=0.1),
        lambda ps: optim.AdamW(ps, lr=0.1),
        lambda ps: optim.RMSprop(ps, lr=0.1),
    ],
    ids=["SGD", "SGD-momentum", "Adam", "AdamW", "RMSprop"],
)
def test_a_frozen_layer_gets_no_gradient_and_the_optimizer_leaves_it(make):
    model = _net()
    assert model[0].requires_grad_(False) is model[0]
    frozen = [p.data.copy() for p in model[0].parameters()]
    trained = [p.data.copy() for p in model[2].parameters()]
    opt = make(model.parameters())  # every parameter: the optimizer must skip the frozen ones
    x, y = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32), [0, 1, 1, 0, 1]
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        assert all(p.grad is None for p in model[0].parameters())
        opt.step()
    for p, before in zip(model[0].parameters(), frozen):
        np.testing.assert_array_equal(p.data, before)
    assert all(not np.array_equal(p.data, b) for p, b in zip(model[2].parameters(), trained))


def test_a_frozen_parameter_with_a_stale_gradient_is_not_updated():
    w = tl.Value(np.ones(2))
    w.grad = np.ones(2)  # from before it was frozen
    w.requires_grad_(False)
    for opt in (optim.SGD([w], lr=0.5), optim.Adam([w], lr=0.5)):
        opt.step()
    np.testing.assert_array_equal(w.data, [1.0, 1.0])


def test_unfreezing_trains_again_and_freezing_everything_leaves_nothing_to_train():
    model = _net()
    model.requires_grad_(False)
    assert all(not p.requires_grad for p in model.parameters())
    x = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(GradientError, match="needs no gradient"):
        model(x).sum().backward()
    model.requires_grad_()
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_transfer_learning_trains_only_the_new_head():
    backbone = _net(1)[:2]  # Linear + ReLU, kept
    head = nn.Linear(4, 2)
    model = nn.Sequential(*backbone, head)
    backbone.requires_grad_(False)
    kept = backbone[0].weight.data.copy()
    opt = optim.SGD(model.parameters(), lr=0.5)
    x, y = np.random.default_rng(1).normal(size=(8, 3)).astype(np.float32), [0, 1] * 4
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.testing.assert_array_equal(backbone[0].weight.data, kept)
    assert losses[-1] < losses[0]
