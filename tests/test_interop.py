"""tinygrad_lite.interop: models to torch and back, torch state dicts, safetensors files.

The torch tests take the ``torch`` fixture (they skip without torch); the safetensors tests
need only the ``safetensors`` package (a test dependency), so they run in every CI phase.
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.errors import (
    CheckpointError,
    MissingDependencyError,
    StateDictError,
    UnsupportedLayerError,
)
from tinygrad_lite.interop import (
    from_torch,
    load_safetensors,
    load_torch_state_dict,
    save_safetensors,
    to_torch,
)

ROOT = Path(__file__).resolve().parent.parent
RNG = np.random.default_rng(0)


def _normal(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape).astype(np.float32)


def _ids(*shape: int) -> np.ndarray:
    return RNG.integers(0, 10, size=shape).astype(np.int64)


BOTH, EVAL_ONLY = ("train", "eval"), ("eval",)


def _case(name: str, build: Any, inputs: tuple[np.ndarray, ...], modes: Any = BOTH) -> Any:
    return (name, build, inputs, modes)


# One row per layer configuration: (id, a function that builds our layer, the inputs, the
# modes in which the output is deterministic). Every class of the conversion table is here
# (test_every_layer_type_has_a_round_trip_case checks that).
CASES: list[tuple[str, Any, tuple[np.ndarray, ...], tuple[str, ...]]] = [
    _case("linear", lambda: nn.Linear(5, 3), (_normal(4, 5),)),
    _case("linear_no_bias", lambda: nn.Linear(5, 3, bias=False), (_normal(2, 4, 5),)),
    _case("conv1d", lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (_normal(2, 3, 9),)),
    _case("conv1d_groups", lambda: nn.Conv1d(4, 6, 2, groups=2, dilation=2), (_normal(2, 4, 8),)),
    _case("conv2d", lambda: nn.Conv2d(4, 6, 3, padding=1, groups=2), (_normal(2, 4, 6, 6),)),
    _case(
        "conv2d_same",
        lambda: nn.Conv2d(3, 2, (3, 2), padding="same", dilation=2, bias=False),
        (_normal(2, 3, 7, 6),),
    ),
    _case(
        "conv2d_strided",
        lambda: nn.Conv2d(3, 2, 3, stride=(2, 1), padding=(0, 1)),
        (_normal(1, 3, 7, 6),),
    ),
    _case(
        "conv_transpose2d",
        lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
        (_normal(2, 4, 4, 4),),
    ),
    _case(
        "conv_transpose2d_groups",
        lambda: nn.ConvTranspose2d(4, 6, 2, groups=2, dilation=2, bias=False),
        (_normal(1, 4, 3, 3),),
    ),
    _case("max_pool1d", lambda: nn.MaxPool1d(3, stride=2, padding=1), (_normal(2, 3, 9),)),
    _case("max_pool2d", lambda: nn.MaxPool2d(2), (_normal(2, 3, 6, 6),)),
    _case(
        "max_pool2d_dilated",
        lambda: nn.MaxPool2d(3, stride=2, padding=1, dilation=2),
        (_normal(1, 2, 9, 9),),
    ),
    _case("avg_pool1d", lambda: nn.AvgPool1d(3, stride=2, padding=1), (_normal(2, 3, 9),)),
    _case("avg_pool2d", lambda: nn.AvgPool2d((2, 3), stride=1, padding=1), (_normal(2, 3, 5, 6),)),
    _case("adaptive_avg_pool2d", lambda: nn.AdaptiveAvgPool2d((3, 2)), (_normal(2, 3, 7, 5),)),
    _case(
        "adaptive_avg_pool2d_none", lambda: nn.AdaptiveAvgPool2d((None, 1)), (_normal(2, 3, 4, 5),)
    ),
    _case("batch_norm1d", lambda: nn.BatchNorm1d(4), (_normal(6, 4),)),
    _case("batch_norm1d_seq", lambda: nn.BatchNorm1d(4, momentum=None), (_normal(6, 4, 5),)),
    _case(
        "batch_norm1d_no_stats",
        lambda: nn.BatchNorm1d(4, track_running_stats=False),
        (_normal(6, 4),),
    ),
    _case(
        "batch_norm2d", lambda: nn.BatchNorm2d(3, eps=1e-3, momentum=0.3), (_normal(4, 3, 5, 5),)
    ),
    _case(
        "batch_norm2d_no_affine", lambda: nn.BatchNorm2d(3, affine=False), (_normal(4, 3, 2, 2),)
    ),
    _case("layer_norm", lambda: nn.LayerNorm(5), (_normal(3, 4, 5),)),
    _case(
        "layer_norm_2d", lambda: nn.LayerNorm((4, 5), elementwise_affine=False), (_normal(3, 4, 5),)
    ),
    _case("layer_norm_no_bias", lambda: nn.LayerNorm(5, eps=1e-3, bias=False), (_normal(3, 5),)),
    _case("dropout", lambda: nn.Dropout(0.3), (_normal(3, 4),), EVAL_ONLY),
    _case("dropout2d", lambda: nn.Dropout2d(0.3), (_normal(2, 3, 4, 4),), EVAL_ONLY),
    _case("embedding", lambda: nn.Embedding(10, 4), (_ids(3, 5),)),
    _case("embedding_padding", lambda: nn.Embedding(10, 4, padding_idx=2), (_ids(3, 5),)),
    _case("rnn", lambda: nn.RNN(3, 5), (_normal(4, 2, 3),)),
    _case(
        "rnn_all_options",
        lambda: nn.RNN(
            3,
            5,
            num_layers=2,
            nonlinearity="relu",
            batch_first=True,
            dropout=0.2,
            bidirectional=True,
        ),
        (_normal(2, 4, 3),),
        EVAL_ONLY,
    ),
    _case("lstm", lambda: nn.LSTM(3, 5, num_layers=2, bidirectional=True), (_normal(4, 2, 3),)),
    _case(
        "lstm_batch_first",
        lambda: nn.LSTM(3, 4, batch_first=True, bias=False, dropout=0.5, num_layers=2),
        (_normal(2, 5, 3),),
        EVAL_ONLY,
    ),
    _case(
        "gru",
        lambda: nn.GRU(3, 5, num_layers=2, dropout=0.3, batch_first=True),
        (_normal(2, 4, 3),),
        EVAL_ONLY,
    ),
    _case(
        "gru_bidirectional", lambda: nn.GRU(3, 4, bidirectional=True, bias=False), (_normal(6, 3),)
    ),
    _case("rnn_cell", lambda: nn.RNNCell(3, 5, nonlinearity="relu"), (_normal(4, 3),)),
    _case("lstm_cell", lambda: nn.LSTMCell(3, 5), (_normal(4, 3),)),
    _case("gru_cell", lambda: nn.GRUCell(3, 5, bias=False), (_normal(4, 3),)),
    _case(
        "attention",
        lambda: nn.MultiheadAttention(8, 2, dropout=0.1, batch_first=True),
        (_normal(2, 5, 8),) * 3,
        EVAL_ONLY,
    ),
    _case(
        "attention_cross",
        lambda: nn.MultiheadAttention(8, 4, bias=False),
        (_normal(5, 2, 8), _normal(6, 2, 8), _normal(6, 2, 8)),
    ),
    _case(
        "encoder_layer",
        lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1, batch_first=True),
        (_normal(2, 5, 8),),
        EVAL_ONLY,
    ),
    _case(
        "encoder_layer_gelu_pre_norm",
        lambda: nn.TransformerEncoderLayer(
            8, 4, 12, dropout=0.0, activation="gelu", norm_first=True, layer_norm_eps=1e-4
        ),
        (_normal(5, 2, 8),),
    ),
    _case("relu", lambda: nn.ReLU(), (_normal(3, 4),)),
    _case("leaky_relu", lambda: nn.LeakyReLU(0.2), (_normal(3, 4),)),
    _case("sigmoid", lambda: nn.Sigmoid(), (_normal(3, 4),)),
    _case("tanh", lambda: nn.Tanh(), (_normal(3, 4),)),
    _case("gelu", lambda: nn.GELU(), (_normal(3, 4),)),
    _case("gelu_tanh", lambda: nn.GELU("tanh"), (_normal(3, 4),)),
    _case("softmax", lambda: nn.Softmax(axis=1), (_normal(3, 4, 2),)),
    _case("identity", lambda: nn.Identity(), (_normal(3, 4),)),
    _case("flatten", lambda: nn.Flatten(), (_normal(2, 3, 4),)),
    _case("unflatten", lambda: nn.Unflatten(1, (2, 3)), (_normal(4, 6),)),
    _case("upsample", lambda: nn.Upsample(scale_factor=2), (_normal(1, 2, 3, 3),)),
    _case("upsample_per_axis", lambda: nn.Upsample(scale_factor=(2, 3)), (_normal(1, 2, 2, 3),)),
    _case(
        "cnn",
        lambda: nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.25),
            nn.Linear(36, 3),
            nn.Softmax(),
        ),
        (_normal(2, 1, 6, 6),),
        EVAL_ONLY,
    ),
    _case(
        "nested_sequential",
        lambda: nn.Sequential(
            nn.Linear(4, 6), nn.Sequential(nn.Tanh(), nn.Linear(6, 2)), nn.Sigmoid()
        ),
        (_normal(3, 4),),
    ),
]


def _randomize(module: nn.Module, seed: int = 1) -> nn.Module:
    """Random weights and running statistics, so that nothing passes by its initial values."""
    rng = np.random.default_rng(seed)
    for p in module.parameters():
        if isinstance(p.data, float):
            p.data = float(rng.normal())
        else:
            p.data[...] = rng.normal(scale=0.5, size=p.shape)
    for name, buffer in module.named_buffers():
        if name.endswith("running_var"):
            buffer[...] = rng.uniform(0.5, 2.0, size=buffer.shape)
        elif name.endswith("num_batches_tracked"):
            buffer[...] = 3
        else:
            buffer[...] = rng.normal(size=buffer.shape)
    return module


def _randomize_torch(torch: Any, module: Any, seed: int = 2) -> Any:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=generator, dtype=p.dtype))
        for name, buffer in module.named_buffers():
            if name.endswith("running_var"):
                buffer.copy_(0.5 + torch.rand(buffer.shape, generator=generator))
            elif name.endswith("num_batches_tracked"):
                buffer.fill_(5)
            else:
                buffer.copy_(torch.randn(buffer.shape, generator=generator))
    return module


def _arrays(out: Any) -> list[np.ndarray]:
    """Every array in an output (a Value, a tensor, or tuples of them), in order."""
    if isinstance(out, (tuple, list)):
        return [a for item in out for a in _arrays(item)]
    if out is None:
        return []
    if isinstance(out, tl.Value):
        return [np.asarray(out.data)]
    if isinstance(out, np.ndarray):  # Identity returns its input as it is
        return [out]
    return [out.detach().numpy()]


def _run_both(torch: Any, ours: nn.Module, theirs: Any, inputs: tuple[np.ndarray, ...]) -> None:
    """Run both models on the same inputs: equal outputs, and equal state afterwards (a batch
    norm's running statistics move the same way in training mode)."""
    expected = _arrays(ours(*inputs))
    got = _arrays(theirs(*(torch.from_numpy(x) for x in inputs)))
    assert len(expected) == len(got) > 0
    for e, g in zip(expected, got):
        assert e.shape == g.shape
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=2e-5)
    theirs_state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        if key.endswith("running_mean") or key.endswith("running_var"):
            np.testing.assert_allclose(theirs_state[key].numpy(), value, rtol=1e-5, atol=1e-6)
        elif key.endswith("num_batches_tracked"):
            assert int(theirs_state[key]) == int(value)


def _set_mode(module: Any, mode: str) -> Any:
    return module.train(mode == "train")


# each case in each mode where its output is deterministic (layers with dropout: eval only)
MODAL = [pytest.param(b, i, m, id=f"{n}-{m}") for n, b, i, modes in CASES for m in modes]


@pytest.mark.parametrize("build, inputs, mode", MODAL)
def test_to_torch_gives_the_same_outputs(torch, build, inputs, mode):
    ours = _set_mode(_randomize(build()), mode)
    theirs = to_torch(ours)
    assert theirs.training == (mode == "train")
    _run_both(torch, ours, theirs, inputs)


@pytest.mark.parametrize("build, inputs, mode", MODAL)
def test_from_torch_gives_the_same_outputs(torch, build, inputs, mode):
    # torch's own random weights: from_torch must not depend on weights that came from us
    theirs = _set_mode(_randomize_torch(torch, to_torch(build())), mode)
    ours = from_torch(theirs)
    assert ours.training == (mode == "train")
    assert all(m.training == (mode == "train") for m in ours.modules())
    _run_both(torch, ours, theirs, inputs)


@pytest.mark.parametrize("name, build, inputs, modes", CASES, ids=[c[0] for c in CASES])
def test_round_trip_keeps_every_option_and_every_bit(torch, name, build, inputs, modes):
    ours = _randomize(build())
    back = from_torch(to_torch(ours))
    assert type(back) is type(ours)
    assert repr(back) == repr(ours)  # every option shown in the repr survived
    before, after = ours.state_dict(), back.state_dict()
    assert list(after) == list(before)
    for key in before:
        assert after[key].dtype == before[key].dtype
        assert after[key].tobytes() == before[key].tobytes(), key


def test_every_layer_type_has_a_round_trip_case():
    from tinygrad_lite.interop.torch import _PAIRS

    covered: set[type] = set()
    for _, build, _, _ in CASES:
        covered.update(type(m) for m in build().modules())
    missing = [pair.ours.__name__ for pair in _PAIRS if pair.ours not in covered]
    assert not missing


@pytest.mark.parametrize("name, build, inputs, modes", CASES, ids=[c[0] for c in CASES])
def test_gradients_agree_with_torch(torch, name, build, inputs, modes):
    """Backward through the converted model gives torch's gradients for every parameter and
    input (a model that computed the right outputs from the wrong weights would not)."""
    from tinygrad_lite.interop.torch import _transposed_keys

    ours = _set_mode(_randomize(build()), modes[0])
    theirs = to_torch(ours)
    floats = [x.dtype.kind == "f" for x in inputs]
    ours_in = [tl.Value(x.copy(), requires_grad=True) if f else x for x, f in zip(inputs, floats)]
    theirs_in = [torch.from_numpy(x.copy()).requires_grad_(f) for x, f in zip(inputs, floats)]
    outs_ours, outs_theirs = ours(*ours_in), theirs(*theirs_in)
    outs_ours = outs_ours if isinstance(outs_ours, tuple) else (outs_ours,)
    outs_theirs = outs_theirs if isinstance(outs_theirs, tuple) else (outs_theirs,)
    rng = np.random.default_rng(3)
    loss_ours, loss_theirs = 0.0, 0.0
    for a, b in zip(_flat(outs_ours), _flat(outs_theirs)):
        weights = rng.normal(size=a.shape).astype(np.float32)
        loss_ours = loss_ours + (a * weights).sum()
        loss_theirs = loss_theirs + (b * torch.from_numpy(weights)).sum()
    loss_ours.backward()
    loss_theirs.backward()
    grads = dict(theirs.named_parameters())
    transposed = _transposed_keys(ours)
    assert len(grads) == len(ours.parameters())
    for key, p in ours.named_parameters():
        g = grads[key].grad.numpy()
        g = g.T if key in transposed else g
        np.testing.assert_allclose(p.grad, g, rtol=1e-4, atol=1e-4, err_msg=key)
    for x, y, f in zip(ours_in, theirs_in, floats):
        if f:
            np.testing.assert_allclose(x.grad, y.grad.numpy(), rtol=1e-4, atol=1e-4)


def _flat(outputs: Any) -> list[Any]:
    if isinstance(outputs, (tuple, list)):
        return [x for item in outputs for x in _flat(item)]
    return [] if outputs is None else [outputs]


@given(
    n_in=st.integers(1, 6),
    n_out=st.integers(1, 6),
    batch=st.integers(1, 4),
    bias=st.booleans(),
    float64=st.booleans(),
)
def test_linear_of_any_size_and_dtype_round_trips(n_in, n_out, batch, bias, float64):
    torch = pytest.importorskip("torch")
    dtype = np.float64 if float64 else np.float32
    ours = _randomize(nn.Linear(n_in, n_out, bias=bias, dtype=dtype))
    theirs = to_torch(ours)
    assert theirs.weight.dtype == (torch.float64 if float64 else torch.float32)
    np.testing.assert_array_equal(theirs.weight.detach().numpy(), ours.weight.data.T)
    x = np.random.default_rng(batch).normal(size=(batch, n_in)).astype(dtype)
    np.testing.assert_allclose(
        theirs(torch.from_numpy(x)).detach().numpy(), ours(x).data, rtol=1e-5, atol=1e-5
    )
    back = from_torch(theirs)
    assert back.weight.dtype == dtype and back.weight.data.tobytes() == ours.weight.data.tobytes()


@given(
    channels=st.integers(1, 3),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    padding=st.integers(0, 1),
    size=st.integers(3, 6),
)
def test_conv2d_of_any_size_round_trips(channels, kernel, stride, padding, size):
    torch = pytest.importorskip("torch")
    ours = _randomize(nn.Conv2d(channels, 2, kernel, stride=stride, padding=padding))
    theirs = to_torch(ours)
    x = np.random.default_rng(size).normal(size=(2, channels, size, size)).astype(np.float32)
    np.testing.assert_allclose(
        theirs(torch.from_numpy(x)).detach().numpy(), ours(x).data, rtol=1e-5, atol=1e-5
    )
    assert repr(from_torch(theirs)) == repr(ours)


@given(
    kind=st.sampled_from(["RNN", "LSTM", "GRU"]),
    sizes=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 2)),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    steps=st.integers(1, 4),
)
def test_recurrent_layers_of_any_shape_round_trip(kind, sizes, bidirectional, batch_first, steps):
    torch = pytest.importorskip("torch")
    n_in, hidden, layers = sizes
    ours = getattr(nn, kind)(
        n_in, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first
    )
    theirs = _randomize_torch(torch, to_torch(ours), seed=steps)
    back = from_torch(theirs)
    x = np.random.default_rng(steps).normal(size=(2, steps, n_in)).astype(np.float32)
    x = x if batch_first else x.transpose(1, 0, 2).copy()
    expected = _arrays(theirs(torch.from_numpy(x)))
    got = _arrays(back(x))
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)


def test_from_torch_reads_layers_built_by_torch_with_its_defaults(torch):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3),
        torch.nn.ReLU(inplace=True),
        torch.nn.MaxPool2d(2),  # stride None: torch stores the kernel size
        torch.nn.Identity(),
        torch.nn.Flatten(),
        torch.nn.Linear(12, 2),
        torch.nn.Softmax(dim=1),
    ).eval()
    ours = from_torch(theirs)
    assert [type(m).__name__ for m in ours] == [
        "Conv2d", "ReLU", "MaxPool2d", "Identity", "Flatten", "Linear", "Softmax"
    ]  # fmt: skip
    x = _normal(2, 1, 6, 6)
    np.testing.assert_allclose(
        ours(x).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_a_layer_used_twice_stays_shared(torch):
    shared = nn.Linear(4, 4)
    theirs = to_torch(nn.Sequential(shared, nn.Tanh(), shared))
    assert theirs[0] is theirs[2]
    back = from_torch(theirs)
    assert back[0] is back[2]
    assert len(back.parameters()) == 2


def test_float64_layers_stay_float64_and_half_precision_becomes_float32(torch):
    ours = nn.Sequential(nn.Conv1d(2, 3, 2, dtype=np.float64), nn.LayerNorm(4, dtype=np.float64))
    theirs = to_torch(ours)
    assert all(p.dtype == torch.float64 for p in theirs.parameters())
    assert all(p.dtype == np.float64 for p in from_torch(theirs).state_dict().values())
    half = from_torch(torch.nn.Linear(3, 2).half())
    assert half.weight.dtype == np.float32


# ---------------------------------------------------------------- errors


class Scaled(nn.Module):
    """A Module of one's own: its forward is Python code that no converter can translate."""

    def __init__(self) -> None:
        self.fc1 = nn.Linear(4, 6)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(6, 2)
        self.scale = tl.Value(np.float32(1.5) * np.ones(2, np.float32))

    def forward(self, x: Any) -> Any:
        return self.fc2(self.act(self.fc1(x)) + 1.0) * self.scale


def _torch_scaled(torch: Any, hidden: int = 6) -> Any:
    class TorchScaled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = torch.nn.Linear(4, hidden)
            self.act = torch.nn.Tanh()
            self.fc2 = torch.nn.Linear(hidden, 2)
            self.scale = torch.nn.Parameter(torch.ones(2))

        def forward(self, x: Any) -> Any:
            return self.fc2(self.act(self.fc1(x)) + 1.0) * self.scale

    return TorchScaled()


def test_a_module_of_ones_own_is_refused_with_its_path(torch):
    model = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU(), Scaled()))
    with pytest.raises(UnsupportedLayerError, match=r"'1\.1' is a Scaled.*into=") as info:
        to_torch(model)
    assert "Linear" in str(info.value)  # the supported layers are listed


def test_a_subclass_of_a_supported_layer_is_refused(torch):
    class Doubled(nn.Linear):
        def forward(self, x: Any) -> Any:
            return 2 * super().forward(x)

    with pytest.raises(UnsupportedLayerError, match="'2' is a Doubled"):
        to_torch(nn.Sequential(nn.ReLU(), nn.ReLU(), Doubled(2, 2)))


def test_a_module_of_ones_own_converts_into_its_torch_twin(torch):
    ours = _randomize(Scaled()).eval()
    theirs = to_torch(ours, into=_torch_scaled(torch))
    assert not theirs.training and not theirs.fc1.training
    x = _normal(3, 4)
    np.testing.assert_allclose(
        theirs(torch.from_numpy(x)).detach().numpy(), ours(x).data, rtol=1e-5, atol=1e-5
    )
    twin = _randomize_torch(torch, _torch_scaled(torch))
    back = from_torch(twin, into=Scaled())
    np.testing.assert_allclose(
        back(x).data, twin(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-5
    )


def test_into_a_single_layer_compares_it_as_a_whole(torch):
    ours = _randomize(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True))
    theirs = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    assert to_torch(ours, into=theirs) is theirs
    x = _normal(2, 3, 8)
    np.testing.assert_allclose(
        theirs(torch.from_numpy(x)).detach().numpy(), ours(x).data, rtol=1e-5, atol=1e-5
    )
    with pytest.raises(UnsupportedLayerError, match=r"at the top.*'nhead': \(2, 4\)"):
        to_torch(ours, into=torch.nn.TransformerEncoderLayer(8, 4, 16, batch_first=True))


def test_into_a_model_of_another_shape_names_the_layer(torch):
    with pytest.raises(UnsupportedLayerError, match=r"Linear at 'fc1' differs.*out_features"):
        to_torch(Scaled(), into=_torch_scaled(torch, hidden=5))
    other = _torch_scaled(torch)
    other.act = torch.nn.ReLU()
    with pytest.raises(UnsupportedLayerError, match="Tanh at 'act'.*a torch ReLU there"):
        from_torch(other, into=Scaled())


def test_a_torch_module_of_ones_own_is_refused_with_its_path(torch):
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), _torch_scaled(torch))
    with pytest.raises(UnsupportedLayerError, match=r"'1' is a TorchScaled.*into=model"):
        from_torch(model)
    with pytest.raises(UnsupportedLayerError, match=r"'0\.1' is a ELU"):
        from_torch(torch.nn.Sequential(torch.nn.Sequential(torch.nn.ReLU(), torch.nn.ELU())))


@pytest.mark.parametrize(
    "layer, option",
    [
        (lambda t: t.nn.MaxPool2d(2, ceil_mode=True), "ceil_mode=True"),
        (lambda t: t.nn.AvgPool2d(2, count_include_pad=False), "count_include_pad=False"),
        (lambda t: t.nn.Conv2d(1, 1, 3, padding_mode="reflect"), "padding_mode='reflect'"),
        (lambda t: t.nn.Embedding(5, 2, max_norm=1.0), "max_norm=1.0"),
        (lambda t: t.nn.LSTM(2, 4, proj_size=2), "proj_size=2"),
        (lambda t: t.nn.MultiheadAttention(4, 2, kdim=3), "kdim=3"),
        (lambda t: t.nn.Upsample(scale_factor=1.5), "scale_factor=1.5"),
        (lambda t: t.nn.Upsample(scale_factor=2, mode="bilinear"), "mode='bilinear'"),
        (lambda t: t.nn.Softmax(), "dim=None"),
        (lambda t: t.nn.Flatten(0), "start_dim=0"),
        (lambda t: t.nn.TransformerEncoderLayer(4, 2, bias=False), "bias=False"),
    ],
)
def test_torch_options_without_a_counterpart_are_named(torch, layer, option):
    model = torch.nn.Sequential(torch.nn.Identity(), layer(torch))
    with pytest.raises(UnsupportedLayerError, match=f"at '1' uses {re.escape(option)}"):
        from_torch(model)


def test_a_custom_encoder_activation_is_refused(torch):
    layer = nn.TransformerEncoderLayer(4, 2, 8, activation=lambda x: x.tanh())
    with pytest.raises(UnsupportedLayerError, match="at the top.*activation=.*function"):
        to_torch(layer)


def test_not_a_module_is_refused(torch):
    with pytest.raises(UnsupportedLayerError, match="to_torch: expected a tinygrad_lite Module"):
        to_torch(torch.nn.Linear(2, 2))
    with pytest.raises(UnsupportedLayerError, match="from_torch: expected a torch.nn.Module"):
        from_torch(nn.Linear(2, 2))


# ---------------------------------------------------------------- load_torch_state_dict


def test_load_torch_state_dict_transposes_linear_and_casts(torch):
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).double()
    _randomize_torch(torch, theirs)
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    load_torch_state_dict(ours, theirs.state_dict())
    assert ours[0].weight.dtype == np.float32  # cast to our parameter's dtype
    np.testing.assert_allclose(ours[0].weight.data, theirs[0].weight.detach().numpy().T, 1e-6)
    assert int(ours[1].num_batches_tracked) == 5
    x = _normal(5, 3)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(
        ours(x).data, theirs(torch.from_numpy(x).double()).detach().numpy(), rtol=1e-5, atol=1e-5
    )


def test_load_torch_state_dict_takes_numpy_arrays_without_torch():
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Conv1d(3, 1, 1))
    weight = np.arange(6.0).reshape(3, 2)  # torch's (out, in)
    state = {"0.weight": weight, "0.bias": np.zeros(3), "2.weight": np.ones((1, 3, 1)),
             "2.bias": np.zeros(1)}  # fmt: skip
    load_torch_state_dict(ours, state)
    np.testing.assert_array_equal(ours[0].weight.data, weight.T)
    np.testing.assert_array_equal(ours[2].weight.data, np.ones((1, 3, 1)))


def test_load_torch_state_dict_names_missing_unexpected_and_misshapen_keys():
    ours = nn.Sequential(nn.Linear(2, 3))
    before = ours[0].weight.data.copy()
    with pytest.raises(StateDictError, match=r"missing: \['0.bias'\]"):
        load_torch_state_dict(ours, {"0.weight": np.ones((3, 2))})
    with pytest.raises(StateDictError, match=r"unexpected: \['1.weight'\]"):
        load_torch_state_dict(
            ours, {"0.weight": np.ones((3, 2)), "0.bias": np.ones(3), "1.weight": np.ones(1)}
        )
    with pytest.raises(StateDictError, match=r"'0.weight' has shape \(2, 3\).*expects \(3, 2\)"):
        load_torch_state_dict(ours, {"0.weight": np.ones((2, 3)), "0.bias": np.ones(3)})
    with pytest.raises(StateDictError, match="'0.bias' holds list"):
        load_torch_state_dict(ours, {"0.weight": np.ones((3, 2)), "0.bias": [[1.0], [2.0, 3.0]]})
    with pytest.raises(StateDictError, match="'0.bias' holds str"):
        load_torch_state_dict(ours, {"0.weight": np.ones((3, 2)), "0.bias": "zeros"})
    with pytest.raises(StateDictError, match="mapping"):
        load_torch_state_dict(ours, [np.ones((3, 2))])
    np.testing.assert_array_equal(ours[0].weight.data, before)  # nothing written


def test_missing_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    with pytest.raises(MissingDependencyError, match=r"tinygrad_lite\[torch\]"):
        to_torch(nn.Linear(2, 2))


def test_importing_the_library_needs_neither_torch_nor_safetensors():
    code = (
        "import sys, tinygrad_lite, tinygrad_lite.interop, tinygrad_lite.errors\n"
        "print(sorted(m for m in ('torch', 'safetensors') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- safetensors (no torch)


class Everything(nn.Module):
    """Parameters of two dtypes, a scalar parameter and every kind of buffer."""

    def __init__(self) -> None:
        self.net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Flatten())
        self.lstm = nn.LSTM(3, 4, bidirectional=True)
        self.head = nn.Linear(4, 2, dtype=np.float64)
        self.temperature = tl.Value(0.7)


def test_safetensors_round_trip_is_bitwise(tmp_path):
    model = _randomize(Everything())
    model.head.weight.data[0, 0] = -0.0  # bits that an arithmetic copy could lose
    model.head.weight.data[1, 1] = np.float64(np.nan)
    model.temperature.data = 0.1 + 0.2
    path = tmp_path / "model.safetensors"
    save_safetensors(model, path)
    copy = Everything()
    load_safetensors(copy, str(path))  # a str path as well as a Path
    before, after = model.state_dict(), copy.state_dict()
    assert list(after) == list(before)
    assert "net.1.num_batches_tracked" in after  # buffers are saved too
    for key in before:
        assert after[key].dtype == before[key].dtype, key
        assert after[key].tobytes() == before[key].tobytes(), key
    assert copy.temperature.data == 0.1 + 0.2 and type(copy.temperature.data) is float


@given(
    shape=st.lists(st.integers(0, 4), max_size=3),
    dtype=st.sampled_from([np.float32, np.float64, np.float16]),
    seed=st.integers(0, 10),
)
def test_safetensors_keeps_any_shape_and_float_dtype(shape, dtype, seed):
    import tempfile

    model = nn.Module()
    data = np.random.default_rng(seed).normal(size=shape).astype(dtype)
    model.w = tl.Value(data.copy())
    model.register_buffer("counts", np.arange(3, dtype=np.int32))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w.safetensors"
        save_safetensors(model, path)
        copy = nn.Module()
        copy.w = tl.Value(np.zeros(shape, dtype))
        copy.register_buffer("counts", np.zeros(3, dtype=np.int32))
        load_safetensors(copy, path)
    assert copy.w.data.tobytes() == data.tobytes()
    np.testing.assert_array_equal(copy.counts, np.arange(3))


def test_safetensors_names_missing_and_unexpected_keys_and_shapes(tmp_path):
    path = tmp_path / "a.safetensors"
    save_safetensors(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)), path)
    with pytest.raises(StateDictError, match=r"missing: \['2.weight', '2.bias'\]"):
        load_safetensors(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1)), path)
    with pytest.raises(StateDictError, match=r"unexpected: \[.*'1.running_mean'"):
        load_safetensors(nn.Sequential(nn.Linear(2, 3), nn.ReLU()), path)
    model = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(3))
    before = model[0].weight.data.copy()
    with pytest.raises(StateDictError, match=r"'0.weight' has shape \(2, 3\).*\(2, 4\)"):
        load_safetensors(model, path)
    np.testing.assert_array_equal(model[0].weight.data, before)


def test_a_damaged_safetensors_file_raises_checkpoint_error(tmp_path):
    path = tmp_path / "a.safetensors"
    model = nn.Sequential(nn.Linear(3, 3))
    save_safetensors(model, path)
    good = path.read_bytes()
    (length,) = struct.unpack("<Q", good[:8])
    damaged = {
        "empty": b"",
        "truncated": good[:-5],
        "header cut": good[: 8 + length // 2],
        "huge header": struct.pack("<Q", 10**12) + good[8:],
        "not json": good[:8] + b"\xff" * length + good[8 + length :],
        "an npz": b"PK\x03\x04" + b"\x00" * 40,
    }
    for data in damaged.values():
        path.write_bytes(data)
        with pytest.raises(CheckpointError, match="not a readable safetensors file"):
            load_safetensors(model, path)


def test_safetensors_paths_that_are_not_files(tmp_path):
    with pytest.raises(tl.ArgumentError, match="load_safetensors: path=None must be a file"):
        load_safetensors(nn.Linear(2, 2), None)
    with pytest.raises(tl.ArgumentError, match="save_safetensors: path=3"):
        save_safetensors(nn.Linear(2, 2), 3)
    with pytest.raises(CheckpointError, match="IsADirectoryError"):
        load_safetensors(nn.Linear(2, 2), tmp_path)
    with pytest.raises(FileNotFoundError):
        load_safetensors(nn.Linear(2, 2), tmp_path / "absent.safetensors")


def test_missing_safetensors_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(MissingDependencyError, match=r"safetensors.*tinygrad_lite\[torch\]"):
        save_safetensors(nn.Linear(2, 2), tmp_path / "x.safetensors")


def test_torch_reads_our_safetensors_file(torch, tmp_path):
    from safetensors.torch import load_file

    model = _randomize(nn.Sequential(nn.Conv1d(2, 3, 2), nn.BatchNorm1d(3), nn.Flatten()))
    path = tmp_path / "m.safetensors"
    save_safetensors(model, path)
    theirs = to_torch(nn.Sequential(nn.Conv1d(2, 3, 2), nn.BatchNorm1d(3), nn.Flatten()))
    theirs.load_state_dict(load_file(str(path)))  # no Linear: the layouts are torch's
    model.eval(), theirs.eval()
    x = _normal(2, 2, 5)
    np.testing.assert_allclose(
        theirs(torch.from_numpy(x)).detach().numpy(), model(x).data, rtol=1e-5, atol=1e-6
    )


# ---------------------------------------------------------------- the docs page


def test_the_torch_examples_of_the_docs_page_run(torch, tmp_path, monkeypatch):
    """docs/interop.md shows torch code in blocks that doctest does not run (the docs test
    must pass without torch); they run here, in order, as one program."""
    page = (ROOT / "docs" / "interop.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- run by tests/test_interop.py -->\n```python\n(.*?)```", page, re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(compile(block, "docs/interop.md", "exec"), namespace)
