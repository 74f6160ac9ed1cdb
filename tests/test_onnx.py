"""export_onnx: every supported layer, run in onnxruntime, gives our eval-mode output.

The tests that write or run a file need onnx and onnxruntime (the ``test`` and ``onnx``
extras install them); the ones about errors raised before onnx is imported, and about
importing the library without onnx, run everywhere.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.errors import ArgumentError, MissingDependencyError
from tinygrad_lite.interop import ExportError, export_onnx

ROOT = Path(__file__).resolve().parent.parent
RNG = np.random.default_rng(0)


@pytest.fixture
def ort():
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


def normal(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape).astype(np.float32)


def outputs(model: nn.Module, x: np.ndarray) -> list[np.ndarray]:
    """Our model's eval-mode result as the file's list of outputs (output, h_n, c_n)."""
    model.eval()
    y = model(x)
    if not isinstance(y, tuple):
        return [y.data]
    states = y[1] if isinstance(y[1], tuple) else (y[1],)
    return [y[0].data] + [s.data for s in states]


def check(ort, tmp_path, model, example, *others, atol=2e-5, **kwargs):
    """Export with ``example``; the file gives our outputs on it and on ``others``."""
    path = tmp_path / "model.onnx"
    proto = export_onnx(model, example, path, **kwargs)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for x in (example, *others):
        got = session.run(None, {"input": x})
        want = outputs(model, x)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=atol)
    return proto


def op_types(proto) -> set[str]:
    return {node.op_type for node in proto.graph.node}


def batch_norm_trained(model: nn.Module, x: np.ndarray) -> None:
    """A few training-mode passes, so that BatchNorm's running statistics are not 0 and 1."""
    model.train()
    for _ in range(3):
        model(x)


# ---------------------------------------------------------------- MLPs


def test_mlp_with_every_activation_on_other_batch_sizes(ort, tmp_path):
    tl.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 8),
        nn.ReLU(),
        nn.Linear(8, 8),
        nn.LeakyReLU(0.2),
        nn.Dropout(0.5),
        nn.Linear(8, 8),
        nn.GELU(),
        nn.Linear(8, 8),
        nn.GELU("tanh"),
        nn.Identity(),
        nn.Linear(8, 8, bias=False),
        nn.Tanh(),
        nn.Linear(8, 3),
        nn.Sigmoid(),
        nn.Softmax(axis=-1),
    )
    proto = check(ort, tmp_path, model, normal(5, 4), normal(1, 4), normal(17, 4))
    assert "Gemm" in op_types(proto) and "MatMul" not in op_types(proto)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_linear_on_three_axes_uses_matmul(ort, tmp_path):
    tl.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2, bias=False))
    proto = check(ort, tmp_path, model, normal(2, 3, 4), normal(4, 3, 4))
    assert op_types(proto) >= {"MatMul", "Add"} and "Gemm" not in op_types(proto)


def test_a_float64_model_is_written_as_float32(ort, tmp_path):
    tl.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Tanh())
    proto = check(ort, tmp_path, model, normal(2, 3), atol=1e-6)
    assert all(t.data_type == 1 for t in proto.graph.initializer)  # 1: FLOAT


def test_fixed_axes_when_asked(ort, tmp_path):
    model = nn.Sequential(nn.Linear(3, 2))
    check(ort, tmp_path, model, normal(4, 3), dynamic_axes=False)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    assert session.get_inputs()[0].shape == [4, 3]
    with pytest.raises(Exception, match="dimensions"):
        session.run(None, {"input": normal(5, 3)})


@settings(max_examples=12, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 9), min_size=2, max_size=4),
    batch=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_drawn_mlps(sizes, batch, seed, tmp_path_factory):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    tl.manual_seed(seed)
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, sizes[0])).astype(np.float32)
    check(ort, tmp_path_factory.mktemp("mlp"), model, x, np.concatenate([x, x]))


# ---------------------------------------------------------------- CNNs


def test_lenet_with_batch_norm_and_pools(ort, tmp_path):
    tl.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 32),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(32, 10),
    )
    images = normal(6, 1, 28, 28)
    batch_norm_trained(model, images)
    running = model[1].running_mean.copy()
    model.train()
    proto = check(ort, tmp_path, model, images[:2], images)
    assert op_types(proto) >= {"Conv", "BatchNormalization", "MaxPool", "AveragePool", "Gemm"}
    # exported in eval mode; the model's own mode and statistics are left as they were
    model.train()
    export_onnx(model, images[:2], tmp_path / "again.onnx")
    assert all(m.training for m in model.modules())
    np.testing.assert_array_equal(model[1].running_mean, running)


def test_conv_options_and_global_pooling(ort, tmp_path):
    tl.manual_seed(4)
    model = nn.Sequential(
        nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
        nn.Tanh(),
        nn.Conv2d(4, 6, 3, padding="same", groups=2, dilation=2, bias=False),
        nn.Conv2d(6, 6, (2, 4), padding="same"),  # odd totals: the extra zero goes after
        nn.MaxPool2d(3, stride=2, padding=1, dilation=1),
        nn.Conv2d(6, 6, 2, padding="valid"),
        nn.AvgPool2d((2, 1), stride=1, padding=(1, 0)),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    proto = check(ort, tmp_path, model, normal(2, 2, 15, 13), normal(3, 2, 15, 13))
    assert "GlobalAveragePool" in op_types(proto)


def test_adaptive_pool_to_a_size_that_divides_the_input(ort, tmp_path):
    model = nn.Sequential(nn.AdaptiveAvgPool2d((2, None)), nn.AdaptiveAvgPool2d((1, 3)))
    check(ort, tmp_path, model, normal(2, 3, 8, 6))


def test_conv1d_and_the_1d_layers(ort, tmp_path):
    tl.manual_seed(5)
    model = nn.Sequential(
        nn.Conv1d(3, 4, 3, stride=2, padding=1),
        nn.BatchNorm1d(4),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(4, 4, 3, padding="same", dilation=2, groups=4),
        nn.AvgPool1d(3, stride=1, padding=1),
    )
    x = normal(4, 3, 21)
    batch_norm_trained(model, x)
    check(ort, tmp_path, model, x, x[:1])


def test_decoder_with_unflatten_upsample_and_transposed_conv(ort, tmp_path):
    tl.manual_seed(6)
    model = nn.Sequential(
        nn.Linear(5, 2 * 3 * 3),
        nn.Unflatten(1, (2, 3, -1)),
        nn.Upsample(scale_factor=2),
        nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(4, 2, (3, 2), stride=(1, 2), dilation=(2, 1), groups=2),
        nn.Upsample(scale_factor=(1, 3)),
        nn.Sigmoid(),
    )
    proto = check(ort, tmp_path, model, normal(2, 5), normal(7, 5))
    assert op_types(proto) >= {"Reshape", "Resize", "ConvTranspose"}


@settings(max_examples=12, deadline=None)
@given(
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    groups=st.sampled_from([1, 2]),
    side=st.integers(8, 10),  # >= 2 positions after the widest strided window
    seed=st.integers(0, 2**16),
)
def test_drawn_convolutions(
    kernel, stride, padding, dilation, groups, side, seed, tmp_path_factory
):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    tl.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(2, 4, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups),
        nn.ReLU(),
        nn.MaxPool2d(2, stride=1),
    )
    x = np.random.default_rng(seed).normal(size=(2, 2, side, side)).astype(np.float32)
    check(ort, tmp_path_factory.mktemp("conv"), model, x)


# ---------------------------------------------------------------- sequences


def test_embedding_layer_norm_and_linear_on_token_ids(ort, tmp_path):
    tl.manual_seed(7)
    model = nn.Sequential(
        nn.Embedding(10, 6), nn.LayerNorm(6), nn.Linear(6, 6), nn.GELU(), nn.LayerNorm((5, 6))
    )
    ids = RNG.integers(0, 10, size=(3, 5))
    proto = check(ort, tmp_path, model, ids, ids[:1])
    assert proto.graph.input[0].type.tensor_type.elem_type == 7  # 7: INT64
    assert op_types(proto) >= {"Gather", "LayerNormalization"}
    # the last LayerNorm fixes the length to 5; the batch stays free
    batch, length = proto.graph.input[0].type.tensor_type.shape.dim
    assert (batch.dim_param, length.dim_value) == ("batch", 5)
    model = nn.Sequential(nn.Embedding(10, 6), nn.LayerNorm(6), nn.Linear(6, 2))
    check(ort, tmp_path, model, ids, RNG.integers(0, 10, size=(2, 9)))


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU, nn.RNN])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent_layers(ort, tmp_path, kind, batch_first, bidirectional):
    tl.manual_seed(8)
    model = kind(3, 4, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
    x = normal(5, 2, 3)  # (L, N, H_in), or (N, L, H_in) batch first
    # other batch sizes and lengths: both axes are left free in the file
    proto = check(ort, tmp_path, model, x, normal(7, 3, 3), normal(1, 1, 3))
    assert len(proto.graph.output) == (3 if kind is nn.LSTM else 2)


def test_recurrent_layer_without_bias_relu_and_unbatched(ort, tmp_path):
    tl.manual_seed(9)
    check(ort, tmp_path, nn.RNN(3, 4, nonlinearity="relu", bias=False), normal(6, 2, 3))
    check(ort, tmp_path, nn.LSTM(3, 4, bidirectional=True), normal(6, 3), normal(2, 3))
    check(ort, tmp_path, nn.GRU(3, 4, bias=False), normal(6, 3))


def test_lstm_gate_order_matters(ort, tmp_path):
    # each gate block gets its own scale: a gate exported into the wrong ONNX slot would
    # change the output far beyond float32 rounding
    tl.manual_seed(10)
    model = nn.LSTM(2, 3)
    for k, scale in enumerate([0.2, 1.5, -0.7, 2.0]):
        model.weight_ih_l0.data[3 * k : 3 * k + 3] *= scale
        model.bias_hh_l0.data[3 * k : 3 * k + 3] += scale
    check(ort, tmp_path, model, normal(8, 2, 2))


def test_embedding_into_an_lstm(ort, tmp_path):
    tl.manual_seed(11)
    model = nn.Sequential(nn.Embedding(12, 4), nn.LSTM(4, 5, batch_first=True))
    ids = RNG.integers(0, 12, size=(2, 7))
    check(ort, tmp_path, model, ids, ids[:, :3], RNG.integers(0, 12, size=(4, 9)))


@pytest.mark.parametrize(
    "cell", [nn.RNNCell(3, 4), nn.RNNCell(3, 4, False, "relu"), nn.LSTMCell(3, 4), nn.GRUCell(3, 4)]
)
def test_cells_take_one_step_from_a_zero_state(ort, tmp_path, cell):
    proto = check(ort, tmp_path, cell, normal(5, 3), normal(2, 3))
    names = [o.name for o in proto.graph.output]
    assert names == (["h", "c"] if isinstance(cell, nn.LSTMCell) else ["output"])
    check(ort, tmp_path, nn.Sequential(nn.Linear(2, 3), cell), normal(2))  # unbatched


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer(ort, tmp_path, batch_first, norm_first, activation):
    tl.manual_seed(12)
    layer = nn.TransformerEncoderLayer(
        8, 2, 16, batch_first=batch_first, norm_first=norm_first, activation=activation
    )
    model = nn.Sequential(nn.Embedding(20, 8), layer, nn.Linear(8, 3))
    ids = RNG.integers(0, 20, size=(3, 6))
    proto = check(ort, tmp_path, model, ids, RNG.integers(0, 20, size=(5, 2)), atol=5e-5)
    assert "Softmax" in op_types(proto)
    check(ort, tmp_path, layer, normal(6, 8), atol=5e-5)  # unbatched (L, E)


def test_transformer_with_another_activation_is_refused(ort, tmp_path):
    layer = nn.TransformerEncoderLayer(4, 1, 8, activation=lambda v: v.tanh())
    with pytest.raises(ExportError, match="activation='relu' or 'gelu'"):
        export_onnx(layer, normal(3, 2, 4), tmp_path / "m.onnx")


# ---------------------------------------------------------------- errors


def test_unsupported_layers_are_named_with_their_path():
    # checked before onnx is imported: these run without onnx too
    x = normal(2, 4)
    nested = nn.Sequential(nn.Linear(4, 8), nn.Sequential(nn.ReLU(), nn.MultiheadAttention(8, 2)))
    with pytest.raises(ExportError, match=r"layer '1\.1' is a MultiheadAttention.*Sequential"):
        export_onnx(nested, x, "unused.onnx")

    class Custom(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(4, 2)

        def forward(self, x):
            return self.layer(x) * 2

    with pytest.raises(ExportError, match="the model itself is a Custom"):
        export_onnx(Custom(), x, "unused.onnx")
    with pytest.raises(ExportError, match="layer '0' is a Custom"):
        export_onnx(nn.Sequential(Custom()), x, "unused.onnx")
    with pytest.raises(ArgumentError, match="not an nn.Module"):
        export_onnx(lambda v: v, x, "unused.onnx")


def test_layers_that_cannot_be_written_where_they_are(ort, tmp_path):
    path = tmp_path / "m.onnx"
    after_lstm = nn.Sequential(nn.LSTM(3, 4), nn.Linear(4, 2))
    with pytest.raises(ExportError, match="layer '1'.*recurrent layer must be the last"):
        export_onnx(after_lstm, normal(5, 2, 3), path)
    no_stats = nn.Sequential(nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(ExportError, match="track_running_stats=False"):
        export_onnx(no_stats, normal(4, 3), path)
    late_embedding = nn.Sequential(nn.Linear(3, 3), nn.Embedding(5, 2))
    with pytest.raises(ExportError, match="Embedding gets a float32 input"):
        export_onnx(late_embedding, normal(4, 3), path)
    with pytest.raises(ExportError, match=r"\(5, 5\) has windows of unequal sizes"):
        export_onnx(nn.AdaptiveAvgPool2d(2), normal(1, 1, 5, 5), path)
    assert not path.exists()


def test_bad_arguments(ort, tmp_path):
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ArgumentError, match="opset=12 is out of range"):
        export_onnx(model, normal(1, 2), tmp_path / "m.onnx", opset=12)
    with pytest.raises(ArgumentError, match="opset='17' must be an int"):
        export_onnx(model, normal(1, 2), tmp_path / "m.onnx", opset="17")
    with pytest.raises(ArgumentError, match="example_input of type str"):
        export_onnx(model, "abc", tmp_path / "m.onnx")
    with pytest.raises(ArgumentError, match="which is not a folder; create it first"):
        export_onnx(model, normal(1, 2), tmp_path / "missing" / "m.onnx")


def test_a_newer_opset_exports_too(ort, tmp_path):
    onnx = pytest.importorskip("onnx")
    newest = min(onnx.defs.onnx_opset_version(), 20)  # onnxruntime 1.17 runs up to 20
    model = nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3))
    proto = check(ort, tmp_path, model, normal(2, 3), opset=newest)
    assert proto.opset_import[0].version == newest


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"tinygrad_lite\[onnx\]"):
        export_onnx(nn.Sequential(nn.Linear(2, 2)), normal(1, 2), "unused.onnx")


def test_importing_the_library_does_not_import_onnx():
    code = (
        "import sys, tinygrad_lite, tinygrad_lite.interop; "
        "print(sorted(m for m in ('onnx', 'onnxruntime') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- the docs page


def test_the_docs_example_runs(ort, tmp_path, monkeypatch, capsys):
    # docs/interop.md shows it as a plain block (the docs harness cannot skip a page when
    # onnx is missing); it runs here
    page = (ROOT / "docs" / "interop.md").read_text(encoding="utf-8")
    section = page.split("## Export to ONNX", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert ">>>" not in code and "export_onnx(model" in code
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/interop.md", "exec"), {})
    assert (tmp_path / "lenet.onnx").exists()
    assert float(capsys.readouterr().out) < 1e-4
