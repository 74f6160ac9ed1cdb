"""``tl.jit``: record a training step once, replay it without building the graph again.

A training step makes the same graph every time: the same ops on arrays of the same shapes.
``tl.jit(step)`` runs the first call of each signature (the shapes and dtypes of the arrays and
Values it is given, and its other arguments) as usual and reads it into a program
(``core.tracing``); later calls run that program, which applies the same rules to the new data
but makes no Value, sorts no graph and checks nothing it checked already.

>>> import numpy as np, tinygrad_lite as tl
>>> from tinygrad_lite import nn, optim
>>> import tinygrad_lite.nn.functional as F
>>> _ = tl.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> opt = optim.SGD(model.parameters(), lr=0.1)
>>> @tl.jit
... def step(x, y):
...     opt.zero_grad()
...     loss = F.cross_entropy(model(x), y)
...     loss.backward()
...     opt.step()
...     return loss
>>> x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
>>> y = np.arange(16) % 3
>>> losses = [step(x, y).item() for _ in range(30)]
>>> losses[-1] < losses[0]
True

Rules a traced step follows (``docs/jit.md`` says more):

* it takes arrays, Values and other arguments (numbers, strings...: a new value traces again),
  runs forward passes, ``backward()`` and optimizer steps, and returns Values (the loss) or
  None; its Python control flow must not depend on the data;
* arrays it computes with NumPy from its inputs, outside the graph, are not recomputed by a
  replay: compute them with Values, or pass them in as arguments. The second call traces again
  and compares (and every ``check_every``-th call, if given): a difference raises JitError
  naming the first op or constant that changed;
* randomness drawn through the library (dropout; ``core.random_leaf``) is drawn afresh on every
  replay; optimizers' ``step()``/``zero_grad()``, modules' ``zero_grad()`` and batch norm's
  running statistics are replayed.

What a replay cannot repeat (a ``tl.Function`` of the user's, ``tl.grad`` inside the step, a
parameter updated by hand) makes that signature run eagerly, with a warning that says why.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import numpy as np

from .core import ArgumentError, TinygradLiteError, Value, is_grad_enabled
from .core.errors import TraceError
from .core.grad_mode import anomaly_origins
from .core.tracing import Program, flatten_result, trace

__all__ = ["JitError", "Jitted", "jit"]


class JitError(TinygradLiteError, RuntimeError):
    """A traced step did something else than when it was traced (its graph or its constants
    changed), so its replay would be wrong."""


def jit(fn: Callable[..., Any] | None = None, *, check_every: int | None = None) -> Any:
    """Trace ``fn`` (a training step) on its first call per signature and replay it after.

    ``check_every=N`` traces again every N-th call and compares with the recorded program (the
    second call is always checked); ``fn.eager(...)`` runs ``fn`` itself. Use as ``tl.jit(fn)``,
    ``@tl.jit`` or ``@tl.jit(check_every=100)``.
    """
    if check_every is not None and (
        isinstance(check_every, bool) or not isinstance(check_every, int) or check_every < 1
    ):
        raise ArgumentError(
            f"jit: check_every={check_every!r} must be a whole number >= 1, or None"
        )
    if fn is None:
        return lambda f: jit(f, check_every=check_every)
    if not callable(fn):
        raise ArgumentError(
            f"jit: expected a function (the training step), got {type(fn).__name__}"
        )
    return Jitted(fn, check_every)


class _Call(NamedTuple):
    """One call of the traced function: its arguments, and the arrays and Values among them
    (``inputs``) and the other objects its signature holds by identity (``others``)."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    inputs: list[Any]
    others: list[Any]


@dataclass(eq=False)
class _Plan:
    program: Program
    build: Callable[[list[Any]], Any]  # the returned structure from the outputs' data
    keep: tuple[Any, ...]  # the objects of the signature (kept alive: their ids are in it)
    calls: int = 0


class Jitted:
    """A traced function: call it like ``fn``; ``eager(...)`` runs ``fn`` itself."""

    def __init__(self, fn: Callable[..., Any], check_every: int | None) -> None:
        self.fn = fn
        self.check_every = check_every
        # per signature: its plans (one per state of the modules' training flags they were
        # traced in), or why it runs eagerly
        self.plans: dict[Any, list[_Plan] | str] = {}
        functools.update_wrapper(self, fn)

    def eager(self, *args: Any, **kwargs: Any) -> Any:
        """Run the function itself, as if it were not traced."""
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"jit({name}, {len(self.plans)} signature(s))"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not is_grad_enabled() or anomaly_origins() is not None:
            return self.fn(*args, **kwargs)  # no_grad (nothing to record), detect_anomaly
        inputs: list[Any] = []
        others: list[Any] = []
        if not kwargs and all(type(a) is np.ndarray for a in args):  # the usual step(x, y)
            inputs = list(args)
            key: Any = tuple([(a.shape, a.dtype.str) for a in args])
        else:
            key = (_key((args, kwargs), inputs, others),)
        entry = self.plans.get(key)
        if entry is None:
            return self._trace(key, _Call(args, kwargs, inputs, others))
        if type(entry) is str:
            return self.fn(*args, **kwargs)
        for plan in cast(list[_Plan], entry):
            if plan.program.holds():  # traced in the modes the modules are in now
                break
        else:  # model.eval() since: a graph of its own (no dropout, running statistics)
            return self._trace(key, _Call(args, kwargs, inputs, others))
        plan.calls += 1
        if plan.calls == 1 or (self.check_every and plan.calls % self.check_every == 0):
            return self._check(key, plan, _Call(args, kwargs, inputs, others))
        data = [x.data if type(x) is Value else x for x in inputs]
        values = [x if type(x) is Value else None for x in inputs]
        return plan.build(plan.program.run(data, values))

    def _trace(self, key: Any, call: _Call) -> Any:
        result, program = trace(self.fn, call.args, call.kwargs, call.inputs)
        if isinstance(program, TraceError):
            self._give_up(key, program, stacklevel=4)
            return result
        _, build = flatten_result(result)
        plans = self.plans.setdefault(key, [])
        cast(list[_Plan], plans).append(_Plan(program, build, tuple(call.others)))
        return result

    def _give_up(self, key: Any, why: TraceError, stacklevel: int) -> None:
        """From now on, run the step eagerly for the signature ``key``, and warn why."""
        warnings.warn(
            f"tl.jit: {self._name()} cannot be replayed: {why}; it runs eagerly for these "
            "arguments",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
        self.plans[key] = str(why)

    def _name(self) -> str:
        return getattr(self.fn, "__qualname__", "the step")

    def _check(self, key: Any, plan: _Plan, call: _Call) -> Any:
        """Trace this call too and compare with the recorded program."""
        held = [leaf for _, leaf in plan.program.params]
        result, program = trace(self.fn, call.args, call.kwargs, call.inputs, held)
        if isinstance(program, TraceError) and program.written:  # ran eagerly: no replay
            self._give_up(key, program, stacklevel=4)
            return result
        if isinstance(program, TraceError):
            difference: str | None = f"this time it cannot be replayed: {program}"
        else:
            difference = _difference(plan.program, program)
        if difference is not None or isinstance(program, TraceError):
            raise JitError(
                f"tl.jit: {self._name()} did something else on call {plan.calls + 1} than "
                f"when it was traced: {difference}. A replay repeats the traced step "
                "exactly, so Python control flow must not depend on the data, and arrays the "
                "step computes with NumPy must be passed in as arguments (or computed with "
                "Values). Run such a step with .eager(...)"
            )
        program.keep_fresh(plan.program)
        _, build = flatten_result(result)
        plans = cast(list[_Plan], self.plans[key])
        plans[plans.index(plan)] = _Plan(program, build, tuple(call.others), plan.calls)
        return result


def _key(x: Any, inputs: list[Any], others: list[Any]) -> Any:
    """The signature of an argument: arrays and Values by shape and dtype (collected in
    ``inputs``), containers item by item, other objects by value if hashable, else by
    identity (collected in ``others``, kept alive while the plan is)."""
    t = type(x)
    if t is np.ndarray:
        inputs.append(x)
        return ("array", x.shape, x.dtype.str)
    if t is Value:
        inputs.append(x)
        return ("value", x.shape, x.dtype.str, x.requires_grad)
    if t is tuple or t is list:
        return (t.__name__, *[_key(y, inputs, others) for y in x])
    if t is dict:
        return ("dict", *[(k, _key(v, inputs, others)) for k, v in x.items()])
    try:
        hash(x)
    except TypeError:
        others.append(x)
        return ("object", id(x))
    if isinstance(x, (int, float, str, bytes, bool, type(None), np.generic)):
        return ("const", t.__name__, x)
    others.append(x)
    return ("object", id(x))


def _difference(old: Program, new: Program) -> str | None:
    """What differs between two traces of one step, in words; None if nothing does."""
    for i, (a, b) in enumerate(zip(old.ops, new.ops)):
        if a != b or old.shapes[i] != new.shapes[i]:
            return (
                f"op {i + 1} was {a} of shape {old.shapes[i][0]} and is now {b} of shape "
                f"{new.shapes[i][0]}"
            )
    if len(old.ops) != len(new.ops):
        return f"it made {len(old.ops)} ops and now makes {len(new.ops)}"
    for i, (a, b) in enumerate(zip(old.leaves, new.leaves)):
        if a == b:
            continue
        if a[0] == "constant" and b[0] == "constant":
            return (
                f"constant {i + 1} ({_describe(a[1])}) holds other numbers: it was computed "
                "outside the graph, from the step's inputs or random numbers"
            )
        return f"leaf {i + 1} was {_kind(a)} and is now {_kind(b)}"
    if len(old.leaves) != len(new.leaves):
        return f"it used {len(old.leaves)} leaves and now uses {len(new.leaves)}"
    kinds_old = [step[0] for step in old.plan]
    kinds_new = [step[0] for step in new.plan]
    if kinds_old != kinds_new:
        return "its backward passes and optimizer calls came in another order"
    return None


def _describe(fingerprint: Any) -> str:
    if fingerprint[0] == "array":
        return f"an array of shape {fingerprint[1]}"
    return f"the number {fingerprint[1]!r}"


def _kind(leaf: Any) -> str:
    return {
        "param": "a parameter",
        "input": "an input",
        "random": "random numbers",
        "detached": "a detached output",
        "constant": "a constant",
    }[leaf[0]] + (f" ({_describe(leaf[1])})" if leaf[0] == "constant" else "")
