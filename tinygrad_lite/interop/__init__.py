"""Moving models out of tinygrad_lite and back: to PyTorch (``to_torch``, ``from_torch``,
``load_torch_state_dict``), to safetensors files (``save_safetensors``, ``load_safetensors``)
and to ONNX (``export_onnx``).

Every third-party package here is optional and imported when a function needs it:
``pip install 'tinygrad_lite[torch]'`` (torch and safetensors) or ``'tinygrad_lite[onnx]'``.
A missing one raises ``MissingDependencyError`` naming the extra. See ``docs/interop.md``.
"""

from .onnx import ExportError, export_onnx
from .safetensors import load_safetensors, save_safetensors
from .torch import UnsupportedLayerError, from_torch, load_torch_state_dict, to_torch

__all__ = [
    "ExportError",
    "export_onnx",
    "UnsupportedLayerError",
    "from_torch",
    "load_safetensors",
    "load_torch_state_dict",
    "save_safetensors",
    "to_torch",
]
