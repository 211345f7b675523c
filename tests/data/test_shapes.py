import colorsys

import numpy as np
import pytest

from ucgen.data import load_dataset
from ucgen.data.sources.shapes import CLASS_NAMES, make_shapes, shape_masks


def test_shapes_splits_sizes_labels_and_factors():
    train = load_dataset("shapes", "train")
    test = load_dataset("shapes", "test")
    assert train.images.shape == (4000, 32, 32, 3)
    assert test.images.shape == (1000, 32, 32, 3)
    assert train.class_names == CLASS_NAMES
    assert set(np.unique(train.labels)) == {0, 1, 2, 3}
    assert set(train.factors) == {"x", "y", "size", "rotation", "hue"}
    assert all(len(v) == 4000 for v in train.factors.values())
    assert train.fingerprint != test.fingerprint


def test_shapes_deterministic_and_rendered_at_resolution():
    a, b = make_shapes(64, 16, seed=3), make_shapes(64, 16, seed=3)
    assert a.images.shape == (64, 16, 16, 3)
    assert a.fingerprint == b.fingerprint
    assert make_shapes(64, 16, seed=4).fingerprint != a.fingerprint
    assert load_dataset("shapes", "test", resolution=16).images.shape == (1000, 16, 16, 3)


def test_shapes_are_inside_the_image_and_distinguishable_at_16px():
    ds = make_shapes(400, 16, seed=0)
    coverage = ds.images.max(axis=-1) / 255.0
    # Never cut off by the border: the outermost ring stays (almost) black.
    ring = np.concatenate([coverage[:, 0], coverage[:, -1], coverage[:, :, 0], coverage[:, :, -1]])
    assert ring.mean() < 0.02
    # Each image is its shape's mask; every other shape at the same pose overlaps it clearly
    # less (soft IoU), so the coarse factor is visible in the pixels, not only in the label.
    n = np.arange(len(ds))
    masks = np.stack([shape_masks(np.full(len(ds), k), ds.factors, 16) for k in range(4)], 1)
    assert np.abs(masks[n, ds.labels] - coverage).max() < 0.01
    own = masks[n, ds.labels][:, None]
    iou = np.minimum(masks, own).sum((2, 3)) / np.maximum(masks, own).sum((2, 3))
    iou[n, ds.labels] = 0
    assert np.median(iou.max(1)) < 0.7 and iou.max() < 0.85


def test_shapes_colour_is_the_hue_factor():
    ds = make_shapes(50, 32, seed=0)
    # Per channel, the brightest pixel is a fully covered one: the shape's colour.
    colour = ds.images.reshape(50, -1, 3).max(axis=1) / 255.0
    hue = np.array([colorsys.rgb_to_hsv(*c)[0] for c in colour])
    gap = np.abs(hue - ds.factors["hue"])
    assert np.minimum(gap, 1 - gap).max() < 0.01


def test_the_wrapping_factors_draw_the_same_image_a_period_apart():
    from ucgen.data.dataset import ImageDataset
    from ucgen.data.sources.shapes import PERIODS, SATURATION, VALUE, _hsv_to_rgb
    from ucgen.errors import DataError

    ds = make_shapes(8, 16, seed=0)
    assert ds.factor_periods == PERIODS and ds.subset(slice(0, 4)).factor_periods == PERIODS

    def turned(by: float) -> dict:
        return {**ds.factors, "rotation": ds.factors["rotation"] + by}

    for shape in (1, 3):  # square, cross: a quarter turn is the same image, an eighth is not
        kinds = np.full(len(ds), shape)
        still = shape_masks(kinds, ds.factors, 16)
        # edge samples may fall either side of a rounded edge: compare mean coverage
        assert np.abs(shape_masks(kinds, turned(PERIODS["rotation"]), 16) - still).mean() < 2e-3
        assert np.abs(shape_masks(kinds, turned(PERIODS["rotation"] / 2), 16) - still).mean() > 0.02
    near_wrap = _hsv_to_rgb(np.array([0.0, PERIODS["hue"] - 1e-3, 0.5]), SATURATION, VALUE)
    assert (
        np.abs(near_wrap[0] - near_wrap[1]).max() < 0.01 < np.abs(near_wrap[0] - near_wrap[2]).max()
    )
    with pytest.raises(DataError, match="factor period 'angle'"):
        ImageDataset(ds.images, None, "x", factors=ds.factors, factor_periods={"angle": 1.0})


@pytest.mark.parametrize("period", [0.0, -1.0, float("nan"), float("inf"), "1", True, None])
def test_a_factor_period_must_be_a_finite_positive_number(period):
    from ucgen.data.dataset import ImageDataset
    from ucgen.errors import DataError

    ds = make_shapes(4, 16, seed=0)
    with pytest.raises(DataError, match="factor period 'hue'.*finite period > 0"):
        ImageDataset(ds.images, None, "x", factors=ds.factors, factor_periods={"hue": period})
