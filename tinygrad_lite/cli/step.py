"""``tinygrad-lite step "EXPR" -o page.html``: the backprop stepper page of an expression.

    tinygrad-lite step "a=2; b=-3; c=10; L=(a*b+c).relu()" -o stepper.html

The expression is read by ``expression.evaluate``, as ``graph`` reads it (names, numbers,
arithmetic and a few Value methods, nothing else); the page is ``viz.stepper`` of its last
statement, one HTML file that opens offline.
"""

from __future__ import annotations

import argparse
import sys

from .. import viz
from .expression import evaluate


def run(args: argparse.Namespace) -> int:
    """Write the stepper page of ``args.expression`` to ``args.output`` (or stdout)."""
    data = [n.strip() for n in args.data.split(",") if n.strip()] if args.data else []
    out = evaluate(args.expression, data)
    page = viz.stepper(out, title=args.title)
    if args.output is None:
        sys.stdout.write(page.html)
        return 0
    page.save(args.output)
    print(f"wrote {args.output} ({page.count} backward steps)", file=sys.stderr)
    return 0
