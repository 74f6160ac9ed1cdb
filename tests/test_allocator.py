"""tinygrad_lite/allocator.py: on glibc, freed memory is kept for the next training step.

Each case runs in a fresh interpreter: malloc's settings are the process's, fixed at import.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# W8 of benchmarks/run.py, an LSTM's training step (about 40 MiB of arrays): the minor page
# faults of its last 10 steps (pages the kernel had to map afresh), and the losses
STEP = """
import json, resource, numpy as np, tinygrad_lite as tl
from tinygrad_lite import nn, optim
import tinygrad_lite.nn.functional as F
tl.manual_seed(0)
lstm, head = nn.LSTM(64, 128), nn.Linear(128, 64)
opt = optim.SGD([*lstm.parameters(), *head.parameters()], lr=0.1)
gen = np.random.default_rng(0)
x = gen.standard_normal((50, 32, 64)).astype(np.float32)
labels = gen.integers(0, 64, (50, 32))
def step():
    opt.zero_grad()
    out, _ = lstm(x)
    loss = F.cross_entropy(head(out), labels)
    loss.backward()
    opt.step()
    return loss.item()
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
losses = [step() for _ in range(10)]
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10
print(json.dumps({"state": tl.allocator.state, "faults": faults, "losses": losses}))
"""


def _python(code: str, **env: str) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", "TINYGRAD_LITE_MALLOC")
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, "OPENBLAS_NUM_THREADS": "1", **env},
        check=True,
    )
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


STATE = "import json, tinygrad_lite as tl; print(json.dumps({'state': tl.allocator.state}))"


def test_the_import_says_what_it_did_with_malloc():
    expected = "kept" if GLIBC else "left alone: the C library is not glibc"
    assert _python(STATE)["state"] == expected


def test_the_user_can_leave_malloc_alone():
    got = _python(STATE, TINYGRAD_LITE_MALLOC="system")["state"]
    assert got == "left alone: TINYGRAD_LITE_MALLOC=system"


def test_settings_in_the_environment_win():
    got = _python(STATE, MALLOC_TRIM_THRESHOLD_="1048576")["state"]
    assert got == "left alone: the environment tunes malloc (MALLOC_TRIM_THRESHOLD_)"
    got = _python(STATE, GLIBC_TUNABLES="glibc.malloc.top_pad=0")["state"]
    assert got == "left alone: the environment tunes malloc (GLIBC_TUNABLES)"


@pytest.mark.skipif(not GLIBC, reason="the settings are glibc's malloc's (mallopt)")
def test_a_training_step_reuses_its_memory_and_computes_the_same():
    kept = _python(STEP)
    system = _python(STEP, TINYGRAD_LITE_MALLOC="system")
    assert kept["state"] == "kept"
    # glibc alone gives the freed top of the heap back and faults each page in again
    assert system["faults"] > 1000, system  # 3,268 measured
    assert kept["faults"] < 50, kept  # 0 measured
    assert kept["losses"] == system["losses"]  # where memory comes from changes no number


def test_every_engine_in_the_benchmarks_gets_the_same_settings():
    from tinygrad_lite import allocator

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import harness
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert harness.MALLOC_ENV == {
        "MALLOC_TOP_PAD_": str(allocator.TOP_PAD),
        "MALLOC_MMAP_THRESHOLD_": str(allocator.MMAP_THRESHOLD),
    }
    assert harness.engine_env(2)["OPENBLAS_NUM_THREADS"] == "2"
