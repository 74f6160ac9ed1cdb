"""Moving models out of tinygrad_lite: ONNX export (torch and safetensors: see the rest of
this package). Every third-party package is imported lazily, inside the function that needs
it, so ``import tinygrad_lite.interop`` never needs them."""

from .onnx import ExportError, export_onnx

__all__ = ["ExportError", "export_onnx"]
