"""nn: Module (discovery, modes, state dicts, checkpoints), layers, initialisers, nn.scalar."""

from __future__ import annotations

import math
import pickle
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import DTypeError, ShapeError, Value, nn
from tinygrad_lite.nn import ArgumentError, CheckpointError, StateDictError, init
from tinygrad_lite.nn.scalar import MLP, Layer, Neuron
from tinygrad_lite.testing import gradcheck


class Block(nn.Module):
    """A module that holds parameters in every kind of place the walk looks."""

    def __init__(self) -> None:
        self.scale = Value(1.0)
        self.fc = nn.Linear(3, 4)
        self.extras = [Value(np.zeros(2)), (Value(np.ones(1)),)]
        self.heads = {"a": nn.Linear(4, 1), "b": nn.Linear(4, 2, bias=False)}
        self.label = "not a parameter"
        self.size = 3


# ---------------------------------------------------------------- discovery


def test_parameters_are_found_in_definition_order_through_containers() -> None:
    block = Block()
    assert [name for name, _ in block.named_parameters()] == [
        "scale",
        "fc.weight",
        "fc.bias",
        "extras.0",
        "extras.1.0",
        "heads.a.weight",
        "heads.a.bias",
        "heads.b.weight",
    ]
    assert block.parameters()[1] is block.fc.weight
    assert [name for name, _ in block.named_children()] == ["fc", "heads.a", "heads.b"]
    assert block.modules() == [block, block.fc, block.heads["a"], block.heads["b"]]


def test_shared_parameters_and_modules_are_counted_once() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            self.encoder = nn.Linear(2, 2)
            self.decoder = self.encoder  # the same module twice
            self.w = Value(np.ones(2))
            self.also_w = [self.w]  # the same Value twice

    tied = Tied()
    assert [n for n, _ in tied.named_parameters()] == ["encoder.weight", "encoder.bias", "w"]
    assert len(tied.modules()) == 2
    assert [n for n, _ in tied.named_children()] == ["encoder"]  # the first name wins


def test_a_cycle_between_modules_does_not_loop_forever() -> None:
    parent, child = nn.Sequential(nn.Linear(2, 2)), nn.Identity()
    parent.append(child)
    child.owner = parent  # type: ignore[attr-defined]
    assert len(parent.parameters()) == 2
    assert len(parent.modules()) == 3


def test_user_module_with_a_list_of_layers() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            self.layers = [nn.Linear(2, 3), nn.Linear(3, 1)]

        def forward(self, x: Any) -> Value:
            for layer in self.layers:
                x = layer(x)
            return x

    names = [n for n, _ in Net().named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]


def test_call_runs_forward_and_a_module_without_forward_says_so() -> None:
    class Double(nn.Module):
        def forward(self, x: Any, factor: float = 2.0) -> Any:
            return x * factor

    assert Double()(3.0, factor=3.0) == 9.0
    with pytest.raises(NotImplementedError, match="Block2: define forward"):
        type("Block2", (nn.Module,), {})()(1.0)


def test_zero_grad_forgets_every_gradient() -> None:
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    model(np.ones((4, 3))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_and_eval_reach_every_submodule() -> None:
    inner = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))

    class Outer(nn.Module):
        def __init__(self) -> None:
            self.blocks = [inner, nn.Dropout(0.1)]

    outer = Outer()
    assert outer.eval() is outer
    assert [m.training for m in outer.modules()] == [False] * 5
    outer.train()
    assert [m.training for m in outer.modules()] == [True] * 5
    inner.eval()
    assert outer.training and not inner[1].training


def test_repr_reads_like_torch() -> None:
    model = nn.Sequential(nn.Linear(2, 3, dtype=np.float64), nn.LeakyReLU(0.2), nn.Dropout(0.1))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True, dtype=float64)\n"
        "  (1): LeakyReLU(negative_slope=0.2)\n"
        "  (2): Dropout(p=0.1)\n"
        ")"
    )
    nested = repr(nn.Sequential(nn.Sequential(nn.ReLU()), nn.Softmax(axis=1)))
    assert (
        nested == "Sequential(\n  (0): Sequential(\n    (0): ReLU()\n  )\n  (1): Softmax(axis=1)\n)"
    )


# ---------------------------------------------------------------- state dicts and checkpoints


def _model(seed: int) -> nn.Sequential:
    tl.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, dtype=np.float64))


def test_state_dict_is_a_copy_by_name() -> None:
    model = _model(0)
    sd = model.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert sd["0.weight"].dtype == np.float32 and sd["2.weight"].dtype == np.float64
    sd["0.weight"][:] = 99.0
    assert not np.any(model[0].weight.data == 99.0)


def test_load_state_dict_writes_in_place_and_keeps_dtypes() -> None:
    source, target = _model(1), _model(2)
    weight = target[0].weight
    array_before = weight.data
    sd = {k: v.astype(np.float64) for k, v in source.state_dict().items()}  # wrong dtype on purpose
    assert target.load_state_dict(sd) == ([], [])
    assert target[0].weight is weight and weight.data is array_before  # same Value, same array
    assert weight.dtype == np.float32
    for (name, a), b in zip(target.state_dict().items(), source.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_load_state_dict_names_missing_unexpected_and_misshapen_keys() -> None:
    model = _model(0)
    sd = model.state_dict()
    with pytest.raises(StateDictError, match=r"missing: \['2.bias'\]"):
        model.load_state_dict({k: v for k, v in sd.items() if k != "2.bias"})
    with pytest.raises(StateDictError, match=r"unexpected: \['3.weight'\]"):
        model.load_state_dict({**sd, "3.weight": np.zeros(2)})
    bad = {**sd, "0.weight": np.zeros((4, 3)), "2.bias": np.full(2, 7.0)}
    with pytest.raises(StateDictError, match=r"'0.weight' has shape \(4, 3\).*shape \(3, 4\)"):
        model.load_state_dict(bad)
    assert not np.any(model[2].bias.data == 7.0)  # nothing was written
    with pytest.raises(StateDictError, match="'0.bias' holds data of dtype <U"):
        model.load_state_dict({**sd, "0.bias": np.array(["a", "b", "c", "d"])})
    partial = {"0.weight": sd["0.weight"], "extra": np.zeros(1)}
    assert model.load_state_dict(partial, strict=False) == (
        ["0.bias", "2.weight", "2.bias"],
        ["extra"],
    )


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "model.ckpt"  # any name: nothing is appended to it
    source, target = _model(3), _model(4)
    source.save(path)
    assert path.exists()
    target.load(path)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_array_equal(source(x).data, target(x).data)
    with np.load(path, allow_pickle=False) as npz:  # a plain .npz file: readable anywhere
        assert sorted(npz.files) == sorted(source.state_dict())


def test_scalar_mlp_round_trips_with_python_floats(tmp_path: Path) -> None:
    tl.manual_seed(0)
    source = MLP(2, [3, 1])
    tl.manual_seed(1)
    target = MLP(2, [3, 1])
    source.save(tmp_path / "mlp.npz")
    target.load(tmp_path / "mlp.npz")
    for a, b in zip(source.parameters(), target.parameters()):
        assert type(b.data) is float and a.data == b.data


class _Payload:
    """A pickled object whose unpickling would create a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.touch, (self.marker,))


def test_a_checkpoint_with_pickled_objects_is_refused_without_running_them(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "code-ran"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    pickle.loads(pickle.dumps(evil))  # unpickling it really runs the code...
    assert marker.exists()
    marker.unlink()
    path = tmp_path / "tampered.npz"
    with zipfile.ZipFile(path, "w") as zf:  # ...so hide it in a checkpoint, as an attacker would
        for key, arr in _model(0).state_dict().items():
            with zf.open(key + ".npy", "w") as f:
                np.lib.format.write_array(f, evil if key == "0.bias" else arr)
    with pytest.raises(CheckpointError, match=r"tampered.npz.*Object arrays cannot be loaded"):
        _model(1).load(path)
    assert not marker.exists()  # ...and loading refused it without running it


def test_truncated_and_foreign_files_raise_checkpoint_error(tmp_path: Path) -> None:
    model = _model(0)
    good = tmp_path / "good.npz"
    model.save(good)
    data = good.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 30):
        truncated = tmp_path / f"cut{cut}.npz"
        truncated.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="not a readable checkpoint"):
            model.load(truncated)
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a checkpoint")
    with pytest.raises(CheckpointError, match="notes.txt"):
        model.load(text)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(CheckpointError, match="single.npy"):
        model.load(single)
    with pytest.raises(FileNotFoundError):
        model.load(tmp_path / "missing.npz")


def test_corrupted_bytes_inside_the_zip_raise_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "flipped.npz"
    _model(0).save(path)
    data = bytearray(path.read_bytes())
    start = data.index(b"\x93NUMPY")  # the first array's header; the CRC check catches the flip
    data[start + 140] ^= 0xFF  # a byte of the data: the header is 128 bytes
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="Bad CRC-32"):
        _model(0).load(path)


# ---------------------------------------------------------------- hostile checkpoints


def _bounded(action: Any) -> tuple[BaseException, float, int]:
    """Run ``action``, which must raise; the error, the seconds and the peak bytes it took."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        action()
    except BaseException as e:  # noqa: BLE001 - handed back to the test to check
        error = e
    else:
        pytest.fail("the hostile file was accepted")
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, seconds, peak


def _forged_npz(path: Path, members: dict[str, tuple[dict[str, Any], bytes]]) -> Path:
    """A zip of .npy members, each a header (as a dict) followed by the given bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, (header, payload) in members.items():
            with zf.open(name + ".npy", "w") as f:
                np.lib.format.write_array_header_1_0(f, header)
                f.write(payload)
    return path


def test_a_header_declaring_a_huge_shape_is_refused_before_allocating(tmp_path: Path) -> None:
    honest = {
        k: ({"descr": a.dtype.str, "fortran_order": False, "shape": a.shape}, a.tobytes())
        for k, a in _model(0).state_dict().items()
    }
    huge = {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}  # 8 TB
    path = _forged_npz(tmp_path / "huge.npz", {**honest, "0.weight": (huge, b"\0" * 96)})
    for load in (lambda: _model(1).load(path), lambda: nn.module.read_checkpoint(path)):
        error, seconds, peak = _bounded(load)
        assert isinstance(error, CheckpointError), error
        assert "declares shape (1000000, 1000000)" in str(error) and "huge.npz" in str(error)
        assert seconds < 1.0 and peak < 2_000_000


def test_a_right_sized_member_of_the_wrong_shape_is_refused_before_reading(
    tmp_path: Path,
) -> None:
    state = _model(0).state_dict()
    state["0.weight"] = np.zeros((4, 3), dtype=np.float32)  # same bytes, transposed shape
    path = tmp_path / "transposed.npz"
    np.savez(path, **state)
    with pytest.raises(StateDictError, match=r"'0.weight' has shape \(4, 3\) in the file"):
        _model(1).load(path)


def test_a_huge_extra_member_is_never_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "bomb.npz"
    _model(0).save(path)
    size = 128 * 2**20  # 128 MB of zeros: about 130 KB compressed
    chunk = bytes(2**20)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("extra.npy", "w", force_zip64=True) as f:
            header = {"descr": "|u1", "fortran_order": False, "shape": (size,)}
            np.lib.format.write_array_header_1_0(f, header)
            for _ in range(size // len(chunk)):
                f.write(chunk)
    assert path.stat().st_size < 2_000_000
    target = _model(1)
    error, seconds, peak = _bounded(lambda: target.load(path))
    assert isinstance(error, StateDictError) and "unexpected: ['extra']" in str(error)
    assert seconds < 1.0 and peak < 2_000_000
    tracemalloc.start()
    start = time.perf_counter()
    keys = target.load(path, strict=False)  # the rest loads; the extra key is only named
    assert time.perf_counter() - start < 1.0 and tracemalloc.get_traced_memory()[1] < 2_000_000
    tracemalloc.stop()
    assert keys.unexpected_keys == ["extra"] and keys.missing_keys == []
    np.testing.assert_array_equal(
        target.state_dict()["0.weight"], _model(0).state_dict()["0.weight"]
    )


def test_a_member_claiming_more_than_compression_can_give_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "liar.npz"
    _model(0).save(path)
    data = bytearray(path.read_bytes())
    # the central directory's record of the first member (stored, 176 bytes): make its
    # uncompressed size claim 4 GB
    at = data.index(b"PK\x01\x02")
    data[at + 24 : at + 28] = (2**32 - 2).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    error, seconds, peak = _bounded(lambda: _model(1).load(path))
    assert isinstance(error, CheckpointError), error
    assert "claims 4294967294 bytes from 176 compressed bytes" in str(error)
    assert seconds < 1.0 and peak < 2_000_000


def test_load_state_dict_refuses_what_is_not_a_mapping() -> None:
    for wrong in (None, [("0.weight", np.zeros((3, 4)))], "weights.npz"):
        with pytest.raises(StateDictError, match="load_state_dict: expected a mapping"):
            _model(0).load_state_dict(wrong)  # type: ignore[arg-type]


# ---------------------------------------------------------------- Linear


def test_linear_shapes_dtype_and_forward() -> None:
    tl.manual_seed(0)
    layer = nn.Linear(3, 2)
    assert layer.weight.shape == (3, 2) and layer.bias is not None and layer.bias.shape == (2,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    x = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    y = layer(x)
    assert y.shape == (5, 2) and y.dtype == np.float32
    np.testing.assert_allclose(y.data, x @ layer.weight.data + layer.bias.data, rtol=1e-6)
    assert layer(x[0].tolist()).shape == (2,)  # one sample as a list
    assert nn.Linear(3, 2, dtype="float64").weight.dtype == np.float64
    no_bias = nn.Linear(3, 2, bias=False)
    assert no_bias.bias is None and len(no_bias.parameters()) == 1
    assert np.array_equal(no_bias(x).data, x @ no_bias.weight.data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes", [(3, 5), (7, 1), (784, 64)])
def test_linear_parameters_start_on_a_cache_line_and_stay_there(
    sizes: tuple[int, int], dtype: type
) -> None:
    # the optimizer writes them in place every step; a misaligned one made SGD twice as slow
    layer = nn.Linear(*sizes, dtype=dtype)
    other = nn.Linear(*sizes, dtype=dtype)
    arrays = [layer.weight.data, layer.bias.data]
    layer.load_state_dict(other.state_dict())
    layer.reset_parameters()
    for p, array in zip(layer.parameters(), arrays):
        assert p.data is array  # written in place
        assert p.data.ctypes.data % 64 == 0 and p.data.flags.c_contiguous
        assert p.data.dtype == dtype and p.data.flags.writeable


def test_linear_rejects_bad_arguments_and_inputs() -> None:
    with pytest.raises(ShapeError, match="in_features=0"):
        nn.Linear(0, 2)
    with pytest.raises(ShapeError, match="out_features=2.5"):
        nn.Linear(2, 2.5)  # type: ignore[arg-type]
    with pytest.raises(DTypeError, match="dtype=<class 'numpy.int32'>"):
        nn.Linear(2, 2, dtype=np.int32)
    with pytest.raises(ShapeError, match=r"linear: input of shape \(4, 5\).*\(3, 2\).*3 features"):
        nn.Linear(3, 2)(np.ones((4, 5)))


def test_linear_initialisation_is_pytorchs_and_reproducible() -> None:
    tl.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
    # U(-b, b) has variance b^2 / 3; 120,000 draws pin it to within about 1%
    assert layer.weight.data.var() == pytest.approx(bound**2 / 3, rel=0.02)
    assert layer.weight.data.mean() == pytest.approx(0.0, abs=0.01 * bound)
    tl.manual_seed(0)
    again = nn.Linear(400, 300)
    np.testing.assert_array_equal(layer.weight.data, again.weight.data)
    tl.manual_seed(1)
    assert not np.array_equal(nn.Linear(400, 300).weight.data, layer.weight.data)


def test_linear_passes_gradcheck_through_the_module() -> None:
    tl.manual_seed(0)
    layer = nn.Linear(3, 2, dtype=np.float64)

    def run(x: Value, w: Value, b: Value) -> Value:
        layer.weight, layer.bias = w, b
        return layer(x).tanh()

    x = np.random.default_rng(2).normal(size=(4, 3))
    assert gradcheck(run, [x, layer.weight, layer.bias])


def test_linear_matches_torch_with_transposed_weights(torch: Any) -> None:
    tl.manual_seed(0)
    ours = nn.Linear(3, 2, dtype=np.float64)
    theirs = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data.T))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    x = np.random.default_rng(3).normal(size=(4, 3))
    a, b = ours(x), theirs(torch.tensor(x))
    np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-12)
    (a * a).sum().backward()
    (b * b).sum().backward()
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy().T, rtol=1e-12)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-12)


# ---------------------------------------------------------------- weightless layers

X = np.random.default_rng(5).normal(size=(3, 4))
X[np.abs(X) < 0.05] = 0.3  # keep away from relu's kink for the finite differences

ACTIVATION_LAYERS = {
    "ReLU": (nn.ReLU(), lambda x: np.maximum(x, 0)),
    "LeakyReLU": (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    "Sigmoid": (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    "Tanh": (nn.Tanh(), np.tanh),
    "Softmax": (nn.Softmax(), lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)),
    "Softmax(axis=0)": (nn.Softmax(axis=0), lambda x: np.exp(x) / np.exp(x).sum(axis=0)),
    "Identity": (nn.Identity(), lambda x: x),
    "Flatten": (nn.Flatten(), lambda x: x),
}


@pytest.mark.parametrize("name", sorted(ACTIVATION_LAYERS))
def test_weightless_layers_compute_their_function_and_pass_gradcheck(name: str) -> None:
    layer, reference = ACTIVATION_LAYERS[name]
    np.testing.assert_allclose(layer(Value(X)).data, reference(X), rtol=1e-12)
    assert layer.parameters() == []
    assert gradcheck(lambda v: layer(v), [X])


def test_flatten_keeps_the_batch_axis() -> None:
    x = Value(np.arange(24.0).reshape(2, 3, 4))
    assert nn.Flatten()(x).shape == (2, 12)
    np.testing.assert_array_equal(nn.Flatten()(x).data[1], np.arange(12.0, 24.0))
    assert gradcheck(lambda v: nn.Flatten()(v) * np.arange(12.0), [x])
    with pytest.raises(ShapeError, match=r"Flatten: input of shape \(5,\)"):
        nn.Flatten()(np.ones(5))


def test_identity_returns_its_input() -> None:
    v = Value(X)
    assert nn.Identity()(v) is v


def test_dropout_scales_in_training_and_is_the_identity_in_eval() -> None:
    tl.manual_seed(0)
    drop = nn.Dropout(0.2)
    x = Value(np.full((500, 200), 3.0))
    y = drop(x).data
    assert set(np.unique(y)) == {0.0, 3.0 / 0.8}
    # 100,000 draws: the dropped fraction has sd 0.0013, the mean sd 0.005
    assert np.mean(y == 0.0) == pytest.approx(0.2, abs=0.006)
    assert y.mean() == pytest.approx(3.0, abs=0.025)  # inverted dropout keeps the mean
    assert gradcheck(lambda v: nn.Dropout(0.0)(v), [X])
    drop.eval()
    assert drop(x) is x
    tl.manual_seed(4)
    a = nn.Dropout(0.5)(x).data
    tl.manual_seed(4)
    np.testing.assert_array_equal(a, nn.Dropout(0.5)(x).data)
    for p in (-0.5, 1.01, None):
        with pytest.raises(ArgumentError, match="Dropout: p="):
            nn.Dropout(p)  # type: ignore[arg-type]


def test_sequential_behaves_like_a_list_of_layers() -> None:
    tl.manual_seed(0)
    first, second = nn.Linear(2, 3), nn.Linear(3, 1)
    model = nn.Sequential(first, nn.ReLU())
    model.append(second)
    assert len(model) == 3 and model[0] is first and model[-1] is second
    assert list(model) == model.layers
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    x = np.ones((4, 2), dtype=np.float32)
    np.testing.assert_allclose(model(x).data, second(first(x).relu()).data)
    with pytest.raises(ArgumentError, match="Sequential: argument 1 is a function"):
        nn.Sequential(nn.ReLU(), lambda x: x)  # type: ignore[arg-type]


# ---------------------------------------------------------------- init


def _empty(shape: tuple[int, ...], dtype: Any = np.float64) -> Value:
    return Value(np.empty(shape, dtype=dtype))


def test_init_fills_in_place_with_the_documented_statistics() -> None:
    gen = np.random.default_rng(0)
    shape = (600, 400)  # fan_in 600, fan_out 400: 240,000 draws, variances within ~1%
    w = _empty(shape, np.float32)
    array = w.data
    assert init.xavier_uniform_(w, generator=gen) is w and w.data is array
    assert w.dtype == np.float32
    assert np.abs(w.data).max() <= math.sqrt(6 / 1000)
    assert w.data.var() == pytest.approx(2 / 1000, rel=0.02)
    assert init.xavier_normal_(w, gain=2.0, generator=gen).data.std() == pytest.approx(
        2.0 * math.sqrt(2 / 1000), rel=0.01
    )
    he = init.kaiming_normal_(_empty(shape), nonlinearity="relu", generator=gen)
    assert he.data.std() == pytest.approx(math.sqrt(2 / 600), rel=0.01)
    he_out = init.he_uniform_(_empty(shape), mode="fan_out", nonlinearity="relu", generator=gen)
    assert np.abs(he_out.data).max() <= math.sqrt(6 / 400)
    assert he_out.data.var() == pytest.approx(2 / 400, rel=0.02)
    normal = init.normal_(_empty(shape), mean=1.0, std=0.5, generator=gen)
    assert normal.data.mean() == pytest.approx(1.0, abs=0.005)
    uniform = init.uniform_(_empty(shape), -2.0, 3.0, generator=gen)
    assert uniform.data.min() >= -2.0 and uniform.data.max() <= 3.0
    assert np.all(init.zeros_(_empty((2, 2))).data == 0.0)
    assert np.all(init.ones_(_empty((2, 2))).data == 1.0)
    assert np.all(init.constant_(_empty((2, 2)), 0.25).data == 0.25)


def test_init_on_scalars_keeps_python_floats_and_defaults_to_tl_rng() -> None:
    b = Value(5.0)
    assert init.zeros_(b).data == 0.0 and type(b.data) is float
    tl.manual_seed(9)
    first = init.uniform_(Value(0.0), -1.0, 1.0).data
    tl.manual_seed(9)
    assert type(first) is float and init.uniform_(Value(0.0), -1.0, 1.0).data == first


def test_init_mistakes_are_named() -> None:
    with pytest.raises(ShapeError, match=r"xavier_uniform_: needs a weight with at least 2"):
        init.xavier_uniform_(Value(np.ones(3)))
    with pytest.raises(ArgumentError, match="mode='fan_avg'"):
        init.kaiming_uniform_(_empty((2, 2)), mode="fan_avg")
    with pytest.raises(ArgumentError, match="unknown nonlinearity 'swish'"):
        init.kaiming_normal_(_empty((2, 2)), nonlinearity="swish")
    with pytest.raises(ArgumentError, match="std=-1"):
        init.normal_(_empty((2, 2)), std=-1.0)
    with pytest.raises(ArgumentError, match="a=2.0 is above"):
        init.uniform_(_empty((2, 2)), 2.0, 1.0)
    with pytest.raises(ArgumentError, match="expected a Value"):
        init.zeros_(np.ones(3))  # type: ignore[arg-type]


def test_gains_match_torch(torch: Any) -> None:
    for name, param in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param)
        )
    for slope in (None, 0.2, math.sqrt(5)):
        assert init.calculate_gain("leaky_relu", slope) == pytest.approx(
            torch.nn.init.calculate_gain("leaky_relu", slope)
        )


# ---------------------------------------------------------------- nn.scalar


def test_scalar_mlp_keeps_micrographs_structure() -> None:
    tl.manual_seed(0)
    model = MLP(3, [4, 4, 1])
    assert isinstance(model, nn.Module) and isinstance(model.layers[0], Layer)
    assert [len(layer.neurons) for layer in model.layers] == [4, 4, 1]
    neuron = model.layers[1].neurons[2]
    assert isinstance(neuron, Neuron) and len(neuron.w) == 4 and neuron.b.data == 0.0
    expected = [p for layer in model.layers for n in layer.neurons for p in [*n.w, n.b]]
    assert [id(p) for p in model.parameters()] == [id(p) for p in expected]
    assert neuron.parameters() == [*neuron.w, neuron.b]
    assert len(model.parameters()) == 4 * 4 + 4 * 5 + 5
    assert next(iter(model.state_dict())) == "layers.0.neurons.0.w.0"
    y = model([1.0, -2.0, 0.5])
    assert type(y.data) is float
    z = model.layers[0].neurons[0]([1.0, -2.0, 0.5])  # relu(weighted_sum(...)): one node each
    assert z.op == "relu" and z.parents[0].op == "weighted_sum"


def test_scalar_mlp_matches_micrograd(tmp_path: Path) -> None:
    micrograd_nn = pytest.importorskip(
        "micrograd.nn",
        reason="micrograd is the optional reference engine (pip install micrograd==0.1.0)",
    )
    tl.manual_seed(0)
    ours = MLP(3, [4, 4, 1])
    theirs = micrograd_nn.MLP(3, [4, 4, 1])
    assert len(theirs.parameters()) == len(ours.parameters())
    for a, b in zip(theirs.parameters(), ours.parameters()):
        b.data = float(a.data)
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    ours_loss = sum((ours(x) - y) ** 2 for x, y in zip(xs, ys))
    theirs_loss = sum((theirs(x) - y) ** 2 for x, y in zip(xs, ys))
    ours_loss.backward()
    theirs_loss.backward()
    assert ours_loss.data == pytest.approx(theirs_loss.data, rel=1e-12)
    for a, b in zip(theirs.parameters(), ours.parameters()):
        assert b.grad == pytest.approx(a.grad, rel=1e-9, abs=1e-12)
