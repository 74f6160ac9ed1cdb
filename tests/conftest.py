"""Shared test set-up: the hypothesis profiles and the optional ``torch`` fixture.

"dev" (the default) keeps property tests quick on a laptop; "ci" (used when ``CI=true``) runs
more examples, derandomized so a red build can be reproduced, and prints the reproduction blob.
``HYPOTHESIS_PROFILE=<name>`` picks a profile explicitly. No deadline in either: the machines
that run the suite are shared, so timings are noise, not signal.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

try:
    from hypothesis import settings
except ImportError:  # hypothesis is a test dependency; tests that need it import it themselves
    settings = None

if settings is not None:
    settings.register_profile("dev", deadline=None, max_examples=15)
    settings.register_profile(
        "ci", deadline=None, max_examples=30, derandomize=True, print_blob=True
    )
    # tools/mutate_ops.py: few examples, derandomized, so a mutant gets the same verdict each run
    settings.register_profile(
        "mutation", deadline=None, max_examples=6, derandomize=True, database=None
    )
    default = "ci" if os.environ.get("CI", "").lower() == "true" else "dev"
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", default))


@pytest.fixture
def torch() -> Any:
    """PyTorch, the optional reference engine; tests that take this fixture skip without it."""
    return pytest.importorskip(
        "torch", reason="torch is the optional reference engine (pip install torch==2.13.0)"
    )
