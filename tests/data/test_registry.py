import numpy as np
import pytest

from ucgen.cli.main import main
from ucgen.data import SOURCES, ImageDataset, load_dataset
from ucgen.errors import DataError


def test_every_named_source_is_registered():
    load_dataset("digits")
    assert {"digits", "shapes", "mnist", "fashion-mnist", "cifar10"} <= set(SOURCES)


def test_unknown_name_lists_known_ones(capsys):
    with pytest.raises(DataError, match="known names are cifar10, digits, fashion-mnist"):
        load_dataset("imagenet")
    assert main(["data", "info", "imagenet"]) == 2
    assert "unknown data set 'imagenet'" in capsys.readouterr().err


def test_missing_path(tmp_path, capsys):
    with pytest.raises(DataError, match="no such file or folder") as err:
        load_dataset(str(tmp_path / "nope"))
    assert str(tmp_path / "nope") in str(err.value)
    assert main(["data", "info", str(tmp_path / "nope.npz")]) == 2
    assert "nope.npz: no such file or folder" in capsys.readouterr().err


def test_single_file_of_unknown_kind(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"cannot load a single \.png file"):
        load_dataset(str(tmp_path / "a.png"))


def test_bad_split_and_resolution():
    with pytest.raises(DataError, match="unknown split 'val'"):
        load_dataset("digits", split="val")
    with pytest.raises(DataError, match="at least 4"):
        load_dataset("digits", resolution=2)


def test_digits_splits_and_resolution():
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test", resolution=16)
    assert len(train) + len(test) == 1797
    assert test.images.shape[1:] == (16, 16, 1)


def test_fingerprint_stable_and_content_sensitive():
    images = np.zeros((3, 4, 4, 1), np.uint8)
    labels = np.array([0, 1, 2])
    a = ImageDataset(images, labels, "a")
    assert a.fingerprint == ImageDataset(images.copy(), labels.copy(), "b").fingerprint
    changed = images.copy()
    changed[1, 2, 3, 0] = 1
    assert ImageDataset(changed, labels, "a").fingerprint != a.fingerprint
    assert ImageDataset(images, np.array([0, 1, 1]), "a").fingerprint != a.fingerprint
    assert ImageDataset(images.reshape(3, 2, 8, 1), labels, "a").fingerprint != a.fingerprint
    assert load_dataset("shapes", "test").fingerprint == load_dataset("shapes", "test").fingerprint
