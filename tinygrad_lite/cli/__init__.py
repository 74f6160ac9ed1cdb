"""``python -m tinygrad_lite`` (or ``tinygrad-lite``): draw a graph for a slide, or take the tour.

    python -m tinygrad_lite graph "a=2; b=-3; c=10; L=(a*b+c).relu()" -o forward.svg
    python -m tinygrad_lite graph "a=2; b=-3; c=10; L=(a*b+c).relu()" --backward -o backward.svg
    python -m tinygrad_lite step "a=2; b=-3; c=10; L=(a*b+c).relu()" -o stepper.html
    python -m tinygrad_lite tour --out tour_out            # the books' tasks, then the gallery
    python -m tinygrad_lite tour --only-gallery --full     # every architecture, full size

This module is the entry point and its argument parser; each command is a module: ``graph``
(with ``expression``, the safe interpreter it reads expressions with), ``step`` (the
backprop stepper page of an expression, read the same way) and ``tour``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from .. import TinygradLiteError, viz
from . import graph, step, tour


class UsageError(TinygradLiteError, ValueError):
    """A command line that cannot run: an unknown option, a bad number, an output path that
    is a folder or lies in a folder that does not exist."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is a UsageError: ``main`` prints it as one ``error:`` line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return number


def _output_file(text: str) -> Path:
    """A file the command can create: not a folder, in a folder that exists."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name, e.g. graph.svg")
    parent = path.parent
    if not parent.exists():
        raise argparse.ArgumentTypeError(f"the folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{parent} is a file, not a folder")
    return path


GRAPH_SUFFIXES = (".svg", ".dot")  # what `graph -o` writes: SVG text, or the DOT source


def _graph_file(text: str) -> Path:
    """A drawing's file: ``.svg`` or ``.dot``. No PNG: the WebAssembly Graphviz that works
    without a system install renders SVG only, and SVG text in a ``.png`` opens nowhere."""
    path = _output_file(text)
    if path.suffix.lower() not in GRAPH_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"{text}: graph writes {' or '.join(GRAPH_SUFFIXES)} files, not "
            f"{path.suffix or 'a file without a suffix'}; for a PNG write g.dot and run "
            "`dot -Tpng g.dot -o g.png` where Graphviz is installed"
        )
    return path


def _output_folder(text: str) -> Path:
    """A folder the tour can write into: an existing folder, or a path it can create."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text} is a file; give a folder (it is created when missing)"
        )
    for ancestor in path.parents:
        if ancestor.exists() and not ancestor.is_dir():
            raise argparse.ArgumentTypeError(f"{ancestor} is a file, not a folder")
    return path


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tinygrad-lite",
        description="Draw the forward or backward graph of an expression, step through its "
        "backward pass in a page, or take the tour of the books' tasks.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    g = commands.add_parser("graph", help="draw the graph of a small expression of scalars")
    g.add_argument("expression", help='e.g. "a=2; b=-3; c=10; L=(a*b+c).relu()"')
    g.add_argument("--backward", action="store_true", help="draw the gradients instead")
    g.add_argument(
        "-o", "--output", type=_graph_file, help="file.svg (or file.dot); default: stdout"
    )
    g.add_argument("--data", help="names that are data (requires_grad=False), e.g. i1,i2")
    g.add_argument("--max-nodes", type=_positive, default=viz.MAX_NODES, help="fold past this")
    g.add_argument("--renderer", choices=["auto", "dot", "wasm"], default="auto")
    g.set_defaults(run=graph.run)

    s = commands.add_parser("step", help="write the backprop stepper page of an expression")
    s.add_argument("expression", help='e.g. "a=2; b=-3; c=10; L=(a*b+c).relu()"')
    s.add_argument("-o", "--output", type=Path, help="page.html; default: stdout")
    s.add_argument("--data", help="names that are data (requires_grad=False), e.g. i1,i2")
    s.add_argument("--title", help="the page's title")
    s.set_defaults(run=step.run)

    t = commands.add_parser(
        "tour", help="train the books' tasks and the gallery's exhibits; write a report"
    )
    t.add_argument(
        "--out", type=_output_folder, default=Path("tour_out"), help="folder (default tour_out)"
    )
    t.add_argument("--epochs", type=_positive, help="epochs for every task (default: the book's)")
    t.add_argument("--seeds", type=_positive, default=5, help="seeds for weight-dependent tasks")
    t.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")
    t.add_argument(
        "--full", action="store_true", help="the gallery's exhibits at full size (minutes more)"
    )
    part = t.add_mutually_exclusive_group()
    part.add_argument("--no-gallery", action="store_true", help="the books' tasks only")
    part.add_argument("--only-gallery", action="store_true", help="the gallery only")
    t.set_defaults(run=tour.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a user mistake, reported as one
    ``error: ...`` line on stderr)."""
    try:
        args = _parser().parse_args(argv)
        return int(args.run(args))
    except TinygradLiteError as e:
        return _fail(str(e))
    except OSError as e:  # a file the command could not write: the disk, permissions...
        where = f" {e.filename}" if e.filename is not None else ""
        return _fail(f"cannot write{where}: {e.strerror or e}")


def _fail(message: str) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)  # one line
    return 2
