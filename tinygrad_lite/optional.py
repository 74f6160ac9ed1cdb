"""Optional packages: import one, or say which feature needs it and how to install it."""

from __future__ import annotations

import importlib
from types import ModuleType

from .core import TinygradLiteError


class MissingDependencyError(TinygradLiteError, ImportError):
    """An optional package (scikit-learn, matplotlib, tqdm) that a feature needs is missing."""


def optional_import(module: str, feature: str, package: str, extra: str = "book") -> ModuleType:
    """Import an optional dependency, or say which feature needs it and how to install it.

    ``extra`` is the pip extra of tinygrad_lite that installs it (``book``, ``sklearn``,
    ``dask``...), named in the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"{feature} needs the optional package {package!r}: pip install {package} "
            f"(or pip install 'tinygrad_lite[{extra}]')"
        ) from None
