"""tinygrad_lite's benchmark suite: every workload, every engine in its own process, one table.

Run from the repository root::

    .venv/bin/python benchmarks/run.py                 # everything: about 2 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --quick         # tiny sizes, 3 repeats (smoke test)
    .venv/bin/python benchmarks/run.py --only W1,W4,W5  # the engine micro-benchmarks
    .venv/bin/python benchmarks/run.py --only W2,W3 --repeats 9 --threads 1

Workloads (see docs/benchmarks.md): W1 micrograd's demo, W2 the books' shallow 784-64-10
sigmoid net, W3 a 784-512-512-10 ReLU net, W4 an elementwise chain, W5 a chain of a million
additions, W7 LeNet-5 (one SGD step of a CNN), W8 an LSTM (one SGD step), W9 a transformer
encoder layer (forward and backward), MEM resident memory over 1,000 steps of W3.
The script checks that the engines agree first, then times each engine on each workload in a
fresh process (``--worker``: one warm-up, then the repeats; one JSON line on stdout) and
prints the machine, the checks and markdown tables of medians, spreads, ratios and targets.
Competitors that are not installed are skipped, and the output says so. ``--json PATH`` also
writes the timed rows' medians there (``compare.py`` reads them).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cnn
import encoder
import harness
import lstm
import nets
import workloads
from harness import AnyWorkload, Engine, MemoryWorkload, Workload

ROOT = Path(__file__).resolve().parent.parent
_ALL: tuple[AnyWorkload, ...] = (
    *workloads.WORKLOADS,
    *nets.WORKLOADS,
    *cnn.WORKLOADS,
    *lstm.WORKLOADS,
    *encoder.WORKLOADS,
)
SUITE: dict[str, AnyWorkload] = {  # by name, the memory run last
    w.name: w for w in sorted(_ALL, key=lambda w: (isinstance(w, MemoryWorkload), w.name))
}
OPTIONAL = ("micrograd", "torch")
INSTALL = {"micrograd": "pip install micrograd==0.1.0", "torch": "pip install torch"}
CLOCK_TEXT = {"wall": "wall-clock time", "cpu": "CPU time of the measuring thread"}
WORKER_TIMEOUT = 600.0  # seconds; a worker that takes longer is reported as timed out
MIB = 1 << 20


@dataclass(frozen=True)
class Row:
    """One line of a table: one engine on one workload at one size (steps, for MEM)."""

    workload: AnyWorkload
    engine: Engine
    size: int

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.workload.name, self.engine.name, self.size)

    @property
    def ours(self) -> bool:
        return self.engine.name in self.workload.ours

    @property
    def competitors(self) -> tuple[str, ...]:
        """The engines this row's ratios are taken against: the workload's competitors, and
        any other engine its own target names (the traced engine's is eager tinygrad_lite)."""
        w = self.workload
        if not self.ours or not isinstance(w, Workload):
            return ()
        own = w.targets.get(self.engine.name)
        extra = [name for name in (own.max_ratio if own else ()) if name not in w.competitors]
        return (*w.competitors, *extra)

    @property
    def target(self) -> harness.Target | None:
        w = self.workload
        if not self.ours or not isinstance(w, Workload):
            return None
        target = w.targets.get(self.engine.name, w.target)
        return None if self.size < target.min_size else target

    @property
    def label(self) -> str:
        return self.engine.label.format(threads=_threads_text(harness.threads()))


def package_root() -> Path:
    """The checkout whose tinygrad_lite is measured: this one, unless a PYTHONPATH entry holds
    another (``compare.py`` runs this script on two commits' worktrees that way)."""
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry and (Path(entry) / "tinygrad_lite" / "__init__.py").is_file():
            return Path(entry).resolve()
    return ROOT


def _threads_text(n: int) -> str:
    return f"{n} thread" if n == 1 else f"{n} threads"


# ---------------------------------------------------------------- what to run


def plan(only: Sequence[str], quick: bool, installed: Sequence[str]) -> list[Row]:
    """The rows to measure, workload by workload, competitors first; rows of engines that
    are not installed are left out (and tinygrad_lite's ratios to them then too)."""
    rows = []
    for name in only:
        w = SUITE[name]
        for size in w.quick_sizes if quick else w.sizes:
            rows += [Row(w, e, size) for e in w.engines if e.needs in (None, *installed)]
    return rows


def installed_competitors() -> list[str]:
    return [name for name in OPTIONAL if importlib.util.find_spec(name) is not None]


def missing_notes(installed: Sequence[str]) -> list[str]:
    """One line for each competitor that is not installed."""
    return [
        f"- {name} is not installed: its rows are skipped ({INSTALL[name]})"
        for name in OPTIONAL
        if name not in installed
    ]


def repeats_for(row: Row, repeats: int) -> int:
    few = row.workload.few_repeats if isinstance(row.workload, Workload) else None
    return min(repeats, few[1]) if few and row.size >= few[0] else repeats


# ---------------------------------------------------------------- inside a worker process


def worker(
    name: str, engine: str, size: int, repeats: int, no_gc: bool = False, quick: bool = False
) -> dict[str, object]:
    """Measure one row: per-unit samples of each phase, or a memory profile."""
    w = SUITE[name]
    if engine not in {e.name for e in w.engines}:
        raise ValueError(f"no engine {engine!r} for workload {name!r}; see its engines")
    try:
        if isinstance(w, MemoryWorkload):
            return w.run(engine, size, w.every[quick])
        bench = w.bench(engine, size)
        return {"phases": harness.measure(bench, repeats, no_gc), "units": bench.units}
    except Exception as e:  # reported in the table: "fails at N"
        return {"error": f"{type(e).__name__}: {str(e)[:200]}"}


def check(name: str, installed: Sequence[str]) -> str:
    """Run one workload's correctness check; raises CheckFailed on disagreement."""
    return SUITE[name].check(installed)


# ---------------------------------------------------------------- in the parent process


def run_process(args: list[str], threads: int) -> dict[str, object]:
    """Run this script with ``args`` in a fresh interpreter whose BLAS and OpenMP use
    ``threads`` threads; its last stdout line is JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args, "--threads", str(threads)]
    try:
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT,
            env=harness.engine_env(threads),
        )
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


def merged(before: dict[str, object] | None, result: dict[str, object]) -> dict[str, object]:
    """A row's samples over rounds: each phase's samples of ``result`` after ``before``'s (an
    error in any round stands for the row)."""
    if before is None or "error" in before:
        return before or result
    if "error" in result:
        return result
    phases: dict[str, list[float]] = before["phases"]  # type: ignore[assignment]
    more: dict[str, list[float]] = result["phases"]  # type: ignore[assignment]
    return {**before, "phases": {k: phases[k] + more[k] for k in phases}}


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


def ratios_of(row: Row, results: dict[tuple[str, str, int], Stats | str]) -> dict[str, float]:
    """This row's median over each competitor's, for the competitors that were measured."""
    stats = results[row.key]
    out = {}
    for name in row.competitors:
        other = results.get((row.workload.name, name, row.size))
        if isinstance(stats, Stats) and isinstance(other, Stats):
            out[name] = stats.total / other.total
    return out


def status(row: Row, stats: Stats | str, ratios: dict[str, float], quick: bool) -> str:
    """PASS or MISS against the row's target ('' if it has none)."""
    target = row.target
    if target is None:
        return ""
    if isinstance(stats, str):
        return "MISS (failed)"
    if quick:
        return "n/a (quick sizes)"
    scale = row.workload.scale if isinstance(row.workload, Workload) else 1.0
    ok = target.max_per_unit is None or stats.total * scale <= target.max_per_unit
    unchecked = [name for name in target.max_ratio if name not in ratios]
    ok = ok and all(
        ratios[name] <= limit for name, limit in target.max_ratio.items() if name in ratios
    )
    verdict = "PASS" if ok else "MISS"
    if unchecked:
        return f"{verdict} ({', '.join(unchecked)} not run: ratio unchecked)"
    return verdict


TIME_NOTE = (
    "\nratio = tinygrad_lite's median / the competitor's median (below 1: tinygrad_lite is "
    "faster). Phases: forward builds the graph and the loss (and, in W2 and W3, frees the "
    "previous step's graph, as a training loop does), backward includes zero_grad, update is "
    "the SGD step."
)
TIME_HEAD = (
    "| workload | engine | median | min – max | phases (median) | repeats "
    "| tinygrad_lite / competitor | target | status |"
)


def table(
    rows: Sequence[Row], results: dict[tuple[str, str, int], Stats | str], quick: bool
) -> str:
    lines = [TIME_HEAD, "|" + "---|" * 9]
    for row in rows:
        lines.append(_table_line(row, results[row.key], ratios_of(row, results), quick))
    return "\n".join(lines)


def _table_line(row: Row, stats: Stats | str, ratios: dict[str, float], quick: bool) -> str:
    w = row.workload
    assert isinstance(w, Workload)
    if isinstance(stats, str):
        cells = [f"fails at {_size_text(row)}: {stats}", "", "", ""]
    else:
        phases = " · ".join(f"{k} {v * w.scale:.3g}" for k, v in stats.phases.items())
        cells = [
            f"{stats.total * w.scale:.3g} {w.unit}",
            f"{stats.low * w.scale:.3g} – {stats.high * w.scale:.3g}",
            phases,
            str(stats.repeats),
        ]
    names = {e.name: e.ratio_name for e in w.engines}
    versus = " · ".join(f"{r:.2f}x {names[name]}" for name, r in ratios.items())
    target = row.target.text if row.target else ""
    cells += [versus, target, status(row, stats, ratios, quick)]
    return "| " + " | ".join([f"{w.name} {w.title}, {_size_text(row)}", row.label, *cells]) + " |"


def medians_json(
    rows: Sequence[Row], results: dict[tuple[str, str, int], Stats | str]
) -> dict[str, object]:
    """What ``--json`` writes: the commit measured and each timed row's median (in the row's
    unit, as the table shows it) or its error."""
    out = []
    for row in rows:
        w, stats = row.workload, results[row.key]
        assert isinstance(w, Workload)
        cells: dict[str, object] = {
            "workload": w.name,
            "row": f"{w.name} {w.title}, {_size_text(row)}",
            "engine": row.engine.name,
            "label": row.label,
            "size": row.size,
            "ours": row.ours,
            "unit": w.unit,
        }
        if isinstance(stats, str):
            cells["error"] = stats
        else:
            cells.update(median=stats.total * w.scale, repeats=stats.repeats)
        out.append(cells)
    return {"commit": _commit(package_root()), "rows": out}


def _size_text(row: Row) -> str:
    w = row.workload
    noun = w.noun if isinstance(w, Workload) else "{size:,} steps"
    return noun.format(size=row.size) if "{" in noun else f"{row.size:,} {noun}"


# ---------------------------------------------------------------- the memory table


@dataclass(frozen=True)
class MemoryStats:
    """The resident-memory samples of one memory row, digested (bytes and seconds)."""

    before: int  # before the first step
    settled: int  # at step ``settle``
    last: int
    peak_sampled: int
    growth: int  # the highest sample after ``settle``, minus the sample at ``settle``
    late_growth: int  # the same over the second half of the run: what a leak would show
    process_peak: int
    seconds: float
    settle: int
    faults_per_step: float  # minor page faults per step after ``settle``


def memory_stats(result: dict[str, object], settle: int) -> MemoryStats | str:
    if "error" in result:
        return str(result["error"])
    at: list[int] = result["steps"]  # type: ignore[assignment]
    rss: list[int] = result["rss"]  # type: ignore[assignment]
    faults: list[int] = result["faults"]  # type: ignore[assignment]
    i = _first_sample(at, settle)
    half = _first_sample(at, at[-1] // 2)
    return MemoryStats(
        before=rss[0],
        settled=rss[i],
        last=rss[-1],
        peak_sampled=max(rss),
        growth=max(rss[i:]) - rss[i],
        late_growth=max(rss[half:]) - rss[half],
        process_peak=int(result["peak"]),  # type: ignore[call-overload]
        seconds=float(result["seconds"]),  # type: ignore[arg-type]
        settle=at[i],
        faults_per_step=(faults[-1] - faults[i]) / max(at[-1] - at[i], 1),
    )


def _first_sample(steps: list[int], step: int) -> int:
    """The index of the first sample taken at or after ``step`` (the last one if none)."""
    return next((k for k, at in enumerate(steps) if at >= step), len(steps) - 1)


def memory_status(row: Row, stats: MemoryStats | str, quick: bool) -> str:
    w = row.workload
    if not row.ours or not isinstance(w, MemoryWorkload):
        return ""
    if isinstance(stats, str):
        return "MISS (failed)"
    if quick:
        return "n/a (quick sizes)"
    allowed = max(w.tolerance_bytes, w.tolerance_fraction * stats.settled)
    return "PASS" if stats.growth <= allowed else "MISS"


MEMORY_NOTE = (
    "\nRSS: resident memory of the engine's process (/proc/self/statm), sampled before the "
    "first step and every few steps; the process peak (ru_maxrss) includes the libraries "
    "loaded. Growth: the highest sample minus the sample at step {settle} (the target), and "
    "the same over the second half of the run (a leak grows there too; an allocator settling "
    "does not). Page faults: minor page faults per step after step {settle}, each a page (4 KiB) "
    "of memory touched for the first time: large temporaries whose memory the allocator hands "
    "back to the kernel every step."
)
MEMORY_HEAD = (
    "| workload | engine | RSS before training | at step {settle} | at the end | peak sampled "
    "| growth after step {settle} | growth over the 2nd half | peak RSS of the process "
    "| page faults / step | time | target | status |"
)


def memory_table(
    rows: Sequence[Row],
    results: dict[tuple[str, str, int], MemoryStats | str],
    quick: bool,
    settle: int,
) -> str:
    lines = [MEMORY_HEAD.format(settle=settle), "|" + "---|" * 13]
    for row in rows:
        w, stats = row.workload, results[row.key]
        assert isinstance(w, MemoryWorkload)
        target = ""
        if row.ours:
            target = (
                f"flat after step {settle} (growth <= {w.tolerance_bytes / MIB:.0f} MiB "
                f"or {w.tolerance_fraction:.0%})"
            )
        what = [f"{w.name} {w.title}, {_size_text(row)}", row.label]
        if isinstance(stats, str):
            cells = [f"fails: {stats}"] + [""] * 8
        else:
            cells = [
                _mib(stats.before),
                _mib(stats.settled),
                _mib(stats.last),
                _mib(stats.peak_sampled),
                f"{stats.growth / MIB:+.1f} MiB",
                f"{stats.late_growth / MIB:+.1f} MiB",
                _mib(stats.process_peak),
                f"{stats.faults_per_step:.0f}",
                f"{stats.seconds:.1f} s",
            ]
        lines.append(
            "| " + " | ".join([*what, *cells, target, memory_status(row, stats, quick)]) + " |"
        )
    return "\n".join(lines)


def _mib(n: int) -> str:
    return f"{n / MIB:.1f} MiB"


# ---------------------------------------------------------------- the machine


def machine_info(threads: int) -> str:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    packages = ", ".join(
        f"{name} {version(name)}" for name in ("numpy", "torch", "micrograd", "tinygrad_lite")
    )
    root = package_root()
    where = "" if root == ROOT else f" (tinygrad_lite from {root}; benchmark code from {ROOT})"
    return "\n".join(
        [
            f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
            f"commit {_commit(root)}{where}",
            f"- machine: {os.cpu_count()} logical CPUs, {_cpu_model()}, {platform.system()} "
            f"{platform.machine()}; load average {_load()} at the start",
            f"- python {platform.python_version()}, {packages}",
            f"- NumPy's BLAS: {_blas()}; {_threads_text(threads)} for it and for torch "
            "(OPENBLAS/OMP/MKL_NUM_THREADS, torch.set_num_threads)",
            "- every engine's process: glibc's malloc keeps up to 64 MiB of freed memory for the "
            "next step (MALLOC_TOP_PAD_, MALLOC_MMAP_THRESHOLD_), as tinygrad_lite sets on import",
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


def _blas() -> str:
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy, or a build that does not describe itself
        return "unknown"


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"
    except OSError:
        return "unknown"


def _commit(root: Path) -> str:
    """The commit of the working tree measured, and whether it has uncommitted changes."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)

    try:
        head = git("rev-parse", "--short", "HEAD")
        if head.returncode != 0:
            return "unknown"
        dirty = git("diff-index", "--quiet", "HEAD", "--").returncode != 0
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" with uncommitted changes" if dirty else "")


def busy_note(threads: int) -> str | None:
    """A warning when other programs keep the cores busy (it spoils multi-threaded rows)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return None
    if load < 0.5:
        return None
    text = f"- the machine is busy (load average {load:.2f} before the first worker): "
    if threads == 1:
        return text + "timings are noisier than usual; compare two runs"
    return text + (
        f"W2 and W3 on {threads} threads suffer most (OpenBLAS and OpenMP threads wait for "
        "each other); compare two runs, or use --threads 1"
    )


# ---------------------------------------------------------------- the whole run


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sys.path.insert(0, str(package_root()))  # this working tree's tinygrad_lite, or PYTHONPATH's
    harness.use_threads(args.threads)
    if args.worker:
        name, engine, size = args.worker
        harness.use_clock("wall" if getattr(SUITE[name], "threaded", False) else args.clock)
        repeats = args.repeats or 7
        print(json.dumps(worker(name, engine, int(size), repeats, args.no_gc, args.quick)))
        return 0
    if args.check:
        try:
            installed = [c for c in args.installed.split(",") if c]
            print(json.dumps({"ok": check(args.check, installed)}))
        except harness.CheckFailed as e:
            print(json.dumps({"error": str(e)}))
        return 0
    repeats = args.repeats or (3 if args.quick else 7)
    return run_all(
        args.only,
        args.quick,
        repeats,
        args.clock,
        args.no_gc,
        args.threads,
        args.json,
        args.rounds,
    )


def run_all(
    only: Sequence[str],
    quick: bool,
    repeats: int,
    clock: str = "wall",
    no_gc: bool = False,
    threads: int = 2,
    json_path: Path | None = None,
    rounds: int = 1,
) -> int:
    start = time.perf_counter()
    installed = installed_competitors()
    rows = plan(only, quick, installed)
    print("## tinygrad_lite benchmarks\n")
    print(machine_info(threads))
    print(_method_text(rows, repeats, clock, no_gc, rounds))
    for note in [*missing_notes(installed), busy_note(threads)]:
        if note:
            print(note)
    failed = run_checks(only, installed, threads)
    measured: dict[tuple[str, str, int], dict[str, object]] = {}
    for _ in range(rounds):  # each round runs every row once: the engines take turns
        for r in rows:
            if r.key in measured and not isinstance(r.workload, Workload):
                continue  # a memory profile is taken once
            result = _measure_row(r, failed, threads, repeats, clock, no_gc, quick)
            measured[r.key] = merged(measured.get(r.key), result)
    timed_rows = [r for r in rows if isinstance(r.workload, Workload)]
    summaries = {r.key: summarise(measured[r.key]) for r in timed_rows}
    if timed_rows:
        print()
        print(table(timed_rows, summaries, quick))
        print(TIME_NOTE)
    if json_path is not None:
        json_path.write_text(json.dumps(medians_json(timed_rows, summaries), indent=1))
    memory_workloads = {r.workload.name: r.workload for r in rows}
    for w in memory_workloads.values():
        if not isinstance(w, MemoryWorkload):
            continue
        settle = w.settle[quick]
        memory_rows = [r for r in rows if r.workload is w]
        memory = {r.key: memory_stats(measured[r.key], settle) for r in memory_rows}
        print()
        print(memory_table(memory_rows, memory, quick, settle))
        print(MEMORY_NOTE.format(settle=settle))
    minutes, seconds = divmod(time.perf_counter() - start, 60)
    print(
        f"\nThe whole run took {minutes:.0f} min {seconds:.0f} s; "
        f"load average {_load()} at the end."
    )
    return 1 if failed else 0


def run_checks(only: Sequence[str], installed: Sequence[str], threads: int) -> set[str]:
    """Run each workload's check (each distinct check once); the names of those that failed."""
    print("\nCorrectness checks, before timing:")
    failed: set[str] = set()
    done: dict[int, tuple[str, dict[str, object]]] = {}
    for name in only:
        check_fn = SUITE[name].check
        if id(check_fn) in done:
            first, result = done[id(check_fn)]
            print(f"- {name}: the same check as {first}, above")
        else:
            result = run_process(["--check", name, "--installed", ",".join(installed)], threads)
            done[id(check_fn)] = (name, result)
            print(f"- {result.get('ok') or f'{name}: FAILED: ' + str(result['error'])}")
        if "error" in result:
            failed.add(name)
    return failed


def _measure_row(
    row: Row, failed: set[str], threads: int, repeats: int, clock: str, no_gc: bool, quick: bool
) -> dict[str, object]:
    """One row's worker result (samples, a memory profile, or ``{"error": ...}``)."""
    if row.workload.name in failed:
        return {"error": "its correctness check failed, not measured"}
    print(f"running {row.workload.name} {row.engine.name} {row.size:,} ...", file=sys.stderr)
    return run_process(
        ["--worker", row.workload.name, row.engine.name, str(row.size)]
        + ["--repeats", str(repeats_for(row, repeats)), "--clock", clock]
        + (["--no-gc"] if no_gc else [])
        + (["--quick"] if quick else []),
        threads,
    )


def _method_text(
    rows: Sequence[Row], repeats: int, clock: str, no_gc: bool, rounds: int = 1
) -> str:
    fewer = sorted(
        {(r.size, repeats_for(r, repeats)) for r in rows if repeats_for(r, repeats) < repeats}
    )
    fewer_text = "".join(f" ({n} at {size:,})" for size, n in fewer)
    threaded = sorted({r.workload.name for r in rows if getattr(r.workload, "threaded", False)})
    lines = [
        f"- {CLOCK_TEXT[clock]}; each engine in its own process: 1 warm-up, then the median of "
        f"{repeats} repeats{fewer_text}"
        + (
            f", in each of {rounds} rounds (every engine's process once per round, in turn: "
            "the median is over all rounds' repeats)"
            if rounds > 1
            else ""
        )
        + "; spread is min – max; garbage collected between repeats, untimed"
        + ("; the cyclic garbage collector is OFF during the timed runs" if no_gc else "")
    ]
    if clock == "cpu" and threaded:
        lines.append(
            f"- {', '.join(threaded)}: always wall-clock time (their matrix products run on "
            "several threads, which one thread's CPU time does not count)"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- the command line


def _workload_list(text: str) -> list[str]:
    names = [w.strip().upper() for w in text.split(",") if w.strip()]
    bad = [w for w in names if w not in SUITE]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown workload(s) {bad or text!r}; choose from {','.join(SUITE)}"
        )
    return names


def _positive(what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        n = int(text)
        if n < 1:
            raise argparse.ArgumentTypeError(f"{what} must be at least 1, got {n}")
        return n

    return parse


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes and 3 repeats (smoke test)")
    p.add_argument(
        "--only",
        type=_workload_list,
        default=list(SUITE),
        help=f"e.g. W1,W4 (from {','.join(SUITE)})",
    )
    p.add_argument(
        "--repeats", type=_positive("--repeats"), help="timed repeats per row (default 7)"
    )
    p.add_argument(
        "--rounds",
        type=_positive("--rounds"),
        default=1,
        help="run every row this many times, the engines taking turns, and take the median "
        "over all rounds (default 1): a slow spell of a shared machine then falls on every "
        "engine, not on whichever ran during it",
    )
    p.add_argument(
        "--threads",
        type=_positive("--threads"),
        default=2,
        help="threads for NumPy's BLAS and for torch (default 2)",
    )
    p.add_argument(
        "--clock",
        choices=sorted(harness.CLOCKS),
        default="wall",
        help="wall clock (default), or cpu: the measuring thread's CPU time, steadier on a "
        "busy machine (W2 and W3 always use the wall clock)",
    )
    p.add_argument(
        "--no-gc",
        action="store_true",
        help="switch the cyclic garbage collector off during timed runs: the engines' own cost",
    )
    p.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="also write the timed rows' medians to PATH, as JSON (compare.py reads it)",
    )
    p.add_argument(
        "--worker", nargs=3, metavar=("WORKLOAD", "ENGINE", "SIZE"), help=argparse.SUPPRESS
    )
    p.add_argument("--check", choices=tuple(SUITE), help=argparse.SUPPRESS)
    p.add_argument("--installed", default="", help=argparse.SUPPRESS)
    return p


if __name__ == "__main__":
    sys.exit(main())
