"""optim: optimizers, learning-rate schedules and clip_grad_norm_.

Trajectories are compared with PyTorch's from identical initial weights (where torch is
installed); the properties that need no reference (dtype and float-ness kept, parameters
without gradients skipped, argument checks) are tested directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Value, nn, optim
from tinygrad_lite.nn import ArgumentError

GEN = np.random.default_rng(42)
XS = GEN.normal(size=(8, 3))
YS = GEN.normal(size=(8, 2))
W0 = GEN.normal(size=(3, 2))
B0 = GEN.normal(size=2)
S0 = 0.7  # a scalar parameter: a Python float on our side

OPTIMIZERS: dict[str, tuple[Callable[..., Any], str, dict[str, Any]]] = {
    # name: (our class, torch's class name, keyword arguments shared by both)
    "sgd": (optim.SGD, "SGD", {"lr": 0.1}),
    "sgd-momentum": (optim.SGD, "SGD", {"lr": 0.1, "momentum": 0.9}),
    "sgd-nesterov-decay": (
        optim.SGD,
        "SGD",
        {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    ),
    "sgd-decay": (optim.SGD, "SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1}),
    "adam": (optim.Adam, "Adam", {"lr": 0.01}),
    "adam-decay": (optim.Adam, "Adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    "adamw": (optim.AdamW, "AdamW", {"lr": 0.01}),
    "adamw-decay": (optim.AdamW, "AdamW", {"lr": 0.05, "weight_decay": 0.5, "eps": 1e-6}),
    "rmsprop": (optim.RMSprop, "RMSprop", {"lr": 0.01}),
    "rmsprop-all": (
        optim.RMSprop,
        "RMSprop",
        {"lr": 0.01, "alpha": 0.9, "momentum": 0.9, "centered": True, "weight_decay": 0.1},
    ),
}
SCHEDULES: dict[str, tuple[Callable[..., Any], str, dict[str, Any]]] = {
    "step": (optim.StepLR, "StepLR", {"step_size": 2, "gamma": 0.5}),
    "exponential": (optim.ExponentialLR, "ExponentialLR", {"gamma": 0.8}),
    "cosine": (optim.CosineAnnealingLR, "CosineAnnealingLR", {"T_max": 3, "eta_min": 0.01}),
}
STEPS = 8


def _loss(w: Any, b: Any, s: Any, x: Any, y: Any) -> Any:
    return (((x @ w + b).tanh() * s - y) ** 2).mean()


def _run_ours(
    make_opt: Callable[[list[Value]], optim.Optimizer],
    make_schedule: Callable[[optim.Optimizer], optim.LRScheduler] | None = None,
    max_norm: float | None = None,
) -> list[list[Any]]:
    """Parameters (and lr, and the clipped norm) after each of STEPS steps."""
    w, b, s = Value(W0.copy()), Value(B0.copy()), Value(S0)
    opt = make_opt([w, b, s])
    schedule = make_schedule(opt) if make_schedule else None
    history = []
    for _ in range(STEPS):
        opt.zero_grad()
        _loss(w, b, s, XS, YS).backward()
        norm = optim.clip_grad_norm_(opt.params, max_norm) if max_norm else None
        opt.step()
        if schedule:
            schedule.step()
        history.append([w.data.copy(), b.data.copy(), s.data, opt.lr, norm])
    return history


def _run_torch(
    torch: Any,
    make_opt: Callable[[list[Any]], Any],
    make_schedule: Callable[[Any], Any] | None = None,
    max_norm: float | None = None,
) -> list[list[Any]]:
    w, b, s = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (W0, B0, S0))
    opt = make_opt([w, b, s])
    schedule = make_schedule(opt) if make_schedule else None
    x, y = torch.tensor(XS), torch.tensor(YS)
    history = []
    for _ in range(STEPS):
        opt.zero_grad()
        _loss(w, b, s, x, y).backward()
        norm = None
        if max_norm:
            norm = float(torch.nn.utils.clip_grad_norm_([w, b, s], max_norm))
        opt.step()
        if schedule:
            schedule.step()
        lr = opt.param_groups[0]["lr"]
        history.append([w.detach().numpy().copy(), b.detach().numpy().copy(), s.item(), lr, norm])
    return history


def _assert_same_trajectory(ours: list[list[Any]], theirs: list[list[Any]]) -> None:
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for what, x, y in zip(("weight", "bias", "scalar", "lr", "norm"), a, b):
            if y is None:
                assert x is None
                continue
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, err_msg=f"step {step} {what}")


# ---------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizers_follow_torchs_trajectory(torch: Any, name: str) -> None:
    ours_cls, torch_name, kwargs = OPTIMIZERS[name]
    torch_cls = getattr(torch.optim, torch_name)
    ours = _run_ours(lambda ps: ours_cls(ps, **kwargs))
    theirs = _run_torch(torch, lambda ps: torch_cls(ps, **kwargs))
    _assert_same_trajectory(ours, theirs)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_follow_torch(torch: Any, name: str) -> None:
    ours_cls, torch_name, kwargs = SCHEDULES[name]
    torch_cls = getattr(torch.optim.lr_scheduler, torch_name)
    ours = _run_ours(lambda ps: optim.SGD(ps, lr=0.2), lambda o: ours_cls(o, **kwargs))
    theirs = _run_torch(
        torch, lambda ps: torch.optim.SGD(ps, lr=0.2), lambda o: torch_cls(o, **kwargs)
    )
    _assert_same_trajectory(ours, theirs)


def test_clip_grad_norm_follows_torch_inside_training(torch: Any) -> None:
    kwargs: dict[str, Any] = {"lr": 0.1, "momentum": 0.9}
    ours = _run_ours(lambda ps: optim.SGD(ps, **kwargs), max_norm=0.05)
    theirs = _run_torch(torch, lambda ps: torch.optim.SGD(ps, **kwargs), max_norm=0.05)
    assert all(row[-1] > 0.05 for row in theirs[:2])  # the clipping really happened
    _assert_same_trajectory(ours, theirs)


def test_clip_grad_norm_with_other_norms_matches_torch(torch: Any) -> None:
    for norm_type in (1.0, 3.0, math.inf):
        grads = [GEN.normal(size=(3, 2)), GEN.normal(size=4)]
        ours = [Value(np.zeros_like(g)) for g in grads]
        theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for p, t, g in zip(ours, theirs, grads):
            p.grad, t.grad = g.copy(), torch.tensor(g)
        a = optim.clip_grad_norm_(ours, 0.5, norm_type=norm_type)
        b = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type=norm_type)
        assert a == pytest.approx(float(b), rel=1e-12)
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_updates_keep_float32_arrays_and_python_floats(name: str) -> None:
    cls, _, kwargs = OPTIMIZERS[name]
    w = Value(W0.astype(np.float32))
    s = Value(S0)
    array = w.data
    opt = cls([w, s], **kwargs)
    for _ in range(3):
        opt.zero_grad()
        _loss(w, 0.0, s, XS.astype(np.float32), YS.astype(np.float32)).backward()
        opt.step()
    assert w.data is array and w.dtype == np.float32  # updated in place
    assert type(s.data) is float
    assert not np.array_equal(w.data, W0.astype(np.float32)) and s.data != S0
    for value in opt.state[0].values():
        assert not isinstance(value, np.ndarray) or value.dtype == np.float32


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_parameters_without_a_gradient_are_skipped(name: str) -> None:
    cls, _, kwargs = OPTIMIZERS[name]
    used, unused = Value(np.ones(2)), Value(np.ones(2))
    opt = cls([used, unused], **kwargs)
    (used * used).sum().backward()
    opt.step()
    assert np.array_equal(unused.data, np.ones(2)) and opt.state[1] == {}
    assert not np.array_equal(used.data, np.ones(2))


def test_sgd_step_is_lr_times_gradient() -> None:
    w = Value(np.array([1.0, -2.0]))
    opt = optim.SGD([w], lr=0.25)
    (w * w).sum().backward()  # gradient 2w
    opt.step()
    np.testing.assert_allclose(w.data, [1.0 - 0.25 * 2.0, -2.0 + 0.25 * 4.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_updates_large_views_and_read_only_parameters_exactly(dtype: type) -> None:
    # plain SGD goes through a small scratch buffer, a chunk at a time: a parameter of several
    # chunks, a small one, one that is a transposed view, and a read-only one all get exactly
    # w - lr * g on every step
    gen = np.random.default_rng(0)
    big = Value(gen.normal(size=(300, 250)).astype(dtype))  # 75,000 elements: 2 chunks
    base = gen.normal(size=(40, 30)).astype(dtype)
    view = Value(base.T)  # not contiguous
    frozen_data = gen.normal(size=7).astype(dtype)
    frozen_data.flags.writeable = False
    frozen = Value(frozen_data)
    small = Value(gen.normal(size=(5, 3)).astype(dtype))
    params = [big, small, view, frozen]
    before = [p.data.copy() for p in params]
    for p in params:
        p.grad = gen.normal(size=p.shape).astype(dtype)
    opt = optim.SGD(params, lr=0.1)
    opt.step()  # the first step finds the scratch layout; the second uses it
    opt.step()
    for p, w in zip(params, before):
        step = dtype(0.1) * p.grad
        np.testing.assert_array_equal(p.data, (w - step) - step)
        assert p.data.dtype == dtype
    np.testing.assert_array_equal(base.T, view.data)  # the view was updated in place
    small.data.flags.writeable = False  # read-only after the optimizer has seen it writable
    before_small = small.data.copy()
    opt.step()  # the parameter gets its own copy, as a read-only one does on the first step
    np.testing.assert_array_equal(small.data, before_small - dtype(0.1) * small.grad)


def test_adams_first_step_moves_each_weight_by_lr() -> None:
    # after one step m_hat = g and v_hat = g^2, so the step is lr * g / |g| = lr * sign(g)
    w = Value(np.array([3.0, -0.001, 50.0]))
    opt = optim.Adam([w], lr=0.1, eps=0.0)
    (w * w * w).sum().backward()  # gradient 3w^2 > 0
    opt.step()
    np.testing.assert_allclose(w.data, [2.9, -0.101, 49.9])


def test_sgd_trains_a_small_network_to_zero_loss() -> None:
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8, dtype=np.float64), nn.Tanh(), nn.Linear(8, 2))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = ((model(XS) - YS) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.02 * losses[0]


def test_schedules_follow_their_formulas() -> None:
    def lrs(schedule_cls: Any, **kwargs: Any) -> list[float]:
        opt = optim.SGD([Value(1.0)], lr=1.0)
        schedule = schedule_cls(opt, **kwargs)
        out = []
        for _ in range(6):
            schedule.step()
            out.append(schedule.get_last_lr())
        return out

    assert lrs(optim.StepLR, step_size=2, gamma=0.5) == [1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert lrs(optim.ExponentialLR, gamma=0.5) == [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625]
    cosine = lrs(optim.CosineAnnealingLR, T_max=4, eta_min=0.2)
    assert cosine[1] == pytest.approx(0.6)  # halfway: the midpoint of 1.0 and 0.2
    assert cosine[3] == pytest.approx(0.2)  # at T_max: eta_min
    assert cosine[4] == pytest.approx(cosine[2])  # and back up, symmetrically


def test_clip_grad_norm_leaves_small_gradients_and_handles_scalars() -> None:
    a, b, c = Value(0.0), Value(np.zeros(2)), Value(np.zeros(3))
    a.grad, b.grad = 3.0, np.array([0.0, 4.0])
    assert optim.clip_grad_norm_([a, b, c], max_norm=10.0) == pytest.approx(5.0)
    assert a.grad == 3.0 and c.grad is None  # under the limit: untouched; no grad: skipped
    assert optim.clip_grad_norm_([a, b, c], max_norm=1.0) == pytest.approx(5.0)
    assert type(a.grad) is float and a.grad == pytest.approx(0.6, rel=1e-5)
    np.testing.assert_allclose(b.grad, [0.0, 0.8], rtol=1e-5)
    assert optim.clip_grad_norm_(c, 1.0) == 0.0


def test_optimizer_state_dict_resumes_training() -> None:
    def run(opt: optim.Optimizer, w: Value, steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad()
            ((w - 3.0) ** 2).sum().backward()
            opt.step()

    w1 = Value(np.array([0.0, 1.0]))
    opt1 = optim.Adam([w1], lr=0.1)
    run(opt1, w1, 6)
    w2 = Value(np.array([0.0, 1.0]))
    opt2 = optim.Adam([w2], lr=0.1)
    run(opt2, w2, 3)
    saved = opt2.state_dict()
    w3 = Value(w2.data.copy())
    opt3 = optim.Adam([w3], lr=0.5)
    opt3.load_state_dict(saved)
    run(opt3, w3, 3)
    np.testing.assert_array_equal(w3.data, w1.data)
    with pytest.raises(ArgumentError, match="1 parameter states but this optimizer has 2"):
        optim.Adam([Value(1.0), Value(2.0)]).load_state_dict(saved)


def test_schedule_state_dict_restores_the_epoch() -> None:
    opt = optim.SGD([Value(1.0)], lr=1.0)
    schedule = optim.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        schedule.step()
    fresh_opt = optim.SGD([Value(1.0)], lr=1.0)
    fresh = optim.StepLR(fresh_opt, step_size=1, gamma=0.5)
    fresh.load_state_dict(schedule.state_dict())
    assert fresh_opt.lr == 0.125 and fresh.last_epoch == 3


# ---------------------------------------------------------------- argument checks


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda ps: optim.SGD(ps, lr=-0.1), r"SGD: lr=-0.1 must be in \[0, inf\)"),
        (lambda ps: optim.SGD(ps, lr="fast"), "SGD: lr='fast' must be a number"),
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=-1), "SGD: momentum=-1"),
        (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "nesterov=True needs a momentum"),
        (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1e-4), "SGD: weight_decay"),
        (lambda ps: optim.Adam(ps, betas=(0.9, 1.0)), r"Adam: betas\[1\]=1.0 must be in \[0, 1\)"),
        (lambda ps: optim.Adam(ps, betas=(-0.1, 0.9)), r"Adam: betas\[0\]=-0.1"),
        (lambda ps: optim.Adam(ps, betas=0.9), "betas=0.9 must be a pair"),
        (lambda ps: optim.AdamW(ps, lr=float("nan")), "AdamW: lr=nan"),
        (lambda ps: optim.Adam(ps, eps=-1e-8), "Adam: eps="),
        (lambda ps: optim.RMSprop(ps, alpha=1.5), "RMSprop: alpha=1.5"),
        (lambda ps: optim.StepLR(optim.SGD(ps, lr=1), step_size=0), "StepLR: step_size=0"),
        (lambda ps: optim.CosineAnnealingLR(optim.SGD(ps, lr=1), T_max=2.5), "T_max=2.5"),
        (lambda ps: optim.ExponentialLR(optim.SGD(ps, lr=1), gamma=-1), "gamma=-1"),
        (lambda ps: optim.StepLR(ps, step_size=1), "StepLR: expected an optimizer, got list"),
        (lambda ps: optim.clip_grad_norm_(ps, -1.0), "clip_grad_norm_: max_norm=-1.0"),
        (lambda ps: optim.clip_grad_norm_(ps, 1.0, norm_type=0), "norm_type must be > 0"),
    ],
)
def test_bad_hyperparameters_raise_named_errors(make: Any, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        make([Value(1.0)])


def test_bad_parameter_lists_raise_named_errors() -> None:
    tl.manual_seed(0)
    model = nn.Linear(2, 2)
    with pytest.raises(ArgumentError, match=r"SGD: got a Linear; .*model.parameters\(\)"):
        optim.SGD(model, lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="empty list of parameters"):
        optim.Adam([])
    with pytest.raises(ArgumentError, match=r"params\[1\] is a ndarray, not a Value"):
        optim.Adam([model.weight, np.ones(2)])  # type: ignore[list-item]
    with pytest.raises(ArgumentError, match=r"params\[1\] appears twice"):
        optim.Adam([model.weight, model.weight])
    with pytest.raises(ArgumentError, match="params must be a list of Values, got float"):
        optim.SGD(1.0, lr=0.1)  # type: ignore[arg-type]


# ---------------------------------------------------------------- careless arguments


def test_an_optimizer_refuses_a_computed_value_which_it_could_not_train() -> None:
    w = Value(np.ones(3))
    doubled = w * 2.0  # not a parameter: backward keeps no gradient on it
    for make in (optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop):
        with pytest.raises(ArgumentError, match=r"params\[1\] is the result of 'mul'.*leaves"):
            make([w, doubled], lr=0.1)


@pytest.mark.parametrize(
    ("state", "named"),
    [
        ({}, r"lacks \['lr', 'state'\]"),
        (None, "got NoneType"),
        ({"lr": -1.0, "state": [{}, {}]}, "lr=-1.0 must be in"),
        ({"lr": math.nan, "state": [{}, {}]}, "lr=nan must be in"),
        ({"lr": "fast", "state": [{}, {}]}, "lr='fast' must be a number"),
        ({"lr": 0.1, "state": [{}]}, "1 parameter states but this optimizer has 2"),
        ({"lr": 0.1, "state": "x"}, "'state' must be a list"),
    ],
)
def test_load_state_dict_refuses_what_state_dict_never_returns(state: Any, named: str) -> None:
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    before = opt.state_dict()
    with pytest.raises(ArgumentError, match=f"Adam.load_state_dict: .*{named}"):
        opt.load_state_dict(state)
    assert opt.lr == before["lr"] and opt.state == before["state"]  # left as it was


def test_a_scheduler_load_state_dict_is_checked_too() -> None:
    opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
    sched = optim.StepLR(opt, step_size=2)
    with pytest.raises(ArgumentError, match="StepLR.load_state_dict: the state dict lacks"):
        sched.load_state_dict({})
    with pytest.raises(ArgumentError, match="last_epoch=-3"):
        sched.load_state_dict({"base_lr": 0.1, "last_epoch": -3})
    sched.load_state_dict({"base_lr": 0.2, "last_epoch": 2})
    assert opt.lr == pytest.approx(0.02)
