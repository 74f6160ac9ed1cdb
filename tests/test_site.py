"""The documentation site (``make docs``, built into ``site/``): every public name in the API
reference, nothing loaded from the network, and every page of the navigation opened in
headless Chromium with no console error, no broken image, no empty page and working steppers.

The tests of the built site skip when ``site/`` is not built (run ``make docs`` first) or
Chromium is missing; with ``TL_REQUIRE_SITE=1`` (set by ``.ci/run`` after ``make docs``) a
skip is a failure instead. ``TL_SITE_SCREENSHOT=PATH`` also saves a picture of the home page
(the README's ``docs/site_home.png`` is made this way).
"""

from __future__ import annotations

import functools
import http.server
import importlib
import inspect
import os
import re
import threading
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import pytest
from _chromium import headless_chromium

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "site"
API = ROOT / "docs" / "api"
REQUIRED = os.environ.get("TL_REQUIRE_SITE") == "1"
# the public modules: each must be on an API page, with every public name in it
PUBLIC = [
    "tinygrad_lite",
    "tinygrad_lite.functions",
    "tinygrad_lite.traced",
    "tinygrad_lite.errors",
    "tinygrad_lite.nn",
    "tinygrad_lite.nn.functional",
    "tinygrad_lite.nn.init",
    "tinygrad_lite.nn.scalar",
    "tinygrad_lite.optim",
    "tinygrad_lite.data",
    "tinygrad_lite.data.transforms",
    "tinygrad_lite.train",
    "tinygrad_lite.metrics",
    "tinygrad_lite.viz",
    "tinygrad_lite.testing",
    "tinygrad_lite.testing.strategies",
    "tinygrad_lite.interop",
    "tinygrad_lite.sklearn",
    "tinygrad_lite.book",
    "tinygrad_lite.book.plots",
    "tinygrad_lite.book.curves",
]


def skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"TL_REQUIRE_SITE=1 but {reason}")
    pytest.skip(reason=reason)


def built() -> Path:
    if not (SITE / "index.html").is_file():
        skip_or_fail("the site is not built (make docs)")
    return SITE


def public_names(module_name: str) -> dict[str, set[str]]:
    """Each public name of the module, with the identifiers the API reference may give it:
    the path it is imported from, or the path where it is defined."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:  # no __all__: the functions and classes the module defines
        names = [
            n
            for n, obj in vars(module).items()
            if not n.startswith("_")
            and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__ == module_name
        ]
    out = {}
    for name in names:
        obj = getattr(module, name)
        ids = {f"{module_name}.{name}"}
        if inspect.ismodule(obj):
            ids.add(obj.__name__)
        elif getattr(obj, "__module__", None) and getattr(obj, "__qualname__", None):
            ids.add(f"{obj.__module__}.{obj.__qualname__}")
        out[name] = ids
    return out


def inventory(site: Path) -> set[str]:
    """The identifiers mkdocstrings rendered (``objects.inv``, Sphinx's inventory format)."""
    raw = (site / "objects.inv").read_bytes()
    lines = raw.split(b"\n", 4)
    assert lines[0].startswith(b"# Sphinx inventory"), lines[0]
    body = zlib.decompress(lines[4]).decode("utf-8")
    return {line.split(" ", 1)[0] for line in body.splitlines() if line.strip()}


# ---------------------------------------------------------------- without a build


def test_every_public_module_has_a_directive():
    directives = set()
    for page in API.glob("*.md"):
        directives |= set(re.findall(r"^::: ([\w.]+)", page.read_text(encoding="utf-8"), re.M))
    assert set(PUBLIC) - directives == set()


def test_every_all_list_is_covered():
    # a new public module (one with __all__ imported by the package) must be added to PUBLIC
    import pkgutil

    import tinygrad_lite

    documented = set(PUBLIC)
    for info in pkgutil.iter_modules(tinygrad_lite.__path__, "tinygrad_lite."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if info.name.rsplit(".", 1)[-1] in tinygrad_lite.__all__:
            assert info.name in documented
        if hasattr(module, "__all__") and info.ispkg and info.name not in documented:
            # packages with a public face that the docs leave out on purpose
            assert info.name in {
                "tinygrad_lite.core",
                "tinygrad_lite.cli",
                "tinygrad_lite.report",
                "tinygrad_lite.gallery",
            }, f"{info.name} has an __all__ but no API page"


# ---------------------------------------------------------------- the built site


@pytest.mark.parametrize("module_name", PUBLIC)
def test_every_public_name_is_in_the_api_reference(module_name):
    rendered = inventory(built())
    missing = [n for n, ids in public_names(module_name).items() if not ids & rendered]
    assert missing == [], f"{module_name}: not in the API reference: {missing}"


RESOURCE = re.compile(
    r"""<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=["'](https?:)?//"""
    r"""|<link\b[^>]*\bhref=["'](https?:)?//[^"']*["'][^>]*>"""
    r"""|@import\s+(?:url\()?["']?(https?:)?//"""
    r"""|url\(\s*["']?(https?:)?//""",
    re.I,
)


def network_loads(text: str) -> list[str]:
    """The resources ``text`` (HTML, CSS or JS) would load from another host."""
    found = []
    for m in RESOURCE.finditer(text):
        tag = m.group(0)
        if tag.lower().startswith("<link") and re.search(r"rel=[\"'](?:canonical|alternate)", tag):
            continue  # a link to a page, not a resource
        found.append(tag)
    return found


def test_the_scan_finds_fonts_scripts_and_styles_but_not_links():
    loads = [
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">',
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>',
        '<img src="//example.org/logo.png">',
        "@font-face { src: url(https://fonts.gstatic.com/s/roboto.woff2) }",
        '@import url("https://example.org/theme.css");',
    ]
    for text in loads:
        assert network_loads(text), text
    fine = [
        '<a href="https://hypothesis.readthedocs.io/">hypothesis</a>',
        '<link rel="canonical" href="https://example.org/page.html">',
        '<script src="assets/javascripts/bundle.js"></script>',
        '<img src="generated/neuron_forward.svg">',
    ]
    for text in fine:
        assert network_loads(text) == [], text


def test_nothing_is_loaded_from_the_network():
    site = built()
    offenders = []
    for path in site.rglob("*"):
        if path.suffix not in {".html", ".css", ".js"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{path.relative_to(site)}: {tag[:120]}" for tag in network_loads(text)]
    assert offenders == []
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis" not in index and "fonts.gstatic" not in index


# ---------------------------------------------------------------- in the browser


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    site = built()
    handler = functools.partial(_Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = headless_chromium(tmp_path_factory.mktemp("chromium-profile"), skip_or_fail, logs=True)
    yield driver
    driver.quit()


def nav_links(browser, url: str) -> list[str]:
    """Every page the navigation links to, in the order of the navigation."""
    hrefs = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav.md-nav--primary a.md-nav__link'))"
        ".map(a => a.href).filter(h => h);"
    )
    pages: list[str] = []
    for href in hrefs:
        page = urljoin(url, href).split("#", 1)[0]
        if urlparse(page).netloc == urlparse(url).netloc and page not in pages:
            pages.append(page)
    return pages


def check_page(browser, url: str) -> list[str]:
    """The problems of one page (after it loaded): console errors, broken images, no text,
    steppers without their script."""
    problems = []
    browser.get(url)
    browser.execute_script(
        "window.scrollTo(0, document.body.scrollHeight);"
    )  # lazy images load too
    broken = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const imgs = Array.from(document.images);"
        "Promise.all(imgs.map(i => i.complete ? 0 : new Promise(r => {"
        "  i.addEventListener('load', r); i.addEventListener('error', r); })))"
        ".then(() => done(imgs.filter(i => i.naturalWidth === 0).map(i => i.src)));"
    )
    problems += [f"broken image {src}" for src in broken]
    text = browser.execute_script(
        "const a = document.querySelector('article.md-content__inner');"
        "return a ? a.innerText.trim() : '';"
    )
    if len(text) < 200:
        problems.append(f"almost empty page ({len(text)} characters)")
    frames = browser.find_elements("css selector", "iframe")
    for k, frame in enumerate(frames):
        browser.switch_to.frame(frame)
        try:
            ok = browser.execute_script(
                "return typeof window.tlStepper === 'object' && window.tlStepper.count > 0"
            )
        finally:
            browser.switch_to.default_content()
        if not ok:
            problems.append(f"iframe {k} ({frame.get_attribute('src')}) has no tlStepper")
    for entry in browser.get_log("browser"):
        if entry["level"] == "SEVERE":
            problems.append(f"console: {entry['message']}")
    return problems


def test_every_page_of_the_navigation_opens_cleanly(browser, server):
    browser.get(server + "index.html")
    pages = nav_links(browser, server)
    names = [urlparse(p).path.lstrip("/") for p in pages]
    for expected in (
        "index.html",
        "learn_neuron.html",
        "learn_hotels.html",
        "learn_performance.html",
        "learn_bigger_picture.html",
        "howto_own_op.html",
        "howto_slides.html",
        "interop.html",
        "scale_out.html",
        "benchmarks.html",
        "api/tinygrad_lite.html",
    ):
        assert expected in names, f"{expected} is not in the navigation: {names}"
    problems = {}
    steppers = 0
    for page in pages:
        found = check_page(browser, page)
        steppers += len(browser.find_elements("css selector", "iframe"))
        if found:
            problems[urlparse(page).path] = found
    print(f"\n{len(pages)} pages, {steppers} embedded steppers")
    assert problems == {}
    assert steppers >= 2  # the book's neuron and the hotel network, at least


def test_a_broken_page_is_caught(browser, tmp_path):
    # the checks themselves can fail: a page with a missing picture, no text, an iframe
    # without a stepper and a script error
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<html><body><article class='md-content__inner'>short</article>"
        "<img src='missing.png'><iframe src='about:blank'></iframe>"
        "<script>no_such_function();</script></body></html>",
        encoding="utf-8",
    )
    found = check_page(browser, bad.as_uri())
    assert any(p.startswith("broken image") for p in found)
    assert any(p.startswith("almost empty") for p in found)
    assert any("has no tlStepper" in p for p in found)
    assert any(p.startswith("console:") and "no_such_function" in p for p in found)


def test_home_page_screenshot(browser, server):
    target = os.environ.get("TL_SITE_SCREENSHOT")
    browser.get(server + "index.html")
    text = browser.execute_script("return document.querySelector('article').innerText")
    assert "make tour" in text and "make test" in text
    images = browser.execute_script(
        "return Array.from(document.images).filter(i => i.naturalWidth > 0)"
        ".map(i => i.getAttribute('src'));"
    )
    assert any("neuron_backward.svg" in src for src in images), images
    if target:
        browser.save_screenshot(target)
        try:  # a palette of 128 colours: a third of the size, the same to the eye
            from PIL import Image
        except ImportError:
            return
        Image.open(target).convert("RGB").quantize(colors=128).save(target, optimize=True)
