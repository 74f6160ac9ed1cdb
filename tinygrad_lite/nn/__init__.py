"""Neural-network building blocks: layers, losses (``nn.functional``), initialisers
(``nn.init``), and the book's scalar neurons (``nn.scalar``).

>>> import numpy as np
>>> import tinygrad_lite as tl
>>> from tinygrad_lite import nn
>>> import tinygrad_lite.nn.functional as F
>>> _ = tl.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> x = tl.Value(np.ones((5, 4), dtype=np.float32), requires_grad=False)
>>> loss = F.cross_entropy(model(x), [0, 1, 2, 1, 0])
>>> loss.backward()
>>> model[0].weight.grad.shape
(4, 8)
"""

from ..core import ArgumentError
from . import functional, init, scalar
from .activations import (
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from .attention import MultiheadAttention, causal_mask, sinusoidal_positional_encoding
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .embedding import Embedding
from .layers import GELU, Dropout2d, Unflatten, Upsample
from .linear import Linear
from .module import CheckpointError, IncompatibleKeys, Module, StateDictError
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm
from .pool import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .transformer import TransformerEncoderLayer

__all__ = [
    "AdaptiveAvgPool2d",
    "ArgumentError",
    "AvgPool1d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "CheckpointError",
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "Dropout",
    "Dropout2d",
    "Embedding",
    "Flatten",
    "GELU",
    "GRU",
    "GRUCell",
    "Identity",
    "IncompatibleKeys",
    "LSTM",
    "LSTMCell",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "MaxPool1d",
    "MaxPool2d",
    "Module",
    "MultiheadAttention",
    "RNN",
    "RNNCell",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "StateDictError",
    "Tanh",
    "TransformerEncoderLayer",
    "Unflatten",
    "Upsample",
    "causal_mask",
    "functional",
    "init",
    "scalar",
    "sinusoidal_positional_encoding",
]
