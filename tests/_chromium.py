"""Headless Chromium for the browser tests (the stepper page, the documentation site).

``.ci/run`` installs the browser and its driver (apt-get install chromium chromium-driver);
``missing(reason)`` says what to do when they or selenium are not there (skip, or fail where
CI requires the test to run).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def headless_chromium(
    profile: Path, missing: Callable[[str], Any], size: str = "1280,900", logs: bool = False
) -> Any:
    """A selenium driver of a fresh headless Chromium whose profile lives in ``profile``;
    ``logs``: the console's messages are kept for ``driver.get_log("browser")``."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        missing("headless Chromium is not installed (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium drives the browser (pip install selenium)")
    options = webdriver.ChromeOptions()
    for flag in [*FLAGS, f"--window-size={size}", f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    if logs:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.binary_location = CHROMIUM
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
