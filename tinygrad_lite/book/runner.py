"""What the example programs share: their command-line flags and saving their plots.

Every example accepts ``--out DIR`` (where plots go, default ``./tour_out``), ``--epochs N``
(fewer for a quick run), often ``--seeds N``, and ``--no-plots``. Plots need matplotlib; when
it is missing the example says so once and carries on printing its numbers.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..optional import MissingDependencyError, optional_import


def arguments(
    description: str | None,
    epochs: int,
    seeds: int | None = None,
    argv: Sequence[str] | None = None,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """Parse the examples' common flags (and any ``extra`` ones an example adds)."""
    first_line = (description or "").strip().splitlines()[0] if description else None
    parser = argparse.ArgumentParser(description=first_line)
    parser.add_argument("--out", type=Path, default=Path("tour_out"), help="folder for the plots")
    parser.add_argument("--epochs", type=int, default=epochs, help=f"epochs (default {epochs})")
    if seeds is not None:
        parser.add_argument(
            "--seeds",
            type=int,
            default=seeds,
            help=f"seeds 0..N-1 for the tasks that depend on the initial weights (default {seeds})",
        )
    parser.add_argument("--no-plots", action="store_true", help="print the numbers only")
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


class Plotter:
    """Calls plot functions with a path inside ``out``; quiet no-op without matplotlib.

    The examples and the tour share it: each call returns the saved file (None when plots are
    off or matplotlib is missing, which it says once, after ``indent``).
    """

    def __init__(self, out: Path, enabled: bool = True, indent: str = "") -> None:
        self.out = Path(out)
        self.enabled = enabled
        self.indent = indent
        self.saved: list[Path] = []

    def __call__(
        self, plot: Callable[..., Path], name: str, *args: Any, **kwargs: Any
    ) -> Path | None:
        if not self.enabled:
            return None
        try:
            path = plot(*args, path=self.out / name, **kwargs)
        except MissingDependencyError as e:
            print(f"{self.indent}(no plots: {e})", flush=True)
            self.enabled = False
            return None
        self.saved.append(path)
        return path

    def report(self) -> None:
        if self.saved:
            print(f"plots saved in {self.out}/: {', '.join(p.name for p in self.saved)}")


def figure(width: float = 5.5, height: float = 4.0, what: str = "the plots") -> Any:
    """A matplotlib ``Figure`` of ``width`` x ``height`` inches, made without pyplot: no
    display and no global state, so it works on a server and inside tests alike. Raises
    MissingDependencyError (naming ``what`` needs it) when matplotlib is not installed."""
    mpl_figure = optional_import("matplotlib.figure", what, "matplotlib")
    return mpl_figure.Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Any, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` (the suffix picks the format), making its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
