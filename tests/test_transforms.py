"""data.transforms: crops, flips and noise on tiny arrays whose answers can be read off, the
same numbers again after tl.manual_seed, and DataLoader(transform=) applying them per batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import ShapeError, data, nn, optim
from tinygrad_lite.data import (
    Compose,
    DataError,
    DataLoader,
    GaussianNoise,
    RandomCrop,
    RandomHorizontalFlip,
)
from tinygrad_lite.train import fit

IMAGES = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)  # (N, C, H, W)

ALL = [
    RandomCrop(4, padding=1),
    RandomCrop((3, 5), padding=(2, 1)),
    RandomHorizontalFlip(),
    GaussianNoise(0.5),
    Compose([RandomCrop((4, 5), padding=2), RandomHorizontalFlip(p=0.3), GaussianNoise(0.1)]),
]


@pytest.mark.parametrize("transform", ALL, ids=repr)
def test_the_same_seed_gives_the_same_batch_and_the_input_is_left_alone(transform: Any):
    before = IMAGES.copy()
    tl.manual_seed(5)
    a = transform(IMAGES)
    tl.manual_seed(5)
    b = transform(IMAGES)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(IMAGES, before)
    assert a is not IMAGES and a.dtype == np.float32 and len(a) == len(IMAGES)
    assert any(not np.array_equal(transform(IMAGES), a) for _ in range(5))  # it is random


@pytest.mark.parametrize("transform", ALL[:3], ids=repr)
def test_batches_without_a_channel_axis_work_too(transform: Any):
    out = transform(IMAGES[:, 0])  # (N, H, W)
    assert out.ndim == 3 and len(out) == 2


def test_crop_without_padding_picks_a_window_of_each_image():
    image = np.arange(9.0).reshape(1, 3, 3)
    windows = {tuple(image[0, t : t + 2, s : s + 2].ravel()) for t in (0, 1) for s in (0, 1)}
    seen = {tuple(RandomCrop(2)(image)[0].ravel()) for _ in range(200)}
    assert seen == windows  # each of the four windows, and nothing else


def test_crop_with_padding_shifts_the_image_and_fills_with_zeros():
    image = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    padded = np.pad(image[0, 0], 1)  # (5, 5), zeros around
    crops = [RandomCrop(3, padding=1)(image)[0, 0] for _ in range(300)]
    offsets = set()
    for crop in crops:
        match = [
            (t, s)
            for t in range(3)
            for s in range(3)
            if np.array_equal(crop, padded[t : t + 3, s : s + 3])
        ]
        assert match, crop
        offsets.add(match[0])
    assert offsets == {(t, s) for t in range(3) for s in range(3)}  # shifts of -1, 0, +1


def test_all_channels_of_an_image_are_cut_at_the_same_place():
    # channel c holds 1000 c + (1 ... 20): never 0, the fill
    channels = np.stack([IMAGES[0, 0] + 1 + 1000 * c for c in range(3)])[None]  # (1, 3, 4, 5)
    for _ in range(20):
        crop = RandomCrop((2, 3), padding=1)(channels)[0]  # (3, 2, 3)
        image = crop[0] != 0
        assert np.all((crop != 0) == image)  # the fill at the same places in every channel
        np.testing.assert_array_equal((crop[2] - crop[0])[image], 2000.0)


@pytest.mark.parametrize(
    "padding, pads",
    [(2, (2, 2, 2, 2)), ((1, 3), (1, 3, 1, 3)), ((1, 2, 3, 4), (1, 2, 3, 4))],
)
def test_padding_follows_torchvision_left_top_right_bottom(padding, pads):
    left, top, right, bottom = pads
    size = (4 + top + bottom, 5 + left + right)  # the whole padded image: no randomness left
    out = RandomCrop(size, padding=padding, fill=-1.0)(IMAGES)
    expected = np.pad(IMAGES, [(0, 0), (0, 0), (top, bottom), (left, right)], constant_values=-1)
    np.testing.assert_array_equal(out, expected)


def test_flip_mirrors_whole_images_with_probability_p():
    tiny = np.array([[[1, 2, 3]]])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(tiny), [[[3, 2, 1]]])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(tiny), tiny)
    tl.manual_seed(0)
    batch = np.tile(IMAGES[:1], (400, 1, 1, 1))
    out = RandomHorizontalFlip(p=0.25)(batch)
    flipped = np.array([np.array_equal(o, IMAGES[0, ..., ::-1]) for o in out])
    kept = np.array([np.array_equal(o, IMAGES[0]) for o in out])
    assert np.all(flipped | kept)  # every image is one or the other, all channels together
    assert abs(flipped.mean() - 0.25) < 0.07


def test_noise_has_the_requested_spread_and_keeps_float_dtypes():
    tl.manual_seed(0)
    zeros = np.zeros((200, 3, 8, 8), dtype=np.float32)
    noisy = GaussianNoise(0.2)(zeros)
    assert noisy.dtype == np.float32
    assert abs(float(noisy.std()) - 0.2) < 0.005 and abs(float(noisy.mean())) < 0.005
    np.testing.assert_array_equal(GaussianNoise(0.0)(IMAGES), IMAGES)
    assert GaussianNoise(1.0)(np.zeros((1, 2, 2), dtype=np.uint8)).dtype == np.float64


def test_mistakes_are_named():
    with pytest.raises(ShapeError, match=r"RandomCrop: a batch of shape \(4, 5\); expected"):
        RandomCrop(2)(IMAGES[0, 0])
    with pytest.raises(DataError, match=r"the crop 7x5 is larger than the padded images 6x7"):
        RandomCrop((7, 5), padding=1)(IMAGES)
    with pytest.raises(DataError, match="size=0 must be a whole number >= 1"):
        RandomCrop(0)
    with pytest.raises(DataError, match="padding=-1"):
        RandomCrop(2, padding=-1)
    with pytest.raises(DataError, match=r"padding=\(1, 2, 3\)"):
        RandomCrop(2, padding=(1, 2, 3))
    with pytest.raises(DataError, match="p=2 must be a probability"):
        RandomHorizontalFlip(p=2)
    with pytest.raises(DataError, match="std=-1 must be a finite number >= 0"):
        GaussianNoise(-1)
    with pytest.raises(DataError, match="item 1 is a int, not a transform"):
        Compose([RandomHorizontalFlip(), 3])


# ---------------------------------------------------------------- DataLoader(transform=)


def test_the_loader_applies_the_transform_to_each_batch_of_inputs_only():
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    calls: list[int] = []

    def negate(xb: np.ndarray) -> np.ndarray:
        calls.append(len(xb))
        return -xb

    loader = DataLoader(X, y, batch_size=4, transform=negate)
    batches = list(loader)
    assert calls == [4, 2]
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches]), -X)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y)
    list(loader)
    assert calls == [4, 2, 4, 2]  # afresh every epoch
    assert "transform=" in repr(loader)


def test_a_loader_without_transform_still_yields_views():
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    xb, _ = next(iter(DataLoader(X, y, batch_size=3)))
    assert np.shares_memory(xb, X)


def test_augmented_shuffled_batches_are_reproducible_and_keep_their_labels():
    X = np.repeat(np.arange(8.0)[:, None, None, None], 4, axis=3).repeat(3, axis=2)  # (8,1,3,4)
    y = np.arange(8)
    loader = DataLoader(X, y, batch_size=3, shuffle=True, transform=RandomHorizontalFlip())
    tl.manual_seed(1)
    first = [(xb.copy(), yb.copy()) for xb, yb in loader]
    tl.manual_seed(1)
    again = list(loader)
    for (xa, ya), (xb, yb) in zip(first, again):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_array_equal(xa[:, 0, 0, 0], ya)  # each image still has its label


def test_loader_transform_mistakes_are_named():
    X, y = np.zeros((4, 1, 2, 2)), np.zeros(4)
    with pytest.raises(DataError, match="transform=3 is not callable"):
        DataLoader(X, y, transform=3)
    with pytest.raises(
        ShapeError, match=r"turned a batch of shape \(4, 1, 2, 2\) into \(2, 1, 2, 2\)"
    ):
        list(DataLoader(X, y, transform=lambda xb: xb[:2]))


def test_fit_trains_on_augmented_batches():
    tl.manual_seed(0)
    X = np.random.default_rng(0).normal(size=(32, 1, 4, 4)).astype(np.float32)
    y = (X[:, 0].mean(axis=(1, 2)) > 0).astype(np.int64)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    loader = data.DataLoader(X, y, batch_size=8, shuffle=True, transform=GaussianNoise(0.01))
    history = fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.5), loader, epochs=5)
    assert history["cost"][-1] < history["cost"][0]
