"""nn.augment: random distortions of MNIST digits (labels kept, pixels in range, seeded) and the sturdy model
trained with them (scripts/train_sturdy.py)."""

from __future__ import annotations

import numpy as np
import pytest

from nn.augment import (
    STURDY_PATH,
    Distortions,
    distort,
    distort_batch,
    elastic_fields,
    gaussian_matrix,
    random_affine,
    sample_bilinear,
)
from nn.mnist import load_embedded
from nn.model_file import PRETRAINED_PATH, load_model, load_pretrained

NONE = Distortions(rotation_deg=0, shear=0, scale=(1, 1), aspect=(1, 1), shift=0, elastic_alpha=0)


@pytest.fixture(scope="module")
def sample():
    """The embedded offline sample's test images (always there): 1,000 digits, 100 of each."""
    data = load_embedded()
    return data.x_test[:300].reshape(-1, 784), data.t_test[:300]


def test_labels_are_kept_and_pixels_stay_in_range(sample):
    x, t = sample
    out, labels = distort_batch(x, t, np.random.default_rng(0), share=1.0)
    assert labels is t  # a distorted 7 is still a 7: the labels come back as given
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert not np.allclose(out, x / 255, atol=0.05)
    # still the same digits: the net trained on distortions reads most of them under their labels (86 %), while
    # the book's net, which never saw one, stumbles (about 58 % here: why augmentation is worth it)
    sturdy, book = load_model(STURDY_PATH).network(), load_pretrained().network()
    assert sturdy.accuracy(out, t) > 0.8  # 86 % (97 % undistorted)
    assert book.accuracy(out, t) < sturdy.accuracy(out, t) - 0.15


def test_the_same_seed_gives_the_same_distortions(sample):
    x, t = sample
    a, _ = distort_batch(x[:50], t[:50], np.random.default_rng(7))
    b, _ = distort_batch(x[:50], t[:50], np.random.default_rng(7))
    c, _ = distort_batch(x[:50], t[:50], np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_share_decides_how_many_images_change(sample):
    x, t = sample
    untouched, _ = distort_batch(x, t, np.random.default_rng(0), share=0.0)
    np.testing.assert_allclose(untouched, x / 255, atol=1e-6)
    some, _ = distort_batch(x, t, np.random.default_rng(0), share=0.5)
    changed = np.mean(np.abs(some - x / 255).max(axis=1) > 1e-3)
    assert 0.35 < changed < 0.65


def test_no_distortion_is_the_identity_and_floats_and_uint8_agree(sample):
    x, _ = sample
    np.testing.assert_allclose(distort(x[:20], np.random.default_rng(0), NONE), x[:20] / 255, atol=1e-6)
    as_float = distort(x[:20].astype(np.float32) / 255, np.random.default_rng(3))
    as_uint8 = distort(x[:20], np.random.default_rng(3))
    np.testing.assert_allclose(as_float, as_uint8, atol=1e-6)
    assert distort(x[:4].reshape(4, 28, 28), np.random.default_rng(0)).shape == (4, 28, 28)


def test_shear_leans_the_top_right_and_a_shift_moves_the_ink():
    bar = np.zeros((1, 28, 28), np.float32)
    bar[0, 4:24, 13:15] = 1  # an upright stroke
    lean = Distortions(rotation_deg=0, shear=0.3, scale=(1, 1), aspect=(1, 1), shift=0, elastic_alpha=0)
    # shear is drawn uniformly in ±0.3: find seeds of each sign and check the direction of the lean
    for seed in range(20):
        rng = np.random.default_rng(seed)
        out = distort(bar, rng, lean)[0]
        top, bottom = out[4:9], out[19:24]
        cols = np.arange(28)
        top_x, bottom_x = (top.sum(0) @ cols) / top.sum(), (bottom.sum(0) @ cols) / bottom.sum()
        forward, _ = random_affine(np.random.default_rng(seed), 1, lean)
        expected = -forward[0, 1, 0]  # the shear drawn: column moves by −shear · row
        assert np.sign(top_x - bottom_x) == np.sign(expected) or abs(expected) < 0.02
        assert out.sum() == pytest.approx(bar.sum(), rel=0.05)  # a shear keeps the area
    moved = distort(bar, np.random.default_rng(1), Distortions(
        rotation_deg=0, shear=0, scale=(1, 1), aspect=(1, 1), shift=2.0, elastic_alpha=0))[0]
    assert moved.sum() == pytest.approx(bar.sum(), rel=0.02)  # moved by at most 2 px: nothing falls off


def test_rotation_and_scale_stay_within_their_ranges():
    d = Distortions()
    forward, shift = random_affine(np.random.default_rng(0), 2000, d)
    det = np.linalg.det(forward)
    assert det.min() >= d.scale[0] ** 2 * 0.99 and det.max() <= d.scale[1] ** 2 * 1.01  # shear keeps area
    assert np.abs(shift).max() <= d.shift


def test_elastic_fields_are_smooth_and_about_a_pixel():
    fields = elastic_fields(np.random.default_rng(0), 200, alpha=34, sigma=4)
    assert fields.shape == (200, 2, 28, 28)
    assert 0.5 < fields.std() < 3  # Simard's alpha 34, sigma 4: a wobble of a pixel or two
    step = np.abs(np.diff(fields, axis=-1)).mean()
    assert step < 0.2 * np.abs(fields).mean()  # neighbours move together: smooth, not noise
    g = gaussian_matrix(28, 4)
    np.testing.assert_allclose(g.sum(axis=1), 1)


def test_bilinear_sampling_reads_between_pixels_and_zero_outside():
    img = np.zeros((1, 4, 4), np.float32)
    img[0, 1, 1], img[0, 1, 2] = 1.0, 0.5
    rows = np.array([[[1.0, 1.0, 1.0, -3.0, 10.0]]])
    cols = np.array([[[1.0, 1.5, 2.0, 1.0, 1.0]]])
    np.testing.assert_allclose(sample_bilinear(img, rows, cols)[0, 0], [1.0, 0.75, 0.5, 0.0, 0.0])


# -- the shipped sturdy model ----------------------------------------------------------------------------------


def test_the_sturdy_model_ships_small_and_reads_mnist_at_least_as_well_as_the_books():
    assert STURDY_PATH.is_file() and STURDY_PATH.stat().st_size < 1_000_000
    sturdy, book = load_model(STURDY_PATH), load_model(PRETRAINED_PATH)
    assert sturdy.sizes == (784, 50, 10) and sturdy.meta["activation"] == "sigmoid"
    assert sturdy.test_acc is not None and sturdy.test_acc >= book.test_acc
    assert "distorted" in sturdy.meta["data_source"] and "distorted" in sturdy.name
    assert sturdy.meta["n_test"] == 10_000  # measured on the whole (undistorted) MNIST test set
