"""``tinygrad-lite graph "EXPR"``: draw the forward or backward graph of an expression.

    tinygrad-lite graph "a=2; b=-3; c=10; L=(a*b+c).relu()" -o forward.svg
    tinygrad-lite graph "a=2; b=-3; c=10; L=(a*b+c).relu()" --backward -o backward.svg

The expression is read by ``expression.evaluate`` (names, numbers, arithmetic and a few Value
methods, nothing else).
"""

from __future__ import annotations

import argparse
import sys

from .. import viz
from .expression import evaluate


def run(args: argparse.Namespace) -> int:
    """Draw ``args.expression``; SVG (or DOT for a ``.dot`` file) to ``args.output`` or stdout."""
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
