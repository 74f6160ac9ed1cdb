"""The gallery: every architecture the books name, trained on this engine, one exhibit each.

Each module of this package trains one architecture on bundled or generated data and returns
an ``Exhibit``: the figures it reached beside the target the issue or the book sets, the
pictures it wrote, what the books say about the architecture, and the command that reproduces
it. The tour (``tinygrad-lite tour``) shows every exhibit of ``EXHIBITS`` in its report; the
programs of ``examples/`` print one exhibit each, in full.

    from tinygrad_lite import gallery
    exhibit = gallery.run("gan_ring", out="gallery_out", full=False)
    print(exhibit.report())
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import ArgumentError


@dataclass
class Exhibit:
    """What one architecture learned, as the tour's report shows it."""

    architecture: str  # the books' name for it: "GAN", "autoencoder", ...
    title: str  # what was trained on what: "GAN on a ring of 8 Gaussians"
    figures: list[tuple[str, str, str]]  # (figure, ours, target), formatted
    pictures: list[Path] = field(default_factory=list)  # files written by run()
    book: str = ""  # what the books say about the architecture, in our words
    command: str = ""  # the command that reproduces the full run
    notes: list[str] = field(default_factory=list)  # sizes, epochs, what was trimmed
    model: Any = None  # the trained nn.Module, for the forward graph collapsed by module
    example_input: Any = None  # a small input for that graph (a Value or an array)

    def report(self) -> str:
        """The figures as a plain-text table, as the examples print it."""
        width = max([len(f[0]) for f in self.figures] + [6])
        lines = [f"{self.architecture}: {self.title}", f"{'figure':<{width}}  ours  target"]
        lines += [f"{name:<{width}}  {ours}  {target}" for name, ours, target in self.figures]
        return "\n".join(lines + self.notes)


# module name in this package, in the order of the report; each defines
#     run(out: Path, *, full: bool = False, seed: int = 0, plots: bool = True) -> Exhibit
EXHIBITS: tuple[str, ...] = (
    "feedforward",
    "cnn",
    "recurrent",
    "attention",
    "gan_ring",
    "gan_digits",
    "autoencoder",
    "vae",
    "diffusion",
    "contrastive",
    "graph_network",
    "transfer",
)


def run(
    name: str,
    out: str | Path,
    *,
    full: bool = False,
    seed: int = 0,
    plots: bool = True,
    **options: Any,
) -> Exhibit:
    """Train exhibit ``name`` (a module of this package) and write its pictures into ``out``;
    ``options`` go to that module's ``run`` (e.g. ``epochs=`` where it takes one)."""
    module = _module(name)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    result: Exhibit = module.run(folder, full=full, seed=seed, plots=plots, **options)
    return result


def _module(name: str) -> Any:
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":  # a package the exhibit imports is missing
            raise
        raise ArgumentError(
            f"gallery.run: no exhibit {name!r}; give one of {', '.join(EXHIBITS)}"
        ) from None


def main(name: str, argv: Sequence[str] | None = None, description: str | None = None) -> Exhibit:
    """The program of ``examples/gallery/<name>.py``: its flags (``--full``, ``--seed``,
    ``--out DIR``, ``--no-plots``), the run, and its report and pictures printed."""
    first_line = description.strip().splitlines()[0] if description else None
    parser = argparse.ArgumentParser(description=first_line)
    parser.add_argument("--full", action="store_true", help="the full-size run (slower)")
    parser.add_argument("--seed", type=int, default=0, help="draws the weights and the data")
    parser.add_argument(
        "--out", type=Path, default=Path("gallery_out"), help="folder for the pictures"
    )
    parser.add_argument("--no-plots", action="store_true", help="print the figures only")
    takes_epochs = "epochs" in inspect.signature(_module(name).run).parameters
    if takes_epochs:
        parser.add_argument("--epochs", type=int, help="train this many epochs instead")
    args = parser.parse_args(argv)
    options = {"epochs": args.epochs} if takes_epochs else {}
    start = time.perf_counter()
    exhibit = run(
        name, args.out, full=args.full, seed=args.seed, plots=not args.no_plots, **options
    )
    print(exhibit.report())
    print(f"took {time.perf_counter() - start:.1f} s ({'full' if args.full else 'quick'} mode)")
    print(f"to reproduce the full run: {exhibit.command}")
    for picture in exhibit.pictures:
        print(f"wrote {picture}")
    return exhibit
