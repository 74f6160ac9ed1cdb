"""Optional packages: import one, or say which feature needs it and how to install it."""

from __future__ import annotations

import importlib
from types import ModuleType

from .core import TinygradLiteError


class MissingDependencyError(TinygradLiteError, ImportError):
    """An optional package (scikit-learn, matplotlib, tqdm, torch, safetensors...) that a feature
    needs is missing."""


def optional_import(module: str, feature: str, package: str, extra: str = "book") -> ModuleType:
    """Import an optional dependency, or say which feature needs it and how to install it
    (``extra``: the pip extra of tinygrad_lite that installs it)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        hint = (
            "for every optional package of the examples"
            if extra == "book"
            else "for the optional packages of this feature"
        )
        raise MissingDependencyError(
            f"{feature} needs the optional package {package!r}: pip install {package} "
            f"(or pip install 'tinygrad_lite[{extra}]' {hint})"
        ) from None
