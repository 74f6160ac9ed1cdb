"""The safe interpreter behind ``tinygrad-lite graph``: a few statements of named scalars.

``evaluate`` parses the text with ``ast`` and walks it with a small interpreter that knows
names, numbers, ``+ - * / **``, unary minus, the Value methods in ``METHODS`` and
``weighted_sum([w1, w2], [i1, i2], b)``: nothing else is ever run, so an expression cannot
call, import or read anything. A name given a number is a parameter, or data when it is in
``data`` (``--data i1,i2``); the last statement is the output.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import TinygradLiteError, Value, weighted_sum

# the Value methods an expression may call, with how many arguments they take (min, max)
METHODS: dict[str, tuple[int, int]] = {
    **dict.fromkeys(["relu", "tanh", "sigmoid", "exp", "log", "sqrt", "abs", "gelu"], (0, 0)),
    "pow": (1, 1),  # x.pow(y): a number or a Value
    "leaky_relu": (0, 1),  # x.leaky_relu(0.1): a number
}
MAX_LENGTH = 5000  # characters of an expression: a slide, not a program
MAX_DEPTH = 60  # nesting of an expression
MAX_FLOAT = int(np.finfo(np.float64).max)  # a larger integer literal has no float

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
    except (RecursionError, MemoryError, ValueError):  # Python's parser gave up on the nesting
        raise ExpressionError(
            f"graph: the expression nests too deeply to parse; at most {MAX_DEPTH} levels"
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
                raise _refuse(node, f"the constant {_short(repr(value))} (only numbers)")
            if isinstance(value, int) and abs(value) > MAX_FLOAT:
                digits = len(str(abs(value)))
                raise ExpressionError(
                    f"graph: the number {_short(str(value))} ({digits} digits) is too large for "
                    f"a float (at most about 1.8e308); write it as a float, e.g. 1e300"
                )
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
        raise _refuse(node, f"`{_source(node)}`")

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
        raise _refuse(node, f"the call `{_source(node)}` (allowed: .{allowed}, weighted_sum)")

    def list(self, node: ast.expr, depth: int) -> list[Any]:
        if not isinstance(node, (ast.List, ast.Tuple)):
            raise _refuse(node, "weighted_sum arguments other than [lists]")
        return [self.expr(e, depth) for e in node.elts]


def _arithmetic(fn: Callable[[Any, Any], Any], symbol: str, a: Any, b: Any) -> Any:
    if isinstance(a, Value) or isinstance(b, Value):
        return fn(a, b)
    with np.errstate(all="ignore"):  # two numbers: IEEE results (inf, nan), never an exception
        return float(fn(np.float64(a), np.float64(b)))


def _source(node: ast.AST) -> str:
    """The text of ``node``, shortened for a one-line message."""
    try:
        return _short(ast.unparse(node))
    except RecursionError:  # nested too deeply for the unparser: say where instead
        return "this part"


def _short(text: str, keep: int = 60) -> str:
    return text if len(text) <= keep else f"{text[: keep // 2]}...{text[-keep // 2 :]}"


def _refuse(node: ast.AST, what: str) -> ExpressionError:
    where = f" (column {node.col_offset + 1})" if hasattr(node, "col_offset") else ""
    return ExpressionError(
        f"graph: {what}{where} is not allowed; use names, numbers, + - * / **, unary -, "
        f"weighted_sum([...], [...], b) and the methods .{', .'.join(sorted(METHODS))}"
    )
