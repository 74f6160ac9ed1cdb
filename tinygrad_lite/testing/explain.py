"""Which backward rule is wrong? ``explain`` checks every node's local rule on its own.

``gradcheck`` says whether the gradient of a whole function is right. When it is not, the
culprit is one node whose backward rule disagrees with its forward rule. ``explain`` walks the
graph in the order backward does, and at each node compares what the node's backward rule
sends to each input (the analytic vector-Jacobian product) with central finite differences of
that node's OWN forward rule, weighted by the gradient arriving at the node:

    numerical_i = sum(g * (f(x + eps e_i) - f(x - eps e_i))) / (2 eps)

Because every check is local, a wrong rule is found exactly where it is, even deep inside a
big expression, and the nodes after it (whose own rules are right) are not blamed. The
perturbed forwards run in float64 on copies; the inputs and their ``.grad`` are never touched.

At a kink (``relu`` at 0, ``abs`` at 0, ``max`` with ties) the central difference is the mean
of the two one-sided slopes; a rule that picks any value between them is accepted there.

>>> import tinygrad_lite as tl
>>> from tinygrad_lite.testing.explain import explain
>>> class Cube(tl.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x * x
...     @staticmethod
...     def backward(ctx, g):
...         (x,) = ctx.saved_tensors
...         return 2 * x * x * g  # wrong: d(x^3)/dx is 3x^2
>>> result = explain(lambda a: (Cube.apply(a) + a).tanh(), [tl.Value(0.5, name="a")])
>>> result.ok, result.first.op, result.first.parent_name
(False, 'Cube', 'a')
>>> print(result.first.headline())
step 3, (Cube), input 0 a: analytic 0.34621 vs numerical 0.519314
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import GradientError, Step, Value, backward_steps, rerun, value_text
from ..core.shapes import as_data, fit_grad
from .common import call, float64_copies

SEED = 0  # the cotangent of a non-scalar output is drawn from this seed: reproducible


@dataclass(frozen=True)
class NodeCheck:
    """One node's backward rule, for one of its inputs, against finite differences."""

    node: Value
    step: int  # the order of the backward pass: 1 is the output
    name: str  # the node's name, or its operation
    op: str  # the operation (a tl.Function's class name)
    parent: int  # which input of the node
    parent_name: str
    upstream: Any  # the gradient arriving at the node, dL/dnode
    local: float | None  # d node / d input by finite differences (scalar node and input)
    analytic: Any  # what the backward rule gives for this input (at the worst element)
    numerical: Any  # finite differences of the node's forward, times upstream (same element)
    where: str = ""  # "element (1, 0)" for arrays: the element shown
    error: float = 0.0  # |analytic - numerical| there
    ok: bool = True
    note: str = ""  # why it failed without numbers, why it was not checked, or "kink"

    def headline(self) -> str:
        node = self.name if self.name == f"({self.op})" else f"{self.name} ({self.op})"
        who = f"step {self.step}, {node}, input {self.parent} {self.parent_name}"
        if self.note and self.analytic is None:
            return f"{who}: {self.note}"
        at = f" at {self.where}" if self.where else ""
        return f"{who}{at}: analytic {_num(self.analytic)} vs numerical {_num(self.numerical)}"

    def summary_lines(self) -> list[str]:
        """The lines a drawing puts on the node."""
        if self.analytic is None:
            return [f"input {self.parent_name}: {self.note}"]
        lines = [f"input {self.parent_name}{' ' + self.where if self.where else ''}:"]
        lines.append(f"rule gives {_num(self.analytic)}, finite diff {_num(self.numerical)}")
        if self.local is not None:
            lines.append(f"upstream {_num(self.upstream)} x local {_num(self.local)}")
        return lines


@dataclass
class Explanation:
    """The result of ``explain``: every check, in the backward order."""

    output: Value  # the graph that was walked (built from float64 copies of the inputs)
    checks: list[NodeCheck]
    steps: list[Step] = field(repr=False)  # the backward walk the checks were made on

    @property
    def failures(self) -> list[NodeCheck]:
        return [c for c in self.checks if not c.ok]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def first(self) -> NodeCheck | None:
        """The first disagreeing rule in the backward order: where the gradient goes wrong."""
        bad = self.failures
        return bad[0] if bad else None

    def __str__(self) -> str:
        nodes = len({id(c.node) for c in self.checks})
        head = f"explain: {len(self.checks)} local backward rules checked at {nodes} nodes"
        if self.ok:
            return f"{head}; all agree with finite differences"
        lines = [f"{head}; {len(self.failures)} disagree"]
        for c in self.failures:
            lines.append(f"  {c.headline()}")
            if c.analytic is not None:
                lines.append(f"    upstream gradient {_num(c.upstream)}")
                if c.local is not None:
                    lines.append(f"    local derivative by finite differences {_num(c.local)}")
                lines.append(f"    |analytic - numerical| = {c.error:.3g}")
        return "\n".join(lines)


def explain(
    fn: Callable[..., Value],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    grad_output: Any = None,
) -> Explanation:
    """Check every node's local backward rule in ``fn(*inputs)`` against finite differences.

    ``inputs`` as for ``gradcheck``: Values (used through float64 copies) or numbers and
    arrays. A non-scalar output is projected onto ``grad_output`` (default: a seeded random
    array). Returns an :class:`Explanation`; ``.first`` names the first disagreeing node, its
    operation, the upstream gradient, the local derivative, and both values.
    """
    args = float64_copies(inputs, "explain")
    out = call(fn, args, "explain")
    if not out.requires_grad:
        raise GradientError(
            "explain: fn's output needs no gradient (no input or parameter it uses has "
            "requires_grad=True), so there is no backward rule to check"
        )
    steps = backward_steps(out, _seed(out, grad_output), catch=True)
    checks: list[NodeCheck] = []
    for step in steps:  # the order of the engine's backward pass
        if not step.value.is_leaf:
            checks += _check_step(step, eps, atol, rtol)
    return Explanation(out, checks, steps)


# ---------------------------------------------------------------- one node


def _check_step(step: Step, eps: float, atol: float, rtol: float) -> list[NodeCheck]:
    node = step.value
    base = dict(node=node, step=step.index, name=_name(node), op=node.op, upstream=step.grad)
    if step.error is not None:  # a rule that crashes is the culprit as much as a wrong one
        note = f"backward raised {step.error}"
        return [
            _unchecked(base, j, p, note, ok=False)
            for j, p in enumerate(node.parents)
            if p.requires_grad
        ]
    g = step.grad
    return [_compare(base, node, t.index, t.product, g, eps, atol, rtol) for t in step.terms]


def _compare(
    base: dict[str, Any],
    node: Value,
    j: int,
    analytic: Any,
    g: Any,
    eps: float,
    atol: float,
    rtol: float,
) -> NodeCheck:
    xs = [_float64(p.data) for p in node.parents]
    g64 = _float64(g)
    central, left, right = _differences(node, xs, j, g64, eps)
    a = np.asarray(analytic, dtype=np.float64)
    tol = atol + rtol * np.abs(central)
    close = np.abs(a - central) <= tol
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    at_kink = ~close & (a >= lo - tol) & (a <= hi + tol)  # a valid one-sided slope
    ok = bool(np.all(close | at_kink))
    error = np.where(close | at_kink, 0.0, np.abs(a - central))
    i = int(np.argmax(error)) if error.size > 1 else 0
    parent = node.parents[j]
    scalar = np.ndim(central) == 0
    local = None
    if scalar and type(node.data) is float and type(g) is float and g != 0.0:
        local = float(central) / g  # d node / d input, read back from the weighted difference
    return NodeCheck(
        **base,
        parent=j,
        parent_name=_name(parent),
        local=local,
        analytic=float(a.flat[i]),
        numerical=float(np.ravel(central)[i]),
        where="" if scalar else f"element {np.unravel_index(i, np.shape(central))}",
        error=float(np.ravel(np.abs(a - central))[i]),
        ok=ok,
        note="kink: one-sided slopes differ" if ok and bool(np.any(at_kink)) else "",
    )


def _differences(node: Value, xs: list[Any], j: int, g: Any, eps: float) -> tuple[Any, ...]:
    """Central, left and right differences of sum(g * node's forward(xs)) in each element of
    xs[j]: the node's own rule, re-run on perturbed copies of its inputs."""

    def phi(args: list[Any]) -> float:
        return float(np.sum(g * np.asarray(rerun(node, *args), dtype=np.float64)))

    f0 = phi(xs)
    if type(xs[j]) is float:
        x = xs[j]
        fp = phi([*xs[:j], x + eps, *xs[j + 1 :]])
        fm = phi([*xs[:j], x - eps, *xs[j + 1 :]])
        return (fp - fm) / (2 * eps), (f0 - fm) / eps, (fp - f0) / eps
    arr = xs[j]
    central, left, right = (np.zeros(arr.shape) for _ in range(3))
    for i in range(arr.size):
        keep = arr.flat[i]
        arr.flat[i] = keep + eps
        fp = phi(xs)
        arr.flat[i] = keep - eps
        fm = phi(xs)
        arr.flat[i] = keep
        central.flat[i] = (fp - fm) / (2 * eps)
        left.flat[i], right.flat[i] = (f0 - fm) / eps, (fp - f0) / eps
    return central, left, right


# ---------------------------------------------------------------- small pieces


def _seed(out: Value, grad_output: Any) -> Any:
    if grad_output is not None:
        g = grad_output.data if isinstance(grad_output, Value) else as_data(grad_output)
        return _fit(g, out.data)
    if type(out.data) is float:
        return 1.0
    return np.random.default_rng(SEED).standard_normal(out.shape)


def _fit(grad: Any, like: Any) -> Any:
    if grad is None:
        return 0.0 if type(like) is float else np.zeros_like(like)
    return fit_grad(grad, like)


def _float64(x: Any) -> Any:
    return x if type(x) is float else np.array(x, dtype=np.float64)


def _unchecked(base: dict[str, Any], j: int, p: Value, note: str, ok: bool) -> NodeCheck:
    return NodeCheck(
        **base,
        parent=j,
        parent_name=_name(p),
        local=None,
        analytic=None,
        numerical=None,
        ok=ok,
        note=note,
    )


def _name(v: Value) -> str:
    return value_text(v) if v.name is not None or v.op is not None else "(leaf)"


def _num(x: Any) -> str:
    if x is None:
        return "-"
    if np.ndim(x) == 0:
        return f"{float(x):.6g}"
    arr = np.asarray(x)
    return f"array of shape {arr.shape}"
