"""``python -m tinygrad_lite`` (or ``tinygrad-lite``): draw a graph for a slide, or take the tour.

    python -m tinygrad_lite graph "a=2; b=-3; c=10; L=(a*b+c).relu()" -o forward.svg
    python -m tinygrad_lite graph "a=2; b=-3; c=10; L=(a*b+c).relu()" --backward -o backward.svg
    python -m tinygrad_lite step "a=2; b=-3; c=10; L=(a*b+c).relu()" -o stepper.html
    python -m tinygrad_lite tour --out tour_out

This module is the entry point and its argument parser; each command is a module: ``graph``
(with ``expression``, the safe interpreter it reads expressions with), ``step`` (the
backprop stepper page of an expression, read the same way) and ``tour``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import TinygradLiteError, viz
from . import graph, step, tour


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-lite",
        description="Draw the forward or backward graph of an expression, step through its "
        "backward pass in a page, or take the tour of the books' tasks.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    g = commands.add_parser("graph", help="draw the graph of a small expression of scalars")
    g.add_argument("expression", help='e.g. "a=2; b=-3; c=10; L=(a*b+c).relu()"')
    g.add_argument("--backward", action="store_true", help="draw the gradients instead")
    g.add_argument("-o", "--output", type=Path, help="file.svg (or file.dot); default: stdout")
    g.add_argument("--data", help="names that are data (requires_grad=False), e.g. i1,i2")
    g.add_argument("--max-nodes", type=int, default=viz.MAX_NODES, help="fold past this many")
    g.add_argument("--renderer", choices=["auto", "dot", "wasm"], default="auto")
    g.set_defaults(run=graph.run)

    s = commands.add_parser("step", help="write the backprop stepper page of an expression")
    s.add_argument("expression", help='e.g. "a=2; b=-3; c=10; L=(a*b+c).relu()"')
    s.add_argument("-o", "--output", type=Path, help="page.html; default: stdout")
    s.add_argument("--data", help="names that are data (requires_grad=False), e.g. i1,i2")
    s.add_argument("--title", help="the page's title")
    s.set_defaults(run=step.run)

    t = commands.add_parser("tour", help="train the books' tasks and write a report")
    t.add_argument("--out", type=Path, default=Path("tour_out"), help="folder (default tour_out)")
    t.add_argument("--epochs", type=int, help="epochs for every task (default: the book's)")
    t.add_argument("--seeds", type=int, default=5, help="seeds for weight-dependent tasks")
    t.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")
    t.set_defaults(run=tour.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a user mistake)."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except TinygradLiteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
