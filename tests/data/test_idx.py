from pathlib import Path

import numpy as np
import pytest
from fakes import idx_bytes, make_idx_folder, random_images, write_idx

from ucgen.cli.main import main
from ucgen.data import load_dataset
from ucgen.data.sources.idx import FASHION_CLASSES, read_idx
from ucgen.errors import DataError

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def no_user_data(tmp_path, monkeypatch):
    """Named sets must not find the user's cache or env folders during tests."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("UCGEN_MNIST", "UCGEN_FASHION_MNIST", "UCGEN_CIFAR10"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip(tmp_path, gz):
    array = random_images(3, 4, 5)
    path = write_idx(tmp_path / ("x.idx" + (".gz" if gz else "")), array)
    assert np.array_equal(read_idx(path), array)


def test_idx_float_dtype_is_read_natively(tmp_path):
    array = np.arange(6, dtype=">f4").reshape(2, 3)
    out = read_idx(write_idx(tmp_path / "f.idx", array))
    assert out.dtype == np.float32 and np.array_equal(out, array)


def test_idx_folder_splits_labels_resolution(tmp_path):
    folder = make_idx_folder(tmp_path / "digits-idx")
    train = load_dataset(str(folder), "train")
    test = load_dataset(str(folder), "test", resolution=8)
    assert train.images.shape == (12, 6, 6, 1) and train.name == "digits-idx"
    assert list(train.labels[:3]) == [0, 1, 2]
    assert test.images.shape == (5, 8, 8, 1)


def test_idx_folder_without_labels(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", random_images(4))
    ds = load_dataset(str(tmp_path), "train")
    assert ds.labels is None and len(ds) == 4
    with pytest.raises(DataError, match="no IDX images file for the test split"):
        load_dataset(str(tmp_path), "test")


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b[:-7], "truncated"),
        (lambda b: b + b"\0\0", "longer than its header"),
        (lambda b: b"\x08\x03" + b[2:], "bad magic number"),
        (lambda b: b[:6], "truncated IDX header"),
    ],
)
def test_corrupt_idx_names_the_file(tmp_path, mangle, message):
    folder = make_idx_folder(tmp_path / "set", gz=False)
    bad = folder / "train-images-idx3-ubyte"
    bad.write_bytes(mangle(bad.read_bytes()))
    with pytest.raises(DataError, match=message) as err:
        load_dataset(str(folder))
    assert str(bad) in str(err.value)


def test_truncated_gzip_names_the_file(tmp_path):
    folder = make_idx_folder(tmp_path / "set")
    bad = folder / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(DataError, match="cannot read") as err:
        load_dataset(str(folder))
    assert str(bad) in str(err.value)


def test_idx_label_count_mismatch(tmp_path, capsys):
    folder = make_idx_folder(tmp_path / "set", gz=False)
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(11, np.uint8))
    with pytest.raises(DataError, match="11 labels for 12 images"):
        load_dataset(str(folder))
    assert main(["data", "info", str(folder), "--preview", str(tmp_path / "p.png")]) == 2
    assert "11 labels for 12 images" in capsys.readouterr().err


def test_idx_float_images_refused(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((2, 3, 3), ">f4")))
    with pytest.raises(DataError, match="expected uint8 images"):
        load_dataset(str(tmp_path))


def test_named_mnist_from_root_and_env(tmp_path, monkeypatch):
    folder = make_idx_folder(tmp_path / "m")
    assert len(load_dataset("mnist", "test", root=folder)) == 5
    monkeypatch.setenv("UCGEN_MNIST", str(folder))
    ds = load_dataset("mnist")
    assert ds.name == "mnist" and ds.class_names[0] == "0" and len(ds) == 12


def test_named_mnist_from_user_cache(tmp_path):
    make_idx_folder(tmp_path / "home" / ".cache" / "ucgen" / "mnist")
    assert len(load_dataset("mnist")) == 12


def test_named_fashion_mnist_class_names(tmp_path):
    ds = load_dataset("fashion-mnist", root=make_idx_folder(tmp_path / "f"))
    assert ds.class_names == FASHION_CLASSES and ds.class_names[0] == "T-shirt/top"


def test_named_set_missing_says_how_to_supply(tmp_path, capsys):
    with pytest.raises(DataError) as err:
        load_dataset("mnist")
    message = str(err.value)
    for part in (
        "train-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        "UCGEN_MNIST",
        "ucgen data download mnist",
        str(tmp_path / "home" / ".cache/ucgen/mnist"),
    ):
        assert part in message
    assert main(["data", "info", "fashion-mnist", "--data-root", str(tmp_path / "none")]) == 2
    err_text = capsys.readouterr().err
    assert err_text.startswith("ucgen: error: fashion-mnist: data files not found")
    assert "UCGEN_FASHION_MNIST" in err_text


def test_named_set_partly_missing_lists_the_missing_file(tmp_path):
    folder = make_idx_folder(tmp_path / "m")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="which lacks t10k-labels-idx1-ubyte"):
        load_dataset("mnist", root=folder)


@pytest.mark.skipif(
    not (FASHION / "t10k-images-idx3-ubyte.gz").exists(), reason="Fashion-MNIST is not installed"
)
def test_real_fashion_mnist():
    train, test = load_dataset("fashion-mnist", "train"), load_dataset("fashion-mnist", "test")
    assert train.images.shape == (60000, 28, 28, 1)
    assert test.images.shape == (10000, 28, 28, 1)
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert test.class_names == FASHION_CLASSES
