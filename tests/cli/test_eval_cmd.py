"""`ucgen eval --samples FILE --data digits` end to end with a tiny reference network."""

import json

import numpy as np
import pytest
import torch

from ucgen.cli.main import main
from ucgen.data import load_dataset
from ucgen.evaluation import save_samples

TINY = ["--set", "eval.reference_width=4", "--set", "eval.reference_epochs=3"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One fresh cache for the module: the tiny reference network is trained once (on one
    torch thread: tiny networks gain nothing from two on a shared CPU)."""
    root = tmp_path_factory.mktemp("cache")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UCGEN_CACHE", str(root))
        yield root
    torch.set_num_threads(threads)


def test_eval_scores_real_images_as_near_perfect_samples(tmp_path, cache, capsys):
    train = load_dataset("digits", "train")
    # "Generated" images: real training digits, their class as the code.
    samples = save_samples(tmp_path / "s.npz", train.images[:400], train.labels[:400])
    out = tmp_path / "eval.json"
    assert (
        main(["eval", "--samples", str(samples), "--data", "digits", "--out", str(out), *TINY]) == 0
    )
    printed = capsys.readouterr().out
    assert "NOT comparable with published Inception FIDs" in printed
    assert "reference-cnn" in printed
    report = json.loads(out.read_text())
    assert report["features"]["name"].startswith("reference-cnn")
    assert report["samples"] == {"images": 400, "with_code": 400, "file": str(samples)}
    assert report["generation"]["precision"] > 0.5
    assert report["codes"]["used"] == 10
    assert report["control"]["weighted"] > 0.5
    assert len(report["fd_per_code"]) >= 5
    assert list(cache.glob("reference/digits-8px-*/model.safetensors"))  # cached for next time

    # Noise images are far from the data: FD much larger, lower coverage.
    noise = np.random.default_rng(0).integers(0, 256, (400, 8, 8, 1), dtype=np.uint8)
    save_samples(tmp_path / "n.npz", noise, np.full(400, -1))
    assert (
        main(
            [
                "eval",
                "--samples",
                str(tmp_path / "n.npz"),
                "--data",
                "digits",
                "--out",
                str(tmp_path / "n.json"),
                *TINY,
            ]
        )
        == 0
    )
    noisy = json.loads((tmp_path / "n.json").read_text())
    assert noisy["generation"]["fd"] > 5 * report["generation"]["fd"]
    assert noisy["generation"]["coverage"] < report["generation"]["coverage"]
    assert "control" not in noisy  # no codes, no control metrics


def test_eval_errors_are_one_clear_line(tmp_path, cache, capsys):
    assert main(["eval", "--samples", str(tmp_path / "missing.npz"), "--data", "digits"]) == 2
    assert "samples file not found" in capsys.readouterr().err
    colour = np.zeros((10, 8, 8, 3), np.uint8)
    save_samples(tmp_path / "c.npz", colour)
    assert (
        main(
            [
                "eval",
                "--samples",
                str(tmp_path / "c.npz"),
                "--data",
                "digits",
                "--out",
                str(tmp_path / "c.json"),
                *TINY,
            ]
        )
        == 2
    )
    assert "3 channels but digits has 1" in capsys.readouterr().err


def test_eval_reads_other_tools_samples(tmp_path, cache, capsys):
    """Grey (N, H, W) images without codes are scored; codes 100..109 are 10 codes of 10."""
    train = load_dataset("digits", "train")
    np.savez(tmp_path / "grey.npz", images=train.images[:200, ..., 0])
    np.savez(tmp_path / "ids.npz", images=train.images[:200], codes=train.labels[:200] + 100)
    for name in ("grey", "ids"):
        argv = ["eval", "--samples", str(tmp_path / f"{name}.npz"), "--data", "digits"]
        assert main([*argv, "--out", str(tmp_path / f"{name}.json"), *TINY]) == 0
    grey = json.loads((tmp_path / "grey.json").read_text())
    assert grey["samples"]["with_code"] == 0 and "codes" not in grey
    ids = json.loads((tmp_path / "ids.json").read_text())
    assert ids["codes"]["num_codes"] == 10 and ids["codes"]["used"] == 10
    assert "codes used     10/10," in capsys.readouterr().out
