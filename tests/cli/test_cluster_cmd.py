"""`ucgen cluster` on a tiny cofi run: codes of every test image, galleries, NMI; bad data."""

import json

import numpy as np
import pytest

from tests.cli.tiny_runs import error_line, train_tiny
from ucgen.cli.main import main
from ucgen.data import load_dataset


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {m: train_tiny(root, m) for m in ("cofi", "labels")}


def test_cluster_writes_codes_galleries_and_metrics(runs, tmp_path, capsys):
    out = tmp_path / "clusters"
    assert main(["cluster", str(runs["cofi"]), "--data", "shapes", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    test = load_dataset("shapes", split="test", resolution=16)
    with np.load(out / "codes.npz") as f:
        codes, fine = f["codes"], f["fine"]
    assert codes.shape == (len(test),) and ((codes >= 0) & (codes < 4)).all()
    assert fine.shape == (len(test), 4)
    summary = json.loads((out / "clusters.json").read_text())
    assert summary["images"] == len(test)
    assert set(summary["metrics"]) == {"nmi", "ari", "purity", "hungarian_accuracy"}
    assert f"nmi {summary['metrics']['nmi']:.3f}" in printed
    for code in np.unique(codes):
        assert (out / f"code-{code:03d}.png").is_file()


def test_cluster_default_folder_is_in_the_run(runs):
    assert main(["cluster", str(runs["cofi"]), "--data", "shapes", "--split", "train"]) == 0
    assert (runs["cofi"] / "clusters-shapes-train" / "codes.npz").is_file()


@pytest.mark.parametrize(
    "extra, message",
    [
        # digits are 8x8 grey: brought to the run's 16x16, still one channel, not three.
        (["--data", "digits"], "(1, 16, 16) (C, H, W) but the run was trained on (3, 16, 16)"),
        (["--data", "shapes", "--resolution", "8"], "pass --resolution or other data"),
        (["--data", "{missing}"], "no such file or folder"),
    ],
)
def test_cluster_bad_data_is_one_error_line(runs, tmp_path, capsys, extra, message):
    extra = [e.format(missing=tmp_path / "missing") for e in extra]
    assert main(["cluster", str(runs["cofi"]), *extra]) == 2
    assert message in error_line(capsys)


def test_cluster_needs_an_encoder_and_a_run(runs, tmp_path, capsys):
    assert main(["cluster", str(runs["labels"]), "--data", "shapes"]) == 2
    assert "no semantic encoder" in error_line(capsys)
    assert main(["cluster", str(tmp_path / "nope"), "--data", "shapes"]) == 2
    assert "run folder not found" in error_line(capsys)
