"""``python -m tinygrad_lite`` (or ``tinygrad-lite``): draw a graph for a slide, or take the tour.

    python -m tinygrad_lite graph "a=2; b=-3; c=10; L=(a*b+c).relu()" -o forward.svg
    python -m tinygrad_lite graph "a=2; b=-3; c=10; L=(a*b+c).relu()" --backward -o backward.svg
    python -m tinygrad_lite tour --out tour_out

``graph`` reads a few statements of named scalars. They are parsed with ``ast`` and evaluated
by a small interpreter that knows names, numbers, ``+ - * / **``, unary minus, the Value
methods in ``METHODS`` and ``weighted_sum([w1, w2], [i1, i2], b)``: nothing else is ever run,
so an expression cannot call, import or read anything. A name given a number is a parameter,
or data with ``--data i1,i2``; the last statement is the output.

``tour`` trains the books' hotel tasks (``tinygrad_lite.book``), draws the forward and backward
graphs of the chapter-1 neuron and the chapter-2 network, saves the plots, and writes an
``index.html`` report with the book's numbers beside ours.
"""

from __future__ import annotations

import argparse
import ast
import operator
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import book, viz
from .autograd import weighted_sum
from .book import plots
from .book.runner import Plotter
from .engine import Value
from .errors import TinygradLiteError
from .nn.scalar import MLP
from .report import Section, write_html

# the Value methods an expression may call, with how many arguments they take (min, max)
METHODS: dict[str, tuple[int, int]] = {
    **dict.fromkeys(["relu", "tanh", "sigmoid", "exp", "log", "sqrt", "abs", "gelu"], (0, 0)),
    "pow": (1, 1),  # x.pow(y): a number or a Value
    "leaky_relu": (0, 1),  # x.leaky_relu(0.1): a number
}
MAX_LENGTH = 5000  # characters of an expression: a slide, not a program
MAX_DEPTH = 60  # nesting of an expression

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


class ExpressionError(TinygradLiteError, ValueError):
    """An expression for ``graph`` that uses something other than names, numbers, arithmetic
    and the allowed Value methods, or that does not parse."""


# ---------------------------------------------------------------- graph: the expression


def evaluate(text: str, data: Sequence[str] = ()) -> Value:
    """Evaluate statements such as ``"a=2; b=-3; L=(a*b).relu()"``; return the last one.

    >>> L = evaluate("a=2; b=-3; c=10; L=(a*b+c).relu()")
    >>> L.name, L.data
    ('L', 4.0)
    """
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"graph: the expression has {len(text)} characters; at most {MAX_LENGTH}"
        )
    try:
        tree = ast.parse(text, mode="exec")
    except SyntaxError as e:
        raise ExpressionError(
            f"graph: cannot parse the expression: {e.msg} (column {e.offset})"
        ) from None
    return _Interpreter(set(data)).run(tree)


class _Interpreter:
    def __init__(self, data: set[str]) -> None:
        self.data = data
        self.names: dict[str, Value] = {}

    def run(self, tree: ast.Module) -> Value:
        result: Any = None
        for stmt in tree.body:
            result = self.statement(stmt)
        missing = self.data - set(self.names)
        if missing:
            raise ExpressionError(f"graph: --data names {sorted(missing)} are never assigned")
        if not isinstance(result, Value):
            raise ExpressionError(
                "graph: the last statement gives a plain number, not a Value; give numbers "
                'names first, e.g. "a=2; b=3; y=a*b"'
            )
        return result

    def statement(self, stmt: ast.stmt) -> Any:
        if isinstance(stmt, ast.Expr):
            return self.expr(stmt.value, 0)
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
            raise _refuse(stmt, "a statement other than `name = expression`")
        target = stmt.targets[0]
        if not isinstance(target, ast.Name):
            raise _refuse(target, "an assignment to something other than a name")
        name = target.id
        if name in self.names:
            raise ExpressionError(f"graph: {name!r} is assigned twice; give each Value one name")
        value = self.expr(stmt.value, 0)
        if isinstance(value, float):
            value = Value(value, requires_grad=name not in self.data, name=name)
        elif not isinstance(value, Value) or value.name is not None:
            raise ExpressionError(
                f"graph: {name} = ...: assign a number or a computation, not another name"
            )
        value.name = name
        self.names[name] = value
        return value

    def expr(self, node: ast.expr, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"graph: the expression nests deeper than {MAX_DEPTH} levels")
        d = depth + 1
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _refuse(node, f"the constant {value!r} (only numbers)")
            return float(value)
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                raise ExpressionError(f"graph: {node.id!r} is used before it is given a value")
            return self.names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.expr(node.left, d), self.expr(node.right, d)
            return _arithmetic(_BINARY[type(node.op)], _SYMBOL[type(node.op)], left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            x = self.expr(node.operand, d)
            return -x if isinstance(node.op, ast.USub) else x
        if isinstance(node, ast.Call) and not node.keywords:
            return self.call(node, d)
        raise _refuse(node, f"`{ast.unparse(node)}`")

    def call(self, node: ast.Call, depth: int) -> Any:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "weighted_sum":
            if not 2 <= len(node.args) <= 3:
                raise _refuse(node, "weighted_sum without (weights, inputs[, bias])")
            ws, xs = (self.list(a, depth) for a in node.args[:2])
            bias = self.expr(node.args[2], depth) if len(node.args) == 3 else None
            return weighted_sum(ws, xs, bias)
        if isinstance(func, ast.Attribute) and func.attr in METHODS:
            target = self.expr(func.value, depth)
            if not isinstance(target, Value):
                raise _refuse(node, f".{func.attr}() of a plain number; name the number first")
            args = [self.expr(a, depth) for a in node.args]
            low, high = METHODS[func.attr]
            if not low <= len(args) <= high:
                raise _refuse(node, f".{func.attr}() with {len(args)} argument(s)")
            if func.attr == "leaky_relu" and args and not isinstance(args[0], float):
                raise _refuse(node, ".leaky_relu() with a Value slope (a number is needed)")
            return getattr(target, func.attr)(*args)
        allowed = ", .".join(sorted(METHODS))
        raise _refuse(node, f"the call `{ast.unparse(node)}` (allowed: .{allowed}, weighted_sum)")

    def list(self, node: ast.expr, depth: int) -> list[Any]:
        if not isinstance(node, (ast.List, ast.Tuple)):
            raise _refuse(node, "weighted_sum arguments other than [lists]")
        return [self.expr(e, depth) for e in node.elts]


def _arithmetic(fn: Callable[[Any, Any], Any], symbol: str, a: Any, b: Any) -> Any:
    if isinstance(a, Value) or isinstance(b, Value):
        return fn(a, b)
    with np.errstate(all="ignore"):  # two numbers: IEEE results (inf, nan), never an exception
        return float(fn(np.float64(a), np.float64(b)))


def _refuse(node: ast.AST, what: str) -> ExpressionError:
    where = f" (column {node.col_offset + 1})" if hasattr(node, "col_offset") else ""
    return ExpressionError(
        f"graph: {what}{where} is not allowed; use names, numbers, + - * / **, unary -, "
        f"weighted_sum([...], [...], b) and the methods .{', .'.join(sorted(METHODS))}"
    )


def _cmd_graph(args: argparse.Namespace) -> int:
    data = [n.strip() for n in args.data.split(",") if n.strip()] if args.data else []
    out = evaluate(args.expression, data)
    if args.backward:
        out.backward()
        graph = viz.draw_backward(out, max_nodes=args.max_nodes)
    else:
        graph = viz.draw_forward(out, max_nodes=args.max_nodes)
    if args.output is not None and args.output.suffix == ".dot":
        args.output.write_text(graph.source, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    svg = viz.render_svg(graph, args.output, renderer=args.renderer)
    if args.output is None:
        sys.stdout.write(svg)
    else:
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- tour


@dataclass
class _Tour:
    out: Path
    epochs: int | None
    seeds: int
    plotter: Plotter
    sections: list[Section] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    steps: int = 0
    done: int = 0

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        self.done += 1
        print(f"[{self.done}/{self.steps}] {label} ...", flush=True)
        start = time.perf_counter()
        yield
        print(f"      done in {time.perf_counter() - start:.1f} s", flush=True)

    def draw(self, name: str, graph: viz.Graph, section: Section) -> None:
        path = self.out / f"{name}.svg"
        viz.render_svg(graph, path)
        self.written.append(path)
        section.images.append(path.name)


@dataclass(frozen=True)
class _Task:
    """One of the books' tasks, as the tour runs it."""

    label: str  # what the progress line says
    function: str  # its name in tinygrad_lite.book
    picture: str | None  # a plot of tinygrad_lite.book.plots, beside the cost per epoch
    seeded: bool = False  # the outcome depends on the initial weights: run several seeds
    graphs: str | None = None  # "neuron" or "network": draw its forward and backward graphs
    hidden_sizes: tuple[int, ...] | None = None


TASKS = (
    _Task("chapter 1: linear regression, the neuron", "ch1_linear_regression", "regression_line",
          graphs="neuron"),
    _Task("chapter 2: linear hidden layer", "ch2_linear_hidden_layer", "predictions_vs_actual"),
    _Task("chapter 2: ReLU hidden layer, the network", "ch2_relu_hidden_layer",
          "predictions_vs_actual", seeded=True, graphs="network"),
    _Task("chapter 3: binary classification", "ch3_binary", "decision_regions", seeded=True),
    _Task("chapter 3: the bigger network", "ch3_binary", "decision_regions", seeded=True,
          hidden_sizes=(5, 10)),
    _Task("chapter 4: multi-class classification", "ch4_multiclass", "decision_regions",
          seeded=True),
    _Task("chapter 4: the bigger network", "ch4_multiclass", "decision_regions", seeded=True,
          hidden_sizes=(5, 10)),
)  # fmt: skip


def _cmd_tour(args: argparse.Namespace) -> int:
    plotter = Plotter(args.out, enabled=not args.no_plots, indent="      ")
    tour = _Tour(args.out, args.epochs, max(1, args.seeds), plotter)
    tour.out.mkdir(parents=True, exist_ok=True)
    tour.steps = len(TASKS) + 2  # the tasks, fraud, the report
    for task in TASKS:
        with tour.step(task.label):
            _run_task(tour, task)
    with tour.step("credit-card fraud: accuracy, precision, recall"):
        result = book.fraud_metrics()
        _print_report(result.report())
        tour.sections.append(Section(result.task, _result_rows(result)))
    with tour.step("the report"):
        settings = f"epochs: {tour.epochs or 'as in the book'}; seeds: {tour.seeds}"
        index = write_html(tour.out / "index.html", tour.sections, settings)
        tour.written.append(index)
    print(f"\nwrote {len(tour.written)} files in {tour.out}/:")
    for path in tour.written:
        print(f"  {path}")
    print(f"open {index} to read the report")
    return 0


def _run_task(tour: _Tour, task: _Task) -> None:
    fn = getattr(book, task.function)
    kwargs: dict[str, Any] = {}
    if tour.epochs is not None:
        kwargs["epochs"] = tour.epochs
    if task.hidden_sizes is not None:
        kwargs["hidden_sizes"] = task.hidden_sizes
    if task.seeded and tour.seeds > 1:
        spread = book.over_seeds(fn, range(tour.seeds), **kwargs)
        result = spread.closest()
        section = Section(f"{result.task} ({tour.seeds} seeds)", _spread_rows(spread))
        section.notes.append(
            f"depends on the initial weights: min, median and max over seeds 0-{tour.seeds - 1}; "
            f"the pictures show seed {result.seed}, the one closest to the book"
        )
        _print_report(spread.report())
    else:
        result = fn(**kwargs)
        section = Section(result.task, _result_rows(result))
        _print_report(result.report())
    slug = task.function + "".join(f"_{n}" for n in task.hidden_sizes or ())
    if task.graphs == "neuron":
        _neuron_graphs(tour, result, section)
    elif task.graphs == "network":
        _network_graphs(tour, result, section)
    if task.picture is not None:
        _plot(tour, section, task.picture, f"{slug}_picture.png", result)
    if result.history is not None:
        _plot(tour, section, "cost_per_epoch", f"{slug}_cost.png", result.history)
    tour.sections.append(section)


def _print_report(text: str) -> None:
    print("      " + text.replace("\n", "\n      "), flush=True)


def _plot(tour: _Tour, section: Section, plot: str, name: str, arg: Any) -> None:
    """Save ``tinygrad_lite.book.plots.<plot>(arg)`` and show it in ``section``."""
    path = tour.plotter(getattr(plots, plot), name, arg)
    if path is not None:
        tour.written.append(path)
        section.images.append(path.name)


def _result_rows(result: Any) -> list[list[str]]:
    rows = [["figure", "ours", "book", ""]]
    for f in result.figures:
        rows.append([f.name, _cell(f, f.ours), _cell(f, f.book), f.verdict()])
    return rows


def _spread_rows(spread: Any) -> list[list[str]]:
    rows = [["figure", "min", "median", "max", "book", "seeds reaching the book"]]
    for f in spread.results[0].figures:
        v = spread.values(f.name)
        stats = [_cell(f, x) for x in (v.min(), float(np.median(v)), v.max())]
        seeds = spread.seeds_reaching(f.name) if f.book is not None else []
        rows.append([f.name, *stats, _cell(f, f.book), ", ".join(map(str, seeds)) or "-"])
    return rows


def _cell(figure: Any, x: float | None) -> str:
    """A number as the book's tables print it (its decimals and unit); '-' for none."""
    return "-" if x is None else str(figure._fmt(x))  # book.Figure's one formatting rule


# ---------------------------------------------------------------- the tour's graphs


def _neuron_graphs(tour: _Tour, result: Any, section: Section) -> None:
    """The chapter-1 neuron with the weights training found, on the first training hotel."""
    data, linear = result.details["data"], result.model.layers[0]
    i, y = float(data.X_train[0, 0]), float(data.y_train[0, 0])
    w, b = float(linear.weight.data[0, 0]), float(linear.bias.data[0])
    section.notes.append(
        "the graphs: the trained neuron on the first training hotel (i: its standardized "
        "distance, y: its standardized price)"
    )
    cost = book.neuron(i, y, w, b)
    cost.backward()
    tour.draw("ch1_neuron_forward", viz.draw_forward(cost), section)
    tour.draw("ch1_neuron_backward", viz.draw_backward(cost), section)


def _network_graphs(tour: _Tour, result: Any, section: Section) -> None:
    """The chapter-2 network on the first training hotel, one box per weight, by neuron."""
    data = result.details["data"]
    linears = [m for m in result.model.layers if hasattr(m, "weight")]
    net = MLP(linears[0].weight.shape[0], [m.weight.shape[1] for m in linears])
    for layer, linear in zip(net.layers, linears):
        for k, neuron in enumerate(layer.neurons):
            for j, wj in enumerate(neuron.w):
                wj.data = float(linear.weight.data[j, k])
            neuron.b.data = float(linear.bias.data[k])
    inputs = [
        Value(float(x), requires_grad=False, name=name)
        for x, name in zip(data.X_train[0], result.details["features"])
    ]
    price = net(inputs)
    price.name = "price"
    target = Value(float(data.y_train[0, 0]), requires_grad=False, name="y")
    error = price - target
    error.name = "error"
    cost = error**2
    cost.name = "cost"
    cost.backward()
    tour.draw("ch2_network_forward", viz.draw_forward(cost, model=net), section)
    tour.draw("ch2_network_backward", viz.draw_backward(cost, model=net), section)
    section.notes.append(
        "the graphs: the trained network on the first training hotel, each neuron a cluster"
    )


# ---------------------------------------------------------------- entry point


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-lite",
        description="Draw the forward or backward graph of an expression, or take the tour "
        "of the books' tasks.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    g = commands.add_parser("graph", help="draw the graph of a small expression of scalars")
    g.add_argument("expression", help='e.g. "a=2; b=-3; c=10; L=(a*b+c).relu()"')
    g.add_argument("--backward", action="store_true", help="draw the gradients instead")
    g.add_argument("-o", "--output", type=Path, help="file.svg (or file.dot); default: stdout")
    g.add_argument("--data", help="names that are data (requires_grad=False), e.g. i1,i2")
    g.add_argument("--max-nodes", type=int, default=viz.MAX_NODES, help="fold past this many")
    g.add_argument("--renderer", choices=["auto", "dot", "wasm"], default="auto")
    g.set_defaults(run=_cmd_graph)

    t = commands.add_parser("tour", help="train the books' tasks and write a report")
    t.add_argument("--out", type=Path, default=Path("tour_out"), help="folder (default tour_out)")
    t.add_argument("--epochs", type=int, help="epochs for every task (default: the book's)")
    t.add_argument("--seeds", type=int, default=5, help="seeds for weight-dependent tasks")
    t.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")
    t.set_defaults(run=_cmd_tour)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a user mistake)."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except TinygradLiteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
