"""The error of detect_anomaly carries the Value whose backward rule made the first NaN or
infinite gradient, and ``viz.draw_backward(out, mark=error)`` marks that box and arrow."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import viz
from tinygrad_lite.errors import DrawingError


def _anomaly(make: object) -> tuple[tl.Value, tl.AnomalyError]:
    with pytest.raises(tl.AnomalyError) as caught, tl.detect_anomaly(), np.errstate(all="ignore"):
        out = make()  # type: ignore[operator]
        out.backward()
    return out, caught.value


def _lines(graph: object, css: str) -> list[str]:
    return [line for line in graph.source.splitlines() if f'class="{css}"' in line]  # type: ignore[attr-defined]


def test_the_error_carries_the_value_and_the_input() -> None:
    x, w = tl.Value(np.array([0.0, 4.0]), name="x"), tl.Value(2.0, name="w")
    _, error = _anomaly(lambda: (x.sqrt() * w).sum())
    assert error.value.op == "sqrt" and error.parent is x
    with pytest.raises(tl.AnomalyError) as caught, tl.detect_anomaly(), np.errstate(all="ignore"):
        tl.grad((x.sqrt() * w).sum(), [x])
    assert caught.value.value.op == "sqrt" and caught.value.parent is x


def test_draw_backward_marks_the_box_and_the_arrow() -> None:
    x, w = tl.Value(np.array([0.0, 4.0]), name="x"), tl.Value(2.0, name="w")
    out, error = _anomaly(lambda: (x.sqrt() * w).sum())
    graph = viz.draw_backward(out, mark=error)
    (box,) = _lines(graph, "anomaly")
    assert "d(sqrt)" in box and "sends a non-finite gradient to x" in box
    (arrow,) = _lines(graph, "failed")  # the arrow that carried it: sqrt -> x
    key = box.split()[0]
    assert arrow.strip().startswith(f"{key} -> ") and 'color="red"' in arrow
    assert "first NaN or infinite gradient" in graph.source  # the legend
    assert "red box: where the first NaN" in graph.source  # the caption
    plain = viz.draw_backward(out)
    assert not _lines(plain, "anomaly") and not _lines(plain, "failed")


def test_a_pass_stopped_at_the_output_is_replayed_for_the_drawing() -> None:
    x = tl.Value(0.0, name="x")
    out, error = _anomaly(lambda: x.log())
    assert out.grad is None and error.value is out  # backward stopped at its first rule
    graph = viz.draw_backward(out, mark=error)
    (box,) = _lines(graph, "anomaly")
    assert "dout" in box and "sends a non-finite gradient to x" in box
    assert "inf" in graph.source  # the replayed gradient of x, as backward would make it
    with pytest.raises(tl.GradientError, match="no gradient yet"):
        viz.draw_backward(out)  # without mark=, nothing was computed to draw


def test_mark_takes_a_value_too_and_nothing_else() -> None:
    x = tl.Value(np.array([1.0, 2.0]), name="x")
    y = x.exp()
    out = (y * 3.0).sum()
    out.backward()
    (box,) = _lines(viz.draw_backward(out, mark=y), "anomaly")
    assert "dy" in box and "marked" in box
    with pytest.raises(DrawingError, match="mark= takes the AnomalyError"):
        viz.draw_backward(out, mark="exp")  # type: ignore[arg-type]
