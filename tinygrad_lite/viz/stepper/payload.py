"""What the stepper page shows, as JSON-ready data: the forward graph and the backward steps.

``payload(out, name, clusters)`` reads a graph through the core's public view only
(``tl.core.toposort``, ``Value.op/.parents/.static``, ``tl.backward_steps``) and returns

* ``nodes``: one per Value in topological order (parents first), plus one per number kept
  inside a node (the ``10`` of ``a * b + 10``, kind ``const``), each with its id, name,
  operation, kind (``param``, ``data``, ``op``, ``output``, ``const``), shape and data;
* ``steps``: one per step of the backward walk, in backward's order: the node whose gradient
  is complete, that gradient, and one term per parent (``to``: the parent's node id, the local
  derivative's label, the product sent);
* with ``model=``, each node made by a module (a neuron, a layer) says which: ``group`` (an
  index, so the page keeps a module's boxes together) and ``module`` (its path and class).

Numbers are exact: JSON writes a float as its shortest round-tripping ``repr``, so the page
reads back the very double Python holds (a float32 element is first widened to a double,
exactly). NaN and the infinities, which JSON cannot write, travel as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``; the page turns them back into numbers. An array ships its
elements as nested lists when it has at most ``MAX_ELEMENTS`` of them; a bigger one ships its
shape, statistics and a grid of at most ``MAX_ELEMENTS`` block means for the heatmap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ...core import Value, backward_steps, number, operands, toposort

MAX_ELEMENTS = 64  # elements of one array shipped exactly; more are summarised
GRID = 8  # a big array's heatmap: at most GRID x GRID block means

Namer = Callable[[Value], str | None]


def scalar(x: Any) -> float | str:
    """A float for JSON: itself, or ``"NaN"`` / ``"Infinity"`` / ``"-Infinity"``.

    >>> scalar(0.1), scalar(float("nan")), scalar(float("-inf"))
    (0.1, 'NaN', '-Infinity')
    """
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def encode(data: Any) -> Any:
    """A Value's data (or a gradient) for the page: a number, or a dict describing an array.

    >>> encode(2.5)
    2.5
    >>> encode(np.array([[1.0, np.inf]], dtype=np.float32))["values"]
    [[1.0, 'Infinity']]
    """
    if type(data) is float or np.ndim(data) == 0 and not isinstance(data, np.ndarray):
        return scalar(data)
    arr = np.asarray(data, dtype=np.float64)
    out: dict[str, Any] = {"shape": list(arr.shape), "dtype": str(np.asarray(data).dtype)}
    finite = arr[np.isfinite(arr)]
    out["nonfinite"] = int(arr.size - finite.size)
    if finite.size:
        out["min"], out["max"] = scalar(finite.min()), scalar(finite.max())
        out["mean"] = scalar(finite.mean())
    if arr.size <= MAX_ELEMENTS:
        out["values"] = _nested(arr)
    else:
        out["grid"] = _grid(arr)
    return out


def _nested(arr: np.ndarray) -> Any:
    if np.isfinite(arr).all():
        return arr.tolist()  # Python floats: json writes each as its exact repr
    return np.vectorize(scalar, otypes=[object])(arr).tolist() if arr.ndim else scalar(arr)


def _grid(arr: np.ndarray) -> dict[str, Any]:
    """Block means of ``arr`` seen as a matrix (rows: all axes but the last), at most
    ``GRID`` x ``GRID`` cells; non-finite elements are left out of their block's mean."""
    m = arr.reshape(-1, arr.shape[-1]) if arr.ndim > 1 else arr.reshape(1, -1)  # (rows, cols)
    rows, cols = min(GRID, m.shape[0]), min(GRID, m.shape[1])
    r_edges = np.linspace(0, m.shape[0], rows + 1).astype(int)
    c_edges = np.linspace(0, m.shape[1], cols + 1).astype(int)
    cells = []
    with np.errstate(all="ignore"):
        for r in range(rows):
            for c in range(cols):
                block = m[r_edges[r] : r_edges[r + 1], c_edges[c] : c_edges[c + 1]]
                ok = block[np.isfinite(block)]
                cells.append(scalar(ok.mean()) if ok.size else "NaN")
    return {"rows": rows, "cols": cols, "cells": cells, "of": list(m.shape)}


def kind(v: Value, out: Value) -> str:
    if v is out:
        return "output"
    if v.is_leaf:
        return "param" if v.requires_grad else "data"
    return "op"


def payload(
    out: Value,
    name: Namer,
    clusters: dict[Value, tuple[int, str]] | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """The page's data for the graph of ``out`` (see the module docstring).

    ``name(v)`` gives a Value's name, or None to show its operation; ``clusters`` maps a Value
    to its module (an index and a label) for ``model=``.
    """
    values = toposort([out])
    ids: dict[Value, int] = {}
    nodes: list[dict[str, Any]] = []
    for v in values:
        parents = []
        for x in operands(v) if v.op is not None else []:
            if isinstance(x, Value):
                parents.append(ids[x])
                continue
            const = len(nodes)
            nodes.append(
                {"id": const, "name": number(x), "named": True, "op": None, "kind": "const"}
                | {"shape": None, "data": encode(x), "parents": []}
            )
            parents.append(const)
        ids[v] = len(nodes)
        given = name(v)
        node = {
            "id": ids[v],
            "name": given if given is not None else (v.op or kind(v, out)),
            "named": given is not None,
            "op": v.op,
            "kind": kind(v, out),
            "shape": list(v.shape) if not isinstance(v.data, float) else None,
            "data": encode(v.data),
            "parents": parents,
        }
        if clusters and v in clusters:
            node["group"], node["module"] = clusters[v]
        nodes.append(node)
    steps = []
    if out.requires_grad:
        for s in backward_steps(out, name=name):  # the labels use the page's names
            terms = [
                {"to": ids[t.parent], "local": t.local, "product": encode(t.product)}
                for t in s.terms
            ]
            step = {"node": ids[s.value], "grad": encode(s.grad), "terms": terms}
            if s.error is not None:
                step["error"] = s.error
            steps.append(step)
    out_name = name(out) or out.op or "a leaf"
    return {
        "title": title or f"backprop stepper: {out_name}",
        "output": ids[out],
        "nodes": nodes,
        "steps": steps,
    }
