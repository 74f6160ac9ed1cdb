"""Compare two commits' speed in one run, alternating between them.

Run from the repository root::

    .venv/bin/python benchmarks/compare.py BASE [HEAD] --only W1,W4,W5 --rounds 3
    .venv/bin/python benchmarks/compare.py HEAD~1 --quick --rounds 1    # a smoke test

Each commit is checked out into a temporary git worktree (removed at the end). Each round runs
this checkout's ``benchmarks/run.py`` once for each commit, base first, with ``PYTHONPATH`` set
to that commit's worktree: the same benchmark code measures each commit's tinygrad_lite.
Alternating base, head, base, head ... spreads the machine's slow moments over both. The table
gives tinygrad_lite's median of every round and the ratio head / base of the medians of those
medians (below 1: head is faster). The competitors' rows are left out: they do not change.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"
TIMED = ("W1", "W2", "W3", "W4", "W5", "W7", "W8", "W9")  # MEM measures memory, not time
DEFAULT = TIMED[:5]  # the engine's micro-benchmarks and the MLPs: a few minutes a round


class CompareError(RuntimeError):
    """A commit that cannot be checked out or measured; the message says which and why."""


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise CompareError(f"git {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.stdout.strip()


@dataclass
class Side:
    """One of the two commits: its worktree and tinygrad_lite's medians, round by round."""

    name: str  # "base" or "head"
    commit: str  # the full hash
    worktree: Path
    # (row, engine) -> one median per round, or "fails" for a round where the row failed
    medians: dict[tuple[str, str], list[float | str]] = field(default_factory=dict)
    units: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The environment in which this worktree's tinygrad_lite is the one imported."""
        path = [str(self.worktree), *filter(None, [os.environ.get("PYTHONPATH")])]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}

    def check_import(self) -> None:
        """PYTHONPATH must win over an editable install of another checkout."""
        done = subprocess.run(
            [sys.executable, "-c", "import tinygrad_lite; print(tinygrad_lite.__file__)"],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.worktree.parent,  # -c puts the current directory first on sys.path
        )
        where = done.stdout.strip()
        if done.returncode != 0 or self.worktree.resolve() not in Path(where).resolve().parents:
            raise CompareError(
                f"{self.name}: tinygrad_lite is imported from {where or done.stderr.strip()!r}, "
                f"not from its worktree {self.worktree}"
            )

    def measure(self, options: Sequence[str], out: Path) -> None:
        """One run of run.py on this commit's tinygrad_lite; keeps tinygrad_lite's medians."""
        done = subprocess.run(
            [sys.executable, str(RUN), *options, "--json", str(out)],
            capture_output=True,
            text=True,
            env=self.env,
        )
        if done.returncode != 0 or not out.exists():
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise CompareError(f"{self.name}: run.py exited with code {done.returncode}:\n{tail}")
        result = json.loads(out.read_text())
        if not result["commit"].startswith(self.commit[:7]):  # run.py's own view of it
            raise CompareError(
                f"{self.name}: run.py measured {result['commit']}, not {self.commit}"
            )
        for row in result["rows"]:
            if row["ours"]:
                key = (row["row"], row["label"])
                self.medians.setdefault(key, []).append(row.get("median", "fails"))
                self.units[key] = row["unit"]
        out.unlink()


def table(base: Side, head: Side) -> str:
    lines = [
        f"| workload | engine | base {base.commit[:7]} | head {head.commit[:7]} | head / base "
        "| fastest round, head / base |",
        "|---|---|---|---|---|---|",
    ]
    for key in [*base.medians, *(k for k in head.medians if k not in base.medians)]:
        b, h = base.medians.get(key, []), head.medians.get(key, [])
        unit = base.units.get(key) or head.units[key]
        ratio = fastest = ""
        b_ok = [x for x in b if isinstance(x, float)]
        h_ok = [x for x in h if isinstance(x, float)]
        if b_ok and h_ok and len(b_ok) == len(b) and len(h_ok) == len(h):
            ratio = f"{statistics.median(h_ok) / statistics.median(b_ok):.3f}x"
            fastest = f"{min(h_ok) / min(b_ok):.3f}x"
        lines.append(
            f"| {key[0]} | {key[1]} | {_values(b, unit)} | {_values(h, unit)} | {ratio} "
            f"| {fastest} |"
        )
    return "\n".join(lines)


def _values(values: list[float | str], unit: str) -> str:
    if not values:
        return "not run"
    return ", ".join(v if isinstance(v, str) else f"{v:.3g}" for v in values) + f" {unit}"


NOTE = (
    "\n\nOne median per round, in the order run (base and head alternating). head / base: the "
    "median of head's medians over the median of base's (below 1: head is faster); fastest "
    "round: the fastest of head's rounds over the fastest of base's, steadier where other "
    "load slows whole rounds down (it only ever adds time); empty when a round failed. "
    "Benchmark code: this checkout ({bench})."
)


def compare(base: str, head: str, rounds: int, options: Sequence[str]) -> str:
    """Measure both commits ``rounds`` times, alternating; the markdown table."""
    commits = {
        name: git("rev-parse", "--verify", f"{ref}^{{commit}}")
        for name, ref in (("base", base), ("head", head))
    }
    with tempfile.TemporaryDirectory(prefix="tinygrad_lite-compare-") as tmp:
        sides = [Side(name, sha, Path(tmp) / name) for name, sha in commits.items()]
        try:
            for side in sides:
                git("worktree", "add", "--detach", "--quiet", str(side.worktree), side.commit)
                side.check_import()
                print(f"- {side.name}: {git('log', '-1', '--format=%h %s', side.commit)}")
            print()
            for n in range(1, rounds + 1):
                for side in sides:
                    print(f"round {n}/{rounds}: {side.name} ...", file=sys.stderr, flush=True)
                    side.measure(options, Path(tmp) / "run.json")
        finally:
            for side in sides:
                if side.worktree.exists():
                    git("worktree", "remove", "--force", str(side.worktree))
    return table(*sides) + NOTE.format(bench=git("describe", "--always", "--dirty"))


# ---------------------------------------------------------------- the command line


def _timed_workloads(text: str) -> str:
    names = [w.strip().upper() for w in text.split(",") if w.strip()]
    bad = [w for w in names if w not in TIMED]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"{','.join(bad) or repr(text)}: choose timed workloads from {','.join(TIMED)} "
            "(MEM measures memory, which this script does not compare)"
        )
    return ",".join(names)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("base", help="the commit to compare against (any git revision: main, HEAD~1)")
    p.add_argument("head", nargs="?", default="HEAD", help="the commit measured (default HEAD)")
    p.add_argument("--rounds", type=int, default=3, help="runs of each commit (default 3)")
    p.add_argument(
        "--only",
        type=_timed_workloads,
        default=",".join(DEFAULT),
        help=f"workloads, as run.py's (default {','.join(DEFAULT)})",
    )
    p.add_argument("--quick", action="store_true", help="run.py's tiny sizes (smoke test)")
    p.add_argument("--repeats", type=int, help="timed repeats per row in each run (run.py's)")
    p.add_argument("--threads", type=int, help="threads for NumPy's BLAS (run.py's; default 2)")
    p.add_argument("--clock", choices=("wall", "cpu"), help="run.py's --clock")
    p.add_argument("--no-gc", action="store_true", help="run.py's --no-gc")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.rounds < 1:
        _parser().error(f"--rounds must be at least 1, got {args.rounds}")
    options = ["--only", args.only]
    options += ["--quick"] if args.quick else []
    options += ["--no-gc"] if args.no_gc else []
    for name in ("repeats", "threads", "clock"):
        if getattr(args, name) is not None:
            options += [f"--{name}", str(getattr(args, name))]
    print(
        f"## {args.head} against {args.base}: {args.rounds} rounds of run.py {' '.join(options)}\n"
    )
    try:
        print(compare(args.base, args.head, args.rounds, options))
    except CompareError as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
