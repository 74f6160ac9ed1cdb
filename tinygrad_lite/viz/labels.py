"""The text of the drawings: numbers, data summaries, Value names, and the one escape.

Every piece of text that reaches Graphviz (names, numbers, rules, module titles) goes through
``dot_string``, which makes a quoted DOT string that Graphviz shows exactly as written: a name
such as ``<b>"x"</b> \\n {y} &amp;`` cannot end the string, add attributes or statements, turn
into a Graphviz escape (``\\N``, ``\\l``) or an entity, or put markup in the SVG (Graphviz
escapes ``< > &`` when it writes SVG text). Labels are plain strings, not HTML-like labels, so
that the WebAssembly Graphviz (built without an XML parser) draws them like ``dot`` does.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ..engine import Value

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_TEXT = 80  # longer texts are cut with an ellipsis so one name cannot swamp the picture


def dot_string(text: str) -> str:
    r"""``text`` as a quoted DOT string for a label; a newline becomes a line break.

    >>> print(dot_string('say "hi" & C:\\temp'))
    "say \"hi\" &amp; C:\\temp"
    """
    lines = []
    for line in text.split("\n"):
        if len(line) > MAX_TEXT:
            line = line[: MAX_TEXT - 1] + "\u2026"
        line = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", line.replace("\t", " "))
        # & first (Graphviz reads entities such as &amp; in labels), then the DOT escapes
        lines.append(line.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"'))
    return '"' + "\\n".join(lines) + '"'


def number(x: Any) -> str:
    """A number in at most four significant digits: ``0.25``, ``-1.5e-07``, ``nan``.

    >>> number(2.0), number(1 / 3), number(-1234567.0)
    ('2', '0.3333', '-1.235e+06')
    """
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return f"{x + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0


def summary(data: Any) -> list[str]:
    """A few lines that describe a Value's data (or a gradient): the number itself for a
    scalar, the elements of a tiny array, otherwise shape, dtype and statistics."""
    if type(data) is float or np.ndim(data) == 0:
        return [number(data)]
    arr = np.asarray(data)
    head = f"{'x'.join(str(n) for n in arr.shape)} {arr.dtype}"
    if arr.size == 0:
        return [head, "empty"]
    if arr.size <= 4:
        return [head, "[" + ", ".join(number(x) for x in arr.ravel()) + "]"]
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return [head, "no finite values"]
    return [
        head,
        f"mean {number(finite.mean())}  std {number(finite.std())}",
        f"min {number(finite.min())}  max {number(finite.max())}",
    ]


def op_label(v: Value) -> str:
    """The operation that made ``v``: an op-table name, or a ``tl.Function`` subclass name."""
    if v.op == "function":  # the class is only recorded in the node's context
        return str(v._ctx[0].__name__)
    return v.op


def operands(v: Value) -> list[Any]:
    """The inputs of ``v``'s operation in argument order: its parents, and the number kept
    inside the node in its place (``x - 1.0`` has one parent and the operands ``[x, 1.0]``)."""
    side = v._op.constant if v._op is not None else None
    if side is None:
        return list(v.parents)
    out: list[Any] = list(v.parents)
    out.insert(side, v._ctx)  # the engine keeps the number as the node's context
    return out


def slot(v: Value, j: int) -> int:
    """Where parent ``j`` of ``v`` sits among ``operands(v)``."""
    side = v._op.constant if v._op is not None else None
    return j if side is None or j < side else j + 1


def value_text(v: Value, name: str | None) -> str:
    """How an operand is called in a rule label: its name, its number, or ``(op)``."""
    if name is not None:
        return name
    if v.is_leaf and type(v.data) is float:
        return number(v.data)
    return f"({op_label(v) or 'leaf'})"
