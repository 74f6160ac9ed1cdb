"""The engine's examples run from the command line and print the numbers they promise."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_micrograd_expression_reproduces_micrograds_published_numbers():
    module = runpy.run_path(str(EXAMPLES / "micrograd_expression.py"))
    a, b, g = module["expression"]()
    g.backward()
    # the figures micrograd's README prints for this expression
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


def test_book_neuron_prints_every_gradient_and_lowers_the_cost():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "book_neuron.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # z = 0.5*-0.9 + -0.4*-1.2 + 0.1 = 0.13; dz = 2 (0.13 - 0.3) = -0.34; dw1 = -0.9 dz
    assert "= 0.1300" in out and "dcost/dz = 2(a - y)          = -0.3400" in out
    assert "= 0.3060" in out and "= 0.4080" in out
    before, after = out.strip().splitlines()[-1].split("cost ")[1].split(" -> ")
    assert float(after) < float(before)


def test_micrograd_expression_prints_data_and_gradients_alike():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "micrograd_expression.py")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = [line for line in out.splitlines() if "data =" in line]
    assert rows and all(
        re.search(r"data = +-?\d+\.\d{4}   grad = +-?\d+\.\d{4}$", row) for row in rows
    ), rows
    assert any(line.rstrip().endswith("grad =   138.8338") for line in rows)  # a's row


@pytest.mark.parametrize("script", ["micrograd_expression.py", "book_neuron.py"])
def test_examples_run_as_scripts(script):
    subprocess.run([sys.executable, str(EXAMPLES / script)], check=True, capture_output=True)
