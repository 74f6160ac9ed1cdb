"""The mutation tool tools/mutate_ops.py still works: it makes the mutants it promises, finds
the rows they change, picks their tests, and tells a killed mutant from a surviving one.

The mutation run itself is slow and stays out of the test suite (docs/testing.md, "Mutation
testing of the op table"); this keeps the tool from rotting between runs.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutate_ops", ROOT / "tools" / "mutate_ops.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutate_ops"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


TOY = '''"""A toy family of rows."""

SCALE = 3.0  # module level: not mutated


def _double(static, x):
    """Docstrings are not mutated."""
    return x * 2.0


def _double_backward(static, g, out, x):
    return (g * 2.0,)


def _pair_backward(static, g, out, a, b):
    if a > b:
        return g, -g
    return g, None


ROWS = [
    Op("double", _double, _double_backward, "x 2"),
    Op("pair", lambda s, a, b: a - b, _pair_backward, ("x 1", "x -1")),
]
'''


def test_it_makes_every_kind_of_mutant(tool: ModuleType) -> None:
    mutants = tool.mutants_of(TOY, "toy")
    kinds = {m.kind for m in mutants}
    assert kinds >= {
        "binop",
        "compare",
        "constant",
        "unary",
        "negate-return",
        "zero-grad",
        "swap-grads",
        "negate-condition",
    }
    diffs = "\n".join(m.diff for m in mutants)
    assert "+    return (x / 2.0)" in diffs  # * -> /
    assert "+    return x * (3.0)" in diffs  # 2 -> 3
    assert "+    if (a <= b):" in diffs  # > flipped
    assert "+    if (not a > b):" in diffs  # the condition negated
    assert "+        return ((-g, g))" in diffs  # the two gradients swapped
    assert "+    return ((g * 2.0 * 0.0,))" in diffs  # the gradient replaced by zeros
    assert "lambda s, a, b: (a + b)" in diffs  # a lambda in a row
    assert "SCALE = 4.0" not in diffs and "Docstrings" not in diffs and '"x 2"' not in diffs
    for m in mutants:  # each mutant is one change that still compiles
        compile(m.source, "<mutant>", "exec")
        changed = [line[0] for line in m.diff.splitlines()[3:]]  # after the diff's header
        assert m.source != TOY and changed == ["-", "+"]


def test_it_names_the_function_or_row_a_mutant_is_in(tool: ModuleType) -> None:
    functions = {m.function for m in tool.mutants_of(TOY, "toy")}
    assert functions == {"_double", "_double_backward", "_pair_backward", "ROWS:pair"}


def test_it_finds_the_rows_a_helper_reaches_across_families(tool: ModuleType) -> None:
    reach, family = tool.row_graph(ROOT)
    assert family["softmax"] == "reduce" and family["linear"] == "fused"
    # the fused cross-entropy's backward recomputes the softmax of reduce.py
    assert "reduce._softmax" in reach["softmax_cross_entropy"]
    assert "elementwise._erf" in reach["erf"] and "elementwise._erf" not in reach["exp"]
    helper = tool.Mutant("reduce", 0, "binop", 1, "_softmax", "", "")
    assert tool.rows_of(helper, reach, family) == ["softmax", "softmax_cross_entropy"]
    in_row = tool.Mutant("elementwise", 0, "binop", 1, "ROWS:tanh", "", "")
    assert tool.rows_of(in_row, reach, family) == ["tanh"]


def test_its_test_files_exist(tool: ModuleType) -> None:
    for name in tool.TEST_FILES:
        assert (ROOT / name).is_file(), name


def test_it_picks_the_tests_of_the_changed_rows(tool: ModuleType) -> None:
    ids = [
        "tests/test_ops_property.py::test_spec_runs_the_primitives_it_claims[softmax]",
        "tests/test_ops_property.py::test_gradients_match_finite_differences[softmax]",
        "tests/test_ops_property.py::test_gradients_match_finite_differences[log_softmax]",
        "tests/test_ops_property.py::test_values_and_gradients_match_torch[softmax]",
        "tests/test_fused.py::test_a_fused_row[linear-<lambda>-inputs0-float64]",
        "tests/test_op_rows.py::test_op_rows_output_shapes[max-keepdims]",
        "tests/test_op_rows.py::test_op_rows_output_shapes[softmax-last_axis]",
    ]
    chosen = tool.tests_for(["softmax"], ids, {"softmax": ["softmax"]})
    assert chosen == [  # the gradient checks first (pytest -x stops at the first failure)
        "tests/test_ops_property.py::test_gradients_match_finite_differences[softmax]",
        "tests/test_op_rows.py::test_op_rows_output_shapes[softmax-last_axis]",
        "tests/test_ops_property.py::test_spec_runs_the_primitives_it_claims[softmax]",
    ]


TOY_TEST = """
import importlib.util
import json

spec = importlib.util.spec_from_file_location("toy", "tinygrad_lite/core/ops/toy.py")
toy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(toy)


def test_double():
    assert toy.double(3.0) == 6.0
"""


def test_a_wrong_mutant_is_killed_and_an_equivalent_one_survives(
    tool: ModuleType, tmp_path: Path
) -> None:
    source = "def double(x):\n    y = x + 0.0\n    return x * 2.0\n"
    (tmp_path / tool.OPS_DIR).mkdir(parents=True)
    (tmp_path / tool.OPS_DIR / "toy.py").write_text(source)
    (tmp_path / "test_toy.py").write_text(TOY_TEST)
    mutants = {m.diff.splitlines()[-1]: m for m in tool.mutants_of(source, "toy")}
    wrong = mutants["+    return (x / 2.0)"]
    dead = mutants["+    y = (x - 0.0)"]  # y is never used: nothing can tell
    env = tool.test_env()
    for m in (wrong, dead):
        tool.run_mutant(m, tmp_path, ["test_toy.py"], env, timeout=120)
    assert (wrong.status, dead.status) == ("killed", "survived")
    assert (tmp_path / tool.OPS_DIR / "toy.py").read_text() == source  # put back
    assert tool.score([wrong, dead]) == (1, 2, 50.0)
    text = tool.report([wrong, dead])
    assert "toy" in text and "50.0%" in text and "+    y = (x - 0.0)" in text


def test_rerun_picks_the_survivors_of_a_previous_run(
    tool: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (ROOT / tool.OPS_DIR / "linalg.py").read_text()
    first, second = tool.mutants_of(source, "linalg")[:2]
    previous = [
        {"family": "linalg", "function": first.function, "diff": first.diff, "status": "survived"},
        {"family": "linalg", "function": second.function, "diff": second.diff, "status": "killed"},
    ]
    path = tmp_path / "previous.json"
    path.write_text(json.dumps(previous))
    assert tool.main(["--family", "linalg", "--rerun", str(path), "--list"]) == 0
    out = capsys.readouterr().out
    assert f"# linalg #{first.index} " in out and out.rstrip().endswith("1 mutants")


def test_only_picks_the_given_mutants(tool: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    # --only N (repeated) runs the mutants of those numbers, as --list shows them
    assert tool.main(["--family", "linalg", "--only", "1", "--only", "3", "--list"]) == 0
    out = capsys.readouterr().out
    headers = [line.split(" (")[0] for line in out.splitlines() if line.startswith("# ")]
    assert headers == ["# linalg #1", "# linalg #3"] and out.rstrip().endswith("2 mutants")


def test_every_family_of_the_op_table_is_mutated(tool: ModuleType) -> None:
    helpers = {"__init__", "row", "modes"}
    families = {p.stem for p in (ROOT / tool.OPS_DIR).glob("*.py")} - helpers
    assert families == set(tool.FAMILIES)
