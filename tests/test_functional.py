"""nn.functional: losses and activation functions.

Values are checked against formulas written out independently with NumPy, gradients against
finite differences (testing.gradcheck / gradgradcheck) and, where it is installed, against
PyTorch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import IndexingError, ShapeError, Value
from tinygrad_lite.nn import ArgumentError
from tinygrad_lite.testing import gradcheck, gradgradcheck

GEN = np.random.default_rng(1234)
X = GEN.normal(size=(4, 3))
T = GEN.normal(size=(4, 3))
P = GEN.uniform(0.05, 0.95, size=(4, 3))  # probabilities away from the clipping bounds
Y = (GEN.uniform(size=(4, 3)) > 0.5).astype(np.float64)  # binary targets
LABELS = np.array([2, 0, 1, 2])
SOFT = GEN.dirichlet(np.ones(3), size=4)  # probability targets, rows sum to 1


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


# reference formulas, elementwise (reduction "none"), written from the definitions
REFERENCE = {
    "mse_loss": lambda x, t: (x - t) ** 2,
    "l1_loss": lambda x, t: np.abs(x - t),
    "binary_cross_entropy": lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)),
    "binary_cross_entropy_with_logits": lambda z, y: (
        -(y * np.log(1 / (1 + np.exp(-z))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-z))))
    ),
}
INPUTS = {
    "mse_loss": (X, T),
    "l1_loss": (X, T),
    "binary_cross_entropy": (P, Y),
    "binary_cross_entropy_with_logits": (X, Y),
}


def _reduced(elementwise: np.ndarray, reduction: str) -> Any:
    return {"none": elementwise, "sum": elementwise.sum(), "mean": elementwise.mean()}[reduction]


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_elementwise_losses_match_their_formulas(name: str, reduction: str) -> None:
    x, t = INPUTS[name]
    loss = getattr(F, name)(Value(x), t, reduction=reduction)
    np.testing.assert_allclose(loss.data, _reduced(REFERENCE[name](x, t), reduction), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_its_formula_for_labels_and_distributions(reduction: str) -> None:
    expected = -_log_softmax(X)[np.arange(4), LABELS]
    by_label = F.cross_entropy(Value(X), LABELS, reduction=reduction)
    by_one_hot = F.cross_entropy(Value(X), np.eye(3)[LABELS], reduction=reduction)
    np.testing.assert_allclose(by_label.data, _reduced(expected, reduction), rtol=1e-12)
    np.testing.assert_allclose(by_one_hot.data, _reduced(expected, reduction), rtol=1e-12)
    soft = F.cross_entropy(Value(X), SOFT, reduction=reduction)
    soft_expected = -(SOFT * _log_softmax(X)).sum(axis=1)
    np.testing.assert_allclose(soft.data, _reduced(soft_expected, reduction), rtol=1e-12)


def test_cross_entropy_of_a_single_sample_and_of_a_batch_axis_more() -> None:
    single = F.cross_entropy(Value(X[0]), int(LABELS[0]))
    assert single.shape == ()
    assert single.item() == pytest.approx(-_log_softmax(X[0])[LABELS[0]], rel=1e-12)
    seq = GEN.normal(size=(2, 4, 3))  # (batch, time, classes): classes on the last axis
    labels = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
    expected = -np.take_along_axis(_log_softmax(seq), labels[..., None], axis=-1).mean()
    assert F.cross_entropy(Value(seq), labels).item() == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_of_no_sample_is_as_a_sum_and_a_mean_of_nothing() -> None:
    logits, labels = Value(np.zeros((0, 3))), np.zeros(0, dtype=int)
    total = F.cross_entropy(logits, labels, reduction="sum")
    total.backward()
    assert total.item() == 0.0 and logits.grad.shape == (0, 3)
    assert F.cross_entropy(logits, labels, reduction="none").shape == (0,)
    with pytest.warns(RuntimeWarning, match="empty"):  # as torch: the mean of nothing is nan
        assert math.isnan(F.cross_entropy(logits, labels).item())
    with pytest.warns(RuntimeWarning, match="empty"):
        assert math.isnan(F.cross_entropy(logits, np.zeros((0, 3))).item())  # distributions


@pytest.mark.parametrize("labels", [LABELS, SOFT], ids=["labels", "distributions"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_reuses_its_softmax_once_and_recomputes_after(
    labels: np.ndarray, reduction: str
) -> None:
    # the fused node keeps the forward's softmax for its backward and writes into it: a second
    # backward, and a forward re-run on other inputs in between, must still give the gradient
    expected = np.exp(_log_softmax(X))
    expected -= np.eye(3)[LABELS] if labels.ndim == 1 else SOFT
    weights = np.full(4, 0.25 if reduction == "mean" else 1.0)
    seed = np.ones(4) if reduction == "none" else None
    z = Value(X)
    loss = F.cross_entropy(z, labels, reduction=reduction)
    loss.backward(seed)  # from the kept softmax
    first = z.grad.copy()
    np.testing.assert_allclose(first, expected * weights[:, None], rtol=1e-12)
    loss.backward(seed)  # accumulates: twice the gradient, from a recomputed softmax
    np.testing.assert_allclose(z.grad, 2 * first, rtol=1e-12)
    again = F.cross_entropy(z, labels, reduction=reduction)
    tl.core.rerun(again, 2.0 * X)  # as testing.explain does: other inputs, same node
    z.zero_grad()
    again.backward(seed)  # the softmax of 2X was kept, but this is the gradient at X
    np.testing.assert_allclose(z.grad, first, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_of_rows_far_apart_is_as_exact_as_row_by_row(dtype: type) -> None:
    # the fused rule shifts every row by the batch's largest logit; a row 1000 below it would
    # lose every exponential to zero, so it gets its own shift: the losses and gradients equal
    # those of each row alone, and a row with an infinite logit spoils only itself
    z = np.array([[0.0, 1.0, 2.0], [-1000.0, -999.0, -1001.0], [30.0, -30.0, 0.0]], dtype)
    labels = np.array([2, 0, 1])
    v = Value(z)
    losses = F.cross_entropy(v, labels, reduction="none")
    losses.backward(np.ones(3, dtype))
    for i in range(3):
        row = Value(z[i : i + 1])
        alone = F.cross_entropy(row, labels[i : i + 1], reduction="sum")
        alone.backward()
        assert losses.data[i] == pytest.approx(alone.item(), rel=1e-6)
        np.testing.assert_allclose(v.grad[i], row.grad[0], rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(losses.data[1], -_log_softmax(z[1:2].astype(np.float64))[0, 0])
    with np.errstate(invalid="ignore"):  # inf - inf in the spoiled row
        spoiled = F.cross_entropy(Value(np.vstack([z, [[np.inf, 0, 0]]])), [2, 0, 1, 1], "none")
    assert np.isfinite(spoiled.data[:3]).all() and np.isnan(spoiled.data[3])


def test_targets_may_be_lists_arrays_or_values_and_take_the_input_dtype() -> None:
    x = Value(X.astype(np.float32))
    results = [
        F.mse_loss(x, T.tolist()),
        F.mse_loss(x, T),
        F.mse_loss(x, Value(T.astype(np.float32), requires_grad=False)),
    ]
    for loss in results:
        assert loss.dtype == np.float32
        assert loss.item() == pytest.approx(((X - T) ** 2).mean(), rel=1e-5)
    labels = F.cross_entropy(Value(X), LABELS.tolist())
    as_value = F.cross_entropy(Value(X), Value(LABELS, requires_grad=False))
    assert labels.item() == pytest.approx(as_value.item(), rel=1e-15)


def test_scalar_losses_stay_python_floats() -> None:
    w = Value(0.3)
    loss = F.mse_loss(w, 1.0)
    assert type(loss.data) is float and loss.data == pytest.approx(0.49)
    loss.backward()
    assert type(w.grad) is float and w.grad == pytest.approx(2 * (0.3 - 1.0))
    bce = F.binary_cross_entropy_with_logits(Value(0.0), 1.0)
    assert type(bce.data) is float and bce.data == pytest.approx(np.log(2.0))


def test_a_target_value_that_requires_grad_gets_a_gradient() -> None:
    x, t = Value(X), Value(T)
    F.mse_loss(x, t, reduction="sum").backward()
    np.testing.assert_allclose(t.grad, -2 * (X - T))
    z, soft = Value(X), Value(SOFT)
    F.cross_entropy(z, soft, reduction="sum").backward()
    np.testing.assert_allclose(soft.grad, -_log_softmax(X))


# ---------------------------------------------------------------- gradients


LOSS_FNS = {
    "mse_loss": (F.mse_loss, X, T),
    "l1_loss": (F.l1_loss, X, T),
    "binary_cross_entropy": (F.binary_cross_entropy, P, Y),
    "binary_cross_entropy_with_logits": (F.binary_cross_entropy_with_logits, X, Y),
    "cross_entropy(labels)": (F.cross_entropy, X, LABELS),
    "cross_entropy(probabilities)": (F.cross_entropy, X, SOFT),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(LOSS_FNS))
def test_losses_pass_gradcheck(name: str, reduction: str) -> None:
    fn, x, t = LOSS_FNS[name]
    assert gradcheck(lambda v: fn(v, t, reduction=reduction), [x])


@pytest.mark.parametrize(
    "name",
    ["mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"]
    + ["cross_entropy(labels)", "cross_entropy(probabilities)"],
)
def test_smooth_losses_pass_gradgradcheck(name: str) -> None:
    fn, x, t = LOSS_FNS[name]
    assert gradgradcheck(lambda v: fn(v, t), [x])


def test_gradients_with_respect_to_float_targets_pass_gradcheck() -> None:
    assert gradcheck(lambda x, t: F.mse_loss(x, t), [X, T])
    assert gradcheck(lambda z, y: F.binary_cross_entropy_with_logits(z, y), [X, P])
    assert gradcheck(lambda z, t: F.cross_entropy(z, t), [X, SOFT])


def test_logit_losses_have_the_textbook_gradients() -> None:
    # d/dz BCE(sigmoid(z), y) = sigmoid(z) - y; d/dz CE(softmax(z), t) = softmax(z) - t
    z = Value(X)
    F.binary_cross_entropy_with_logits(z, Y, reduction="sum").backward()
    np.testing.assert_allclose(z.grad, 1 / (1 + np.exp(-X)) - Y, rtol=1e-12)
    z = Value(X)
    F.cross_entropy(z, LABELS, reduction="sum").backward()
    softmax = np.exp(_log_softmax(X))
    np.testing.assert_allclose(z.grad, softmax - np.eye(3)[LABELS], rtol=1e-12, atol=1e-15)


def test_softplus_and_bce_with_logits_are_differentiable_at_zero() -> None:
    # relu and abs have kinks at 0; the composition must still give sigmoid(0) - y = 0.5 - y
    z = Value(np.zeros(3))
    F.binary_cross_entropy_with_logits(z, np.array([0.0, 0.5, 1.0]), reduction="sum").backward()
    np.testing.assert_allclose(z.grad, [0.5, 0.0, -0.5])
    s = Value(0.0)
    F.softplus(s).backward()
    assert s.grad == 0.5
    assert gradgradcheck(F.softplus, [np.array([-3.0, -1e-3, 1e-3, 2.0])])


# ---------------------------------------------------------------- stability


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logit_losses_are_finite_for_huge_logits(dtype: type) -> None:
    z = Value(np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 5.0]], dtype=dtype))
    ce = F.cross_entropy(z, [1, 1])
    ce.backward()
    assert ce.item() == pytest.approx(2000.0 / 2)  # row 0: 1000 - (-1000); row 1: 0
    assert np.all(np.isfinite(z.grad))
    np.testing.assert_allclose(z.grad, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-6)

    z = Value(np.array([1000.0, -1000.0, 1000.0, -1000.0], dtype=dtype))
    bce = F.binary_cross_entropy_with_logits(z, [0.0, 1.0, 1.0, 0.0], reduction="none")
    bce.sum().backward()
    np.testing.assert_allclose(bce.data, [1000.0, 1000.0, 0.0, 0.0])
    np.testing.assert_allclose(z.grad, [1.0, -1.0, 0.0, 0.0])


def test_binary_cross_entropy_never_takes_log_of_zero() -> None:
    p = Value(np.array([0.0, 1.0, 0.0, 1.0]))
    loss = F.binary_cross_entropy(p, [1.0, 0.0, 0.0, 1.0], reduction="none")
    loss.sum().backward()
    assert np.all(np.isfinite(loss.data)) and np.all(np.isfinite(p.grad))
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(loss.data[:2], -np.log(eps))  # confidently wrong: large, finite
    np.testing.assert_allclose(loss.data[2:], -np.log1p(-eps), atol=1e-15)  # right: ~0
    p32 = Value(np.array([0.0, 1.0], dtype=np.float32))
    loss32 = F.binary_cross_entropy(p32, [1.0, 0.0], reduction="none")
    assert loss32.dtype == np.float32
    np.testing.assert_allclose(loss32.data, -np.log(np.finfo(np.float32).eps), rtol=1e-6)


# ---------------------------------------------------------------- against PyTorch


def test_losses_and_gradients_match_torch(torch: Any) -> None:
    tf = torch.nn.functional
    cases = [
        (F.mse_loss, tf.mse_loss, X, T),
        (F.l1_loss, tf.l1_loss, X, T),
        (F.binary_cross_entropy, tf.binary_cross_entropy, P, Y),
        (F.binary_cross_entropy_with_logits, tf.binary_cross_entropy_with_logits, X * 30, Y),
        (F.cross_entropy, tf.cross_entropy, X * 30, SOFT),
    ]
    for ours, theirs, x, t in cases:
        for reduction in ("mean", "sum", "none"):
            v, tx = Value(x), torch.tensor(x, requires_grad=True)
            a = ours(v, t, reduction=reduction)
            b = theirs(tx, torch.tensor(t), reduction=reduction)
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
            a.sum().backward() if a.ndim else a.backward()
            b.sum().backward()
            np.testing.assert_allclose(v.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    v, tx = Value(X * 30), torch.tensor(X * 30, requires_grad=True)
    ours_ce = F.cross_entropy(v, LABELS)
    theirs_ce = tf.cross_entropy(tx, torch.tensor(LABELS))
    ours_ce.backward()
    theirs_ce.backward()
    assert ours_ce.item() == pytest.approx(theirs_ce.item(), rel=1e-12)
    np.testing.assert_allclose(v.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_float32_losses_match_torch_float32(torch: Any) -> None:
    x32, y32 = X.astype(np.float32), Y.astype(np.float32)
    v = Value(x32)
    ours = F.binary_cross_entropy_with_logits(v, y32)
    tx = torch.tensor(x32, requires_grad=True)
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(tx, torch.tensor(y32))
    ours.backward()
    theirs.backward()
    assert ours.dtype == np.float32 and v.grad.dtype == np.float32
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)
    np.testing.assert_allclose(v.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- mistakes


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_shape_mismatch_names_the_loss_and_both_shapes(name: str) -> None:
    with pytest.raises(ShapeError, match=rf"{name}: input has shape \(4, 1\).*\(4,\)"):
        getattr(F, name)(Value(np.full((4, 1), 0.5)), np.full(4, 0.5))


def test_cross_entropy_rejects_bad_labels() -> None:
    with pytest.raises(ShapeError, match=r"cross_entropy: logits have shape \(4, 3\).*\(3,\)"):
        F.cross_entropy(Value(X), [0, 1, 2])
    with pytest.raises(IndexingError, match=r"cross_entropy: labels range over \[0, 3\].*3"):
        F.cross_entropy(Value(X), [0, 1, 2, 3])
    with pytest.raises(IndexingError, match="labels range over"):
        F.cross_entropy(Value(X), [0, -1, 2, 1])
    with pytest.raises(ArgumentError, match="whole numbers"):
        F.cross_entropy(Value(X), [0.5, 1, 2, 1])
    with pytest.raises(ShapeError, match="class axis"):
        F.cross_entropy(Value(1.0), 0)


def test_bad_reduction_and_bad_probabilities_are_named() -> None:
    with pytest.raises(ArgumentError, match=r"mse_loss: reduction='avg'"):
        F.mse_loss(Value(X), T, reduction="avg")
    with pytest.raises(ArgumentError, match="cross_entropy: reduction"):
        F.cross_entropy(Value(X), LABELS, reduction="mean ")
    with pytest.raises(ArgumentError, match=r"outside \[0, 1\].*with_logits"):
        F.binary_cross_entropy(Value(X), Y)


# ---------------------------------------------------------------- activations and dropout


def test_activation_functions_accept_arrays_and_values() -> None:
    np.testing.assert_allclose(F.relu(X).data, np.maximum(X, 0))
    np.testing.assert_allclose(F.leaky_relu(X, 0.2).data, np.where(X > 0, X, 0.2 * X))
    np.testing.assert_allclose(F.sigmoid(Value(X)).data, 1 / (1 + np.exp(-X)))
    np.testing.assert_allclose(F.tanh(X).data, np.tanh(X))
    np.testing.assert_allclose(F.softmax(X, axis=0).data.sum(axis=0), np.ones(3))
    np.testing.assert_allclose(F.log_softmax(X).data, _log_softmax(X))
    np.testing.assert_allclose(F.softplus(X).data, np.log1p(np.exp(X)), rtol=1e-12)
    assert not F.relu(X).requires_grad  # a plain array is data, not a parameter


def test_dropout_function() -> None:
    x = Value(np.ones((200, 50)))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).data == 0.0)
    a = F.dropout(x, 0.3, generator=np.random.default_rng(7)).data
    b = F.dropout(x, 0.3, generator=np.random.default_rng(7)).data
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {0.0, 1 / 0.7}
    assert np.mean(a == 0) == pytest.approx(0.3, abs=0.02)  # 10,000 draws: sd 0.005
    for p in (-0.1, 1.5, "half", float("nan")):
        with pytest.raises(ArgumentError, match="dropout: p="):
            F.dropout(x, p)


def test_dropout_gradient_is_the_mask() -> None:
    tl.manual_seed(3)
    x = Value(np.arange(1.0, 13.0).reshape(3, 4))
    y = F.dropout(x, 0.25)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, y.data / x.data)
    # a fresh generator with one seed on every call: the same mask, so fn is deterministic
    assert gradcheck(lambda v: F.dropout(v, 0.25, generator=np.random.default_rng(0)), [X])
