"""`ucgen sample | traverse | flip | vary` on tiny cofi, labels and uncond runs, and the
Python API they mirror."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from tests.cli.tiny_runs import error_line, train_tiny
from ucgen.app.run_eval import evaluate_run
from ucgen.app.trained import MAX_SEED, TrainedModel
from ucgen.cli.main import main
from ucgen.errors import UcgenError
from ucgen.evaluation.samples import load_samples

STEPS = ["--steps", "2"]
TILE = 2 * 16 + 1  # 16x16 images are drawn at 2x, 1 px apart


def grid_size(rows: int, cols: int) -> tuple[int, int]:
    """(width, height) of a PNG grid of the tiny runs' images."""
    return cols * TILE + 1, rows * TILE + 1


def size(png):
    with Image.open(png) as im:
        return im.size


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {m: train_tiny(root, m) for m in ("cofi", "labels", "uncond")}


def sample(run, out, *extra):
    return main(["sample", str(run), "--n", "5", "--out", str(out), *STEPS, *extra])


def test_sample_grid_and_npz_cofi(runs, tmp_path):
    png = tmp_path / "grid.png"
    assert sample(runs["cofi"], tmp_path / "s.npz", "--png", str(png)) == 0
    assert size(png) == grid_size(rows=2, cols=3)  # 5 images, near-square
    s = load_samples(tmp_path / "s.npz")
    assert s.images.shape == (5, 16, 16, 3)
    assert ((s.codes >= 0) & (s.codes < 4)).all()  # tiny: 2 bits
    assert s.fine is not None and s.fine.shape == (5, 4)  # tiny: fine_dim 4


def test_default_grid_goes_to_run_samples(runs):
    assert main(["sample", str(runs["cofi"]), "--n", "4", *STEPS]) == 0
    assert size(runs["cofi"] / "samples" / "sample.png") == grid_size(rows=2, cols=2)


def test_sample_one_code_and_determinism(runs, tmp_path):
    assert sample(runs["cofi"], tmp_path / "c.npz", "--code", "3") == 0
    assert (load_samples(tmp_path / "c.npz").codes == 3).all()
    assert sample(runs["cofi"], tmp_path / "a.npz", "--seed", "7") == 0
    assert sample(runs["cofi"], tmp_path / "b.npz", "--seed", "7") == 0
    assert sample(runs["cofi"], tmp_path / "d.npz", "--seed", "8") == 0
    a, b, d = (load_samples(tmp_path / f"{k}.npz") for k in "abd")
    assert np.array_equal(a.images, b.images) and np.array_equal(a.fine, b.fine)
    assert not np.array_equal(a.images, d.images)


def test_python_api_mirrors_the_cli(runs, tmp_path):
    assert sample(runs["cofi"], tmp_path / "s.npz", "--seed", "3", "--code", "1") == 0
    cli = load_samples(tmp_path / "s.npz")
    images, cond = TrainedModel.load(runs["cofi"]).sample(5, seed=3, code=1, steps=2)
    assert np.array_equal(images, cli.images)
    assert np.array_equal(cond.code.numpy(), cli.codes)
    assert np.array_equal(cond.fine.numpy(), cli.fine)


def test_labels_codes_are_classes_and_uncond_has_none(runs, tmp_path):
    assert sample(runs["labels"], tmp_path / "l.npz") == 0
    labels = load_samples(tmp_path / "l.npz")
    assert ((labels.codes >= 0) & (labels.codes < 4)).all() and labels.fine is None
    assert sample(runs["labels"], tmp_path / "l2.npz", "--code", "2") == 0
    assert (load_samples(tmp_path / "l2.npz").codes == 2).all()
    assert sample(runs["uncond"], tmp_path / "u.npz") == 0
    uncond = load_samples(tmp_path / "u.npz")
    assert (uncond.codes == -1).all() and uncond.fine is None


def test_traverse_flip_vary_write_pictures(runs, tmp_path):
    run = runs["cofi"]
    argv = [str(run), *STEPS, "--png"]
    strip, flip, vary = tmp_path / "t.png", tmp_path / "f.png", tmp_path / "v.png"
    traverse = ["--code", "1", "--direction", "0", "--length", "3", "--rows", "1"]
    assert main(["traverse", *argv, str(strip), *traverse]) == 0
    assert main(["flip", *argv, str(flip), "--code", "1", "--bit", "1", "--n", "2"]) == 0
    real = tmp_path / "real.png"
    Image.new("RGB", (20, 20), (200, 30, 30)).save(real)
    for extra in ([], ["--new-fine"]):
        assert main(["vary", *argv, str(vary), "--image", str(real), "--n", "2", *extra]) == 0
    assert size(strip) == grid_size(rows=1, cols=3)
    assert size(flip) == grid_size(rows=2, cols=2)  # the codes, then the flipped codes
    assert size(vary) == grid_size(rows=2, cols=2)  # the real image, then 2 variations


def test_vary_strength_keeps_more_of_the_image_the_lower_it_is(runs):
    model = TrainedModel.load(runs["cofi"])
    image = (np.random.default_rng(0).random((1, 16, 16, 3)) * 255).astype(np.uint8)

    def distance(strength: float) -> float:
        variations, cond = model.vary(image, n=4, strength=strength, steps=4)
        assert variations.shape == (4, 16, 16, 3) and len(cond) == 4
        return np.abs(variations.astype(float) - image.astype(float)).mean()

    low, high = distance(0.2), distance(1.0)
    assert low < 0.5 * high


def test_eval_of_a_run_writes_where_out_says(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("UCGEN_CACHE", str(tmp_path / "cache"))
    run, out = runs["cofi"], tmp_path / "guided.json"
    argv = ["eval", str(run), "--n", "8", "--set", "sample.steps=2"]
    (run / "eval.json").unlink(missing_ok=True)
    assert main([*argv, "--set", "sample.guidance=2", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["sampling"]["guidance"] == 2
    assert not (run / "eval.json").exists()  # an earlier report of the run is not replaced
    assert main(argv) == 0
    assert json.loads((run / "eval.json").read_text())["sampling"]["guidance"] == 1


def test_evaluate_run_checks_n_and_out_before_any_work(runs, tmp_path):
    """n = 0 is not "unset" (it drew eval.num_samples and replaced RUN/eval.json); a bad `out`
    fails before the samples are drawn."""
    model = TrainedModel.load(runs["cofi"])
    (runs["cofi"] / "eval.json").unlink(missing_ok=True)
    with pytest.raises(UcgenError, match="eval.num_samples: must be >= 2, got 0"):
        evaluate_run(model, num_samples=0)
    assert not (runs["cofi"] / "eval.json").exists()
    with pytest.raises(UcgenError, match="it exists and is a folder"):
        evaluate_run(model, num_samples=8, out=tmp_path)


def test_stage1_generator(runs, tmp_path, capsys):
    assert sample(runs["cofi"], tmp_path / "g.npz", "--generator", "stage1") == 0
    assert load_samples(tmp_path / "g.npz").images.shape == (5, 16, 16, 3)
    assert (runs["cofi"] / "samples" / "stage1-sample.png").is_file()
    capsys.readouterr()
    assert sample(runs["uncond"], tmp_path / "x.npz", "--generator", "stage1") == 2
    line = error_line(capsys)
    assert "no generator 'stage1'" in line and "diffusion" in line


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "{missing}"], "run folder not found"),
        (["sample", "{tmp}"], "is not a ucgen run folder"),
        (["sample", "{cofi}", "--code", "99"], "code must be in [0, 4), got 99"),
        (["sample", "{uncond}", "--code", "1"], "has no codes"),
        (["flip", "{cofi}", "--code", "0", "--bit", "2"], "bit must be in [0, 2), got 2"),
        (["flip", "{labels}", "--code", "0", "--bit", "0"], "not bit-codes"),
        (["traverse", "{cofi}", "--code", "0", "--direction", "4"], "direction must be in [0, 4)"),
        (["traverse", "{labels}", "--code", "0", "--direction", "0"], "no fine vector"),
        (["traverse", "{uncond}", "--code", "0", "--direction", "0"], "no fine vector"),
        (["vary", "{cofi}", "--image", "{missing}"], "image not found"),
        (["vary", "{cofi}", "--image", "{text}"], "not a readable image"),
        (["vary", "{labels}", "--image", "{png}"], "no semantic encoder"),
        (["sample", "{cofi}", "--generator", "gan"], "it has diffusion, stage1"),
        (["sample", "{cofi}", "--n", "0"], "n must be >= 1, got 0"),
        (["sample", "{uncond}", "--n", "-3"], "n must be >= 1, got -3"),
        (["sample", "{cofi}", "--n", "2", "--steps", "0"], "steps: must be in [1, 1000], got 0"),
        (
            ["sample", "{cofi}", "--n", "2", "--guidance", "-1"],
            "sample.guidance: must be a finite number >= 0",
        ),
        (
            ["sample", "{cofi}", "--n", "2", "--guidance-fine", "-1"],
            "guidance_fine: must be a finite number >= 0",
        ),
        (["sample", "{cofi}", "--n", "2", "--out", "{text}"], "must end in one of .npz"),
        (["traverse", "{cofi}", "--code", "0", "--direction", "0", "--length", "1"], "length"),
        (["traverse", "{cofi}", "--code", "0", "--direction", "0", "--rows", "0"], "--rows"),
        (["flip", "{cofi}", "--code", "0", "--bit", "0", "--n", "0"], "n must be >= 1"),
        (["vary", "{cofi}", "--image", "{png}", "--n", "0"], "n must be >= 1"),
        (["vary", "{cofi}", "--image", "{png}", "--strength", "1.5"], "strength must be in (0, 1]"),
        (
            ["vary", "{cofi}", "--image", "{png}", "--generator", "stage1", "--strength", "0.5"],
            "stage-1 generator cannot start from an image",
        ),
        (["report", "{missing}"], "run folder not found"),
    ],
)
def test_bad_input_is_one_error_line(runs, tmp_path, capsys, argv, message):
    (tmp_path / "text.png").write_text("not an image")
    Image.new("RGB", (16, 16)).save(tmp_path / "real.png")
    names = {
        "missing": tmp_path / "missing",
        "tmp": tmp_path,
        "text": tmp_path / "text.png",
        "png": tmp_path / "real.png",
        **runs,
    }
    argv = [a.format(**{k: str(v) for k, v in names.items()}) for a in argv]
    steps = [] if argv[0] == "report" or "--steps" in argv else STEPS
    assert main([*argv, *steps]) == 2
    assert message in error_line(capsys)


def test_report_writes_html(runs, capsys):
    assert main(["report", str(runs["cofi"])]) == 0
    assert (runs["cofi"] / "report" / "index.html").is_file()
    assert "report written to" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_cuda_is_one_error_line(runs, capsys):
    assert main(["sample", str(runs["cofi"]), "--device", "cuda", *STEPS]) == 2
    assert "no CUDA device is available" in error_line(capsys)


def test_the_api_refuses_what_the_cli_refuses(runs):
    """Seeds, counts and guidance scales are checked in TrainedModel, for API users too."""
    model = TrainedModel.load(runs["cofi"])
    bad = [
        (lambda: model.sample(2, seed=-1, steps=2), "seed must be in [0, "),
        (lambda: model.sample(2, seed=MAX_SEED + 1, steps=2), "seed must be in [0, "),
        (lambda: model.conditions(10**9), "GiB"),
        (lambda: model.sample(2, steps=1001), "sample.steps: must be in [1, 1000]"),
        (lambda: model.sample(2, steps=2, guidance=float("nan")), "finite"),
        (lambda: model.flip(0, 0, n=2, steps=2, guidance_fine=float("inf")), "finite"),
        (lambda: model.traverse(0, 0, length=10**9), "length = 1000000000"),
        (lambda: model.vary(np.zeros((1, 16, 16, 3), np.uint8), seed=-2, steps=2), "seed"),
    ]
    for call, message in bad:
        with pytest.raises(UcgenError) as err:
            call()
        assert message in str(err.value)


def test_the_largest_seed_samples(runs):
    images, _ = TrainedModel.load(runs["cofi"]).sample(1, seed=MAX_SEED, steps=2)
    assert images.shape == (1, 16, 16, 3)


def test_sample_checks_its_outputs_before_sampling(runs, tmp_path, capsys):
    """A bad --out leaves no grid behind: every output is checked before any image is drawn."""
    png = tmp_path / "a.png"
    argv = ["sample", str(runs["cofi"]), "--png", str(png), "--out", "/proc/x.npz", *STEPS]
    assert main(argv) == 2
    assert "/proc/x.npz" in error_line(capsys)
    assert not png.exists()
    jpg = tmp_path / "new" / "b.jpg"  # a folder to make, a suffix save_grid knows
    assert main(["sample", str(runs["cofi"]), "--png", str(jpg), *STEPS]) == 0
    assert jpg.is_file()
