"""Data changed in place between the forward pass and backward: backward raises InPlaceError
naming the op and the Value instead of returning a wrong gradient; changes between steps (an
optimizer's update, a hand-written SGD step) stay allowed. docs/engine.md says what is caught."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import optim


def test_an_input_changed_in_place_is_caught() -> None:
    x = tl.Value(np.array([1.0, 2.0, 3.0]), name="x")
    loss = (x * x).sum()
    x.data += 1.0
    with pytest.raises(tl.InPlaceError, match=r"backward: x was changed in place after mul"):
        loss.backward()
    assert x.grad is None  # nothing was accumulated


def test_an_input_assigned_through_an_index_is_caught() -> None:
    x = tl.Value(np.array([[1.0, 2.0], [3.0, 4.0]]), name="x")
    loss = x.log().sum()
    x.data[...] = np.zeros((2, 2))
    with pytest.raises(tl.InPlaceError, match="first element was 1.0 and is now 0.0"):
        loss.backward()


def test_an_intermediate_changed_in_place_is_caught() -> None:
    x = tl.Value(np.array([0.5, -0.5]), name="x")
    y = x.tanh()
    loss = (y * 2.0).sum()
    y.data[...] = 0.0  # tanh's backward reads its output: 1 - y**2
    with pytest.raises(tl.InPlaceError, match=r"the output of tanh .* after tanh made it"):
        loss.backward()


def test_data_no_rule_reads_may_change() -> None:
    # add, sum and x * 2.0 read no data in backward (Op.reads_data): their gradient is right
    x = tl.Value(np.array([0.5, -0.5]), name="x")
    y = x * 2.0
    loss = (y + 1.0).sum()
    y.data[...] = 7.0
    loss.backward()
    np.testing.assert_allclose(x.grad, [2.0, 2.0])


@pytest.mark.parametrize("fn", ["exp", "tanh", "sigmoid"])
def test_rules_that_read_only_their_output_ignore_their_input(fn: str) -> None:
    x = tl.Value(np.array([0.5, -0.5]), name="x")
    y = getattr(x, fn)()
    want = tl.grad(y.sum(), [x])[0].copy()
    x.data[...] = 9.0  # the rule reads y, not x (Op.reads_inputs=False)
    np.testing.assert_array_equal(tl.grad(y.sum(), [x])[0], want)
    y.data[0] = 0.0
    with pytest.raises(tl.InPlaceError, match=f"the output of {fn} was changed in place"):
        tl.grad(y.sum(), [x])


def test_an_input_of_a_rule_that_reads_it_is_caught_after_a_rule_that_does_not() -> None:
    x = tl.Value(np.array([0.5, -0.5]), name="x")
    y = x + 1.0  # y is sampled when mul reads it, not when made
    loss = (y * y).sum()
    y.data[0] = 3.0
    with pytest.raises(tl.InPlaceError, match=r"the output of add .* after mul used it"):
        loss.backward()


def test_the_output_changed_in_place_is_caught() -> None:
    x = tl.Value(np.array([0.5, -0.5]), name="x")
    y = x.exp()
    y.data *= 3.0
    with pytest.raises(tl.InPlaceError, match="the output of exp was changed in place after exp"):
        y.backward(np.ones(2))


def test_what_is_not_caught_scalar_values() -> None:
    # documented in docs/engine.md: nodes of Python floats keep no samples (the check would
    # cost a quarter of a scalar op); a float cannot change in place, only be rebound
    w = tl.Value(2.0, name="w")
    loss = (w * w) ** 2
    w.data -= 0.5
    loss.backward()  # silently wrong, as before this check existed:
    assert w.grad == 24.0  # neither 4 * 2**3 = 32 (the old w) nor 4 * 1.5**3 = 13.5 (the new)


def test_an_optimizer_step_between_forward_and_backward_is_caught() -> None:
    w = tl.Value(np.array([1.0, -2.0]), name="w")
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()  # a first pass, so that the step has a gradient
    loss = (w * w).sum()
    opt.step()  # too early: loss was computed from the old w
    with pytest.raises(tl.InPlaceError, match="w was changed in place after mul"):
        loss.backward()


def test_the_message_says_how_to_fix_it() -> None:
    x = tl.Value(np.ones(3), name="x")
    loss = x.relu().sum()
    x.data[0] = -5.0
    with pytest.raises(tl.InPlaceError) as caught:
        loss.backward()
    message = str(caught.value)
    assert "relu" in message and "x" in message
    assert "Compute the forward pass again" in message and "copy" in message
    assert isinstance(caught.value, tl.GradientError)


def test_tl_grad_and_graph_mode_check_too() -> None:
    x = tl.Value(np.array([1.0, 2.0]), name="x")
    y = (x * x * x).sum()
    x.data[0] = 7.0
    with pytest.raises(tl.InPlaceError):
        tl.grad(y, [x])
    with pytest.raises(tl.InPlaceError):
        tl.grad(y, [x], create_graph=True)


@pytest.mark.parametrize("make", [optim.SGD, optim.Adam])
def test_optimizer_steps_between_passes_stay_allowed(make: type) -> None:
    w = tl.Value(np.array([1.0, -2.0, 0.5]), name="w")
    opt = make([w], lr=0.1)
    for _ in range(4):
        opt.zero_grad()
        loss = ((w * w).tanh() * 3.0).sum()
        loss.backward()
        # the gradient of the w the forward pass read: 3 * (1 - tanh(w^2)^2) * 2w
        want = 3.0 * (1.0 - np.tanh(w.data**2) ** 2) * 2.0 * w.data
        np.testing.assert_allclose(w.grad, want, rtol=1e-12)
        opt.step()


def test_a_hand_written_step_between_passes_stays_allowed() -> None:
    w = tl.Value(0.5, name="w")
    x = tl.Value(np.array([1.0, 2.0]))
    for _ in range(3):
        w.zero_grad()
        loss = ((x * w - 1.0) ** 2).sum()
        loss.backward()
        assert w.grad == pytest.approx(float(np.sum(2 * (x.data * w.data - 1.0) * x.data)))
        w.data -= 0.01 * w.grad
        x.data[...] = x.data + 1.0  # new inputs for the next pass, in the same array


def test_changing_then_recomputing_the_forward_pass_is_fine() -> None:
    x = tl.Value(np.array([1.0, 2.0]), name="x")
    loss = (x * x).sum()
    x.data += 1.0
    loss = (x * x).sum()  # the forward pass again, after the change
    loss.backward()
    np.testing.assert_allclose(x.grad, [4.0, 6.0])


def test_backward_twice_and_unchanged_nan_and_empty_data_raise_nothing() -> None:
    x = tl.Value(np.array([np.nan, 1.0]), name="x")
    loss = (x * 2.0).sum()
    loss.backward()
    loss.backward()  # the graph is kept: a second pass reads the same data
    np.testing.assert_allclose(x.grad, [4.0, 4.0])
    e = tl.Value(np.zeros((0, 3)))
    (e * e).sum().backward()
    assert e.grad.shape == (0, 3)


def test_what_is_not_caught_a_change_that_keeps_the_first_element() -> None:
    # documented in docs/engine.md: only the first element is compared
    x = tl.Value(np.array([1.0, 2.0]), name="x")
    loss = (x * x).sum()
    x.data[1] = 5.0
    loss.backward()
    np.testing.assert_allclose(x.grad, [2.0, 10.0])  # the gradient of the changed data


# every row that says reads_data=False, made from x (2, 3) and w (2, 3)
NO_DATA_CASES = {
    "add": lambda x, w: x + w,
    "add:x+c": lambda x, w: x + 2.0,
    "add:c+x": lambda x, w: 2.0 + x,
    "sub": lambda x, w: x - w,
    "sub:x-c": lambda x, w: x - 2.0,
    "sub:c-x": lambda x, w: 2.0 - x,
    "mul:x*c": lambda x, w: x * 3.0,
    "mul:c*x": lambda x, w: 3.0 * x,
    "neg": lambda x, w: -x,
    "sum": lambda x, w: x.sum(0),
    "reshape": lambda x, w: x.reshape(6),
    "transpose": lambda x, w: x.T,
    "getitem": lambda x, w: x[1],
    "scatter": lambda x, w: x.scatter_to((4, 3), slice(0, 2)),
    "broadcast_to": lambda x, w: x.broadcast_to((4, 2, 3)),
    "sum_to": lambda x, w: x.sum_to((3,)),
    "concat": lambda x, w: tl.concat([x, w], 0),
}


@pytest.mark.parametrize("case", NO_DATA_CASES)
def test_rows_that_read_no_data_give_the_same_gradient_on_other_data(case: str) -> None:
    rng = np.random.default_rng(0)
    x, w = tl.Value(rng.normal(size=(2, 3)), name="x"), tl.Value(rng.normal(size=(2, 3)))
    y = NO_DATA_CASES[case](x, w)
    assert y.op is not None and not y._op.reads_data  # type: ignore[union-attr]
    g = rng.normal(size=y.shape)
    want = [v.copy() for v in tl.grad(y, [x, w], g, allow_unused=True) if v is not None]
    for v in (x, w, y):  # every array the rule could have read (a broadcast view is read-only)
        if v.data.flags.writeable:
            v.data[...] = rng.normal(size=v.shape)
    got = [v for v in tl.grad(y, [x, w], g, allow_unused=True) if v is not None]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_every_row_that_reads_no_data_has_a_case() -> None:
    from tinygrad_lite.core.ops import OPS, WITH_CONSTANT

    rows = [*OPS.values(), *WITH_CONSTANT[0].values(), *WITH_CONSTANT[1].values()]
    names = {row.name for row in rows if not row.reads_data}
    covered = {name.split(":")[0] for name in NO_DATA_CASES}
    assert names <= covered, names - covered


def test_a_leaf_changed_between_two_uses_is_caught() -> None:
    # each node keeps its own samples: the first use saw the old data
    w = tl.Value(np.array([1.0, 2.0]), name="w")
    y = w * w
    w.data += 1.0
    loss = (y + w * w).sum()  # the second use reads the new data
    with pytest.raises(tl.InPlaceError, match="w was changed in place after mul"):
        loss.backward()


def test_a_step_between_two_graphs_is_caught_in_the_older_one() -> None:
    w = tl.Value(np.array([1.0, 2.0]), name="w")
    opt = optim.SGD([w], lr=0.1)
    a = (w * w).sum()
    a.backward()
    opt.step()
    b = (w * w).sum()  # a new forward pass: fine
    b.backward()
    with pytest.raises(tl.InPlaceError):
        a.backward()  # the old graph read the old w
