"""Tools to test gradients: ``gradcheck``, ``gradgradcheck``, ``numerical_grad``.

Hypothesis strategies for property tests live in ``tinygrad_lite.testing.strategies``, which
is imported on its own because hypothesis is an optional dependency.

>>> import tinygrad_lite as tl
>>> from tinygrad_lite.testing import gradcheck
>>> gradcheck(lambda x: x.sigmoid() * x, [tl.Value(0.5)])
True
"""

from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "numerical_grad"]
