"""micrograd's README expression, run on tinygrad_lite: every value and gradient printed.

micrograd (Karpathy, 2020) publishes the result of this expression: g = 24.7041,
dg/da = 138.8338, dg/db = 645.5773. The same code with tinygrad_lite's Value gives the same
numbers; the engine walks the graph once, in reverse topological order.

Run: python examples/micrograd_expression.py
"""

from __future__ import annotations

from tinygrad_lite import Value
from tinygrad_lite.core import toposort


def expression() -> tuple[Value, Value, Value]:
    a = Value(-4.0, name="a")
    b = Value(2.0, name="b")
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.name = "g"
    return a, b, g


def main() -> None:
    a, b, g = expression()
    g.backward()
    print(f"g = {g.data:.4f}   (micrograd's README: 24.7041)")
    print(f"dg/da = {a.grad:.4f}   (micrograd: 138.8338)")
    print(f"dg/db = {b.grad:.4f}   (micrograd: 645.5773)")
    nodes = toposort([g])
    print(f"\nthe graph has {len(nodes)} nodes; in the order backward visits them:")
    for i, v in enumerate(reversed(nodes), 1):
        label = v.name or v.op or "constant"
        print(f"  {i:2d}. {label:>8}  data = {v.data:10.4f}   grad = {v.grad:10.4f}")


if __name__ == "__main__":
    main()
