"""Mutation testing of the op table: do the op spec tests notice a wrong rule?

Each mutant is the op table with ONE small change in a rule: ``+`` for ``-``, ``<`` for ``>=``,
a constant off by one, a gradient replaced by zeros or swapped with its neighbour's. The tests
that cover the changed row run on the mutant in a fresh process; a failing run "kills" it. A
mutant that survives is a change the tests cannot see: a gap in the tests, a dead path, or a
change that really does nothing (an equivalent mutant).

    python tools/mutate_ops.py                        # every family, 2 workers
    python tools/mutate_ops.py --family reduce --list # the mutants only, as diffs
    python tools/mutate_ops.py --family conv --sample 40 --seed 1 --json out.json

What is mutated: the bodies of the functions and lambdas of ``tinygrad_lite/core/ops/<family>.py``
(forward, backward, composite and label functions, and the helpers they call). Not mutated:
string constants (messages, mode names, label templates such as ``"x {1}"``: the tests do not
pin them, so their mutants would all survive; a label written as a function is code, mutated
and pinned like the rest), module-level tables (``erf``'s coefficients), type annotations,
and ``row.py``/``modes.py``/``__init__.py``.

Which tests run: ``tests/test_ops_property.py`` for every spec of ``tests/op_specs.py`` that
covers a changed row (torch's comparisons deselected, so the score does not depend on an
optional package), ``tests/test_fused.py`` for a fused row, and the cases of
``tests/test_op_rows.py`` whose id starts with the row's name (ties, extremes, shapes, labels),
under the hypothesis profile ``mutation`` (few, derandomized examples: the same mutant gets the
same verdict every run). The changed rows are found by following names: the
row whose ``Op(...)`` holds the changed lambda, or every row whose rules reach the changed
function (across family files); a function no row reaches runs its whole family's tests.
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPS_DIR = Path("tinygrad_lite") / "core" / "ops"
FAMILIES = (
    "elementwise",
    "reduce",
    "movement",
    "linalg",
    "fused",
    "norm",
    "recurrent",
    "attention",
    "conv",
)
PYTEST = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
TEST_FILES = ("tests/test_ops_property.py", "tests/test_fused.py", "tests/test_op_rows.py")

# ---------------------------------------------------------------- making mutants


@dataclass
class Mutant:
    family: str
    index: int
    kind: str  # which operator made it: "binop", "compare", "constant", "zero-grad", ...
    line: int
    function: str  # the top-level function (or "ROWS:<row>" for a lambda in a row)
    source: str  # the whole mutated file
    diff: str
    rows: list[str] = field(default_factory=list)  # the rows whose tests run
    status: str = "pending"  # killed, survived, timeout, or pending
    seconds: float = 0.0


_SWAP_BINOP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult,
    ast.Pow: ast.Mult,
    ast.Mod: ast.Add,
}
_FLIP_COMPARE: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}


def _variants(node: ast.AST, in_return: bool) -> Iterator[tuple[str, ast.AST]]:
    """The mutated copies of one node, each with the name of the operator that made it."""
    if isinstance(node, (ast.If, ast.IfExp, ast.While)):
        return  # their conditions are negated where they are visited (see mutants_of)
    if isinstance(node, ast.BinOp) and type(node.op) in _SWAP_BINOP:
        yield "binop", ast.BinOp(node.left, _SWAP_BINOP[type(node.op)](), node.right)
    elif isinstance(node, ast.AugAssign) and type(node.op) in _SWAP_BINOP:
        yield "binop", ast.AugAssign(node.target, _SWAP_BINOP[type(node.op)](), node.value)
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _FLIP_COMPARE:
                ops = [*node.ops[:i], _FLIP_COMPARE[type(op)](), *node.ops[i + 1 :]]
                yield "compare", ast.Compare(node.left, ops, node.comparators)
    elif isinstance(node, ast.BoolOp):
        yield (
            "boolop",
            ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values),
        )
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not, ast.Invert)):
        yield "unary", node.operand  # -x -> x, not c -> c, ~m -> m
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        yield "constant", ast.Constant(not node.value)
    elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        yield "constant", ast.Constant(node.value + 1)  # 0 -> 1, 1 -> 2, 0.5 -> 1.5
    elif isinstance(node, ast.Call):
        for i in range(len(node.keywords)):
            if node.keywords[i].arg is not None:  # keepdims=True, axis=-1, out=e ... dropped
                kept = node.keywords[:i] + node.keywords[i + 1 :]
                yield "drop-keyword", ast.Call(node.func, node.args, kept)
    if in_return:  # the node is what a rule returns
        if isinstance(node, ast.Tuple):
            grads = [i for i, e in enumerate(node.elts) if not _is_none(e)]
            for i in grads:
                if not isinstance(node.elts[i], ast.Starred):
                    zero = ast.BinOp(node.elts[i], ast.Mult(), ast.Constant(0.0))
                    yield "zero-grad", _with(node, elts=_replace(node.elts, i, zero))
            for i, j in zip(grads, grads[1:]):
                swapped = _replace(_replace(node.elts, i, node.elts[j]), j, node.elts[i])
                yield "swap-grads", _with(node, elts=swapped)
        elif isinstance(node, ast.expr) and not isinstance(node, ast.Constant):
            yield "negate-return", ast.UnaryOp(ast.USub(), node)


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _with(node: ast.AST, **fields: object) -> ast.AST:
    new = copy.copy(node)
    for name, value in fields.items():
        setattr(new, name, value)
    return new


def _replace(items: list[ast.expr], i: int, new: ast.expr) -> list[ast.expr]:
    return [*items[:i], new, *items[i + 1 :]]


def _walk_body(node: ast.AST, returned: set[int]) -> Iterator[ast.AST]:
    """Every node under ``node`` that may be mutated: no docstrings, no annotations."""
    for name, value in ast.iter_fields(node):
        if name in ("annotation", "returns", "decorator_list", "type_comment"):
            continue
        children = value if isinstance(value, list) else [value]
        for child in children:
            if not isinstance(child, ast.AST) or _is_docstring(node, child):
                continue
            if isinstance(child, ast.Return) and child.value is not None:
                returned.add(id(child.value))
            yield child
            yield from _walk_body(child, returned)


def _is_docstring(parent: ast.AST, child: ast.AST) -> bool:
    body = getattr(parent, "body", None)
    return (
        isinstance(body, list)
        and body[:1] == [child]
        and isinstance(child, ast.Expr)
        and isinstance(child.value, ast.Constant)
        and isinstance(child.value.value, str)
    )


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    """The code to mutate: every top-level function and method, and every lambda in a row
    (named ``ROWS:<row>``) or elsewhere at top level (named after its statement)."""
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            yield stmt.name, stmt
            continue
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call) and _row_name(node) is not None:
                for lam in ast.walk(node):
                    if isinstance(lam, ast.Lambda):
                        yield f"ROWS:{_row_name(node)}", lam


def _row_name(call: ast.Call) -> str | None:
    """The name of the row an ``Op("name", ...)`` call makes, or None for another call."""
    if isinstance(call.func, ast.Name) and call.func.id == "Op" and call.args:
        first = call.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def mutants_of(source: str, family: str = "sample") -> list[Mutant]:
    """Every mutant of the module ``source``, in source order."""
    tree = ast.parse(source)
    lines = source.encode().splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    raw = source.encode()
    seen: set[str] = set()
    out: list[Mutant] = []
    for function, code in _functions(tree):
        returned: set[int] = set()
        if isinstance(code, ast.Lambda):
            returned.add(id(code.body))
        nodes = list(_walk_body(code, returned))
        conditions = {id(n.test) for n in nodes if isinstance(n, (ast.If, ast.IfExp, ast.While))}
        for node in nodes:
            if not isinstance(node, (ast.expr, ast.stmt)) or isinstance(node, ast.FunctionDef):
                continue
            variants = list(_variants(node, id(node) in returned))
            if id(node) in conditions and isinstance(node, ast.expr):
                variants.append(("negate-condition", ast.UnaryOp(ast.Not(), node)))
            for kind, new in variants:
                begin = starts[node.lineno - 1] + node.col_offset
                end = starts[(node.end_lineno or node.lineno) - 1] + (node.end_col_offset or 0)
                text = _unparse(new, node)
                mutated = (raw[:begin] + text.encode() + raw[end:]).decode()
                if mutated in seen or not _compiles(mutated):
                    continue
                seen.add(mutated)
                diff = "".join(
                    difflib.unified_diff(
                        source.splitlines(keepends=True),
                        mutated.splitlines(keepends=True),
                        f"a/{family}.py",
                        f"b/{family}.py",
                        n=0,
                    )
                )
                out.append(Mutant(family, len(out), kind, node.lineno, function, mutated, diff))
    return out


def _unparse(new: ast.AST, old: ast.AST) -> str:
    """Source text of the mutated node; expressions get parentheses, so the change keeps its
    place in a larger expression (``c / a ** 2`` -> ``c / (a * 2)``)."""
    text = ast.unparse(new)
    if isinstance(old, ast.stmt):  # a statement keeps its indentation: unparse has none
        return text.replace("\n", "\n" + " " * old.col_offset)
    return f"({text})"


def _compiles(source: str) -> bool:
    try:
        compile(source, "<mutant>", "exec")
    except SyntaxError:
        return False
    return True


# ---------------------------------------------------------------- which rows a mutant changes


def row_graph(root: Path) -> tuple[dict[str, set[str]], dict[str, str]]:
    """For every row: the top-level names ``family.function`` its rules reach (across family
    files, by following names and ``from .x import y``); and the family of every row."""
    uses: dict[str, set[str]] = {}  # "family.name" -> the "family.name"s it refers to
    row_uses: dict[str, set[str]] = {}
    row_family: dict[str, str] = {}
    for path in sorted((root / OPS_DIR).glob("*.py")):
        module = path.stem
        tree = ast.parse(path.read_text())
        local = {name for name in map(_defined, tree.body) if name}
        imported: dict[str, str] = {}
        for stmt in tree.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.level == 1 and stmt.module:
                for alias in stmt.names:
                    imported[alias.asname or alias.name] = f"{stmt.module}.{alias.name}"

        for stmt in tree.body:
            name = _defined(stmt)
            if name:
                uses[f"{module}.{name}"] = _names(stmt, module, local, imported)
            for node in ast.walk(stmt):
                row = _row_name(node) if isinstance(node, ast.Call) else None
                if row is not None:
                    row_uses[row] = _names(node, module, local, imported)
                    row_family[row] = module
    reach: dict[str, set[str]] = {}
    for row, start in row_uses.items():
        seen, todo = set(), list(start)
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(uses.get(name, ()))
        reach[row] = seen
    return reach, row_family


def _names(node: ast.AST, module: str, local: set[str], imported: dict[str, str]) -> set[str]:
    """The top-level names (``family.name``) that ``node`` refers to."""
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    found = {f"{module}.{n}" for n in names if n in local}
    return found | {imported[n] for n in names if n in imported}


def _defined(stmt: ast.stmt) -> str | None:
    if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
        return stmt.name
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if len(targets) == 1 and isinstance(targets[0], ast.Name):
            return targets[0].id
    return None


def rows_of(mutant: Mutant, reach: dict[str, set[str]], row_family: dict[str, str]) -> list[str]:
    if mutant.function.startswith("ROWS:"):
        return [mutant.function[5:]]
    key = f"{mutant.family}.{mutant.function}"
    rows = sorted(row for row, names in reach.items() if key in names)
    return rows or sorted(r for r, f in row_family.items() if f == mutant.family)


# ---------------------------------------------------------------- running the tests


def spec_names_by_row(root: Path) -> dict[str, list[str]]:
    """Row name -> the specs of tests/op_specs.py that cover it."""
    sys.path.insert(0, str(root / "tests"))
    from op_specs import SPECS  # noqa: PLC0415 (the tests are imported only to run them)

    out: dict[str, list[str]] = defaultdict(list)
    for spec in SPECS:
        for row in spec.covers:
            out[row].append(spec.name)
    return out


def collect(root: Path, env: dict[str, str]) -> list[str]:
    """Every test id of the op spec test files."""
    files = [f for f in TEST_FILES if (root / f).exists()]
    run = subprocess.run(
        [*PYTEST, "--collect-only", "-o", "addopts=", *files],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    return [line for line in run.stdout.splitlines() if "::" in line]


def tests_for(rows: list[str], ids: list[str], specs: dict[str, list[str]]) -> list[str]:
    """The test ids that exercise ``rows``: their specs' property tests (torch's excluded),
    their fused-vs-composite cases, and their label tests."""
    wanted = {s for row in rows for s in specs.get(row, ())}
    chosen: list[str] = []
    for test in ids:
        param = test.partition("[")[2].rstrip("]")
        if test.startswith("tests/test_ops_property.py"):
            if param in wanted and "torch" not in test:
                chosen.append(test)
        elif any(row in param.split("-") for row in rows):
            chosen.append(test)
    return sorted(chosen, key=_likely_to_fail_first)


# pytest -x stops at the first failure: the tests that catch most mutants go first
_ORDER = ("test_gradients_match", "test_op_rows", "test_fused", "test_float32_stays", "second")


def _likely_to_fail_first(test: str) -> int:
    return next((i for i, word in enumerate(_ORDER) if word in test), len(_ORDER))


def run_mutant(
    mutant: Mutant, tree: Path, tests: list[str], env: dict[str, str], timeout: float
) -> None:
    """Write the mutant into the copy ``tree``, run ``tests`` there, put the original back."""
    path = tree / OPS_DIR / f"{mutant.family}.py"
    original = path.read_text()
    path.write_text(mutant.source)
    start = time.perf_counter()
    try:
        run = subprocess.run(
            [*PYTEST, "-x", *tests],
            cwd=tree,
            env=env,
            capture_output=True,
            timeout=timeout,
        )
        mutant.status = "survived" if run.returncode == 0 else "killed"
    except subprocess.TimeoutExpired:
        mutant.status = "timeout"  # counted as killed: the tests do not pass
    finally:
        path.write_text(original)
        mutant.seconds = time.perf_counter() - start


def make_tree(root: Path, into: Path) -> Path:
    """A copy of the package and its tests to mutate: the working tree is never touched."""
    for name in ("tinygrad_lite", "tests"):
        shutil.copytree(
            root / name, into / name, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis")
        )
    shutil.copy(root / "pyproject.toml", into / "pyproject.toml")
    return into


def test_env() -> dict[str, str]:
    env = dict(os.environ, HYPOTHESIS_PROFILE="mutation", PYTHONDONTWRITEBYTECODE="1")
    env.pop("CI", None)
    return env


# ---------------------------------------------------------------- the report


def score(mutants: list[Mutant]) -> tuple[int, int, float]:
    """(detected, total, percent) of the mutants that ran; a timeout counts as detected."""
    ran = [m for m in mutants if m.status != "pending"]
    detected = sum(m.status in ("killed", "timeout") for m in ran)
    return detected, len(ran), 100.0 * detected / max(1, len(ran))


def report(mutants: list[Mutant]) -> str:
    lines = [
        f"{'family':<12} {'mutants':>7} {'killed':>7} {'timeout':>7} {'survived':>8} {'score':>7}"
    ]
    by_family: dict[str, list[Mutant]] = defaultdict(list)
    for m in mutants:
        by_family[m.family].append(m)
    for family, group in [*by_family.items(), ("all", mutants)]:
        counts = Counter(m.status for m in group)
        detected, total, percent = score(group)
        lines.append(
            f"{family:<12} {total:>7} {counts['killed']:>7} {counts['timeout']:>7} "
            f"{counts['survived']:>8} {percent:>6.1f}%"
        )
    survivors = [m for m in mutants if m.status == "survived"]
    if survivors:
        lines.append(f"\n{len(survivors)} surviving mutants:")
        for m in survivors:
            lines.append(f"\n# {m.family} #{m.index} ({m.kind}, in {m.function}; rows {m.rows})")
            lines.append(m.diff.rstrip())
    return "\n".join(lines)


def _change(diff: str) -> str:
    """A diff without its header and line numbers: the same mutant in another run."""
    return "\n".join(
        line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", action="append", choices=FAMILIES, help="default: all")
    parser.add_argument("--sample", type=int, help="run N mutants per family, drawn at random")
    parser.add_argument("--seed", type=int, default=0, help="for --sample")
    parser.add_argument("--only", type=int, action="append", help="run mutant #N (with --family)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per mutant")
    parser.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    parser.add_argument("--json", type=Path, help="write every mutant's verdict here")
    parser.add_argument(
        "--rerun", type=Path, help="run only the mutants that survived in this --json file"
    )
    args = parser.parse_args(argv)

    root = ROOT
    reach, row_family = row_graph(root)
    mutants: list[Mutant] = []
    for family in args.family or FAMILIES:
        found = mutants_of((root / OPS_DIR / f"{family}.py").read_text(), family)
        if args.only:
            found = [m for m in found if m.index in args.only]
        if args.sample is not None and args.sample < len(found):
            found = sorted(
                random.Random(args.seed).sample(found, args.sample), key=lambda m: m.index
            )
        if args.rerun:
            old = json.loads(args.rerun.read_text())
            survivors = {
                (m["family"], m["function"], _change(m["diff"]))
                for m in old
                if m["status"] == "survived"
            }
            found = [m for m in found if (family, m.function, _change(m.diff)) in survivors]
        for m in found:
            m.rows = rows_of(m, reach, row_family)
        mutants += found
    if args.list:
        for m in mutants:
            print(f"# {m.family} #{m.index} ({m.kind}, in {m.function}; rows {m.rows})")
            print(m.diff)
        print(f"{len(mutants)} mutants")
        return 0

    env = test_env()
    ids = collect(root, env)
    specs = spec_names_by_row(root)
    with tempfile.TemporaryDirectory(prefix="mutate_ops_") as tmp:
        trees = [make_tree(root, Path(tmp) / f"w{i}") for i in range(args.jobs)]
        free = list(trees)

        def work(m: Mutant) -> Mutant:
            tree = free.pop()
            try:
                tests = tests_for(m.rows, ids, specs)
                if not tests:
                    m.status = "no tests"
                    return m
                run_mutant(m, tree, tests, env, args.timeout)
            finally:
                free.append(tree)
            return m

        started = time.perf_counter()
        with ThreadPoolExecutor(args.jobs) as pool:
            for done, m in enumerate(pool.map(work, mutants), 1):
                print(
                    f"[{done}/{len(mutants)} {time.perf_counter() - started:.0f}s] "
                    f"{m.family} #{m.index} {m.kind} line {m.line}: {m.status} ({m.seconds:.1f}s)",
                    flush=True,
                )
    print(report(mutants))
    if args.json:
        data = [{k: v for k, v in asdict(m).items() if k != "source"} for m in mutants]
        args.json.write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
