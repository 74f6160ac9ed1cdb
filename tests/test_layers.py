"""The package's layers look down only: the core imports nothing above it, no module imports a
private name of another, there is no import cycle, and the drawing's scene needs no graphviz.

The imports are read from the source with ``ast`` (a deferred import inside a function counts
too; only ``if TYPE_CHECKING:`` blocks, which never run, are left out), so the rules hold
whatever happens to be imported already when the tests run.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_lite"
STDLIB = set(sys.stdlib_module_names)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(name: str) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import statement of module ``name``,
    with relative imports resolved; ``from . import x`` names the module ``pkg.x`` when it is
    a module of the package."""
    path = MODULES[name]
    base = name.split(".") if is_package(path) else name.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _type_checking(node)
        for n in ast.walk(node)
        if n is not node
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                up = base[: len(base) - node.level + 1]
                target = ".".join(up + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [alias.name for alias in node.names]
            submodules = [n for n in names if f"{target}.{n}" in MODULES]
            found += [(f"{target}.{n}", []) for n in submodules]
            rest = [n for n in names if n not in submodules]
            if rest or not submodules:
                found.append((target, rest))
    return found


def test_the_core_imports_numpy_the_standard_library_and_itself_only():
    wrong = []
    for name in MODULES:
        if not name.startswith("tinygrad_lite.core"):
            continue
        for target, _ in imports(name):
            top = target.split(".")[0]
            inside = target == "tinygrad_lite.core" or target.startswith("tinygrad_lite.core.")
            if not (inside or top in STDLIB or top == "numpy" or top == "__future__"):
                wrong.append(f"{name} imports {target}")
    assert not wrong, "the core must not import anything above it:\n" + "\n".join(wrong)


def test_no_module_imports_a_private_name_of_another():
    wrong = [
        f"{name} imports {n} from {target}"
        for name in MODULES
        for target, names in imports(name)
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert not wrong, "\n".join(wrong)


def test_the_package_has_no_import_cycle():
    graph = {name: {t for t, _ in imports(name) if t in MODULES and t != name} for name in MODULES}
    # a module importing its own package's __init__ (``from .. import x``) depends on it, and
    # the package's __init__ on what it imports: every edge counts
    done: set[str] = set()
    for start in graph:
        stack, on_path = [(start, iter(sorted(graph[start])))], [start]
        seen = {start}
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                on_path.pop()
                done.add(node)
                continue
            if child in on_path:
                cycle = on_path[on_path.index(child) :] + [child]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if child not in seen and child not in done:
                seen.add(child)
                stack.append((child, iter(sorted(graph[child]))))
                on_path.append(child)


def test_the_scene_of_a_drawing_needs_no_graphviz():
    # what to draw is pure data: no module of viz/scene imports graphviz, directly or through
    # the modules of the package it imports (the renderer is the only one that does)
    todo = [m for m in MODULES if m.startswith("tinygrad_lite.viz.scene")]
    reached = set(todo)
    while todo:
        for target, _ in imports(todo.pop()):
            assert target.split(".")[0] != "graphviz", f"{target} is imported by the scene"
            if target in MODULES and target not in reached:
                reached.add(target)
                todo.append(target)
    assert "tinygrad_lite.viz.render.svg" not in reached
    assert "graphviz" in {t for t, _ in imports("tinygrad_lite.viz.render.svg")}


def test_the_rules_find_what_they_look_for():
    # the checks above read real imports: a private import and an upward import are seen
    assert ("tinygrad_lite.core.backward", ["Step", "Term"]) not in imports("tinygrad_lite")
    assert any(
        t == "tinygrad_lite.core" and "Value" in names
        for t, names in imports("tinygrad_lite.functions")
    )
    assert any(t == "tinygrad_lite.core.ops.row" for t, _ in imports("tinygrad_lite.core.ops"))
    assert "tinygrad_lite.core.value" in {t for t, _ in imports("tinygrad_lite.core.function")}
