import dataclasses
import gzip
import hashlib
import io
import tarfile
import urllib.error

import numpy as np
import pytest
from fakes import idx_bytes, make_cifar_folder, random_images

from ucgen.cli.main import main
from ucgen.data import download as dl
from ucgen.data import load_dataset
from ucgen.errors import DataError


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No test here may touch the network or the user's folders."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("UCGEN_MNIST", "UCGEN_FASHION_MNIST", "UCGEN_CIFAR10"):
        monkeypatch.delenv(var, raising=False)

    def offline(url):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(dl, "fetch_url", offline)


def serve(monkeypatch, files: dict[str, bytes]) -> list[str]:
    """Answer fetch_url from `files` by base name, and pin the expected MD5s to them."""
    asked = []

    def fetch(url):
        asked.append(url)
        return files[url.rsplit("/", 1)[1]]

    monkeypatch.setattr(dl, "fetch_url", fetch)
    for spec in dl.PUBLIC_SETS.values():
        remotes = tuple(
            dl.Remote(r.filename, r.urls, hashlib.md5(files[r.filename]).hexdigest())
            if r.filename in files
            else r
            for r in spec.remotes
        )
        monkeypatch.setitem(dl.PUBLIC_SETS, spec.name, dataclasses.replace(spec, remotes=remotes))
    return asked


def test_offline_download_says_host_folder_files_and_env_var(tmp_path, capsys):
    with pytest.raises(DataError) as err:
        dl.download("mnist", tmp_path / "m")
    message = str(err.value)
    assert "could not reach ossci-datasets.s3.amazonaws.com" in message
    assert "could not reach yann.lecun.com" in message  # every mirror was tried
    for part in (str(tmp_path / "m"), "train-images-idx3-ubyte", "UCGEN_MNIST"):
        assert part in message
    assert not list((tmp_path / "m").glob("*"))  # nothing half-written
    assert main(["data", "download", "cifar10", "--root", str(tmp_path / "c")]) == 2
    err_text = capsys.readouterr().err
    assert "could not reach www.cs.toronto.edu" in err_text
    assert "UCGEN_CIFAR10" in err_text and "cifar-10-batches-py" in err_text


def test_download_idx_set_then_load(tmp_path, monkeypatch, capsys):
    files = {}
    for name, n in (("train", 7), ("t10k", 3)):
        files[f"{name}-images-idx3-ubyte.gz"] = gzip.compress(idx_bytes(random_images(n)))
        labels = np.arange(n, dtype=np.uint8)
        files[f"{name}-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(labels))
    serve(monkeypatch, files)
    assert main(["data", "download", "fashion-mnist", "--root", str(tmp_path / "f")]) == 0
    assert str(tmp_path / "f") in capsys.readouterr().out
    assert len(load_dataset("fashion-mnist", "test", root=tmp_path / "f")) == 3


def test_download_defaults_to_env_folder_and_keeps_present_files(tmp_path, monkeypatch):
    monkeypatch.setenv("UCGEN_CIFAR10", str(tmp_path / "env"))
    make_cifar_folder(tmp_path / "env" / "cifar-10-batches-py")
    # Already complete: no fetch at all (the offline fetch would raise).
    assert dl.download("cifar10") == tmp_path / "env" / "cifar-10-batches-py"


def test_download_cifar_archive_extracts_only_expected_members(tmp_path, monkeypatch):
    src = make_cifar_folder(tmp_path / "src" / "cifar-10-batches-py")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(src.iterdir()):
            tar.add(path, arcname=f"cifar-10-batches-py/{path.name}")
        extra = tmp_path / "src" / "evil.sh"
        extra.write_text("echo hi")
        tar.add(extra, arcname="../evil.sh")
    serve(monkeypatch, {"cifar-10-python.tar.gz": buf.getvalue()})
    folder = dl.download("cifar10", tmp_path / "dst")
    assert folder == tmp_path / "dst" / "cifar-10-batches-py"
    assert sorted(p.name for p in folder.iterdir()) == sorted(dl.CIFAR_FILES)
    assert not (tmp_path / "evil.sh").exists() and not (tmp_path / "dst" / "evil.sh").exists()
    assert len(load_dataset("cifar10", "test", root=tmp_path / "dst")) == 2


def test_checksum_mismatch_writes_nothing(tmp_path, monkeypatch):
    asked = serve(monkeypatch, {})
    monkeypatch.setattr(dl, "fetch_url", lambda url: asked.append(url) or b"not mnist")
    with pytest.raises(DataError, match=r"gave MD5 .* expected f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        dl.download("mnist", tmp_path / "m")
    assert not (tmp_path / "m").exists() or not list((tmp_path / "m").iterdir())
    assert len(asked) == len(dl.MNIST_URLS)


def test_unknown_download_name():
    with pytest.raises(DataError, match="downloadable sets are cifar10, fashion-mnist, mnist"):
        dl.download("shapes")


def test_download_fetches_only_missing_files(tmp_path, monkeypatch):
    labels = gzip.compress(idx_bytes(np.arange(3, dtype=np.uint8)))
    asked = serve(monkeypatch, {"t10k-labels-idx1-ubyte.gz": labels})
    folder = tmp_path / "m"
    folder.mkdir()
    for name in dl.IDX_FILES[:3]:
        (folder / name).write_bytes(b"present")
    assert dl.download("mnist", folder) == folder
    assert [url.rsplit("/", 1)[1] for url in asked] == ["t10k-labels-idx1-ubyte.gz"]
    assert (folder / "t10k-labels-idx1-ubyte.gz").read_bytes() == labels
