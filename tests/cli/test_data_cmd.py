"""`ucgen data info` on every kind of source, and `ucgen data download` offline."""

import pickle
import urllib.error

import numpy as np
import pytest
from PIL import Image

from ucgen.cli.main import main
from ucgen.data import download as dl


def idx_file(path, array):
    dims = np.array(array.shape, ">u4").tobytes()
    path.write_bytes(bytes([0, 0, 8, array.ndim]) + dims + array.tobytes())


def make_sources(root):
    """One tiny source of each path kind; returns {kind: (path, images, channels)}."""
    rng = np.random.default_rng(0)
    np.savez(root / "arr.npz", images=rng.integers(0, 256, (5, 6, 6, 3), dtype=np.uint8))
    for i in range(4):
        folder = root / "imgs" / f"class{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("L", (7, 7), 40 * i).save(folder / f"{i}.png")
    (root / "idx").mkdir()
    idx_file(root / "idx" / "train-images-idx3-ubyte", rng.integers(0, 256, (3, 5, 5), np.uint8))
    idx_file(root / "idx" / "train-labels-idx1-ubyte", np.array([0, 1, 1], np.uint8))
    cifar = root / "cifar-10-batches-py"
    cifar.mkdir()
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        batch = {"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), "labels": [0, 1]}
        (cifar / name).write_bytes(pickle.dumps(batch, protocol=2))
    (cifar / "batches.meta").write_bytes(pickle.dumps({"label_names": ["cat", "dog"]}))
    return {
        "npz": (root / "arr.npz", 5, 6, 3),
        "folder": (root / "imgs", 4, 7, 1),
        "idx": (root / "idx", 3, 5, 1),
        "cifar": (cifar, 10, 32, 3),
    }


@pytest.mark.parametrize("kind", ["npz", "folder", "idx", "cifar"])
def test_info_on_paths(tmp_path, capsys, kind):
    path, n, size, channels = make_sources(tmp_path)[kind]
    preview = tmp_path / "out" / "preview.png"
    assert main(["data", "info", str(path), "--preview", str(preview)]) == 0
    out = capsys.readouterr().out
    assert f"images       {n}\n" in out
    assert f"shape        {size}x{size}, {channels} channel" in out
    with Image.open(preview) as im:
        im.load()
        assert im.mode == ("L" if channels == 1 else "RGB")


def test_info_shapes_prints_classes_factors_and_preview(tmp_path, capsys):
    preview = tmp_path / "shapes.png"
    args = ["data", "info", "shapes", "--split", "test", "--resolution", "16", "--n", "9"]
    assert main([*args, "--preview", str(preview)]) == 0
    out = capsys.readouterr().out
    assert "images       1000\n" in out and "shape        16x16, 3 channels" in out
    assert "labels       4 classes" in out and "circle" in out
    for factor in ("x", "y", "size", "rotation", "hue"):
        assert f"factor       {factor} " in out
    with Image.open(preview) as im:
        # 9 images of 16 px enlarged x2 in a 3x3 grid with 1 px padding.
        assert im.size == (3 * 33 + 1, 3 * 33 + 1)


def test_info_digits_default_preview_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "info", "digits", "--n", "4"]) == 0
    assert "labels       10 classes" in capsys.readouterr().out
    assert (tmp_path / "preview-digits.png").is_file()


def test_download_offline_exits_2_with_instructions(tmp_path, capsys, monkeypatch):
    def offline(url):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(dl, "fetch_url", offline)
    assert main(["data", "download", "mnist", "--root", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ucgen: error: mnist: download of train-images-idx3-ubyte.gz failed")
    assert "could not reach" in err and str(tmp_path / "m") in err and "UCGEN_MNIST" in err
