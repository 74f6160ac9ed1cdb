"""tl.jit: a replayed step gives the eager step's numbers, draws fresh random numbers, and
refuses (with a warning or a JitError) what it cannot replay."""

from __future__ import annotations

import random
import re
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn, optim
from tinygrad_lite.book import hotels
from tinygrad_lite.core import effect, random_leaf
from tinygrad_lite.errors import JitError
from tinygrad_lite.functions import identity

STEPS = 100


def twin_runs(
    make: Callable[[], tuple[Any, Callable[..., Any]]],
    batches: Callable[[int], tuple[Any, ...]],
    steps: int = STEPS,
) -> tuple[list[float], list[float], Any, Any]:
    """Build the same model and step twice from seed 0; train one eagerly and one through
    tl.jit on the same batches; return both loss curves and both models."""
    tl.manual_seed(0)
    model_a, step_a = make()
    tl.manual_seed(0)
    model_b, step_b = make()
    for pa, pb in zip(model_a.parameters(), model_b.parameters()):  # (scalar nets draw from
        pb.data = pa.data.copy() if isinstance(pa.data, np.ndarray) else pa.data  # `random`)
    traced = tl.jit(step_b)
    tl.manual_seed(1)
    eager_losses = [float(step_a(*batches(i)).item()) for i in range(steps)]
    tl.manual_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the trace must not fall back to eager
        jit_losses = [float(traced(*batches(i)).item()) for i in range(steps)]
    assert len(traced.plans) == 1 and not isinstance(next(iter(traced.plans.values())), str)
    return eager_losses, jit_losses, model_a, model_b


def assert_same_model(a: nn.Module, b: nn.Module, exact: bool = True) -> None:
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        if exact:
            assert np.array_equal(pa.data, pb.data), name
            assert np.array_equal(pa.grad, pb.grad), name
        else:
            np.testing.assert_allclose(pa.data, pb.data, rtol=1e-5, atol=1e-6, err_msg=name)
    for (name, xa), (_, xb) in zip(a.named_buffers(), b.named_buffers()):
        assert np.array_equal(xa, xb), name


def allocated(f: Callable[[], Any]) -> int:
    """The peak of memory (bytes) ``f()`` allocates, as tracemalloc counts it."""
    tracemalloc.start()
    f()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def classifier_step(model: nn.Module, opt: optim.Optimizer) -> Callable[..., Any]:
    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def test_the_books_hotel_network_replays_bitwise():
    data = hotels.classification_data("category_index")
    x, y = data.X_train, data.y_train

    def make() -> tuple[Any, Callable[..., Any]]:
        model = hotels.mlp([2, 4, 3])
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x: Any, y: Any) -> Any:
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return model, step

    eager, jit, a, b = twin_runs(make, lambda i: (x, y))
    assert eager == jit
    assert eager[-1] < eager[0]
    assert_same_model(a, b)


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda ps: optim.Adam(ps, lr=1e-2),
        lambda ps: optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
        lambda ps: optim.RMSprop(ps, lr=1e-3),
    ],
    ids=["sgd-momentum", "adam", "adamw", "rmsprop"],
)
def test_a_cnn_with_batch_norm_and_dropout_replays_bitwise(make_opt):
    gen = np.random.default_rng(0)
    xs = gen.normal(size=(4, 8, 1, 8, 8)).astype(np.float32)
    ys = gen.integers(0, 3, size=(4, 8))

    def make() -> tuple[Any, Callable[..., Any]]:
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(64, 3),
        )
        return model, classifier_step(model, make_opt(model.parameters()))

    eager, jit, a, b = twin_runs(make, lambda i: (xs[i % 4], ys[i % 4]), steps=30)
    assert eager == jit
    assert_same_model(a, b)
    assert int(b[1].num_batches_tracked) == 30  # the running statistics were replayed


def test_an_lstm_replays_bitwise():
    gen = np.random.default_rng(1)
    xs = gen.normal(size=(3, 7, 4, 5)).astype(np.float32)  # (batch of sequences) x 3
    ys = gen.integers(0, 2, size=(3, 4))

    def make() -> tuple[Any, Callable[..., Any]]:
        lstm = nn.LSTM(5, 6, num_layers=2, dropout=0.2)
        head = nn.Linear(6, 2)
        model = nn.Sequential(lstm, head)  # (only for the parameter list)
        opt = optim.Adam(model.parameters(), lr=1e-2)

        def step(x: Any, y: Any) -> Any:
            opt.zero_grad()
            out, (h, c) = lstm(x)
            loss = F.cross_entropy(head(out[-1]), y)
            loss.backward()
            opt.step()
            return loss

        return model, step

    eager, jit, a, b = twin_runs(make, lambda i: (xs[i % 3], ys[i % 3]))
    assert eager == jit
    assert_same_model(a, b)


@pytest.mark.parametrize("layer", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("frozen", [False, True])
def test_a_recurrent_layer_with_a_loss_on_every_step_replays_bitwise(layer, frozen):
    # the fused rows' replay forms: frozen, a recurrent weight that needs no gradient and an
    # initial state that does (a parameter); else nn's zero initial state
    gen = np.random.default_rng(2)
    xs = gen.normal(size=(3, 9, 4, 5)).astype(np.float32)
    ys = gen.integers(0, 3, size=(3, 9 * 4))

    def make() -> tuple[Any, Callable[..., Any]]:
        rnn, head = layer(5, 6), nn.Linear(6, 3)
        model = nn.Sequential(rnn, head)
        start = [tl.Value(np.full((1, 4, 6), 0.1 * k, np.float32)) for k in (1, 2)]
        if frozen:
            rnn.weight_hh_l0.requires_grad = False
        params = [p for p in model.parameters() if p.requires_grad] + (start if frozen else [])
        opt = optim.SGD(params, lr=0.1)

        def step(x: Any, y: Any) -> Any:
            opt.zero_grad()
            hx = (start[0] if layer is nn.GRU else tuple(start)) if frozen else None
            out, _ = rnn(x, hx)
            loss = F.cross_entropy(head(out).reshape(-1, 3), y)
            loss.backward()
            opt.step()
            return loss

        return model, step

    eager, jit, a, b = twin_runs(make, lambda i: (xs[i % 3], ys[i % 3]), steps=6)
    assert eager == jit
    assert_same_model(a, b)


@pytest.mark.parametrize("layer", [nn.LSTM, nn.GRU])
def test_a_replayed_recurrent_step_allocates_a_fraction_of_the_eager_one(layer):
    # the time loop's arrays (every step's gates, states and their gradients) are the replay
    # forms' own, made once: what a replay still allocates is the rest of the step's
    tl.manual_seed(0)
    rnn, head = layer(5, 16), nn.Linear(16, 3)
    opt = optim.SGD([*rnn.parameters(), *head.parameters()], lr=0.1)

    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        out, _ = rnn(x)
        loss = F.cross_entropy(head(out).reshape(-1, 3), y)
        loss.backward()
        opt.step()
        return loss

    gen = np.random.default_rng(0)
    x = gen.normal(size=(40, 4, 5)).astype(np.float32)
    y = gen.integers(0, 3, 40 * 4)
    traced = tl.jit(step)
    for _ in range(3):
        traced(x, y)
    assert allocated(lambda: traced(x, y)) < allocated(lambda: step(x, y)) / 2


def test_a_transformer_layer_replays_bitwise():
    gen = np.random.default_rng(2)
    xs = gen.normal(size=(2, 3, 6, 8)).astype(np.float32)

    def make() -> tuple[Any, Callable[..., Any]]:
        layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1, batch_first=True)
        opt = optim.AdamW(layer.parameters(), lr=1e-3)
        mask = nn.causal_mask(6)

        def step(x: Any) -> Any:
            opt.zero_grad()
            loss = (layer(x, src_mask=mask) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        return layer, step

    eager, jit, a, b = twin_runs(make, lambda i: (xs[i % 2],))
    assert eager == jit
    assert_same_model(a, b)


def test_the_scalar_micrograd_mlp_replays_bitwise():
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]

    def make() -> tuple[Any, Callable[..., Any]]:
        random.seed(1337)  # the scalar nets draw from Python's random, as micrograd does
        model = nn.scalar.MLP(3, [4, 4, 1])
        opt = optim.SGD(model.parameters(), lr=0.05)

        def step() -> Any:
            preds = [model(x) for x in xs]
            loss = sum(((p - y) ** 2 for p, y in zip(preds, ys)), tl.Value(0.0))
            model.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return model, step

    eager, jit, a, b = twin_runs(make, lambda i: ())
    assert eager == jit
    assert eager[-1] < eager[0]
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert pa.data == pb.data and pa.grad == pb.grad


def test_micrograd_style_zeroing_by_assignment_replays():
    # micrograd zeroes with p.grad = 0 inside the step, which leaves no trace: the replay
    # gives the gradient afresh where the trace saw a 0
    w = tl.Value(1.0)

    def step() -> Any:
        w.grad = 0
        loss = (w * 3.0 - 1.0) ** 2
        loss.backward()
        w.data -= 0.01 * w.grad  # (by hand: refused, see below) -> use an optimizer
        return loss

    with pytest.warns(RuntimeWarning, match="without an optimizer"):
        tl.jit(step)()

    w2 = tl.Value(1.0)
    opt = optim.SGD([w2], lr=0.01)

    def step2() -> Any:
        w2.grad = 0
        loss = (w2 * 3.0 - 1.0) ** 2
        loss.backward()
        opt.step()
        return loss

    traced = tl.jit(step2)
    want = tl.Value(1.0)
    for _ in range(5):
        traced()
        g = 6.0 * (want.data * 3.0 - 1.0)
        want.data -= 0.01 * g
        assert w2.data == pytest.approx(want.data, rel=1e-12)
        assert w2.grad == pytest.approx(g, rel=1e-12)


def test_dropout_draws_fresh_masks_on_every_replay():
    x = np.ones((4, 50), dtype=np.float32)
    w = tl.Value(np.ones(50, dtype=np.float32))

    @tl.jit
    def step(x: Any) -> Any:
        return F.dropout(x * w, 0.5)

    masks = [step(x).data.copy() for _ in range(5)]
    for a, b in zip(masks, masks[1:]):
        assert not np.array_equal(a, b)
    assert {float(v) for m in masks for v in np.unique(m)} == {0.0, 2.0}


def test_random_leaf_noise_is_drawn_again_on_replay():
    w = tl.Value(np.zeros(3))
    gen = np.random.default_rng(0)

    @tl.jit
    def step() -> Any:
        return w + random_leaf(lambda: gen.normal(size=3))

    outs = [step().data.copy() for _ in range(4)]
    assert len({o.tobytes() for o in outs}) == 4


def test_a_new_signature_traces_again():
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    traced = tl.jit(classifier_step(model, opt))
    y4, y5 = np.zeros(4, dtype=np.int64), np.zeros(5, dtype=np.int64)
    traced(np.ones((4, 3), np.float32), y4)
    traced(np.ones((5, 3), np.float32), y5)
    traced(np.ones((4, 3), np.float32), y4)
    assert len(traced.plans) == 2


def test_replay_uses_the_new_inputs_labels_included():
    # labels live in the cross-entropy node's static arguments: the replay must swap them
    tl.manual_seed(0)
    model = nn.Linear(3, 4)
    opt = optim.SGD(model.parameters(), lr=0.0)  # no update: each loss depends on x, y only
    traced = tl.jit(classifier_step(model, opt))
    gen = np.random.default_rng(0)
    for _ in range(5):
        x = gen.normal(size=(6, 3)).astype(np.float32)
        y = gen.integers(0, 4, size=6)
        want = F.cross_entropy(model(x), y).item()
        assert traced(x, y).item() == want


def test_ids_passed_in_are_gathered_into_an_array_of_the_step():
    # the ids live in getitem's static arguments, made again from each call's input; the
    # gathered rows go into one array the replay reuses, not a new one each call
    table = tl.Value(np.random.default_rng(0).normal(size=(10, 4)))

    def step(ids: Any) -> Any:
        table.grad = None
        loss = (table[ids].tanh() * 2.0).sum()
        loss.backward()
        return loss

    traced = tl.jit(step)
    gen = np.random.default_rng(1)
    for _ in range(5):
        ids = gen.integers(0, 10, size=(3, 2))
        got, grad = traced(ids).item(), table.grad.copy()
        assert got == step(ids).item()
        np.testing.assert_array_equal(grad, table.grad)
    (plan,) = next(iter(traced.plans.values()))
    assert re.search(r"v(\d+) = F\1\(s\1, B\1, v\d+\)", plan.program.source)


@pytest.mark.parametrize("as_value", [False, True])
def test_the_gradient_given_to_backward_is_read_from_each_call(as_value):
    w = tl.Value(np.ones((3, 2), np.float32))
    x = np.ones((4, 3), np.float32)

    @tl.jit
    def step(x: Any, grad: Any) -> Any:
        w.grad = None
        out = tl.Value(x, requires_grad=False) @ w
        out.backward(grad)
        return out

    for k in range(5):
        grad = np.full((4, 2), float(k + 1))  # float64: backward copies it into float32
        step(x, tl.Value(grad) if as_value else grad)
        np.testing.assert_array_equal(w.grad, np.full((3, 2), 4.0 * (k + 1), np.float32))


def test_a_gradient_for_backward_computed_with_numpy_inside_the_step_is_caught():
    w = tl.Value(np.ones(3))

    @tl.jit
    def step(x: Any) -> Any:
        w.grad = None
        out = w * tl.Value(x, requires_grad=False)
        out.backward(np.asarray(x) * 2.0)  # NumPy, outside the graph: a constant to a replay
        return out

    step(np.ones(3))
    with pytest.raises(JitError, match="holds other numbers"):
        step(np.full(3, 2.0))


def test_a_value_passed_in_gets_its_gradient():
    w = tl.Value(np.array([1.0, 2.0]))

    @tl.jit
    def step(x: Any) -> Any:
        loss = (x * w).sum()
        loss.backward()
        return loss

    for k in range(3):
        x = tl.Value(np.array([3.0, 4.0]) + k)
        step(x)
        np.testing.assert_array_equal(x.grad, w.data)


def test_data_dependent_control_flow_raises_jit_error_naming_the_op():
    w = tl.Value(np.ones(3))

    @tl.jit
    def step(x: Any) -> Any:
        h = x * w
        out = h.relu() if x.sum() > 0 else h.tanh()  # depends on the data
        loss = out.sum()
        loss.backward()
        return loss

    step(np.ones(3))
    with pytest.raises(JitError, match=r"op 2 was relu .* now tanh"):
        step(-np.ones(3))


def test_a_constant_computed_from_the_inputs_with_numpy_is_caught():
    w = tl.Value(np.ones(3))

    @tl.jit
    def step(x: Any) -> Any:
        doubled = tl.Value(x * 2.0, requires_grad=False)  # NumPy, outside the graph
        loss = (doubled * w).sum()
        loss.backward()
        return loss

    step(np.ones(3))
    with pytest.raises(JitError, match="constant .* holds other numbers"):
        step(np.full(3, 5.0))


def test_check_every_traces_again_and_compares():
    w = tl.Value(np.ones(2))
    calls = []

    def body(x: Any) -> Any:
        calls.append(1)  # Python side effect: runs only when the step is traced
        loss = (w * x).sum()
        loss.backward()
        return loss

    traced = tl.jit(body, check_every=3)
    for _ in range(7):
        traced(np.ones(2))
    # traced on call 1, checked on call 2 (always) and on calls 3 and 6 of the replays
    assert len(calls) == 4


def test_a_user_function_falls_back_to_eager_with_a_warning():
    class Square(tl.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    w = tl.Value(np.array([1.0, 2.0]))

    @tl.jit
    def step() -> Any:
        loss = Square.apply(w).sum()
        loss.backward()
        return loss

    with pytest.warns(RuntimeWarning, match="Square has no replay form"):
        step()
    w.grad = None
    step()  # eager from now on, no second warning, the right gradient
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_tl_grad_inside_a_step_falls_back_to_eager():
    w = tl.Value(2.0)

    @tl.jit
    def step() -> Any:
        (g,) = tl.grad(w**2, [w], create_graph=True)
        return g * 1.0

    with pytest.warns(RuntimeWarning, match="tl.grad"):
        assert step().data == 4.0


def test_returning_a_float_falls_back_with_the_fix_in_the_warning():
    w = tl.Value(2.0)

    @tl.jit
    def step() -> Any:
        return (w * 3.0).item()

    with pytest.warns(RuntimeWarning, match="returned a float"):
        assert step() == 6.0


def test_eager_runs_the_function_itself():
    seen = []

    @tl.jit
    def step(x: Any) -> Any:
        seen.append(x)
        return None

    step.eager(1)
    step.eager(2)
    assert seen == [1, 2]


def test_effect_is_replayed_with_the_new_data():
    total = np.zeros(2)
    w = tl.Value(np.ones(2))

    @tl.jit
    def step(x: Any) -> Any:
        h = w * x
        effect(np.add, total, h, total)
        return h.sum()

    for k in range(4):
        step(np.full(2, float(k)))
    np.testing.assert_array_equal(total, [6.0, 6.0])


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_check_every_is_checked(bad):
    with pytest.raises(tl.ArgumentError, match="check_every"):
        tl.jit(lambda: None, check_every=bad)


def test_jit_of_something_not_callable_is_an_argument_error():
    with pytest.raises(tl.ArgumentError, match="expected a function"):
        tl.jit(3)


def test_a_replayed_step_allocates_no_value_objects():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    opt = optim.SGD(model.parameters(), lr=0.1)
    traced = tl.jit(classifier_step(model, opt))
    x = np.ones((32, 8), np.float32)
    y = np.zeros(32, np.int64)
    traced(x, y)
    traced(x, y)
    from tinygrad_lite.core import listen

    before = next(listen.creation)
    traced(x, y)
    after = next(listen.creation)
    assert after - before <= 2  # the returned loss is one leaf (+1: the probe itself)


def test_replay_allocates_less_than_eager():
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = optim.SGD(model.parameters(), lr=0.01)
    step = classifier_step(model, opt)
    traced = tl.jit(step)
    x = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    y = np.zeros(64, np.int64)
    for _ in range(3):
        traced(x, y)
    eager = allocated(lambda: step(x, y))
    replay = allocated(lambda: traced(x, y))
    assert replay <= eager


# ---------------------------------------------------------------- replay forms
# Each replay form is held bit for bit equal to its plain rules in tests/test_op_rows.py
# (where the mutation tool finds it by the row's name).


def test_attention_norm_and_cross_entropy_rows_replay_bitwise():
    # attention packed and with three inputs, layer norm, cross-entropy with labels passed in
    # (its static rebuilt per call: the plain forward keeps the softmax for the backward
    # form), with fixed distributions and per sample, binary cross-entropy from logits
    gen = np.random.default_rng(3)
    qkv, k, v = (
        tl.Value(gen.normal(size=s).astype(np.float32)) for s in ((2, 6, 24), (2, 7, 8), (2, 7, 8))
    )
    scores = gen.normal(size=(6, 7)).astype(np.float32)  # a float mask, broadcast
    dist = np.abs(gen.normal(size=(2, 6, 8))).astype(np.float32)
    fixed = gen.integers(0, 8, size=(2, 6))
    t = (gen.normal(size=(2, 6, 8)) > 0).astype(np.float32)

    def step(x: Any, labels: Any) -> Any:
        a = F.multi_head_attention(qkv + x, num_heads=2, mask=nn.causal_mask(6))
        b = F.layer_norm(F.multi_head_attention(a, k, v, num_heads=4, mask=scores), (8,))
        loss = F.cross_entropy(b.reshape(12, 8), labels)
        loss = loss + F.cross_entropy(b, dist, reduction="sum") * 0.1
        loss = loss + F.cross_entropy(b, fixed, reduction="none").mean()
        loss = loss + F.binary_cross_entropy_with_logits(b, t)
        loss.backward()
        return loss

    traced = tl.jit(step)
    for _ in range(5):
        x = gen.normal(size=(2, 6, 24)).astype(np.float32)
        labels = gen.integers(0, 8, size=12)
        runs = []
        for f in (step, traced):
            for p in (qkv, k, v):
                p.grad = None
            runs.append((f(x, labels).item(), [p.grad.copy() for p in (qkv, k, v)]))
        assert runs[0][0] == runs[1][0]
        assert all(np.array_equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))
    (plans,) = traced.plans.values()
    assert not isinstance(plans, str)  # replayed, not run eagerly


def test_a_replayed_encoder_layer_allocates_a_small_fraction_of_the_eager_step():
    # W9's layer, small: attention, layer norm (standardize), linear, relu and add write into
    # the step's arrays; what is left is NumPy's buffers and the parameters' .grad copies
    tl.manual_seed(0)
    layer = nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0, batch_first=True)
    x = np.random.default_rng(0).normal(size=(4, 32, 64)).astype(np.float32)
    g = np.random.default_rng(1).normal(size=(4, 32, 64)).astype(np.float32)
    mask = nn.causal_mask(32)

    def step(x: Any) -> Any:
        y = layer(x, src_mask=mask)
        y.backward(g)
        return y

    def zeroed(f: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            for p in layer.parameters():
                p.grad = None
            return f()

        return run

    traced = tl.jit(step)
    for _ in range(4):  # two traces, then the first replays make the arrays they write into
        zeroed(lambda: traced(x))()
    eager = allocated(zeroed(lambda: step(x)))
    replay = allocated(zeroed(lambda: traced(x)))
    assert replay < eager / 4


def test_a_small_cnn_replays_bitwise_and_allocates_a_fraction_of_the_eager_step():
    # conv2d, relu, max_pool2d, linear, cross entropy: after the replays that make the
    # forms' arrays (call 3: the outputs and gradients, call 4: the backward's scratch), a
    # replay writes every image-sized array into one it already has
    gen = np.random.default_rng(2)
    xs = gen.random((3, 16, 1, 16, 16), dtype=np.float32)
    ys = gen.integers(0, 10, size=(3, 16))

    def make() -> tuple[Any, Callable[..., Any]]:
        model = nn.Sequential(
            nn.Conv2d(1, 6, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 8, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, stride=1),
            nn.Flatten(),
            nn.Linear(8 * 2 * 2, 10),
        )
        return model, classifier_step(model, optim.SGD(model.parameters(), lr=0.05))

    eager, jit, a, b = twin_runs(make, lambda i: (xs[i % 3], ys[i % 3]), steps=6)
    assert eager == jit
    assert_same_model(a, b)
    step = classifier_step(a, optim.SGD(a.parameters(), lr=0.05))
    traced = tl.jit(classifier_step(b, optim.SGD(b.parameters(), lr=0.05)))
    for _ in range(4):
        traced(xs[0], ys[0])
    assert allocated(lambda: traced(xs[0], ys[0])) < allocated(lambda: step(xs[0], ys[0])) / 4


def test_every_row_with_a_backward_replay_form_has_a_forward_one():
    # (or a view row: its plain forward makes no array, as broadcast_to's)
    rows = [op for op in tl.core.OPS.values() if op.grads_into is not None]
    assert rows and all(op.into is not None or op.view for op in rows)


def test_every_row_has_a_replay_form():
    # a row whose forward returns a view of its input (view=True) needs none; weighted_sum,
    # the scalar neuron's row, computes Python floats, which a replay never writes into arrays
    from tinygrad_lite.core.ops import WITH_CONSTANT

    rows = [*tl.core.OPS.values(), *WITH_CONSTANT[0].values(), *WITH_CONSTANT[1].values()]
    missing = [op.name for op in rows if op.into is None and not op.view]
    assert missing == ["weighted_sum"]


def test_a_step_of_reductions_and_movements_replays_bitwise_and_allocates_little():
    # getitem by ids (one repeated), by a slice and by (row, label) ids; transpose, reshape,
    # upsampling, concat of three with one frozen, broadcast_to, sum_to, the softmaxes, max
    n = 32
    gen = np.random.default_rng(12)
    xs = gen.normal(size=(4, n, 1, 8, 8)).astype(np.float32)
    ids = gen.integers(0, 20, size=(n, 3))
    ids[0, :2] = 5  # their gradient rows add up
    rows, labels = np.arange(n), gen.integers(0, 6, size=n)

    def make() -> tuple[list[tl.Value], Callable[..., Any]]:
        init = np.random.default_rng(0)
        shapes = [(20, 4), (8,), (12 + 128 + 3, 6), (6,)]
        params = [tl.Value(init.normal(size=s).astype(np.float32)) for s in shapes]
        table, scale, w, b = params
        frozen = tl.Value(np.ones((n, 3), np.float32), requires_grad=False)
        opt = optim.SGD(params, lr=0.05)

        def step(x: Any) -> Any:
            opt.zero_grad()
            e = table[ids].transpose(0, 2, 1).reshape(n, 12)  # (a copy: reshape of a transpose)
            up = F.interpolate(tl.Value(x) * scale, 2)  # (n, 1, 16, 16)
            z = tl.concat([e, up.reshape(n, 256)[:, ::2], frozen], axis=1) @ w
            z = z + b.broadcast_to((n, 6))
            loss = -z.log_softmax(-1)[rows, labels].mean() + z.softmax(0).max(axis=1).sum()
            loss = loss + (z.sum_to((1, 6)) * z.sum(axis=0, keepdims=True)).sum() * 1e-4
            loss.backward()
            opt.step()
            return loss

        return params, step

    params_a, step = make()
    params_b, twin = make()
    traced = tl.jit(twin)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the trace must not fall back to eager
        for i in range(6):
            assert float(step(xs[i % 4]).item()) == float(traced(xs[i % 4]).item())
    for a, b in zip(params_a, params_b):
        assert np.array_equal(a.data, b.data) and np.array_equal(a.grad, b.grad)

    eager = allocated(lambda: step(xs[0]))
    replay = allocated(lambda: traced(xs[0]))
    assert replay < eager / 4  # (about 22 kB against 160 kB when written)


def test_gradients_add_up_across_calls_when_the_step_does_not_zero_them():
    # gradient accumulation: the step runs forward and backward only; the caller steps and
    # zeroes every second call. The replay must add up as backward() does.
    def make() -> tuple[Any, Callable[..., Any], optim.Optimizer]:
        tl.manual_seed(0)
        model = nn.Linear(3, 2)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x: Any) -> Any:
            loss = (model(x) ** 2).mean()
            loss.backward()
            return loss

        return model, step, opt

    xs = np.random.default_rng(0).normal(size=(8, 4, 3)).astype(np.float32)
    runs = []
    for use_jit in (False, True):
        model, step, opt = make()
        f = tl.jit(step) if use_jit else step
        for i in range(8):
            f(xs[i])
            if i % 2 == 1:
                opt.step()
                opt.zero_grad()
        runs.append([p.data.copy() for p in model.parameters()])
    for a, b in zip(*runs):
        assert np.array_equal(a, b)


def test_a_step_that_empties_grad_by_assignment_gets_fresh_gradients():
    w = tl.Value(np.array([1.0, -2.0]))

    @tl.jit
    def step(x: Any) -> Any:
        w.grad = None  # by assignment: the trace cannot see it
        loss = (w * x).sum()
        loss.backward()
        return loss

    for k in range(5):
        x = np.array([1.0, 2.0]) * (k + 1)
        step(x)
        np.testing.assert_array_equal(w.grad, x)


def test_a_gradient_the_step_empties_is_not_copied_before_the_replay_writes_it():
    w = tl.Value(np.ones((256, 256)))
    x = np.full((256, 256), 2.0)

    @tl.jit
    def step(x: Any) -> Any:
        w.grad = None
        loss = (w * x).sum()
        loss.backward()
        return loss

    for _ in range(4):
        step(x)
    assert allocated(lambda: step(x)) < w.data.nbytes / 4  # no copy of last call's .grad
    np.testing.assert_array_equal(w.grad, x)


def test_a_replay_writes_gradients_into_arrays_it_reuses():
    # documented (docs/jit.md): a .grad kept from one replayed call is the array the next
    # call writes into, as torch's .grad is; copy it to keep it
    w = tl.Value(np.ones((3, 2), np.float32))
    x = np.ones((4, 3), np.float32)

    @tl.jit
    def step(x: Any) -> Any:
        w.grad = None
        loss = tl.linear(tl.Value(x, requires_grad=False), w).sum()
        loss.backward()
        return loss

    kept = []
    for k in range(5):
        step(x * (k + 1))
        kept.append(w.grad)
    # calls 1 and 2 trace (the second makes the replay's arrays), 3 to 5 replay into them
    assert kept[2] is kept[3] is kept[4]
    np.testing.assert_array_equal(kept[2], np.full((3, 2), 20.0))  # call 5's numbers
    for k in range(2):
        np.testing.assert_array_equal(kept[k], np.full((3, 2), 4.0 * (k + 1)))


def test_a_transposed_weights_gradient_is_copied_into_an_array_the_replay_reuses():
    # backward() gives a leaf a copy of a gradient that is a view (w.T's): a replay copies it
    # into one array of its own, C-ordered as that copy is, and gives the same numbers
    def make() -> tuple[Any, Any]:
        w = tl.Value(np.random.default_rng(0).normal(size=(256, 128)).astype(np.float32))

        def step(x: Any) -> Any:
            w.grad = None
            loss = tl.linear(tl.Value(x, requires_grad=False), w.T).tanh().sum()
            loss.backward()
            return loss

        return w, step

    (w0, eager), (w1, step) = make(), make()
    traced = tl.jit(step)
    xs = np.random.default_rng(1).normal(size=(4, 8, 128)).astype(np.float32)
    for k in range(4):
        eager(xs[k])
        traced(xs[k])
        np.testing.assert_array_equal(w1.grad, w0.grad)
        assert w1.grad.flags.c_contiguous
    assert allocated(lambda: traced(xs[0])) < w1.data.nbytes / 4


def test_gradients_that_meet_are_summed_into_an_array_the_replay_reuses():
    # x feeds three branches (a residual and two products): its gradient is a sum of three,
    # which a replay writes into one array of its own, with eager's numbers
    def make() -> tuple[Any, Any]:
        w = tl.Value(np.random.default_rng(1).normal(size=(6, 6)).astype(np.float32))

        def step(x: Any) -> Any:
            w.grad = None
            h = x @ w
            loss = (h.tanh() + x + (h * x).sigmoid()).sum()
            loss.backward()
            return loss

        return w, step

    (w0, eager), (w1, step) = make(), make()
    traced = tl.jit(step)
    grads = []
    for k in range(5):
        data = np.random.default_rng(k).normal(size=(5, 6)).astype(np.float32)
        x0, x1 = tl.Value(data), tl.Value(data.copy())
        eager(x0)
        traced(x1)
        np.testing.assert_array_equal(x1.grad, x0.grad)
        np.testing.assert_array_equal(w1.grad, w0.grad)
        grads.append(x1.grad)
    assert grads[3] is grads[4]  # replays 2 and 3 sum into the same array


@pytest.mark.parametrize("how", ["in place, read by matmul", "in place, read by x * c", "rebound"])
def test_data_written_into_a_held_value_inside_the_step_runs_eagerly_with_a_warning(how):
    # a replay runs none of the step's lines: it would reuse the data of an earlier call
    w = tl.Value(np.ones((3, 2)))
    x = tl.Value(np.zeros((4, 3)), requires_grad=False)

    def step(batch: Any) -> Any:
        if how == "rebound":
            x.data = batch.copy()
        else:
            x.data[...] = batch
        w.grad = None
        out = x @ w if how != "in place, read by x * c" else (x * 2.0) @ w
        loss = out.sum()
        loss.backward()
        return loss

    traced = tl.jit(step)
    losses = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(4):
            losses.append(traced(np.full((4, 3), float(k + 1))).item())
    assert losses == [step(np.full((4, 3), float(k + 1))).item() for k in range(4)]
    (warning,) = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert "wrote into the data of a Value of shape (4, 3)" in str(warning.message)
    assert "Pass the data in as an argument" in str(warning.message)
    assert warning.filename == __file__


def test_an_optimizer_step_before_or_after_the_passes_is_not_a_write_before_use():
    tl.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x: Any) -> Any:
        opt.step()  # the update of the last call's gradients, then the new ones
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        return loss

    traced = tl.jit(step)
    x = np.ones((4, 3), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            traced(x)

        def later(x: Any) -> Any:  # the optimizer's step and zero_grad after backward
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        usual = tl.jit(later)
        for _ in range(4):
            usual(x)
    assert type(traced.plans[next(iter(traced.plans))]) is list  # replayed, not eager
    assert type(usual.plans[next(iter(usual.plans))]) is list


def test_what_the_trace_saw_each_rule_send_is_written_into_the_program():
    w = tl.Value(np.ones((3, 2), np.float32))
    b = tl.Value(np.zeros(2, np.float32))

    @tl.jit
    def step(x: Any) -> Any:
        w.grad = b.grad = None
        loss = (tl.linear(tl.Value(x, requires_grad=False), w) + b).tanh().sum()
        loss.backward()
        return loss

    x = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    step(x), step(x)  # traced twice
    (plan,) = next(iter(step.plans.values()))
    step(x)  # the first replay writes the program
    source = plan.program.source
    assert "[0] is None" not in source  # the backward forms' arrays were made by the trace
    assert " is not None:\n" not in source.split("given = set()")[0]  # every gradient came
    assert source.count(",) = ") == 2  # sum's and tanh's gradients, received as they are
    assert re.search(r"\n +g\d+ = g\d+\n", source)  # add's rule not run: g itself, passed on
    assert "SEND(" in source  # b's gradient is (4, 2) summed to (2,): fitted on every replay
    for k in range(3):
        x = x + k
        step(x)
        replayed = w.grad.copy(), b.grad.copy()
        step.eager(x)
        np.testing.assert_array_equal(replayed[0], w.grad)
        np.testing.assert_array_equal(replayed[1], b.grad)


def test_the_scalar_gradients_that_meet_are_added_up_inline():
    w = tl.Value(2.0)

    @tl.jit
    def step(x: Any) -> Any:
        w.grad = None
        loss = w * x[0] + w * x[1] + (w * w).tanh()
        loss.backward()
        return loss

    step([tl.Value(1.0), tl.Value(2.0)]), step([tl.Value(1.0), tl.Value(2.0)])
    for k in range(3):
        x = [tl.Value(0.5 * k), tl.Value(-1.5)]
        got = step(x).item(), w.grad
        want = step.eager([tl.Value(0.5 * k), tl.Value(-1.5)]).item(), w.grad
        assert got == want
    (plan,) = next(iter(step.plans.values()))
    assert " += sent[" in plan.program.source and "SUM(" not in plan.program.source


def test_switching_a_model_to_eval_traces_the_eval_graph_and_back():
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 6), nn.Dropout(0.5), nn.Linear(6, 2))

    @tl.jit
    def forward(x: Any) -> Any:
        return model(x)

    x = np.ones((3, 6), np.float32)
    for _ in range(3):
        forward(x)  # train mode: dropout drawn each call
    model.eval()
    evals = [forward(x).data.copy() for _ in range(3)]  # traced again: no dropout
    want = model(x).data
    for e in evals:
        np.testing.assert_array_equal(e, want)
    model.train()
    trains = [forward(x).data.copy() for _ in range(3)]
    assert not all(np.array_equal(t, want) for t in trains)  # dropout is back
    assert len(forward.plans[next(iter(forward.plans))]) == 2


def test_a_huge_graph_runs_eagerly_with_a_warning(monkeypatch):
    monkeypatch.setattr(tl.core.tracing, "MAX_NODES", 50)
    x = tl.Value(1.0)

    @tl.jit
    def chain() -> Any:
        y = x
        for _ in range(100):
            y = y + 1.0
        y.backward()
        return y

    with pytest.warns(RuntimeWarning, match="101 nodes, more than the 50"):
        assert chain().data == 101.0


class _Elementwise(nn.Module):
    """A layer built from the elementwise rows, each with a replay form."""

    def __init__(self) -> None:
        self.lin = nn.Linear(64, 32)
        self.scale = tl.Value(np.linspace(0.5, 2.0, 32, dtype=np.float32))
        self.mask = np.arange(32) % 3 > 0  # a condition broadcast over the batch

    def forward(self, x: Any) -> Any:
        h = identity(self.lin(x).leaky_relu(0.1)).clip(-2.0, None)
        z = (h / self.scale).erf()  # div, broadcast
        z = tl.where(self.mask, z, -z) - 0.25
        u = (z * z + 1.0).sqrt().log() + (2.0 - h.abs()).clip(None, 1.5) ** 2.0
        return 1.0 / (1.0 + (-u).exp()) + h.abs() ** self.scale


def test_the_elementwise_rows_replay_bitwise_and_allocate_little():
    def make() -> tuple[Any, Callable[..., Any]]:
        model = _Elementwise()
        opt = optim.SGD(model.parameters(), lr=0.01)

        def step(x: Any, y: Any) -> Any:
            opt.zero_grad()
            loss = ((model(x) - y) ** 2.0).mean()
            loss.backward()
            opt.step()
            return loss

        return model, step

    gen = np.random.default_rng(0)
    data = [
        (gen.normal(size=(128, 64)).astype(np.float32), gen.random((128, 32), np.float32))
        for _ in range(4)
    ]
    eager, jit, model_a, model_b = twin_runs(make, lambda i: data[i % 4], steps=6)
    assert eager == jit
    assert_same_model(model_a, model_b)

    tl.manual_seed(0)
    model, step = make()
    traced = tl.jit(step)
    for _ in range(4):  # two traces, then a replay's backward forms make their scratch arrays
        traced(*data[0])
    eager_peak = allocated(lambda: step(*data[0]))
    replay_peak = allocated(lambda: traced(*data[0]))
    assert replay_peak < eager_peak / 8, (replay_peak, eager_peak)  # 1/15 as written
