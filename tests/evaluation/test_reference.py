"""Reference network: training, caching, strict reuse; features from user modules."""

import json

import numpy as np
import pytest
import torch

from ucgen.data import ImageDataset, load_dataset
from ucgen.errors import DataError, UcgenError
from ucgen.evaluation import ModuleFeatures, ReferenceConfig, get_reference, make_features
from ucgen.evaluation.reference import cache_key

TINY = ReferenceConfig(width=4, feature_dim=16, epochs=3)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "train"), load_dataset("digits", "test")


@pytest.fixture(scope="module")
def cached(tmp_path_factory, digits):
    """One tiny reference network trained into a fresh cache folder, shared by the tests."""
    root = tmp_path_factory.mktemp("cache")
    return root, get_reference(*digits, TINY, root=root)


def test_second_call_loads_the_cache_with_identical_predictions(cached, digits):
    train, test = digits
    root, first = cached
    folder = first.path
    assert (folder / "model.safetensors").is_file()
    recorded = json.loads((folder / "config.json").read_text())
    assert recorded["test_accuracy"] == first.accuracy
    assert recorded["train_fingerprint"] == train.fingerprint
    assert first.accuracy > 0.5  # 33 steps of a tiny net already learn digits

    mtime = (folder / "model.safetensors").stat().st_mtime_ns
    second = get_reference(train, test, TINY, root=root)
    assert (folder / "model.safetensors").stat().st_mtime_ns == mtime  # loaded, not retrained
    assert second.accuracy == first.accuracy
    np.testing.assert_array_equal(second.predict(test.images), first.predict(test.images))
    np.testing.assert_allclose(second.features(test.images), first.features(test.images))
    assert first.features(test.images[:5]).shape == (5, 16)


def test_training_is_deterministic_and_keyed_by_settings(tmp_path, cached, digits):
    train, test = digits
    _, a = cached
    b = get_reference(train, test, TINY, root=tmp_path)  # trained again, elsewhere
    assert b.path != a.path
    np.testing.assert_array_equal(a.features(test.images), b.features(test.images))
    other = ReferenceConfig(width=4, feature_dim=16, epochs=3, seed=1)
    assert cache_key(train, test, other) != cache_key(train, test, TINY)
    assert cache_key(train.subset(slice(0, 100)), test, TINY) != cache_key(train, test, TINY)


def test_other_resolution_and_channels_and_wrong_input(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 64)
    images = np.zeros((64, 12, 12, 3), np.uint8)
    images[np.arange(64), :, :, labels] = 200  # class = which colour channel is lit
    ds = ImageDataset(images, labels, "colours")
    ref = get_reference(ds, ds, ReferenceConfig(width=4, epochs=10, batch_size=16), root=tmp_path)
    assert ref.accuracy == 1.0
    with pytest.raises(DataError, match="takes 12x12x3 images"):
        ref.predict(images[:, :8, :8])


def test_unlabeled_data_is_refused(tmp_path, digits):
    unlabeled = ImageDataset(digits[0].images, None, "digits")
    with pytest.raises(DataError, match="needs labels"):
        get_reference(unlabeled, digits[1], TINY, root=tmp_path)


def test_user_module_features_and_feature_choice(cached, digits):
    conv = torch.nn.Conv2d(1, 5, 3)
    feats = ModuleFeatures(conv, "my-conv").features(digits[1].images[:7])
    assert feats.shape == (7, 5) and feats.dtype == np.float64  # spatial dims averaged
    ref = cached[1]
    assert make_features("reference", ref) is ref
    with pytest.raises(UcgenError, match="unknown features"):
        make_features("vgg", ref)
