"""The project's own campaign: the public API fed what a careless user or an attacker would.

Every target below is a public function or constructor with, for each argument, a strategy of
good values; hypothesis swaps any of them for a value from ``WEIRD`` (wrong types, NaN,
infinities, empty and ragged arrays, numbers too large for any machine, computed Values...).
Each call must either return or raise a named error (a subclass of ``tl.TinygradLiteError``)
whose message names the function; any other exception fails the campaign, with the call that
raised it.

Bounds: shapes stay small, and the huge numbers (``10**12``, ``2**62``) are far beyond any
memory, so a function that tries to allocate them fails at once instead of filling the
machine; the library must refuse them before allocating. Each example has a deadline.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the campaign is a hypothesis test")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import tinygrad_lite as tl  # noqa: E402
import tinygrad_lite.errors  # noqa: E402
import tinygrad_lite.nn.functional as F  # noqa: E402
from tinygrad_lite import data, metrics, nn, optim, train, viz  # noqa: E402
from tinygrad_lite.testing import gradcheck  # noqa: E402

# the named errors: every error the campaign sees must be one of these
NAMED = tuple(getattr(tinygrad_lite.errors, n) for n in tinygrad_lite.errors.__all__)

HUGE = 10**12  # elements: terabytes, more than any machine that runs the tests

# ---------------------------------------------------------------- what a careless user passes


def _computed() -> tl.Value:
    return tl.Value(np.ones(3)) * 2.0


def _ragged() -> list[list[float]]:
    return [[1.0, 2.0], [3.0]]


# factories, not objects: every example gets fresh Values and arrays to mutate
WEIRD_FACTORIES: tuple[Callable[[], Any], ...] = (
    lambda: None,
    lambda: "4",
    lambda: "abc",
    lambda: b"\x00",
    lambda: True,
    lambda: math.nan,
    lambda: math.inf,
    lambda: -math.inf,
    lambda: 0,
    lambda: -1,
    lambda: 1.5,
    lambda: -0.0,
    lambda: 10**400,
    lambda: 2**62,
    lambda: HUGE,
    lambda: 1 + 2j,
    lambda: [],
    lambda: (),
    lambda: {},
    lambda: object(),
    lambda: np.array([]),
    lambda: np.zeros((0, 3)),
    lambda: np.array([math.nan, 1.0, math.inf]),
    lambda: np.array(["a", "b"]),
    lambda: np.array([1, None], dtype=object),
    lambda: np.ones((2, 3), dtype=np.int64),
    lambda: np.ones(3, dtype=bool),
    lambda: tl.Value(1.0),
    lambda: tl.Value(np.ones((2, 3))),
    _computed,
    _ragged,
    lambda: (HUGE, HUGE),
    lambda: (-1, 2),
    lambda: (2, 2.5),
    lambda: [1, 1],
)
WEIRD = st.sampled_from(WEIRD_FACTORIES).map(lambda make: make())


def arg(*good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A good value most of the time, a weird one otherwise."""
    return st.one_of(*good, WEIRD)


def fresh(make: Callable[[], Any]) -> st.SearchStrategy[Any]:
    return st.builds(make)


def small(shape: tuple[int, ...] = (2, 3), low: float = -3.0, high: float = 3.0) -> Any:
    return st.builds(
        lambda seed: np.random.default_rng(seed).uniform(low, high, size=shape), st.integers(0, 99)
    )


def value(shape: tuple[int, ...] = (2, 3)) -> st.SearchStrategy[tl.Value]:
    return small(shape).map(tl.Value)


AXES = st.integers(-3, 3)
COUNTS = st.integers(1, 6)
RATES = st.floats(0.0, 1.0)
BOOLS = st.booleans()


def _params() -> list[tl.Value]:
    return [tl.Value(np.ones(3)), tl.Value(np.zeros((2, 2)))]


def _model() -> nn.Module:
    return nn.Linear(2, 1, dtype=np.float64)


def _graph() -> tl.Value:
    x = tl.Value(np.arange(3.0), name="x")
    y = (x * 2.0).tanh().sum()
    y.backward()
    return y


def _fit(model: Any, loss: Any, X: Any, y: Any, **kw: Any) -> Any:
    model_ = _model() if isinstance(model, str) and model == "model" else model
    params = model_.parameters() if isinstance(model_, nn.Module) else [tl.Value(1.0)]
    return train.fit(model_, loss, optim.SGD(params, lr=0.1), (X, y), verbose=False, **kw)


# ---------------------------------------------------------------- the targets


@dataclass
class Target:
    name: str
    call: Callable[..., Any]
    args: dict[str, st.SearchStrategy[Any]]
    named: tuple[str, ...] = ()  # names a message may use besides ``name``
    check: Callable[[Any], bool] = field(default=lambda result: True)


def _value_method(method: str, *, named: tuple[str, ...] = (), **args: Any) -> Target:
    def call(x: Any, **kw: Any) -> Any:
        return getattr(tl.Value(x), method)(*kw.values())

    return Target(method, call, {"x": arg(small()), **args}, ("Value", *named), _is_value)


def _is_value(result: Any) -> bool:
    return isinstance(result, tl.Value)


def _is_number(result: Any) -> bool:
    return isinstance(result, float)


TARGETS: list[Target] = [
    Target(
        "Value",
        lambda data, requires_grad, name: tl.Value(data, requires_grad, name),
        {"data": arg(small(), st.floats()), "requires_grad": arg(BOOLS), "name": arg(st.text())},
        check=_is_value,
    ),
    _value_method("pow", e=arg(st.floats(-3, 3), value())),
    _value_method("leaky_relu", slope=arg(st.floats(-1, 1))),
    _value_method("clip", low=arg(st.floats(-2, 0)), high=arg(st.floats(0, 2))),
    _value_method("softmax", axis=arg(AXES)),
    _value_method("log_softmax", axis=arg(AXES)),
    _value_method("sum", axis=arg(AXES), keepdims=arg(BOOLS)),
    _value_method("mean", axis=arg(AXES), keepdims=arg(BOOLS)),
    _value_method("max", axis=arg(AXES), keepdims=arg(BOOLS)),
    _value_method("reshape", shape=arg(st.just((3, 2)), st.just((-1,)))),
    _value_method("transpose", a=arg(st.just(1)), b=arg(st.just(0))),
    _value_method("broadcast_to", shape=arg(st.just((4, 2, 3)))),
    Target(
        "backward",
        lambda x, gradient: tl.Value(x).backward(gradient),
        {"x": arg(small()), "gradient": arg(small())},
        ("Value",),
    ),
    Target(
        "getitem",
        lambda x, index: tl.Value(x)[index],
        {"x": arg(small()), "index": arg(st.integers(-2, 1), st.just((slice(None), 1)))},
        ("index", "Value"),
        _is_value,
    ),
    Target(
        "matmul",
        lambda a, b: tl.Value(a) @ b,
        {"a": arg(small()), "b": arg(small((3, 2)), value((3, 2)))},
        ("Value",),
        _is_value,
    ),
    Target(
        "add",
        lambda a, b: tl.Value(a) + b,
        {"a": arg(small()), "b": arg(small(), st.floats())},
        ("Value",),
        _is_value,
    ),
    Target(
        "concat",
        lambda values, axis: tl.concat(values, axis),
        {"values": arg(st.lists(value(), min_size=1, max_size=3)), "axis": arg(AXES)},
        check=_is_value,
    ),
    Target(
        "stack",
        lambda values, axis: tl.stack(values, axis),
        {"values": arg(st.lists(value(), min_size=1, max_size=3)), "axis": arg(AXES)},
        check=_is_value,
    ),
    Target(
        "where",
        lambda c, a, b: tl.where(c, a, b),
        {"c": arg(small().map(lambda x: x > 0)), "a": arg(value()), "b": arg(value(), st.floats())},
        check=_is_value,
    ),
    Target(
        "linear",
        lambda x, w, b: tl.linear(x, w, b),
        {"x": arg(value()), "w": arg(value((3, 4))), "b": arg(value((4,)), st.none())},
        check=_is_value,
    ),
    Target(
        "weighted_sum",
        lambda ws, xs, b: tl.weighted_sum(ws, xs, b),
        {
            "ws": arg(st.lists(st.floats(-2, 2).map(tl.Value), min_size=2, max_size=2)),
            "xs": arg(st.lists(st.floats(-2, 2), min_size=2, max_size=2)),
            "b": arg(st.floats(-1, 1).map(tl.Value), st.none()),
        },
        check=_is_value,
    ),
    Target(
        "Linear",
        lambda n_in, n_out, bias, dtype: nn.Linear(n_in, n_out, bias, dtype),
        {
            "n_in": arg(COUNTS),
            "n_out": arg(COUNTS),
            "bias": arg(BOOLS),
            "dtype": arg(st.sampled_from([np.float32, np.float64, "float64"])),
        },
    ),
    Target(
        "Sequential",
        lambda layers: nn.Sequential(*layers),
        {"layers": st.lists(arg(st.sampled_from([nn.ReLU(), nn.Tanh()])), max_size=3)},
    ),
    Target(
        "Dropout",
        lambda p: nn.Dropout(p),
        {"p": arg(st.floats(0.0, 0.99))},
    ),
    *[
        Target(
            loss.__name__,
            lambda a, b, reduction, loss=loss: loss(a, b, reduction),
            {
                "a": arg(small(low=0.01, high=0.99)),
                "b": arg(small(low=0.0, high=1.0)),
                "reduction": arg(st.sampled_from(["mean", "sum", "none"])),
            },
            check=_is_value,
        )
        for loss in (
            F.mse_loss,
            F.l1_loss,
            F.binary_cross_entropy,
            F.binary_cross_entropy_with_logits,
        )
    ],
    Target(
        "cross_entropy",
        lambda logits, labels, reduction: F.cross_entropy(logits, labels, reduction),
        {
            "logits": arg(small()),
            "labels": arg(st.lists(st.integers(0, 2), min_size=2, max_size=2)),
            "reduction": arg(st.sampled_from(["mean", "sum", "none"])),
        },
        check=_is_value,
    ),
    Target(
        "dropout",
        lambda x, p, training: F.dropout(x, p, training),
        {"x": arg(small()), "p": arg(RATES), "training": arg(BOOLS)},
        check=_is_value,
    ),
    *[
        Target(
            make.__name__,
            lambda params, lr, make=make: make(params, lr=lr),
            {"params": arg(fresh(_params)), "lr": arg(st.floats(0.0, 1.0))},
        )
        for make in (optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop)
    ],
    Target(
        "SGD",
        lambda momentum, nesterov, weight_decay: optim.SGD(
            _params(), 0.1, momentum, nesterov, weight_decay
        ),
        {"momentum": arg(RATES), "nesterov": arg(BOOLS), "weight_decay": arg(RATES)},
    ),
    Target(
        "Adam",
        lambda betas, eps: optim.Adam(_params(), 0.1, betas, eps),
        {"betas": arg(st.tuples(RATES, RATES)), "eps": arg(st.floats(0.0, 1.0))},
    ),
    Target(
        "StepLR",
        lambda step_size, gamma: optim.StepLR(optim.SGD(_params(), 0.1), step_size, gamma),
        {"step_size": arg(COUNTS), "gamma": arg(RATES)},
    ),
    Target(
        "load_state_dict",
        lambda state: optim.Adam(_params()).load_state_dict(state),
        {"state": arg(st.just({"lr": 0.1, "state": [{}, {}]}))},
    ),
    Target(
        "clip_grad_norm_",
        lambda params, max_norm, norm_type: optim.clip_grad_norm_(params, max_norm, norm_type),
        {
            "params": arg(fresh(_params)),
            "max_norm": arg(st.floats(0.0, 10.0)),
            "norm_type": arg(st.sampled_from([1.0, 2.0, math.inf])),
        },
    ),
    Target(
        "DataLoader",
        lambda X, y, batch_size, shuffle, drop_last, seed: list(
            data.DataLoader(X, y, batch_size, shuffle, drop_last, seed)
        ),
        {
            "X": arg(small((5, 2))),
            "y": arg(small((5,))),
            "batch_size": arg(COUNTS, st.none()),
            "shuffle": arg(BOOLS),
            "drop_last": arg(BOOLS),
            "seed": arg(st.integers(0, 9), st.none()),
        },
    ),
    Target(
        "train_test_split",
        lambda X, y, test_size, shuffle, seed: data.train_test_split(
            X, y, test_size, shuffle, seed
        ),
        {
            "X": arg(small((6, 2))),
            "y": arg(small((6,))),
            "test_size": arg(st.floats(0.1, 0.5), st.integers(1, 3)),
            "shuffle": arg(BOOLS),
            "seed": arg(st.integers(0, 9), st.none()),
        },
    ),
    Target(
        "train_val_test_split",
        lambda X, y, val_size, test_size: data.train_val_test_split(X, y, val_size, test_size),
        {
            "X": arg(small((10, 2))),
            "y": arg(small((10,))),
            "val_size": arg(st.floats(0.1, 0.3), st.integers(1, 3)),
            "test_size": arg(st.floats(0.1, 0.3), st.integers(1, 3)),
        },
    ),
    Target(
        "k_fold",
        lambda n, k, shuffle, seed: list(data.k_fold(n, k, shuffle, seed)),
        {
            "n": arg(st.integers(2, 12)),
            "k": arg(st.integers(2, 4)),
            "shuffle": arg(BOOLS),
            "seed": arg(st.integers(0, 9), st.none()),
        },
    ),
    Target(
        "Standardizer",
        lambda X, Z: data.Standardizer().fit(X).transform(Z),
        {"X": arg(small((5, 2))), "Z": arg(small((3, 2)))},
    ),
    Target(
        "one_hot",
        lambda labels, num_classes: data.one_hot(labels, num_classes),
        {"labels": arg(st.lists(st.integers(0, 3), max_size=4)), "num_classes": arg(COUNTS)},
    ),
    *[
        Target(
            fn.__name__,
            lambda t, p, fn=fn: fn(t, p),
            {
                "t": arg(st.lists(st.integers(0, 1), min_size=4, max_size=4)),
                "p": arg(st.lists(st.integers(0, 1), min_size=4, max_size=4)),
            },
        )
        for fn in (metrics.accuracy, metrics.precision, metrics.recall, metrics.f1)
    ],
    Target(
        "confusion_matrix",
        lambda t, p: metrics.confusion_matrix(t, p),
        {
            "t": arg(st.lists(st.integers(0, 2), min_size=3, max_size=3)),
            "p": arg(st.lists(st.integers(0, 2), min_size=3, max_size=3)),
        },
    ),
    *[
        Target(
            fn.__name__,
            lambda t, p, fn=fn: fn(t, p),
            {"t": arg(small((4,))), "p": arg(small((4,)))},
            check=_is_number,
        )
        for fn in (metrics.mse, metrics.rmse, metrics.mae)
    ],
    Target(
        "fit",
        lambda model, loss, X, y, epochs, batch_size, validation_data: _fit(
            model, loss, X, y, epochs=epochs, batch_size=batch_size, validation_data=validation_data
        ),
        {
            "model": arg(st.just("model")),
            "loss": arg(st.just(F.mse_loss)),
            "X": arg(small((6, 2))),
            "y": arg(small((6, 1))),
            "epochs": arg(st.integers(1, 2)),
            "batch_size": arg(st.integers(1, 7), st.none()),
            "validation_data": arg(st.tuples(small((3, 2)), small((3, 1))), st.none()),
        },
        ("DataLoader", "mse_loss", "Linear", "matmul", "Value", "linear"),
    ),
    Target(
        "predict",
        lambda X, batch_size: train.predict(_model(), X, batch_size),
        {"X": arg(small((5, 2))), "batch_size": arg(st.integers(1, 6), st.none())},
        ("Linear", "matmul", "Value", "linear"),
    ),
    Target(
        "evaluate",
        lambda X, y, metric: train.evaluate(_model(), F.mse_loss, X, y, [metric]),
        {
            "X": arg(small((5, 2))),
            "y": arg(small((5, 1))),
            "metric": arg(st.sampled_from(["mse", "mae"])),
        },
        ("Linear", "matmul", "Value", "linear", "mse_loss", "mse", "mae", "metric", "predict"),
    ),
    Target(
        "EarlyStopping",
        lambda monitor, patience, min_delta: train.EarlyStopping(monitor, patience, min_delta),
        {
            "monitor": arg(st.just("val_cost")),
            "patience": arg(COUNTS),
            "min_delta": arg(st.floats(0, 1)),
        },
    ),
    Target(
        "draw_forward",
        lambda v, max_nodes: viz.draw_forward(v, max_nodes=max_nodes),
        {"v": arg(fresh(_graph)), "max_nodes": arg(st.integers(1, 20), st.none())},
        ("draw",),
    ),
    Target(
        "draw_backward",
        lambda v, max_nodes: viz.draw_backward(v, max_nodes=max_nodes),
        {"v": arg(fresh(_graph)), "max_nodes": arg(st.integers(1, 20), st.none())},
        ("draw",),
    ),
    Target(
        "gradcheck",
        lambda fn, inputs, eps, atol: gradcheck(fn, inputs, eps=eps, atol=atol),
        {
            "fn": arg(st.just(lambda *xs: (xs[0] * xs[0]).sum() if xs else tl.Value(0.0))),
            "inputs": arg(st.builds(lambda: [tl.Value(np.linspace(-1.0, 1.0, 3))])),
            "eps": arg(st.floats(1e-7, 1e-3)),
            "atol": arg(st.floats(1e-6, 1e-2)),
        },
    ),
]


def attempt(target: Target, drawn: dict[str, Any]) -> None:
    """Call ``target``; anything but a result or a named error naming it fails."""
    shown = ", ".join(f"{k}={_short(v)}" for k, v in drawn.items())
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            result = target.call(**drawn)
    except tl.TinygradLiteError as e:
        assert type(e) in NAMED, f"{target.name}({shown}) raised {type(e).__name__}, which "
        "tinygrad_lite.errors does not export"
        names = (target.name, *target.named)
        assert any(n in str(e) for n in names), (
            f"{target.name}({shown}) raised {type(e).__name__} that names none of {names}: {e}"
        )
        return
    except Exception as e:  # noqa: BLE001 - the campaign's whole point
        pytest.fail(f"{target.name}({shown}) leaked {type(e).__name__}: {e}")
    assert target.check(result), f"{target.name}({shown}) returned {_short(result)}"


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) < 80 else text[:77] + "..."


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_campaign(target: Target) -> None:
    @settings(
        max_examples=40,
        deadline=timedelta(seconds=5),  # generous: the machines are shared; a hang is caught
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(st.fixed_dictionaries(target.args))
    def run(drawn: dict[str, Any]) -> None:
        attempt(target, drawn)

    run()


def test_the_campaign_covers_the_public_surface() -> None:
    names = {t.name for t in TARGETS}
    for required in (
        "Value sum softmax concat stack where linear weighted_sum Linear Sequential mse_loss "
        "SGD Adam DataLoader train_test_split Standardizer accuracy fit predict evaluate "
        "draw_forward draw_backward gradcheck"
    ).split():
        assert required in names, required


# What the campaign once found in the core: raw Python and NumPy errors, now named ones.
FORMER_CORE_LEAKS: dict[str, tuple[type[Exception], str, Callable[[], Any]]] = {
    "an int beyond float64 as data": (
        tl.ArgumentError,
        "Value: an int of about 401 digits",
        lambda: tl.Value(10**400),
    ),
    "an int beyond float64 as an operand": (
        tl.ArgumentError,
        "mul: an int of about 401 digits",
        lambda: tl.Value(1.0) * 10**400,
    ),
    "an array as requires_grad": (
        tl.ArgumentError,
        "Value: requires_grad=array([1., 2.]) must be True or False",
        lambda: tl.Value(1.0, requires_grad=np.array([1.0, 2.0])),  # type: ignore[arg-type]
    ),
    "a NaN keepdims": (
        tl.ArgumentError,
        "sum: keepdims=nan must be True or False",
        lambda: tl.Value([1.0, 1.0]).sum(None, math.nan),  # type: ignore[arg-type]
    ),
    "an array as keepdims": (
        tl.ArgumentError,
        "max: keepdims=array",
        lambda: tl.Value(np.ones((2, 3))).max(0, np.array([1.0, 2.0])),  # type: ignore[arg-type]
    ),
    "a keepdims that is not a bool": (
        tl.ArgumentError,
        "mean: keepdims=()",
        lambda: tl.Value(np.ones((2, 3))).mean(0, ()),  # type: ignore[arg-type]
    ),
    "a keepdims beyond a C long": (
        tl.ArgumentError,
        "sum: keepdims=1000",
        lambda: tl.Value(np.ones(3)).sum(-1, 10**400),  # type: ignore[arg-type]
    ),
    "a ragged index": (
        tl.IndexingError,
        "getitem: the index list [[1.0, 2.0], [3.0]] is ragged",
        lambda: tl.Value(np.ones((2, 3)))[[[1.0, 2.0], [3.0]]],
    ),
    "a shape beyond any memory": (
        tl.ShapeError,
        "broadcast_to: shape (4611686018427387904,) has",
        lambda: tl.Value(1.0).broadcast_to(2**62),
    ),
    "True as a shape": (
        tl.ArgumentError,
        "broadcast_to: dimension True must be a whole number",
        lambda: tl.Value(np.ones(3)).broadcast_to(True),
    ),
    "an array as a shape": (
        tl.ArgumentError,
        "broadcast_to: dimension array(",
        lambda: tl.Value(np.ones(3)).broadcast_to(np.ones((2, 3), dtype=np.int64)),
    ),
    "a negative dimension": (
        tl.ShapeError,
        "broadcast_to: shape (-1, 3) has a negative dimension",
        lambda: tl.Value(np.ones(3)).broadcast_to(-1, 3),
    ),
}


@pytest.mark.parametrize("finding", FORMER_CORE_LEAKS, ids=str)
def test_former_core_leaks_raise_named_errors(finding: str) -> None:
    kind, start, reproduce = FORMER_CORE_LEAKS[finding]
    with pytest.raises(kind) as caught:
        reproduce()
    assert str(caught.value).startswith(start), str(caught.value)


def test_tinygrad_lite_errors_exports_every_named_error() -> None:
    # every subclass of TinygradLiteError defined anywhere in the package (importing each
    # module defines them all), and nothing else
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(tl.__path__, "tinygrad_lite."):
        if not module.name.endswith("__main__"):  # that one runs the command line
            importlib.import_module(module.name)

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(c) for c in found))

    defined = {c for c in subclasses(tl.TinygradLiteError) if c.__module__.startswith("tinygrad_")}
    exported = set(NAMED)
    assert defined | {tl.TinygradLiteError} == exported, defined ^ exported
    assert all(issubclass(c, tl.TinygradLiteError) for c in NAMED)


def test_the_campaign_catches_a_leak() -> None:
    # the checker itself: a raw NumPy error fails it, a named one that names the function passes
    def leaky(x: Any) -> Any:
        return np.zeros(3) + np.zeros(4)

    with pytest.raises(pytest.fail.Exception, match="leaked ValueError"):
        attempt(Target("leaky", leaky, {}), {"x": 1})
    with pytest.raises(AssertionError, match="names none of"):
        attempt(Target("quiet", lambda: (_ for _ in ()).throw(tl.ShapeError("other")), {}), {})
