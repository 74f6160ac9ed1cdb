"""The backprop stepper: the page's data (Python) and the page itself, driven in headless
Chromium through ``window.tlStepper`` and the keyboard.

The browser tests need Debian's ``chromium`` and ``chromium-driver`` and selenium (a test
dependency); without them they skip and say so (``.ci/run`` installs the browser). Each page
is saved to a file and opened as a file:// URL, as a learner opens it.
"""

from __future__ import annotations

import io
import json
import math
import random
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _chromium import headless_chromium

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import book, nn, viz
from tinygrad_lite.cli import main
from tinygrad_lite.nn.scalar import MLP
from tinygrad_lite.viz.stepper.payload import MAX_ELEMENTS, encode

# ---------------------------------------------------------------- the graphs of the tests


def the_neuron() -> tl.Value:
    """The book's neuron with a ReLU (tests/test_viz.py has its numbers by hand)."""
    return book.neuron([1.5, -0.5], 2.0, [0.8, -0.4], 0.1, activation="relu")


def network_231() -> tuple[tl.Value, Any]:
    """A 2-3-1 network (ReLU hidden layer) on four points, mean squared error."""
    tl.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(2, 3, dtype=np.float64), nn.ReLU(), nn.Linear(3, 1, dtype=np.float64)
    )
    x = tl.Value([[0.5, -1.0], [1.5, 2.0], [0.1, 0.2], [-1.0, 1.0]], requires_grad=False)
    loss = F.mse_loss(model(x), np.array([[1.0], [2.0], [0.0], [1.0]]))
    return loss, model


def scalar_mlp() -> tuple[tl.Value, Any]:
    """micrograd's MLP(2, [3, 1]) on one point, squared error."""
    random.seed(1)  # nn.scalar's weights come from Python's random, as micrograd's
    model = MLP(2, [3, 1])
    x = [tl.Value(1.0, requires_grad=False), tl.Value(-2.0, requires_grad=False)]
    loss = (model(x) - 1.0) ** 2
    return loss, model


def tiny_cnn() -> tuple[tl.Value, Any]:
    """A CNN small enough that every array travels whole: conv 2@3x3, ReLU, max-pool, dense."""
    tl.manual_seed(2)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, dtype=np.float64),  # (1, 2, 2, 2)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (1, 2, 1, 1)
        nn.Flatten(),
        nn.Linear(2, 2, dtype=np.float64),
    )
    x = tl.Value(np.arange(16.0).reshape(1, 1, 4, 4) / 16.0, requires_grad=False)
    return F.cross_entropy(model(x), [1]), model


def tiny_lstm() -> tuple[tl.Value, Any]:
    """An LSTM of 3 units over 3 steps of 2 features, its outputs' mean squared."""
    tl.manual_seed(3)
    lstm = nn.LSTM(2, 3, dtype=np.float64)
    x = tl.Value(np.linspace(-1.0, 1.0, 6).reshape(3, 1, 2), requires_grad=False)  # (L, N, H)
    output, _ = lstm(x)
    return (output**2).mean(), None


# ---------------------------------------------------------------- the page's data


def test_numbers_travel_exactly_and_nan_survives_json():
    assert encode(0.1) == 0.1 and encode(-0.0) == -0.0
    assert [encode(x) for x in (math.nan, math.inf, -math.inf)] == ["NaN", "Infinity", "-Infinity"]
    a = np.array([[1 / 3, np.nan], [np.inf, -2.5]], dtype=np.float32)
    e = encode(a)
    assert e["shape"] == [2, 2] and e["dtype"] == "float32" and e["nonfinite"] == 2
    assert e["values"] == [[float(a[0, 0]), "NaN"], ["Infinity", -2.5]]  # float32, widened exactly
    assert json.loads(json.dumps(e)) == e  # plain JSON: no NaN token
    big = encode(np.arange(1000.0).reshape(10, 100))
    assert "values" not in big and len(big["grid"]["cells"]) <= MAX_ELEMENTS
    assert (big["min"], big["max"], big["mean"]) == (0.0, 999.0, 499.5)


def test_the_page_is_one_file_with_the_steps_of_backward_steps():
    loss = the_neuron()
    page = viz.stepper(loss)
    steps = tl.backward_steps(loss)
    assert page.count == len(steps) == len(page.data["steps"]) == 7
    for s, shipped in zip(steps, page.data["steps"]):
        node = page.data["nodes"][shipped["node"]]
        assert node["name"] == s.value.name and shipped["grad"] == s.grad
        assert [t["product"] for t in shipped["terms"]] == [t.product for t in s.terms]
        assert [t["local"] for t in shipped["terms"]] == [t.local for t in s.terms]
    html = page.html
    assert "<script src" not in html and "<link" not in html and not re.search(r"https?:", html)
    assert "window.tlStepper" in html and html.count("<style>") == 1


def test_a_number_kept_in_a_node_is_drawn():
    a, b = tl.Value(2.0, name="a"), tl.Value(-3.0, name="b")
    L = (a * b + 10.0).relu()
    nodes = viz.stepper(L).data["nodes"]
    consts = [n for n in nodes if n["kind"] == "const"]
    assert [c["name"] for c in consts] == ["10"]
    add = next(n for n in nodes if n["op"] == "add")
    assert consts[0]["id"] in add["parents"]


def test_hostile_names_cannot_end_the_script():
    evil = "</script><script>window.pwned = 1</script><!--"
    a = tl.Value(1.0, name=evil)
    y = a * 2.0
    y.name = "y & <b>"
    html = viz.stepper(y, title=evil).html
    assert "window.pwned = 1</script>" not in html
    assert html.count("</script>") == 3  # the data, the settings and the script
    data = html.split('id="tl-data">')[1].split("</script>")[0]
    assert json.loads(data)["nodes"][0]["name"] == evil


def test_save_and_jupyter(tmp_path):
    page = viz.stepper(the_neuron())
    path = page.save(tmp_path / "p.html")
    assert path.read_text(encoding="utf-8") == page.html
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "&lt;script" in frame
    assert "7 steps" in repr(page)
    with pytest.raises(viz.DrawingError, match="expected a Value"):
        viz.stepper(2.0)  # type: ignore[arg-type]


def test_the_step_command(tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["step", "a=2; b=-3; c=10; L=(a*b+c).relu()", "-o", str(out)]) == 0
    assert "6 backward steps" in capsys.readouterr().err
    assert "window.tlStepper" in out.read_text(encoding="utf-8")
    assert main(["step", "a=2; b=open('x')"]) == 2
    assert "not allowed" in capsys.readouterr().err


# ---------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    def skip(reason: str) -> None:
        pytest.skip(reason=reason)

    driver = headless_chromium(tmp_path_factory.mktemp("chromium-profile"), skip, "1280,800")
    yield driver
    driver.quit()


def open_page(browser, page: viz.Stepper, path: Path) -> float:
    """Load the saved page as a file:// URL; return the time to open it, in seconds."""
    page.save(path)
    browser.get(path.resolve().as_uri())
    return browser.execute_script(
        "const t = performance.timing; return (t.loadEventEnd - t.navigationStart) / 1000;"
    )


def walk_all(browser) -> list[dict]:
    return browser.execute_script(
        "const out = [];"
        "for (let k = 1; k <= tlStepper.count; k++) {"
        "  tlStepper.goto(k); out.push(tlStepper.current());"
        "}"
        "return out;"
    )


def close(a: Any, b: Any) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-12)


CASES = {
    "neuron": lambda: (the_neuron(), None),
    "network_231": network_231,
    "scalar_mlp": scalar_mlp,
    "cnn": tiny_cnn,
    "lstm": tiny_lstm,
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_step_in_the_page_is_backward_steps(case, browser, tmp_path):
    loss, model = CASES[case]()
    page = viz.stepper(loss, model=model)
    seconds = open_page(browser, page, tmp_path / f"{case}.html")
    steps = tl.backward_steps(loss)
    assert browser.execute_script("return tlStepper.count") == len(steps)
    assert browser.execute_script("return tlStepper.goto(0)") is None  # the forward graph
    names = {n["id"]: n["name"] for n in page.data["nodes"]}
    shown = walk_all(browser)
    assert [c["step"] for c in shown] == list(range(1, len(steps) + 1))
    for s, shipped, c in zip(steps, page.data["steps"], shown):
        assert c["name"] == names[shipped["node"]]
        close(c["grad"], s.grad)
        assert [t["to"] for t in c["terms"]] == [names[t["to"]] for t in shipped["terms"]]
        assert [t["local"] for t in c["terms"]] == [t["local"] for t in shipped["terms"]]
        for t, term in zip(c["terms"], s.terms):
            close(t["product"], term.product)
    if model is not None:  # the books' names: the page's labels say "x relu'(z1)"
        assert {"z1", "a1", "z2"} <= {c["name"] for c in shown}
    size = len(page.html.encode("utf-8"))
    print(f"\n{case}: {len(steps)} steps, page {size / 1000:.1f} kB, opened in {seconds:.3f} s")
    if case == "network_231":
        assert size < 300_000
        assert seconds < 1.0


def test_the_keys_step_and_nothing_is_fetched(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(browser, viz.stepper(the_neuron()), tmp_path / "keys.html")
    body = browser.find_element(By.TAG_NAME, "body")
    step = lambda: (browser.execute_script("return tlStepper.current()") or {}).get("step", 0)
    body.send_keys(Keys.ARROW_RIGHT)
    body.send_keys(Keys.ARROW_RIGHT)
    assert step() == 2
    body.send_keys(Keys.ARROW_LEFT)
    assert step() == 1
    body.send_keys(Keys.END)
    assert step() == 7
    body.send_keys(Keys.ARROW_RIGHT)  # past the end: stays
    assert step() == 7
    body.send_keys(Keys.HOME)
    assert step() == 0
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert not re.search(r"https?://", browser.page_source)
    assert browser.get_log("browser") == []  # no script error, no failed load


def test_the_picture_is_not_blank(browser, tmp_path):
    image = pytest.importorskip("matplotlib.image")
    open_page(browser, viz.stepper(the_neuron()), tmp_path / "shot.html")
    browser.execute_script("tlStepper.goto(4)")
    pixels = image.imread(io.BytesIO(browser.get_screenshot_as_png()), format="png")[..., :3]
    coloured = (pixels < 0.9).any(axis=-1).mean()
    assert coloured > 0.01, f"only {coloured:.2%} of the screenshot is not white"
    texts = browser.execute_script(
        "return Array.from(document.querySelectorAll('.node.current text')).map(t => t.textContent)"
    )
    assert texts[0] == "z" and "dz = -1" in texts


def test_nan_is_marked_where_it_first_appears(browser, tmp_path):
    x = tl.Value(np.array([0.0, 1.0]), name="x")
    with np.errstate(all="ignore"):
        y = x.log()  # [-inf, 0]
        y.name = "y"
        loss = (y * 0.0).sum()
        loss.name = "loss"
        page = viz.stepper(loss)
    open_page(browser, page, tmp_path / "nan.html")
    # dloss = 1, d(mul) = [1, 1], dy = [0, 0], dx = [0/0, 0/1] = [nan, 0]: the first
    # non-finite gradient is dx, at step 4
    flags = browser.execute_script(
        "const s = tlStepper.goto(4); return [Number.isNaN(s.grad[0]), s.grad[1], s.name,"
        " document.querySelectorAll('.node.nonfinite').length,"
        " document.getElementById('tl-panel').textContent]"
    )
    assert flags[:4] == [True, 0, "x", 1]
    assert "first gradient that is not finite" in flags[4] and "step 4" in flags[4]


def test_a_hostile_name_is_text_in_the_page(browser, tmp_path):
    evil = "</script><script>window.pwned = 1</script><img src=x onerror=window.pwned=2>"
    a = tl.Value(1.0, name=evil)
    open_page(browser, viz.stepper(a * 2.0), tmp_path / "evil.html")
    assert browser.execute_script("return window.pwned === undefined")
    titles = browser.execute_script(
        "return Array.from(document.querySelectorAll('text')).map(t => t.textContent)"
    )
    assert any(t.startswith("</script>") for t in titles)


def test_ten_thousand_values_stay_bounded(browser, tmp_path):
    x = tl.Value(0.5, name="x")
    total = x
    for _ in range(5000):  # 10,000 values: a chain of multiplications and additions
        total = total * 1.0001 + x
    total.name = "total"
    start = time.perf_counter()
    page = viz.stepper(total)
    build = time.perf_counter() - start
    seconds = open_page(browser, page, tmp_path / "big.html")
    drawn = browser.execute_script(
        "tlStepper.goto(5000); return document.querySelectorAll('.node').length"
    )
    note = browser.execute_script("return document.getElementById('tl-note').textContent")
    size = len(page.html) / 1e6
    print(f"\n10,001 values: built in {build:.2f} s, {size:.1f} MB, opened in {seconds:.2f} s")
    assert drawn <= 60 and "folds the rest away" in note
    assert browser.execute_script("return tlStepper.current().step") == 5000
