import numpy as np
import pytest

from ucgen.cli.main import main
from ucgen.data import load_dataset
from ucgen.errors import DataError


def images(n=6, shape=(5, 5)):
    return np.random.default_rng(0).integers(0, 256, (n, *shape), dtype=np.uint8)


def test_npz_grey_with_labels_serves_both_splits(tmp_path):
    path = tmp_path / "tiny.npz"
    np.savez(path, images=images(), labels=np.arange(6) % 2, class_names=np.array(["a", "b"]))
    train, test = load_dataset(str(path), "train"), load_dataset(str(path), "test")
    assert train.images.shape == (6, 5, 5, 1) and train.name == "tiny"
    assert train.class_names == ("a", "b")
    assert train.fingerprint == test.fingerprint


def test_npz_per_split_keys_and_resolution(tmp_path):
    path = tmp_path / "split.npz"
    np.savez(
        path,
        train_images=images(6, (5, 5, 3)),
        test_images=images(2, (5, 5, 3)),
        train_labels=np.zeros(6, np.int64),
    )
    assert load_dataset(str(path), "train").labels is not None
    test = load_dataset(str(path), "test", resolution=8)
    assert test.images.shape == (2, 8, 8, 3) and test.labels is None


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"images": images().astype(np.float32) / 255}, "dtype float32, expected uint8"),
        ({"images": images(), "labels": np.zeros(5, np.int64)}, "5 labels for 6 images"),
        ({"images": images(), "labels": np.zeros(6, np.float32)}, "1-D integer array"),
        ({"images": images(6, (3, 5, 5, 2))}, "channels last"),
        ({"pixels": images()}, "no 'images' array .*found keys: pixels"),
        (
            {"images": images(), "labels": np.full(6, 2), "class_names": np.array(["a", "b"])},
            "label 2 out of range",
        ),
    ],
)
def test_bad_npz_is_a_data_error_naming_the_file(tmp_path, capsys, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message) as err:
        load_dataset(str(path))
    assert str(path) in str(err.value)
    assert main(["data", "info", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"ucgen: error: {path}: ")


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really a zip", b"hello"])
def test_corrupt_npz(tmp_path, content):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"not a readable \.npz file") as err:
        load_dataset(str(path))
    assert str(path) in str(err.value)


def test_truncated_npz(tmp_path):
    path = tmp_path / "cut.npz"
    np.savez(path, images=images(50, (16, 16)))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"not a readable \.npz file"):
        load_dataset(str(path))


def test_object_arrays_are_not_unpickled(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, images=np.array([object()] * 3, dtype=object))
    with pytest.raises(DataError, match=r"not a readable \.npz file"):
        load_dataset(str(path))


def test_npy_saved_as_npz_and_empty_images(tmp_path):
    bare = tmp_path / "bare.npz"
    with open(bare, "wb") as f:
        np.save(f, images())
    with pytest.raises(DataError, match="one bare array"):
        load_dataset(str(bare))
    empty = tmp_path / "empty.npz"
    np.savez(empty, images=np.zeros((0, 4, 4), np.uint8))
    with pytest.raises(DataError, match="holds no images"):
        load_dataset(str(empty))
