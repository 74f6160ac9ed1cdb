"""The backprop stepper on the book's 2-3-1 network: one page that steps through backward.

Chapter 2 of "A Visual Introduction to Deep Learning" predicts a hotel's price from its
distance and rating with a hidden layer of three ReLU neurons. This program builds that
network (``nn.scalar.MLP``, so every weight is a number you can see), runs it on one hotel,
and writes ``viz.stepper``'s page: open it in a browser (no network needed) and press the
right arrow key to watch the gradient flow back from ``dcost`` to every weight, with
``upstream x local = product`` on each arrow.

    python examples/stepper_page.py                  # writes stepper.html here
    python examples/stepper_page.py --out DIR --screenshot docs/stepper.png --step 9

``--screenshot`` saves a picture of the page at step ``--step`` taken by headless Chromium
(Debian's ``chromium`` and ``chromium-driver``, and selenium; the README's picture is made
this way).
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from pathlib import Path

from tinygrad_lite import Value, viz
from tinygrad_lite.nn.scalar import MLP

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


def network_page() -> viz.Stepper:
    """The 2-3-1 network on one hotel (standardized distance and rating), squared error."""
    random.seed(3)  # nn.scalar draws its weights from Python's random, as micrograd does
    net = MLP(2, [3, 1])
    distance = Value(-0.9, requires_grad=False, name="distance")
    rating = Value(1.2, requires_grad=False, name="rating")
    price = net([distance, rating])
    y = Value(0.3, requires_grad=False, name="y")
    error = price - y
    cost = error**2
    return viz.stepper(cost, model=net, title="the book's 2-3-1 network on one hotel")


def screenshot(page: Path, png: Path, step: int) -> None:
    from selenium import webdriver  # a test dependency: pip install selenium
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver_path is None:
        raise SystemExit("--screenshot needs chromium and chromedriver on PATH")
    options = webdriver.ChromeOptions()
    options.binary_location = browser  # both given: selenium looks nothing up online
    for flag in [*FLAGS, "--window-size=1200,640"]:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
        try:
            driver.get(page.resolve().as_uri())
            driver.execute_script(f"tlStepper.goto({step})")
            driver.save_screenshot(str(png))
        finally:
            driver.quit()
    try:  # a palette of 128 colours: a third of the size, the same to the eye
        from PIL import Image  # (pillow comes with matplotlib)
    except ImportError:
        return
    Image.open(png).convert("RGB").quantize(colors=128).save(png, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for stepper.html")
    parser.add_argument("--screenshot", type=Path, help="also save a PNG of the page")
    parser.add_argument("--step", type=int, default=9, help="the step the picture shows")
    args = parser.parse_args()
    page = network_page()
    args.out.mkdir(parents=True, exist_ok=True)
    path = page.save(args.out / "stepper.html")
    print(f"wrote {path}: {page.count} backward steps, {len(page.html) / 1000:.1f} kB")
    print("open it in a browser and press the right arrow key to step through backward")
    if args.screenshot is not None:
        screenshot(path, args.screenshot, args.step)
        print(f"wrote {args.screenshot} (step {args.step})")


if __name__ == "__main__":
    main()
