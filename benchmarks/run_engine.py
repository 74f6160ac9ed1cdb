"""The engine micro-benchmarks alone: ``run.py`` with ``--only W1,W4,W5`` as the default.

Kept for ``make bench`` and for habit; every option of ``run.py`` works here too::

    .venv/bin/python benchmarks/run_engine.py --quick
"""

from __future__ import annotations

import sys

import run

ENGINE_WORKLOADS = ("W1", "W4", "W5")

if __name__ == "__main__":
    sys.exit(run.main(default_only=ENGINE_WORKLOADS))
