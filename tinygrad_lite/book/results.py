"""What a book task returns: our figures beside the book's, the history, the trained model.

A ``Figure`` is one number the book prints (a train MSE, an accuracy in percent, a cell of a
confusion matrix) with ours beside it. ``TaskResult`` collects a task's figures; ``SeedSpread``
runs a task whose outcome depends on the initial weights once per seed and summarises each
figure over the seeds.

>>> f = Figure("train MSE", ours=16.3655, book=16.4, better="lower")
>>> f.matches(), f.reaches(), f.row()
(True, True, 'train MSE             16.4        16.4  matches')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..train import History

Better = Literal["lower", "higher", "equal"]


@dataclass(frozen=True)
class Figure:
    """One number of the book and ours, compared at the book's precision (``decimals``).

    ``better`` says which way is an improvement: ``"lower"`` for errors, ``"higher"`` for
    accuracies, ``"equal"`` for counts that must be the same. ``book=None`` marks a number
    the book does not print.
    """

    name: str
    ours: float
    book: float | None = None
    better: Better = "equal"
    decimals: int = 1
    unit: str = ""
    page: str | None = None  # where the book prints it ("p.170"), when one run can't match all

    @classmethod
    def percent(
        cls,
        name: str,
        fraction: float,
        book: float | None,
        better: Better = "higher",
        page: str | None = None,
    ) -> Figure:
        """A fraction (0.917) shown as the book prints it, a whole percentage (92%)."""
        return cls(name, 100.0 * fraction, book, better, decimals=0, unit="%", page=page)

    @property
    def rounded(self) -> float:
        """Ours at the book's precision."""
        return round(float(self.ours), self.decimals)

    def matches(self) -> bool:
        """Ours equals the book's figure at the book's precision."""
        return self.book is not None and self.rounded == self.book

    def reaches(self) -> bool:
        """Ours is at least as good as the book's figure, at the book's precision."""
        if self.book is None:
            return False
        if self.better == "lower":
            return self.rounded <= self.book
        if self.better == "higher":
            return self.rounded >= self.book
        return self.matches()

    def verdict(self) -> str:
        if self.book is None:
            return ""
        if self.matches():
            return "matches"
        return "reaches" if self.reaches() else "differs"

    def row(self, width: int = 18) -> str:
        """``name  ours  book  verdict``, aligned for a table (``width``: the name column)."""
        book = "-" if self.book is None else self._fmt(self.book)
        ours = self._fmt(self.ours)
        return f"{self.name:<{width}}{ours:>8}{book:>12}  {self.verdict()}".rstrip()

    def _fmt(self, x: float) -> str:
        if abs(x) >= 1e7:  # a diverged run: no one reads the digits
            return f"{x:.2e}{self.unit}"
        return f"{x:.{self.decimals}f}{self.unit}"


def table(figures: Iterable[Figure]) -> str:
    """The figures as a text table with a header line."""
    rows = list(figures)
    width = max([18, *(len(f.name) + 2 for f in rows)])
    head = f"{'figure':<{width}}{'ours':>8}{'book':>12}"
    return "\n".join([head, *(f.row(width) for f in rows)])


@dataclass
class TaskResult:
    """A book task's outcome: its figures, the training History and the trained model.

    ``details`` holds what the plots need (the data, the predictions, the standardizers).
    """

    task: str
    figures: list[Figure]
    history: History | None = None
    model: Any = None
    seed: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def figure(self, name: str) -> Figure:
        for f in self.figures:
            if f.name == name:
                return f
        raise KeyError(f"{self.task}: no figure {name!r}; the figures are {self.names()}")

    def names(self) -> list[str]:
        return [f.name for f in self.figures]

    def reaches_book(self, page: str | None = None) -> bool:
        """Every figure the book prints is reached (at least as good, counts equal); with
        ``page``, every figure of that page."""
        return all(
            f.reaches() for f in self.figures if f.book is not None and page in (None, f.page)
        )

    def pages(self) -> list[str]:
        """The pages the figures name, in order (empty when none names one)."""
        return list(dict.fromkeys(f.page for f in self.figures if f.page is not None))

    def report(self) -> str:
        seed = "" if self.seed is None else f" (seed {self.seed})"
        return f"{self.task}{seed}\n{table(self.figures)}"


@dataclass
class SeedSpread:
    """One task run with several seeds: each figure's min / median / max over the seeds."""

    task: str
    results: list[TaskResult]

    def values(self, name: str) -> np.ndarray:
        return np.array([r.figure(name).ours for r in self.results])

    def seeds_reaching(self, name: str | None = None) -> list[int]:
        """Seeds whose run reaches figure ``name`` (every figure of the book if None)."""
        if name is None:
            return [r.seed for r in self.results if r.reaches_book() and r.seed is not None]
        return [r.seed for r in self.results if r.figure(name).reaches() and r.seed is not None]

    def seeds_reaching_page(self, page: str) -> list[int]:
        """Seeds whose run reaches every figure the book prints on ``page``.

        The book's figures of one task may come from different runs (chapter 3's p.170 and
        p.178 cannot both hold for one network); each page is then reached on its own.
        """
        return [r.seed for r in self.results if r.reaches_book(page) and r.seed is not None]

    def closest(self) -> TaskResult:
        """The run whose figures are nearest the book's (sum of relative differences)."""

        def distance(r: TaskResult) -> float:
            return sum(
                abs(f.ours - f.book) / max(abs(f.book), 1.0)
                for f in r.figures
                if f.book is not None
            )

        return min(self.results, key=distance)

    def report(self) -> str:
        first = self.results[0]
        width = max([18, *(len(f.name) + 2 for f in first.figures)])
        head = f"{'figure':<{width}}{'min':>8}{'median':>8}{'max':>8}{'book':>8}  seeds reaching it"
        rows = [head]
        for f in first.figures:
            v = self.values(f.name)
            book = "-" if f.book is None else f._fmt(f.book)
            stats = "".join(f"{f._fmt(x):>8}" for x in (v.min(), np.median(v), v.max()))
            seeds = self.seeds_reaching(f.name) if f.book is not None else []
            rows.append(f"{f.name:<{width}}{stats}{book:>8}  {seeds if f.book is not None else ''}")
        n = len(self.results)
        everything = self.seeds_reaching()
        rows.append(f"seeds reaching every figure of the book: {everything or 'none'} (of {n})")
        for page in first.pages():
            reached = self.seeds_reaching_page(page)
            rows.append(f"seeds reaching every figure of {page}: {reached or 'none'}")
        near = self.closest()
        shown = ", ".join(f"{f.name} {f._fmt(f.ours)}" for f in near.figures if f.book is not None)
        rows.append(f"closest to the book: seed {near.seed} ({shown})")
        return f"{self.task}, {n} seeds\n" + "\n".join(rows)


def over_seeds(task: Callable[..., TaskResult], seeds: Iterable[int], **kwargs: Any) -> SeedSpread:
    """Run ``task(seed=s, **kwargs)`` for every seed."""
    results = [task(seed=s, **kwargs) for s in seeds]
    return SeedSpread(results[0].task if results else task.__name__, results)
