"""Freed memory kept for the next training step (glibc's malloc, on Linux).

An eager step allocates its activations and gradients afresh, and frees nearly all of them
when its graph goes. glibc's malloc hands the free top of its heap back to the kernel, so the
next step asks for the same memory again and the kernel must map and zero every page the step
writes: a minor page fault each. On an LSTM training step (W8 of ``benchmarks/run.py``) that
was about 3,700 faults, and the step took 24.8 ms instead of 17.0; the same network written by
hand in NumPy, which allocates less per step, took 83 faults.

On import, when the C library is glibc, tinygrad_lite asks malloc (``mallopt``) to keep up to
64 MiB free at the top of its heap (``M_TOP_PAD``) and to serve blocks of up to 32 MiB from the
heap rather than from fresh mappings (``M_MMAP_THRESHOLD``: glibc's own limit for its adaptive
threshold, which setting the pad would otherwise freeze at 128 KiB). The cost is that a process
keeps up to 64 MiB more resident after it frees memory; results are unchanged.

It is left alone when ``TINYGRAD_LITE_MALLOC=system`` is set, and when the environment already
tunes malloc (any ``MALLOC_*_`` variable, or ``glibc.malloc`` in ``GLIBC_TUNABLES``).
``state`` says what happened.
"""

from __future__ import annotations

import ctypes
import os
import platform

TOP_PAD = 64 << 20  # bytes kept free at the top of the heap
MMAP_THRESHOLD = 32 << 20  # blocks up to this size come from the heap
_M_TOP_PAD, _M_MMAP_THRESHOLD = -2, -3  # <malloc.h>
_ENVIRONMENT = (
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_MMAP_MAX_",
)

state = "not set yet"


def keep_freed_memory() -> str:
    """Apply the settings above if they apply here; returns (and stores in ``state``) what was
    done: ``"kept"``, or why malloc was left alone."""
    global state
    state = _apply()
    return state


def _apply() -> str:
    if os.environ.get("TINYGRAD_LITE_MALLOC", "").lower() == "system":
        return "left alone: TINYGRAD_LITE_MALLOC=system"
    tuned = [v for v in _ENVIRONMENT if v in os.environ]
    if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        tuned.append("GLIBC_TUNABLES")
    if tuned:
        return f"left alone: the environment tunes malloc ({', '.join(tuned)})"
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return "left alone: the C library is not glibc"
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return "left alone: mallopt not found"
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    if mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1 or mallopt(_M_TOP_PAD, TOP_PAD) != 1:
        return "left alone: mallopt refused the settings"
    return "kept"
