"""Data sets, the DataLoader, splits, k-fold, Standardizer, one_hot and the IDX reader."""

from __future__ import annotations

import csv
import gzip
import re
import struct
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import data
from tinygrad_lite.data import DataError, DataLoader, Standardizer

SHARED_CSV = Path(__file__).resolve().parents[1] / "tinygrad_lite" / "data" / "hotels.csv"


# ---------------------------------------------------------------- the hotel table


def test_hotels_has_the_books_32_hotels_and_both_splits() -> None:
    h = data.hotels()
    assert len(h) == 32
    assert (h.split == "train").sum() == 24 and (h.split == "test").sum() == 8
    assert (h.ch1_split == "train").sum() == 8 and (h.ch1_split == "test").sum() == 4
    assert set(h.category) == set(data.CATEGORIES)
    assert set(h.hot.tolist()) == {0, 1}


def test_hotels_columns_match_the_csv_file() -> None:
    rows = list(csv.DictReader(SHARED_CSV.open()))
    h = data.hotels()
    np.testing.assert_array_equal(h.price_usd, [float(r["price_usd"]) for r in rows])
    np.testing.assert_array_equal(h.rating, [float(r["rating"]) for r in rows])
    labels = [data.CATEGORIES.index(r["category"]) for r in rows]
    np.testing.assert_array_equal(h.category_index, labels)


def test_hotels_arrays_pick_features_target_and_split() -> None:
    h = data.hotels()
    X_train, y_train, X_test, y_test = h.arrays(split="split", target="hot")
    assert X_train.shape == (24, 2) and X_test.shape == (8, 2)
    assert y_train.sum() == 11  # 11 hot hotels in the training set
    ch1 = h.arrays(features="distance_mi", split="ch1_split")
    np.testing.assert_array_equal(ch1.X_train[:, 0], [1.6, 9.5, 1.1, 0.5, 2.4, 3.5, 4.6, 6.2])
    assert ch1.y_test.tolist() == [116.0, 156.0, 168.0, 99.0]


def test_hotels_arrays_are_read_only_and_errors_are_named() -> None:
    h = data.hotels()
    with pytest.raises(ValueError):
        h.price_usd[0] = 1.0
    with pytest.raises(DataError, match="no column 'stars'"):
        h.arrays(features=["stars"])
    with pytest.raises(DataError, match="split="):
        h.arrays(split="ch2")


# ---------------------------------------------------------------- generated and bundled sets


def test_moons_match_sklearn_without_noise() -> None:
    sk = pytest.importorskip("sklearn.datasets", reason="scikit-learn makes the reference moons")
    for n in (10, 11):
        X, y = data.moons(n, noise=0.0, shuffle=False)
        X_ref, y_ref = sk.make_moons(n, shuffle=False)
        np.testing.assert_allclose(X, X_ref, atol=1e-12)
        np.testing.assert_array_equal(y, y_ref)


def test_moons_and_spirals_are_seeded() -> None:
    a, b = data.moons(50, seed=3), data.moons(50, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], data.moons(50, seed=4)[0])
    tl.manual_seed(1)
    first = data.spirals(30, classes=3)
    tl.manual_seed(1)
    np.testing.assert_array_equal(first[0], data.spirals(30, classes=3)[0])
    X, y = data.spirals(31, classes=3, noise=0.0)
    assert X.shape == (31, 2) and np.bincount(y).tolist() == [11, 10, 10]
    assert np.all(np.linalg.norm(X, axis=1) <= 1.0 + 1e-12)  # radius grows from 0 to 1


def test_generators_reject_bad_arguments() -> None:
    with pytest.raises(DataError, match="n=1"):
        data.moons(1)
    with pytest.raises(DataError, match="noise"):
        data.moons(10, noise=-0.1)
    with pytest.raises(DataError, match="classes=0"):
        data.spirals(10, classes=0)


def test_digits_are_scaled_to_unit_range() -> None:
    pytest.importorskip("sklearn", reason="the digits ship with scikit-learn")
    X, y = data.digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(set(y.tolist())) == list(range(10))
    assert data.digits(flatten=False)[0].shape == (1797, 8, 8)


def test_missing_optional_dependency_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(data.MissingDependencyError, match="pip install scikit-learn"):
        data.digits()
    assert issubclass(data.MissingDependencyError, ImportError)


# ---------------------------------------------------------------- IDX files


def write_idx(path: Path, array: np.ndarray, code: int, compress: bool = False) -> Path:
    """An IDX file written from the format's definition, independently of read_idx."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_reads_images_and_labels(tmp_path: Path, compress: bool) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    got = data.read_idx(write_idx(tmp_path / "img", images, 0x08, compress))
    np.testing.assert_array_equal(got, images)
    floats = np.array([[1.5, -2.0]], dtype=np.float32)
    got = data.read_idx(write_idx(tmp_path / "f", floats, 0x0D, compress))
    assert got.dtype == np.float32 and got.dtype.isnative
    np.testing.assert_array_equal(got, floats)
    ints = np.array([70000, -3], dtype=np.int32)
    np.testing.assert_array_equal(data.read_idx(write_idx(tmp_path / "i", ints, 0x0C)), ints)


def test_read_idx_rejects_bad_files(tmp_path: Path) -> None:
    good = write_idx(tmp_path / "good", np.zeros((4, 2), dtype=np.uint8), 0x08)
    raw = good.read_bytes()
    cases = {
        "magic number": b"\x01\x02" + raw[2:],
        "type code 0x07": raw[:2] + b"\x07" + raw[3:],
        "truncated": raw[:-1],
        "ends inside its header": raw[:6],
        "gzip-compressed but is corrupt": b"\x1f\x8b" + b"rubbish",
    }
    for message, content in cases.items():
        (tmp_path / "bad").write_bytes(content)
        with pytest.raises(DataError, match=message):
            data.read_idx(tmp_path / "bad")


def test_mnist_reads_a_directory_of_idx_files(tmp_path: Path) -> None:
    gen = np.random.default_rng(0)
    for prefix, n in (("train", 5), ("t10k", 3)):
        images = gen.integers(0, 256, (n, 28, 28)).astype(np.uint8)
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images, 0x08, compress=True)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", np.arange(n, dtype=np.uint8), 0x08)
    X_train, y_train, X_test, y_test = data.mnist(tmp_path)
    assert X_train.shape == (5, 784) and X_train.dtype == np.float32 and X_train.max() <= 1.0
    assert y_test.tolist() == [0, 1, 2]
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels"):
        data.mnist(tmp_path)


# ---------------------------------------------------------------- DataLoader


def test_loader_batches_cover_the_data_once_per_epoch() -> None:
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    loader = DataLoader(X, y, batch_size=4)
    sizes = [len(yb) for _, yb in loader]
    assert sizes == [4, 4, 2] and len(loader) == 3
    assert [len(yb) for _, yb in DataLoader(X, y, batch_size=4, drop_last=True)] == [4, 4]
    ((xb, yb),) = list(DataLoader(X, y))  # full batch by default
    assert xb.shape == (10, 2) and isinstance(xb, np.ndarray)


def test_loader_shuffles_each_epoch_and_keeps_pairs() -> None:
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    loader = DataLoader(X, y, batch_size=3, shuffle=True, seed=0)
    epochs = [np.concatenate([yb for _, yb in loader]) for _ in range(2)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(10))
    assert epochs[0].tolist() != epochs[1].tolist()
    for xb, yb in loader:
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)  # rows stay with their labels
    again = DataLoader(X, y, batch_size=3, shuffle=True, seed=0)
    assert np.concatenate([yb for _, yb in again]).tolist() == epochs[0].tolist()


def test_loader_uses_manual_seed_without_a_seed() -> None:
    X, y = np.zeros((8, 1)), np.arange(8)
    tl.manual_seed(5)
    first = [yb.tolist() for _, yb in DataLoader(X, y, batch_size=8, shuffle=True)]
    tl.manual_seed(5)
    assert [yb.tolist() for _, yb in DataLoader(X, y, batch_size=8, shuffle=True)] == first


def test_loader_rejects_bad_arguments() -> None:
    with pytest.raises(tl.ShapeError, match="same number of rows"):
        DataLoader(np.zeros((3, 2)), np.zeros(4))
    for bad in (0, -1, 2.5):
        with pytest.raises(DataError, match="batch_size"):
            DataLoader(np.zeros((3, 2)), np.zeros(3), batch_size=bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------- splits and k-fold


def test_train_test_split_sizes_and_pairs() -> None:
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, seed=0)
    assert len(y_test) == 3 and len(y_train) == 7  # rounded up, as scikit-learn does
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))
    np.testing.assert_array_equal(X_test[:, 0], 2 * y_test)
    kept = data.train_test_split(X, y, test_size=2, shuffle=False)
    assert kept[3].tolist() == [8, 9]


def test_train_test_split_matches_sklearn_sizes() -> None:
    ms = pytest.importorskip("sklearn.model_selection", reason="scikit-learn is the reference")
    for n, size in ((10, 0.25), (7, 0.3), (100, 0.15), (5, 2)):
        ours = data.train_test_split(np.zeros(n), np.zeros(n), test_size=size)
        theirs = ms.train_test_split(np.zeros(n), test_size=size)
        assert (len(ours[0]), len(ours[1])) == (len(theirs[0]), len(theirs[1]))


def test_train_val_test_split_partitions_the_data() -> None:
    y = np.arange(20)
    parts = data.train_val_test_split(y[:, None], y, val_size=0.2, test_size=0.1, seed=1)
    train, val, test = parts[3:]
    assert (len(train), len(val), len(test)) == (14, 4, 2)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(20))


def test_split_errors_are_named() -> None:
    with pytest.raises(DataError, match="test_size=1.5"):
        data.train_test_split(np.zeros(4), np.zeros(4), test_size=1.5)
    with pytest.raises(DataError, match="no training example"):
        data.train_val_test_split(np.zeros(4), np.zeros(4), val_size=2, test_size=2)


def test_k_fold_matches_sklearn_kfold() -> None:
    ms = pytest.importorskip("sklearn.model_selection", reason="scikit-learn is the reference")
    for n, k in ((10, 3), (7, 7), (12, 5)):
        ours = list(data.k_fold(n, k))
        theirs = list(ms.KFold(k).split(np.zeros(n)))
        assert len(ours) == k
        for (a_train, a_val), (b_train, b_val) in zip(ours, theirs):
            np.testing.assert_array_equal(a_val, b_val)
            np.testing.assert_array_equal(np.sort(a_train), b_train)


def test_k_fold_shuffled_still_partitions() -> None:
    folds = list(data.k_fold(np.zeros(11), k=4, shuffle=True, seed=2))
    vals = np.concatenate([v for _, v in folds])
    assert sorted(vals.tolist()) == list(range(11))
    for train, val in folds:
        assert set(train.tolist()).isdisjoint(val.tolist())
        assert len(train) + len(val) == 11
    with pytest.raises(DataError, match="k=1"):
        list(data.k_fold(5, k=1))
    with pytest.raises(DataError, match="k=6"):
        list(data.k_fold(5, k=6))


# ---------------------------------------------------------------- preprocessing


def test_standardizer_uses_training_statistics() -> None:
    X_train = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    s = Standardizer().fit(X_train)
    np.testing.assert_allclose(s.mean_, [3.0, 10.0])
    np.testing.assert_allclose(s.std_, [np.sqrt(8 / 3), 1.0])  # population std; constant -> 1
    np.testing.assert_allclose(s.transform([[3.0, 12.0]]), [[0.0, 2.0]])
    np.testing.assert_allclose(s.inverse_transform(s.transform(X_train)), X_train)
    sample = Standardizer(ddof=1).fit(X_train)
    np.testing.assert_allclose(sample.std_[0], 2.0)


def test_standardizer_matches_sklearn() -> None:
    pre = pytest.importorskip("sklearn.preprocessing", reason="scikit-learn is the reference")
    X = np.random.default_rng(0).normal(3.0, 2.0, (20, 3))
    np.testing.assert_allclose(
        Standardizer().fit_transform(X), pre.StandardScaler().fit_transform(X)
    )


def test_standardizer_for_a_target_accepts_a_column_back() -> None:
    price = np.array([100.0, 140.0, 180.0])
    s = Standardizer().fit(price)
    column = s.transform(price)[:, None]
    np.testing.assert_allclose(s.inverse_transform(column)[:, 0], price)


def test_standardizer_errors() -> None:
    with pytest.raises(DataError, match="fit"):
        Standardizer().transform(np.zeros((2, 2)))
    s = Standardizer().fit(np.zeros((3, 2)))
    with pytest.raises(tl.ShapeError, match="2 columns"):
        s.transform(np.zeros((3, 3)))
    with pytest.raises(DataError, match="ddof"):
        Standardizer(ddof=2)


def test_one_hot() -> None:
    np.testing.assert_array_equal(data.one_hot([1, 0], num_classes=3), [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(data.one_hot(np.array([2.0, 0.0])), np.eye(3)[[2, 0]])
    with pytest.raises(DataError, match="num_classes=2"):
        data.one_hot([0, 2], num_classes=2)
    with pytest.raises(DataError, match="whole numbers"):
        data.one_hot([0.5])
    with pytest.raises(tl.ShapeError, match="1-D"):
        data.one_hot(np.zeros((2, 2)))


@pytest.mark.parametrize("batch_size", [float("nan"), float("inf"), "4", 0, 2.5, True])
def test_data_loader_refuses_a_batch_size_that_is_not_a_whole_number(batch_size: object) -> None:
    with pytest.raises(DataError, match=f"DataLoader: batch_size={batch_size!r}"):
        DataLoader(np.zeros((3, 1)), np.zeros(3), batch_size=batch_size)  # type: ignore[arg-type]


def test_read_idx_refuses_a_header_whose_size_overflows_before_reading(tmp_path: Path) -> None:
    # four dimensions of 2**32 - 1: the product overflows int64 (np.prod wraps it round)
    dims = struct.pack(">4I", *[2**32 - 1] * 4)
    for compress in (False, True):
        content = b"\x00\x00\x08\x04" + dims + bytes(64)
        path = tmp_path / "forged"
        path.write_bytes(gzip.compress(content) if compress else content)
        tracemalloc.start()
        with pytest.raises(DataError, match=r"read_idx: .*forged declares shape \(4294967295,"):
            data.read_idx(path)
        assert tracemalloc.get_traced_memory()[1] < 1_000_000
        tracemalloc.stop()


def test_read_idx_refuses_a_gzip_file_declaring_more_than_it_can_expand_to(tmp_path: Path) -> None:
    content = b"\x00\x00\x08\x01" + struct.pack(">I", 2**31) + bytes(1000)  # 2 GB declared
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(content))
    tracemalloc.start()
    with pytest.raises(DataError, match=r"\(2147483648,\) of uint8 .* at most \d+ bytes"):
        data.read_idx(path)
    assert tracemalloc.get_traced_memory()[1] < 1_000_000
    tracemalloc.stop()
    longer = write_idx(tmp_path / "longer", np.zeros(3, dtype=np.uint8), 0x08)
    longer.write_bytes(longer.read_bytes() + b"\x00")  # one byte more than declared
    with pytest.raises(DataError, match="holds 4 bytes after its header"):
        data.read_idx(longer)


def test_sizes_beyond_any_memory_are_refused_before_allocating() -> None:
    tracemalloc.start()
    with pytest.raises(DataError, match=r"one_hot: an array of shape \(2, 4611686018427387904\)"):
        data.one_hot([0, 1], num_classes=2**62)
    with pytest.raises(DataError, match="k_fold: an array of shape"):
        list(data.k_fold(10**15, k=3))
    with pytest.raises(tl.ShapeError, match=r"Linear: an array of shape \(1000000, 1000000\)"):
        tl.nn.Linear(10**6, 10**6)
    assert tracemalloc.get_traced_memory()[1] < 1_000_000
    tracemalloc.stop()


@pytest.mark.parametrize("seed", [-1, 1.5, "7", tl.Value(1.0), 1 + 2j])
def test_a_seed_must_be_a_whole_number_or_a_generator(seed: object) -> None:
    with pytest.raises(DataError, match=re.escape(f"DataLoader: seed={seed!r}")):
        DataLoader(np.zeros((3, 1)), np.zeros(3), shuffle=True, seed=seed)  # type: ignore[arg-type]
