"""Every example in the README, the docs pages and the docstrings runs, so none can rot."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import tinygrad_lite

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules() -> list[str]:
    names = ["tinygrad_lite"]
    for info in pkgutil.walk_packages(tinygrad_lite.__path__, "tinygrad_lite."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_markdown_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # pages may write files
    result = doctest.testfile(str(page), module_relative=False, optionflags=FLAGS)
    assert result.failed == 0, f"{result.failed} example(s) in {page.name} failed (see above)"


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name):
    try:
        module = importlib.import_module(name)
    except ImportError as e:  # an optional dependency of that module is missing
        pytest.skip(reason=f"{name} needs an optional dependency: {e}")
    result = doctest.testmod(module, optionflags=FLAGS)
    assert result.failed == 0


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_class_and_function_examples_paste_into_the_python_repl(page):
    # doctest reads "...<blank>" inside an indented block as part of it, but the interactive
    # interpreter ends the block at the blank line, and the next indented line is an error
    lines = page.read_text(encoding="utf-8").splitlines()
    bad = [
        n + 1
        for n, (line, after) in enumerate(zip(lines, lines[1:]))
        if line.strip() == "..." and after.startswith("...     ")
    ]
    assert not bad, f"{page.name}: a blank line inside an indented block at lines {bad}"
