"""Engine micro-benchmarks: tinygrad_lite beside micrograd and torch, each in its own process.

Run from the repository root (``make bench`` does the same)::

    .venv/bin/python benchmarks/run_engine.py            # everything, a few minutes
    .venv/bin/python benchmarks/run_engine.py --quick    # tiny sizes, 3 repeats (smoke test)
    .venv/bin/python benchmarks/run_engine.py --only W1,W4 --repeats 9

It checks that the engines agree first, then times each engine on each workload in a fresh
process (``--worker``: one warm-up, then the repeats; one JSON line on stdout) and prints the
machine, the checks and a markdown table of medians, spreads, ratios and targets. Competitors
that are not installed are skipped, and the output says so. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import workloads

ROOT = Path(__file__).resolve().parent.parent
COMPETITORS = ("micrograd", "torch")
INSTALL = {"micrograd": "pip install micrograd==0.1.0", "torch": "pip install torch"}
WORKLOADS = ("W1", "W4", "W5")
TITLES = {
    "W1": "micrograd demo, one SGD step",
    "W4": "elementwise chain on (16,) float32",
    "W5": "chain of scalar additions",
}
SIZES = {  # full run, --quick
    "W1": ((100,), (8,)),  # two-moons points
    "W4": ((1000,), (100,)),  # ops in the chain
    "W5": ((10_000, 100_000, 1_000_000), (1000,)),  # additions
}
UNITS = {"W1": ("ms/step", 1e3), "W4": ("µs/op", 1e6), "W5": ("µs/add", 1e6)}
ENGINE_LABELS = {
    "micrograd": "micrograd",
    "torch": "torch (2 threads)",
    "tinygrad_lite": "tinygrad_lite",
    "tl-scalar": "tinygrad_lite nn.scalar.MLP",
    "tl-opbyop": "tinygrad_lite op-by-op",
}
CLOCK_TEXT = {"wall": "wall-clock time", "cpu": "CPU time of the measuring thread"}
BIG_N, BIG_N_REPEATS = 1_000_000, 3  # the million-node chain gets fewer repeats
WORKER_TIMEOUT = 300.0  # seconds; a worker that takes longer is reported as timed out


@dataclass(frozen=True)
class Target:
    """What a tinygrad_lite row should reach: a time per unit and/or a ratio to its competitor."""

    text: str
    max_per_unit: float | None = None
    max_ratio: float | None = None


TARGETS = {
    "W1": Target("<= 0.5x micrograd", max_ratio=0.5),
    "W4": Target("<= 2.5 µs/op, <= 0.5x torch", max_per_unit=2.5, max_ratio=0.5),
    "W5": Target("works, <= 3 µs/add", max_per_unit=3.0),
}


@dataclass(frozen=True)
class Row:
    """One line of the table: one engine (``variant``) on one workload at one size."""

    workload: str
    variant: str
    size: int
    competitor: str | None = None  # the variant this row's ratio is taken against
    target: Target | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.workload, self.variant, self.size)

    @property
    def needs(self) -> str | None:
        """The optional package this row's engine needs."""
        return self.variant if self.variant in COMPETITORS else None


# ---------------------------------------------------------------- what to run


def plan(only: Sequence[str], quick: bool, installed: Sequence[str]) -> list[Row]:
    """The rows to measure, competitors first; rows of engines that are not installed are left
    out (and their tinygrad_lite rows then have no ratio)."""
    rows: list[Row] = []
    for w in only:
        for size in SIZES[w][quick]:
            rows += _rows_of(w, size)
    return [r for r in rows if r.needs is None or r.needs in installed]


def _rows_of(workload: str, size: int) -> list[Row]:
    target = TARGETS[workload]
    if workload == "W1":
        return [
            Row("W1", "micrograd", size),
            Row("W1", "tl-scalar", size, "micrograd", target),
            Row("W1", "tl-opbyop", size, "micrograd", target),
        ]
    if workload == "W4":
        return [Row("W4", "torch", size), Row("W4", "tinygrad_lite", size, "torch", target)]
    return [
        Row("W5", "micrograd", size),
        Row("W5", "tinygrad_lite", size, "micrograd", target if size >= BIG_N else None),
    ]


def installed_competitors() -> list[str]:
    return [name for name in COMPETITORS if importlib.util.find_spec(name) is not None]


def missing_notes(installed: Sequence[str]) -> list[str]:
    """One line for each competitor that is not installed."""
    return [
        f"- {name} is not installed: its rows are skipped ({INSTALL[name]})"
        for name in COMPETITORS
        if name not in installed
    ]


def repeats_for(row: Row, repeats: int) -> int:
    return min(repeats, BIG_N_REPEATS) if row.size >= BIG_N else repeats


# ---------------------------------------------------------------- inside a worker process


VARIANTS = {
    "W1": ("micrograd", "tl-scalar", "tl-opbyop"),
    "W4": ("torch", "tinygrad_lite"),
    "W5": ("micrograd", "tinygrad_lite"),
}


def bench_for(workload: str, variant: str, size: int) -> workloads.Bench:
    if variant not in VARIANTS.get(workload, ()):
        raise ValueError(f"no engine {variant!r} for workload {workload!r}; see VARIANTS")
    if workload == "W1":
        return workloads.w1_bench(variant, size)
    if workload == "W4":
        return workloads.w4_bench(variant, size)
    return workloads.w5_bench(variant, size)


def measure(bench: workloads.Bench, repeats: int, no_gc: bool = False) -> dict[str, list[float]]:
    """Warm up once, then ``repeats`` timed runs; seconds per unit for each phase.

    Garbage from the previous run is collected before each run, untimed, so no run pays for
    freeing another run's graph. ``no_gc``: the cyclic collector is off during the runs.
    """
    (bench.warmup or bench.run)()
    samples: dict[str, list[float]] = {}
    for _ in range(repeats):
        gc.collect()
        if no_gc:
            gc.disable()
        try:
            phases = bench.run()
        finally:
            gc.enable()
        for phase, seconds in phases.items():
            samples.setdefault(phase, []).append(seconds / bench.units)
    return samples


def worker(
    workload: str, variant: str, size: int, repeats: int, no_gc: bool = False
) -> dict[str, object]:
    try:
        bench = bench_for(workload, variant, size)
        return {"phases": measure(bench, repeats, no_gc), "units": bench.units}
    except Exception as e:  # reported in the table: "fails at N"
        return {"error": f"{type(e).__name__}: {str(e)[:200]}"}


def check(workload: str, competitors: Sequence[str]) -> str:
    """Run one workload's correctness check; raises CheckFailed on disagreement."""
    if workload == "W1":
        return workloads.w1_check(SIZES["W1"][0][0], competitors)
    if workload == "W4":
        return workloads.w4_check(SIZES["W4"][0][0], competitors)
    return "W5: every timed run checks y = N and dy/dx = 1"


# ---------------------------------------------------------------- in the parent process


def run_process(args: list[str]) -> dict[str, object]:
    """Run this script with ``args`` in a fresh interpreter; its last stdout line is JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {WORKER_TIMEOUT:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"process exited with code {done.returncode}: {tail}"}
    result: dict[str, object] = json.loads(lines[-1])
    return result


@dataclass(frozen=True)
class Stats:
    """Medians (and the spread of the total) of one row, per unit, in seconds."""

    total: float
    low: float
    high: float
    phases: dict[str, float]
    repeats: int


def summarise(result: dict[str, object]) -> Stats | str:
    """Stats of a worker's samples, or its error text."""
    if "error" in result:
        return str(result["error"])
    phases: dict[str, list[float]] = result["phases"]  # type: ignore[assignment]
    totals = [sum(run) for run in zip(*phases.values())]
    return Stats(
        total=statistics.median(totals),
        low=min(totals),
        high=max(totals),
        phases={name: statistics.median(s) for name, s in phases.items()},
        repeats=len(totals),
    )


def status(row: Row, stats: Stats | str, ratio: float | None, quick: bool) -> str:
    target = row.target
    if target is None:
        return ""
    if isinstance(stats, str):
        return "MISS (failed)"
    if quick:
        return "n/a (quick sizes)"
    scale = UNITS[row.workload][1]
    ok = target.max_per_unit is None or stats.total * scale <= target.max_per_unit
    if target.max_ratio is not None:
        if ratio is None:
            return ("PASS" if ok else "MISS") + f" ({row.competitor} not run: ratio unchecked)"
        ok = ok and ratio <= target.max_ratio
    return "PASS" if ok else "MISS"


def table(
    rows: Sequence[Row], results: dict[tuple[str, str, int], Stats | str], quick: bool
) -> str:
    head = (
        "| workload | engine | median | min – max | phases (median) | repeats "
        "| tinygrad_lite / competitor | target | status |"
    )
    lines = [head, "|" + "---|" * 9]
    for row in rows:
        stats = results[row.key]
        other = results.get((row.workload, row.competitor or "", row.size))
        ratio = None
        if isinstance(stats, Stats) and isinstance(other, Stats):
            ratio = stats.total / other.total
        lines.append(_table_line(row, stats, ratio, quick))
    return "\n".join(lines)


def _table_line(row: Row, stats: Stats | str, ratio: float | None, quick: bool) -> str:
    unit, scale = UNITS[row.workload]
    what = f"{row.workload} {TITLES[row.workload]}, {_size_text(row)}"
    if isinstance(stats, str):
        cells = [f"fails at {_size_text(row)}: {stats}", "", "", ""]
    else:
        phases = " · ".join(f"{k} {v * scale:.3g}" for k, v in stats.phases.items())
        cells = [
            f"{stats.total * scale:.3g} {unit}",
            f"{stats.low * scale:.3g} – {stats.high * scale:.3g}",
            phases,
            str(stats.repeats),
        ]
    versus = f"{ratio:.2f}x {row.competitor}" if ratio is not None else ""
    target = row.target.text if row.target else ""
    cells += [versus, target, status(row, stats, ratio, quick)]
    return "| " + " | ".join([what, ENGINE_LABELS[row.variant], *cells]) + " |"


def _size_text(row: Row) -> str:
    noun = {"W1": "points", "W4": "ops", "W5": "additions"}[row.workload]
    return f"{row.size:,} {noun}"


def machine_info() -> str:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    packages = ", ".join(
        f"{name} {version(name)}" for name in ("numpy", "torch", "micrograd", "tinygrad_lite")
    )
    return "\n".join(
        [
            f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            f"- machine: {os.cpu_count()} logical CPUs, {_cpu_model()}, {platform.system()} "
            f"{platform.machine()}",
            f"- python {platform.python_version()}, {packages}",
        ]
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sys.path.insert(0, str(ROOT))  # measure this working tree's tinygrad_lite
    if args.worker:
        workloads.use_clock(args.clock)
        w, variant, size = args.worker
        print(json.dumps(worker(w, variant, int(size), args.repeats or 7, args.no_gc)))
        return 0
    if args.check:
        try:
            competitors = [c for c in args.competitors.split(",") if c]
            print(json.dumps({"ok": check(args.check, competitors)}))
        except workloads.CheckFailed as e:
            print(json.dumps({"error": str(e)}))
        return 0
    repeats = args.repeats or (3 if args.quick else 7)
    return run_all(args.only, args.quick, repeats, args.clock, args.no_gc)


def run_all(
    only: Sequence[str], quick: bool, repeats: int, clock: str = "wall", no_gc: bool = False
) -> int:
    competitors = installed_competitors()
    rows = plan(only, quick, competitors)
    big = any(r.size >= BIG_N for r in rows)
    fewer = f" ({min(repeats, BIG_N_REPEATS)} at N = {BIG_N:,})" if big else ""
    print("## tinygrad_lite engine benchmarks\n")
    print(machine_info())
    print(
        f"- {CLOCK_TEXT[clock]}; each engine in its own process: 1 warm-up, then the median of "
        f"{repeats} repeats{fewer}; spread is min – max; garbage collected between repeats, "
        "untimed" + ("; the cyclic garbage collector is OFF during the timed runs" if no_gc else "")
    )
    for note in missing_notes(competitors):
        print(note)
    print("\nCorrectness checks, before timing:")
    failed = []
    for w in only:
        result = run_process(["--check", w, "--competitors", ",".join(competitors)])
        print(f"- {result.get('ok') or 'FAILED: ' + str(result['error'])}")
        if "error" in result:
            failed.append(w)
    results: dict[tuple[str, str, int], Stats | str] = {}
    for row in rows:
        if row.workload in failed:
            results[row.key] = "its correctness check failed, not timed"
            continue
        print(f"running {row.workload} {row.variant} {row.size:,} ...", file=sys.stderr)
        n = repeats_for(row, repeats)
        results[row.key] = summarise(
            run_process(
                ["--worker", row.workload, row.variant, str(row.size)]
                + ["--repeats", str(n), "--clock", clock]
                + (["--no-gc"] if no_gc else [])
            )
        )
    print()
    print(table(rows, results, quick))
    print(
        "\nratio = tinygrad_lite's median / the competitor's median (below 1: tinygrad_lite "
        "is faster). Phases: forward builds the graph, backward includes zero_grad."
    )
    return 1 if failed else 0


def _workload_list(text: str) -> list[str]:
    names = [w.strip().upper() for w in text.split(",") if w.strip()]
    bad = [w for w in names if w not in WORKLOADS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown workload(s) {bad or text!r}; choose from {','.join(WORKLOADS)}"
        )
    return names


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"--repeats must be at least 1, got {n}")
    return n


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes and 3 repeats (smoke test)")
    p.add_argument("--only", type=_workload_list, default=list(WORKLOADS), help="e.g. W1,W4")
    p.add_argument("--repeats", type=_positive, help="timed repeats per row (default 7)")
    p.add_argument(
        "--clock",
        choices=sorted(workloads.CLOCKS),
        default="wall",
        help="wall clock (default), or cpu: the measuring thread's CPU time, steadier on a "
        "busy machine",
    )
    p.add_argument(
        "--no-gc",
        action="store_true",
        help="switch the cyclic garbage collector off during timed runs: the engines' own cost",
    )
    p.add_argument(
        "--worker", nargs=3, metavar=("WORKLOAD", "ENGINE", "SIZE"), help=argparse.SUPPRESS
    )
    p.add_argument("--check", choices=WORKLOADS, help=argparse.SUPPRESS)
    p.add_argument("--competitors", default="", help=argparse.SUPPRESS)
    return p


if __name__ == "__main__":
    sys.exit(main())
