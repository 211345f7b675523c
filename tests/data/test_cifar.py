import os
import pickle

import numpy as np
import pytest
from fakes import CIFAR_CLASSES, make_cifar_folder

from ucgen.cli.main import main
from ucgen.data import load_dataset
from ucgen.errors import DataError


@pytest.fixture(autouse=True)
def no_user_data(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("UCGEN_CIFAR10", raising=False)


@pytest.mark.parametrize("protocol", [2, 5])
def test_cifar_batches_splits_and_layout(tmp_path, protocol):
    folder = make_cifar_folder(tmp_path / "cifar-10-batches-py", protocol=protocol)
    train = load_dataset("cifar10", "train", root=folder)
    test = load_dataset("cifar10", "test", root=tmp_path)  # the parent works too
    assert train.images.shape == (10, 32, 32, 3) and len(test) == 2
    assert train.class_names == tuple(CIFAR_CLASSES)
    # Rows are planar R, G, B: pixel (0, 1) red is value 1 of the row.
    row = pickle.loads((folder / "test_batch").read_bytes())["data"][0]
    assert test.images[0, 0, 1, 0] == row[1] and test.images[0, 0, 0, 2] == row[2048]


def test_cifar_from_env_and_as_path(tmp_path, monkeypatch):
    folder = make_cifar_folder(tmp_path / "c" / "cifar-10-batches-py")
    monkeypatch.setenv("UCGEN_CIFAR10", str(tmp_path / "c"))
    assert load_dataset("cifar10", "test", resolution=16).images.shape == (2, 16, 16, 3)
    ds = load_dataset(str(folder), "train")
    assert ds.name == "cifar-10-batches-py" and len(ds) == 10


def test_pickle_with_code_is_refused(tmp_path):
    folder = make_cifar_folder(tmp_path / "cifar-10-batches-py")
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (folder / "test_batch").write_bytes(pickle.dumps({"data": Exploit()}, protocol=2))
    with pytest.raises(DataError, match="refusing to load") as err:
        load_dataset(str(folder), "test")
    assert str(folder / "test_batch") in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (b"\x80\x02garbage", "not a readable CIFAR batch"),
        (pickle.dumps([1, 2]), "holds a list"),
        (pickle.dumps({"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}), "uint8 array"),
        (
            pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}),
            "1 labels for 2 images",
        ),
    ],
)
def test_bad_batch_names_the_file(tmp_path, capsys, batch, message):
    folder = make_cifar_folder(tmp_path / "cifar-10-batches-py")
    (folder / "test_batch").write_bytes(batch)
    with pytest.raises(DataError, match=message):
        load_dataset(str(folder), "test")
    assert main(["data", "info", str(folder), "--split", "test"]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'test_batch'}" in err and message in err


def test_missing_batch_is_named(tmp_path):
    folder = make_cifar_folder(tmp_path / "cifar-10-batches-py")
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3"):
        load_dataset(str(folder), "train")


def test_cifar_root_may_be_any_folder_holding_the_batches(tmp_path):
    folder = make_cifar_folder(tmp_path / "my-cifar")
    assert len(load_dataset("cifar10", "test", root=folder)) == 2
