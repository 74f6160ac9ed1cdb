"""The pieces every benchmark workload is made of: what to run, how to time it, what to reach.

A workload module (``workloads.py``, ``nets.py``) describes each workload once, as a
``Workload`` (timed) or a ``MemoryWorkload`` (resident memory over a long run), and gives it a
function that builds one engine's ``Bench``. ``run.py`` does everything else: one process per
engine, the checks, the repeats and the tables. This module imports no engine.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

Phases = dict[str, float]  # seconds spent in each phase of one repeat


class CheckFailed(RuntimeError):
    """Two engines (or an engine and the reference) disagree: the timings would be meaningless."""


@dataclass(frozen=True)
class Bench:
    """One engine on one workload: ``run()`` does one repeat and returns its phase times.

    ``units`` is how many steps/ops/additions one repeat performs (the table divides by it);
    ``warmup`` runs the same code paths once, untimed (by default ``run`` itself).
    """

    run: Callable[[], Phases]
    units: int
    warmup: Callable[[], object] | None = None


# ---------------------------------------------------------------- clocks and threads

CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
_clock = CLOCKS["wall"]
_threads = 2


def use_clock(name: str) -> None:
    """Time with the wall clock ('wall', the default) or with the CPU time of the measuring
    thread ('cpu': steadier on a busy machine, as it leaves out time spent descheduled)."""
    global _clock
    _clock = CLOCKS[name]


def now() -> float:
    return _clock()


def timed(phases: Phases, name: str, start: float) -> float:
    """Record ``now() - start`` as phase ``name``; returns now, the start of the next phase."""
    t = _clock()
    phases[name] = t - start
    return t


def use_threads(n: int) -> None:
    """The number of threads engines may use for one operation (torch's and the BLAS's)."""
    global _threads
    _threads = n


def threads() -> int:
    return _threads


# glibc malloc's settings that tinygrad_lite applies on import (tinygrad_lite/allocator.py):
# every engine's process gets them, so that none is timed with an allocator the others lack
MALLOC_ENV = {"MALLOC_TOP_PAD_": str(64 << 20), "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}


def engine_env(n: int) -> dict[str, str]:
    """Environment for an engine's process: its NumPy BLAS (OpenBLAS or MKL) and OpenMP use
    ``n`` threads (they read these variables once, when they are loaded), and glibc's malloc
    keeps freed memory as tinygrad_lite asks it to (``MALLOC_ENV``)."""
    return {
        **os.environ,
        **{v: str(n) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
        **MALLOC_ENV,
    }


# ---------------------------------------------------------------- what a workload is


@dataclass(frozen=True)
class Target:
    """What a tinygrad_lite row should reach: a time per unit and/or ratios to competitors.

    ``max_ratio`` maps a competitor's engine name to the largest allowed ratio of medians;
    ``min_size``: smaller sizes of the workload have no target.
    """

    text: str
    max_per_unit: float | None = None
    max_ratio: Mapping[str, float] = field(default_factory=dict)
    min_size: int = 0


@dataclass(frozen=True)
class Engine:
    """One row kind: ``name`` is what the worker is asked to run, ``label`` what the table
    shows (``{threads}`` becomes "2 threads"); ``needs`` is the optional package it imports."""

    name: str
    label: str
    needs: str | None = None
    short: str = ""  # how ratios name it; ``name`` by default

    @property
    def ratio_name(self) -> str:
        return self.short or self.name


@dataclass(frozen=True)
class Workload:
    """A timed workload: every engine runs ``bench(engine, size)`` in its own process.

    ``engines`` lists competitors first, then ``ours`` (the rows that get ratios against
    ``competitors`` and the target). ``check(installed)`` runs before any timing and raises
    CheckFailed if the engines disagree. ``threaded`` workloads spend their time in
    multi-threaded matrix products, which a thread's CPU time would not count: they always
    use the wall clock. ``few_repeats`` = (size, n): from that size on, at most n repeats.
    """

    name: str
    title: str
    noun: str  # what the size counts: "points", "ops", "samples per batch"...
    unit: str
    scale: float  # seconds per unit times scale = the number shown in ``unit``
    sizes: tuple[int, ...]
    quick_sizes: tuple[int, ...]
    engines: tuple[Engine, ...]
    ours: tuple[str, ...]
    competitors: tuple[str, ...]
    target: Target
    bench: Callable[[str, int], Bench]
    check: Callable[[Sequence[str]], str]
    threaded: bool = False
    few_repeats: tuple[int, int] | None = None
    # a target of its own for some of ``ours`` (the traced engine's are stricter)
    targets: Mapping[str, Target] = field(default_factory=dict)


@dataclass(frozen=True)
class MemoryWorkload:
    """Resident memory while training: ``run(engine, steps, every)`` trains for ``steps``
    steps and returns ``{"steps": [...], "rss": [...], "faults": [...], "seconds": ...,
    "peak": ...}``: before the first step and after every ``every`` steps, the process's RSS
    (bytes) and its minor page faults so far; the wall time and the peak RSS (bytes).

    ``ours`` must stay flat after ``settle`` steps: no sample later than that more than
    ``max(tolerance_bytes, tolerance_fraction * rss)`` above the sample at ``settle``.
    """

    name: str
    title: str
    sizes: tuple[int, ...]  # steps
    quick_sizes: tuple[int, ...]
    every: tuple[int, int]  # sample every n steps: full run, --quick
    engines: tuple[Engine, ...]
    ours: tuple[str, ...]
    run: Callable[[str, int, int], dict[str, object]]
    check: Callable[[Sequence[str]], str]
    settle: tuple[int, int] = (50, 10)  # full run, --quick
    tolerance_bytes: int = 2 << 20
    tolerance_fraction: float = 0.02


AnyWorkload = Workload | MemoryWorkload


# ---------------------------------------------------------------- measuring, in a worker


def measure(bench: Bench, repeats: int, no_gc: bool = False) -> dict[str, list[float]]:
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


def resident_bytes() -> int:
    """This process's resident set size now (Linux ``/proc/self/statm``), or, where that file
    does not exist, its peak so far (``resource``)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_resident_bytes()


def peak_resident_bytes() -> int:
    """The largest resident set size this process has had (``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def minor_page_faults() -> int:
    """Minor page faults of this process so far: pages of memory touched for the first time
    (fresh allocations that the allocator had to ask the kernel for)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def has_jit() -> bool:
    """Whether the tinygrad_lite measured has ``tl.jit`` (``compare.py`` may measure a commit
    from before it: its checks then leave the traced engine out, and its rows fail alone)."""
    import tinygrad_lite

    return hasattr(tinygrad_lite, "jit")
