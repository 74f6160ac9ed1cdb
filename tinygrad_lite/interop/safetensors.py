"""Saving a model's weights as a safetensors file: ``save_safetensors`` / ``load_safetensors``.

safetensors (Hugging Face) is a plain format: a JSON header that gives each tensor's name,
dtype, shape and byte range, then the raw bytes. Reading it never runs code (no pickle), and
PyTorch, JAX and most model hubs read it. This module goes through the ``safetensors``
package's NumPy API, so torch is not needed.

The keys are the module's ``state_dict()`` keys, buffers included (a batch norm's running
statistics), and the arrays are stored as they are: loading them back into the same
architecture gives the same bits. The layouts are this library's (``nn.Linear`` weights are
(in, out)); a file written by torch holds torch's layouts, which ``load_torch_state_dict``
reads: ``load_torch_state_dict(model, safetensors.numpy.load_file(path))``.

>>> import numpy as np
>>> import tinygrad_lite as tl
>>> from tinygrad_lite import nn
>>> from tinygrad_lite.interop import load_safetensors, save_safetensors
>>> _ = tl.manual_seed(0)
>>> import os, tempfile
>>> folder = tempfile.TemporaryDirectory()
>>> path = os.path.join(folder.name, "model.safetensors")
>>> model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
>>> save_safetensors(model, path)
>>> copy = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))     # other random weights
>>> load_safetensors(copy, path)
>>> bool((copy[0].weight.data == model[0].weight.data).all())
True
>>> folder.cleanup()
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

import numpy as np

from ..core import ArgumentError
from ..nn.module import CheckpointError, Module, StateDictError
from ..optional import optional_import

PathLike = str | os.PathLike[str]


def _safetensors(feature: str) -> Any:
    return optional_import("safetensors.numpy", feature, "safetensors", extra="torch")


def save_safetensors(module: Module, path: PathLike) -> None:
    """Write ``module.state_dict()`` (parameters and buffers) to ``path`` as safetensors."""
    if not isinstance(module, Module):
        raise StateDictError(
            f"save_safetensors: expected a tinygrad_lite Module, got {type(module).__name__}"
        )
    _check_path(path, "save_safetensors")
    st = _safetensors("save_safetensors")
    # C order (safetensors stores raw bytes); np.require keeps a 0-d array 0-d
    state = {k: np.require(a, requirements="C") for k, a in module.state_dict().items()}
    st.save_file(state, os.fspath(path), metadata={"format": "tinygrad_lite"})


def load_safetensors(module: Module, path: PathLike) -> None:
    """Load a file written by ``save_safetensors`` into ``module``, in place.

    The keys and every tensor's shape are checked against the module before any data is
    read: a missing or unexpected key or a wrong shape raises ``StateDictError`` (naming the
    key and both shapes), a file that is not valid safetensors (truncated, a damaged header)
    raises ``CheckpointError``. Arrays of another float dtype are cast to the module's.
    """
    if not isinstance(module, Module):
        raise StateDictError(
            f"load_safetensors: expected a tinygrad_lite Module, got {type(module).__name__}"
        )
    _check_path(path, "load_safetensors")
    st = _safetensors("load_safetensors")
    header = _read_header(path)
    own = module.state_dict()
    missing = [k for k in own if k not in header]
    unexpected = [k for k in header if k not in own]
    if missing or unexpected:
        raise StateDictError(
            f"load_safetensors: {type(module).__name__} has parameters or buffers the file "
            f"lacks (missing: {missing}) or the file has keys the module lacks (unexpected: "
            f"{unexpected}); load a file saved from the same architecture"
        )
    for key, array in own.items():
        shape = tuple(header[key].get("shape", ()))
        if shape != array.shape:
            raise StateDictError(
                f"load_safetensors: {key!r} has shape {shape} in the file but "
                f"{array.shape} in the module; was it saved from a different architecture?"
            )
    try:
        arrays = st.load_file(os.fspath(path))
    except Exception as e:  # the package's SafetensorError, or a dtype NumPy cannot hold
        raise _not_safetensors(path, f"{type(e).__name__}: {e}") from None
    module.load_state_dict(arrays)


def _read_header(path: PathLike) -> dict[str, dict[str, Any]]:
    """The file's JSON header (name -> dtype, shape, offsets), checked against its size, so
    that keys and shapes can be compared with the module before any tensor is read."""
    try:
        with open(path, "rb") as f:
            size_bytes = f.read(8)
            if len(size_bytes) < 8:
                raise _not_safetensors(path, "it is shorter than the 8-byte header length")
            (length,) = struct.unpack("<Q", size_bytes)
            total = os.fstat(f.fileno()).st_size
            if length > total - 8:
                raise _not_safetensors(
                    path, f"its header claims {length} bytes but the file has {total - 8} after it"
                )
            raw = f.read(length)
    except FileNotFoundError:
        raise
    except OSError as e:  # a directory, a file we may not read...
        raise _not_safetensors(path, f"{type(e).__name__}: {e}") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _not_safetensors(path, f"its header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise _not_safetensors(path, "its header is not a JSON object")
    header.pop("__metadata__", None)
    data_size = total - 8 - length
    for key, entry in header.items():
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not isinstance(shape, list)
            or not all(isinstance(n, int) and n >= 0 for n in [*offsets, *shape])
        ):
            raise _not_safetensors(path, f"the header entry of {key!r} is malformed")
        if offsets[1] > data_size:
            raise _not_safetensors(
                path, f"{key!r} ends at byte {offsets[1]} of a {data_size}-byte data section"
            )
    return header


def _check_path(path: Any, who: str) -> None:
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(
            f"{who}: path={path!r} must be a file name (a str or a pathlib.Path), not a "
            f"{type(path).__name__}"
        )


def _not_safetensors(path: PathLike, why: str) -> CheckpointError:
    return CheckpointError(
        f"load_safetensors: {os.fspath(path)!r} is not a readable safetensors file ({why}); it "
        "may be truncated or modified. Save it again with save_safetensors(model, path)"
    )


__all__ = ["load_safetensors", "save_safetensors"]
