"""Property tests of every op in tests/op_specs.py.

For every spec, on random shapes (broadcasting included) and values in the op's domain:
gradients equal central finite differences in float64; float32 inputs keep float32 data and
gradients and agree with float64; second derivatives are right (where they exist); Python
float inputs stay Python floats; and, where torch is installed, values and gradients equal
torch's. The number of examples comes from the hypothesis profile (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_specs import SPECS, Case, OpSpec

import tinygrad_lite as tl
from tinygrad_lite import Value
from tinygrad_lite.core import OPS, toposort
from tinygrad_lite.testing import gradcheck, gradgradcheck

EXAMPLES = settings().max_examples  # from the loaded profile
FEW = max(2, EXAMPLES // 3)  # for the slow (second order) and the cheap-to-exhaust tests

ids = lambda spec: spec.name
SCALAR_SPECS = [s for s in SPECS if s.scalar_inputs is not None]
SECOND_ORDER_SPECS = [s for s in SPECS if s.twice_differentiable]
TORCH_SPECS = [s for s in SPECS if s.torch is not None]


def _bound(spec: OpSpec, case: Case) -> Any:
    """``spec.fn`` with the case's static arguments filled in: a function of Values only."""
    return lambda *xs: spec.fn(*xs, **case.params)


def _cotangent(out: tl.Value) -> Any:
    """A fixed random gradient for the output (1.0 for a Python float)."""
    if type(out.data) is float:
        return 1.0
    return np.random.default_rng(0).standard_normal(out.shape).astype(out.dtype)


def _assert_close32(actual: Any, expected: Any) -> None:
    """float32 against float64: relative 1e-4, absolute 1e-4 of the largest magnitude."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(
        np.asarray(actual, np.float64), expected, rtol=1e-4, atol=1e-4 * scale
    )


# ---------------------------------------------------------------- the spec list is complete


def test_every_primitive_has_a_spec():
    covered = {name for spec in SPECS for name in spec.covers}
    missing = set(OPS) - covered
    assert not missing, f"primitives without a property test: add specs to op_specs.py: {missing}"


def test_specs_name_real_primitives_and_are_unique():
    # a tl.Function's node reports its class name as its op
    unknown = {n for spec in SPECS for n in spec.covers} - set(OPS) - {"Cube"}
    assert not unknown, f"specs cover primitives that are not in ops.OPS: {unknown}"
    names = [spec.name for spec in SPECS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("spec", SPECS, ids=ids)
@settings(deadline=None, max_examples=FEW)
@given(data=st.data())
def test_spec_runs_the_primitives_it_claims(spec: OpSpec, data: st.DataObject):
    case = data.draw(spec.inputs, label="case")
    out = spec.fn(*case.values(), **case.params)
    made = {v.op for v in toposort([out])}
    assert set(spec.covers) <= made, f"{spec.name} claims {spec.covers} but its graph has {made}"


@pytest.mark.parametrize("spec", SPECS, ids=ids)
@settings(deadline=None, max_examples=FEW)
@given(data=st.data())
def test_every_node_labels_the_arrow_to_each_parent(spec: OpSpec, data: st.DataObject):
    # the label of a row is what the drawings and backward_steps write on a backward arrow
    case = data.draw(spec.inputs, label="case")
    out = spec.fn(*case.values(), **case.params)
    for node in toposort([out]):
        for j in range(len(node.parents)):
            label = tl.core.local_label(node, j)
            assert label and "{" not in label, (node.op, j, label)


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("spec", SPECS, ids=ids)
@settings(deadline=None, max_examples=EXAMPLES)
@given(data=st.data())
def test_gradients_match_finite_differences(spec: OpSpec, data: st.DataObject):
    case = data.draw(spec.inputs, label="case")
    assert gradcheck(_bound(spec, case), case.values())


@pytest.mark.parametrize("spec", SECOND_ORDER_SPECS, ids=ids)
@settings(deadline=None, max_examples=FEW)
@given(data=st.data())
def test_second_derivatives_match_finite_differences(spec: OpSpec, data: st.DataObject):
    case = data.draw(spec.inputs, label="case")
    assert gradgradcheck(_bound(spec, case), case.values())


@pytest.mark.parametrize("spec", SCALAR_SPECS, ids=ids)
@settings(deadline=None, max_examples=FEW)
@given(data=st.data())
def test_python_floats_stay_python_floats(spec: OpSpec, data: st.DataObject):
    case = data.draw(spec.scalar_inputs, label="case")
    xs = case.values()
    out = spec.fn(*xs, **case.params)
    assert type(out.data) is float
    out.backward()
    assert [type(x.grad) for x in xs] == [float] * len(xs)
    assert gradcheck(_bound(spec, case), xs)
    if spec.twice_differentiable:
        assert gradgradcheck(_bound(spec, case), xs)


@pytest.mark.parametrize(
    "spec", [s for s in SCALAR_SPECS if s.name != "weighted_sum"], ids=ids
)  # the books' neuron takes scalar Values only
@settings(deadline=None, max_examples=FEW)
@given(data=st.data())
def test_python_floats_agree_with_arrays(spec: OpSpec, data: st.DataObject):
    # a row computes Python floats with math and arrays with NumPy: two implementations of one
    # op, so each checks the other (value and gradient), with no reference library installed
    case = data.draw(spec.scalar_inputs, label="case")
    xs, arrays = case.values(), [Value(np.array(a)) for a in case.args]
    out, out_array = spec.fn(*xs, **case.params), spec.fn(*arrays, **case.params)
    np.testing.assert_allclose(out.data, out_array.data, rtol=1e-12, atol=1e-300)
    out.backward()
    out_array.backward()
    for x, a in zip(xs, arrays):
        np.testing.assert_allclose(x.grad, a.grad, rtol=1e-12, atol=1e-300)


# ---------------------------------------------------------------- dtypes


@pytest.mark.parametrize("spec", SPECS, ids=ids)
@settings(deadline=None, max_examples=EXAMPLES)
@given(data=st.data())
def test_float32_stays_float32_and_agrees_with_float64(spec: OpSpec, data: st.DataObject):
    case32 = data.draw(spec.inputs, label="case").astype(np.float32)
    case64 = case32.astype(np.float64)  # the same (float32-rounded) numbers, in float64

    xs = case32.values()
    out = spec.fn(*xs, **case32.params)
    if any(isinstance(a, np.ndarray) for a in case32.args):
        assert out.dtype == np.float32
    cotangent = _cotangent(out)
    out.backward(cotangent)
    for x in xs:
        if type(x.data) is float:
            assert type(x.grad) is float
        else:
            assert (x.grad.dtype, x.grad.shape) == (np.float32, x.shape)

    xs64 = case64.values()
    out64 = spec.fn(*xs64, **case64.params)
    grads64 = tl.grad(out64, xs64, grad_outputs=_as_float64(cotangent))
    _assert_close32(out.data, out64.data)
    for x, g64 in zip(xs, grads64):
        _assert_close32(x.grad, g64)


@pytest.mark.parametrize("spec", SECOND_ORDER_SPECS, ids=ids)
@settings(deadline=None, max_examples=FEW)
@given(data=st.data())
def test_float32_second_derivatives_stay_float32(spec: OpSpec, data: st.DataObject):
    case = data.draw(spec.inputs, label="case").astype(np.float32)
    xs = case.values()
    out = spec.fn(*xs, **case.params)
    firsts = tl.grad(out, xs, grad_outputs=_cotangent(out), create_graph=True)
    total = sum((g**2).sum() for g in firsts)
    if not total.requires_grad:  # a linear op: its gradient does not depend on the inputs
        return
    seconds = tl.grad(total, xs, allow_unused=True)
    for x, g1, g2 in zip(xs, firsts, seconds):
        if type(x.data) is float:
            continue  # see test_create_graph_gradient_of_a_python_float_is_a_python_float
        assert g1.dtype == np.float32
        assert g2 is None or (g2.dtype, g2.shape) == (np.float32, x.shape)


def _as_float64(g: Any) -> Any:
    return g if type(g) is float else np.asarray(g, dtype=np.float64)


# ---------------------------------------------------------------- torch as the reference


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch", reason="torch is the optional reference engine")
    torch.set_num_threads(1)  # tiny tensors; threads only fight the other tests for the cores
    return torch


@pytest.mark.parametrize("spec", TORCH_SPECS, ids=ids)
@settings(deadline=None, max_examples=EXAMPLES)
@given(data=st.data())
def test_values_and_gradients_match_torch(spec: OpSpec, data: st.DataObject, torch: Any):
    case = data.draw(spec.inputs, label="case")
    xs = case.values()
    out = spec.fn(*xs, **case.params)
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in case.args]
    expected = spec.torch(torch, *ts, **case.params)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-12)

    cotangent = _cotangent(out)
    ours = tl.grad(out, xs, grad_outputs=cotangent)
    theirs = torch.autograd.grad(
        expected, ts, grad_outputs=torch.as_tensor(cotangent, dtype=torch.float64)
    )
    for g, t in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(g), t.numpy(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- regressions these tests found


@pytest.mark.parametrize(
    "fn",
    [
        pytest.param(lambda x: (lambda e: e * e)(x[0]), id="x[0] used twice"),
        pytest.param(lambda x: (lambda s: s * s + s)(x.sum_to(())), id="sum_to used twice"),
    ],
)
def test_a_0d_value_used_twice_backpropagates(fn):
    # two 0-d gradients add up to a NumPy scalar; the engine must keep it a 0-d array
    assert gradcheck(fn, [np.array([1.0, 2.0, 3.0])])


def test_the_gradient_of_a_0d_value_used_twice_is_a_0d_array():
    x = Value(np.array([1.0, 2.0]))
    s = x.sum()
    (s * s).backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    assert type(s.grad) is np.ndarray and s.grad.shape == ()


def test_create_graph_gradient_of_a_python_float_is_a_python_float():
    # scalars stay Python floats in graph mode too, even after meeting a float32 array
    x = Value(1.5)
    out = x * np.array([1.0, 2.0], dtype=np.float32)
    (raw,) = tl.grad(out, [x], grad_outputs=np.ones(2, dtype=np.float32))
    (graph,) = tl.grad(out, [x], grad_outputs=np.ones(2, dtype=np.float32), create_graph=True)
    assert type(raw) is float and raw == 3.0
    assert type(graph.data) is float and graph.data == 3.0
