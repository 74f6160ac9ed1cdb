"""``examples/stepper.ipynb`` runs from top to bottom in a real kernel and shows its steppers
inline (a frame holding the whole page). nbclient, nbformat and ipykernel are test
dependencies; without them the test skips and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "stepper.ipynb"


def test_the_stepper_notebook_runs_and_shows_the_page(tmp_path):
    reason = "running the notebook needs nbclient, nbformat and ipykernel (the test extra)"
    nbformat = pytest.importorskip("nbformat", reason=reason)
    nbclient = pytest.importorskip("nbclient", reason=reason)
    pytest.importorskip("ipykernel", reason=reason)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    pages = [
        out["data"]["text/html"]
        for c in code
        for out in c.outputs
        if out.get("output_type") == "execute_result" and "text/html" in out.get("data", {})
    ]
    assert len(pages) == 2
    for page in pages:
        assert page.startswith("<iframe srcdoc=") and "tlStepper" in page
    assert "the book&amp;#x27;s neuron" in pages[0]  # the title, escaped twice (page, frame)
    printed = "".join(out.get("text", "") for out in code[1].outputs)
    assert "Stepper('backprop stepper: loss', 22 steps" in printed
    for name in ("loss", "z4", "a1", "w1_2"):  # the variable's name; the books' unit names
        assert f"&quot;name&quot;:&quot;{name}&quot;" in pages[1]
