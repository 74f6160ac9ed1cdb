"""The engines taking turns in ONE process: the steadier measure of a ratio on a noisy machine.

``run.py`` times each engine in a process of its own, one after the other, so a slow spell of a
shared machine (here the hand-written NumPy's median has moved by 1.8x between two runs) lands
on whichever engine ran during it. This script builds every engine's bench of each workload in
one process and runs one repeat of each in turn, round after round (the order reversed every
other round), so that the engines share the machine's moods; it prints each engine's fastest
and median repeat and tinygrad_lite's ratios to its competitors and targets.

    .venv/bin/python benchmarks/alternate.py --only W8,W9 --rounds 40
    .venv/bin/python benchmarks/alternate.py --only W2,W3,W7 --threads 1 --clock cpu

The process runs with ``harness.engine_env`` (the BLAS threads, and the allocator settings every
engine gets in ``run.py``); the checks are ``run.py``'s (run them there). The engines share
one heap and one set of caches here, which ``run.py``'s separate processes do not: the two
measures answer slightly different questions, and the docs quote both.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
from collections.abc import Sequence

import harness
import run
from harness import Workload

CHILD = "TINYGRAD_LITE_ALTERNATE_CHILD"


def alternate(
    workload: Workload, engines: Sequence[str], size: int, rounds: int
) -> dict[str, list[float]]:
    """Seconds per unit of each engine's repeats, the engines taking turns."""
    benches = {e: workload.bench(e, size) for e in engines}
    for b in benches.values():
        (b.warmup or b.run)()
    samples: dict[str, list[float]] = {e: [] for e in engines}
    for r in range(rounds):
        for e in engines if r % 2 == 0 else reversed(engines):
            gc.collect()
            bench = benches[e]
            samples[e].append(sum(bench.run().values()) / bench.units)
    return samples


def report(workload: Workload, size: int, samples: dict[str, list[float]]) -> list[str]:
    """Markdown rows: each engine's fastest and median, and ours over each competitor."""
    lines = []
    for e, times in samples.items():
        fastest, median = min(times), statistics.median(times)
        ratios = []
        if e in workload.ours:
            target = workload.targets.get(e, workload.target)
            against = [*workload.competitors, *target.max_ratio]
            for other in dict.fromkeys(against):  # in order, each once
                if other in samples and other != e:
                    ratio = median / statistics.median(samples[other])
                    best = fastest / min(samples[other])
                    limit = target.max_ratio.get(other)
                    mark = "" if limit is None else (" (met)" if ratio <= limit else " (not met)")
                    ratios.append(f"{ratio:.2f}x {other}{mark}, fastest {best:.2f}x")
        lines.append(
            f"| {workload.name} | {e} | {fastest * workload.scale:.3g} {workload.unit} | "
            f"{median * workload.scale:.3g} {workload.unit} | {len(times)} | "
            f"{'; '.join(ratios)} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--only", type=run._workload_list, default=["W8", "W9"])
    p.add_argument("--rounds", type=run._positive("--rounds"), default=30)
    p.add_argument("--threads", type=run._positive("--threads"), default=2)
    p.add_argument("--clock", choices=sorted(harness.CLOCKS), default="wall")
    p.add_argument("--quick", action="store_true", help="the workloads' tiny sizes (smoke test)")
    args = p.parse_args(argv)
    if os.environ.get(CHILD) != "1":  # BLAS and malloc read their settings at start: re-run
        env = {**harness.engine_env(args.threads), CHILD: "1"}
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], env)
    sys.path.insert(0, str(run.package_root()))
    harness.use_threads(args.threads)
    harness.use_clock(args.clock)
    installed = run.installed_competitors()
    print(run.machine_info(args.threads))
    print(
        f"- {run.CLOCK_TEXT[args.clock]}; the engines taking turns in one process, "
        f"{args.rounds} rounds of one repeat each; ratios of medians, and of the fastest repeats\n"
    )
    print("| workload | engine | fastest | median | repeats | ratios of medians |")
    print("|---|---|---|---|---|---|")
    for name in args.only:
        w = run.SUITE[name]
        if not isinstance(w, Workload):
            continue  # MEM measures memory
        engines = [e.name for e in w.engines if e.needs in (None, *installed)]
        for size in w.quick_sizes if args.quick else w.sizes:
            print("\n".join(report(w, size, alternate(w, engines, size, args.rounds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
