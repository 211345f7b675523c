"""Bad input, as a table: each row is a command a user might type, the exit code it must give,
the words its one-line message must hold, and the promise that a failed command changes no
file (the run it was pointed at, and every other file of the test's folder, stay byte for byte,
mode for mode, as they were). New commands join by adding rows.

Placeholders in a row's arguments: `{run}` a finished tiny CoFi run (a fresh copy per row),
`{tmp}` the row's own folder. A row's `prepare(run, tmp)` makes what it needs before the
snapshot is taken (a corrupt file, a special file, a symlink)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.cli.tiny_runs import train_tiny
from ucgen.cli.main import main
from ucgen.evaluation.samples import save_samples


@dataclass(frozen=True)
class Bad:
    """A command that must fail cleanly: exit `code`, one `ucgen: error:` line (or argparse's
    usage error) holding every word of `words` (case-insensitive), and no file changed."""

    argv: str
    words: tuple[str, ...]
    code: int = 2
    prepare: Callable[[Path, Path], None] | None = None


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under `root`: its kind, mode and content hash (or link target)."""
    seen = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            what = ("link", os.readlink(path))
        elif stat.S_ISREG(st.st_mode):
            what = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
        else:
            what = ("other",)
        seen[str(path.relative_to(root))] = (*what, stat.S_IMODE(st.st_mode))
    return seen


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("runs"), "cofi")


def run_bad(case: Bad, trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run one row and check its promises; returns the error message."""
    run = tmp_path / "run"
    shutil.copytree(trained, run, symlinks=True)
    work = tmp_path / "work"
    work.mkdir()
    if case.prepare is not None:
        case.prepare(run, work)
    argv = [a.format(run=run, tmp=work) for a in case.argv.split()]
    before = snapshot(tmp_path)
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert lines, "no message"
    message = lines[-1]
    assert code == case.code, err
    assert message.startswith("ucgen") and "error: " in message, err
    if message.startswith("ucgen: error: "):
        assert len(lines) == 1, err
    for word in case.words:
        assert word.lower() in message.lower(), (word, message)
    assert snapshot(tmp_path) == before, "a failed command changed files"
    return message


def rows(*cases: tuple[str, Bad]) -> list:
    return [pytest.param(case, id=name) for name, case in cases]


def _png(run: Path, tmp: Path) -> None:
    """An 8-bit RGB picture {tmp}/i.png for `vary`."""
    Image.new("RGB", (16, 16), (200, 30, 30)).save(tmp / "i.png")


def _file_f(run: Path, tmp: Path) -> None:
    """A plain file {tmp}/f where a folder is expected."""
    (tmp / "f").write_text("a file")


def _npz(run: Path, tmp: Path) -> None:
    """A valid samples file {tmp}/s.npz."""
    save_samples(tmp / "s.npz", np.zeros((4, 8, 8, 1), np.uint8))


def _text(run: Path, tmp: Path) -> None:
    """A text file {tmp}/x.txt."""
    (tmp / "x.txt").write_text("not samples")


def _float_tif(run: Path, tmp: Path) -> None:
    """A float (mode F) picture {tmp}/f.tif, of no stated range."""
    Image.fromarray(np.full((16, 16), 0.5, np.float32)).save(tmp / "f.tif")


# Sampling commands: sample, traverse, flip, vary.
SAMPLE = rows(
    ("sample-code-out-of-range", Bad("sample {run} --code 99 --steps 2", ("code", "99"))),
    ("sample-seed-negative", Bad("sample {run} --seed -1 --steps 2", ("seed", "got -1"))),
    (
        "sample-seed-too-large",
        Bad("sample {run} --seed 99999999999999999999999 --steps 2", ("seed", "2**63 - 1")),
    ),
    ("flip-seed-negative", Bad("flip {run} --code 0 --bit 0 --seed -1 --steps 2", ("seed",))),
    (
        "vary-seed-too-large",
        Bad("vary {run} --image {tmp}/i.png --seed 9223372036854775808", ("seed",), prepare=_png),
    ),
    (
        "traverse-last-row-seed-too-large",
        Bad(
            "traverse {run} --code 0 --direction 0 --rows 2 --seed 9223372036854775807",
            ("--seed + --rows - 1", "9223372036854775808"),
        ),
    ),
    ("sample-n-too-large", Bad("sample {run} --n 1000000000 --steps 2", ("GiB", "at most"))),
    (
        "traverse-too-many-images",
        Bad(
            "traverse {run} --code 0 --direction 0 --rows 100000 --length 100000",
            ("--rows x --length", "at most"),
        ),
    ),
    ("sample-guidance-nan", Bad("sample {run} --guidance nan", ("guidance", "finite", "nan"))),
    ("sample-guidance-inf", Bad("sample {run} --guidance inf", ("guidance", "finite", "inf"))),
    ("flip-guidance-fine-nan", Bad("flip {run} --code 0 --bit 0 --guidance-fine nan", ("finite",))),
    ("sample-steps-above-config-cap", Bad("sample {run} --steps 100000", ("[1, 1000]", "100000"))),
    (
        "sample-out-unwritable-leaves-no-png",
        Bad("sample {run} --png {tmp}/a.png --out /proc/x.npz --steps 2", ("/proc/x.npz",)),
    ),
    (
        "sample-png-in-a-file",
        Bad("sample {run} --png {tmp}/f/a.png --steps 2", ("not a folder",), prepare=_file_f),
    ),
    (
        "sample-png-bad-suffix",
        Bad("sample {run} --png {tmp}/a.txt --out {tmp}/s.npz --steps 2", (".png", ".jpg")),
    ),
    (
        "sample-distilled-without-one",
        Bad("sample {run} --generator distilled --steps 2", ("no distilled generator",)),
    ),
    (
        "sample-fewstep-without-one",
        Bad("sample {run} --generator fewstep", ("no fewstep generator", "step_distill_steps")),
    ),
    (
        "vary-float-image",
        Bad("vary {run} --image {tmp}/f.tif --steps 2", ("mode F", "8-bit"), prepare=_float_tif),
    ),
)

# Training: new runs, run names and folders, resume.
TRAIN = rows(
    ("rho-nan", Bad("train --preset tiny --set sample.rho=nan --dry-run", ("sample.rho", "nan"))),
    ("rho-negative", Bad("train --preset tiny --set sample.rho=-1 --dry-run", ("sample.rho",))),
    (
        "solver-unknown",
        Bad("train --preset tiny --set sample.solver=rk4 --dry-run", ("sample.solver", "rk4")),
    ),
    (
        "fine-schedule-unknown",
        Bad(
            "train --preset tiny --set diffusion.fine_schedule=stepped --dry-run",
            ("diffusion.fine_schedule", "stepped"),
        ),
    ),
    (
        "fine-schedule-number",
        Bad("train --preset tiny --set diffusion.fine_schedule=3 --dry-run", ("fine_schedule",)),
    ),
    (
        "rcg-steps-negative",
        Bad(
            "train --preset tiny --method rcg --set rcg.encoder_steps=-1 --dry-run",
            ("rcg.encoder_steps",),
        ),
    ),
    (
        "rcg-wrong-type",
        Bad(
            "train --preset tiny --method rcg --set rcg.temperature=x --dry-run",
            ("rcg.temperature",),
        ),
    ),
    (
        "fine-encoder-steps-negative",
        Bad(
            "train --preset tiny --set cofi.fine_encoder_steps=-1 --dry-run",
            ("cofi.fine_encoder_steps",),
        ),
    ),
    (
        "config-guidance-inf",  # the schema itself refuses it, for every command that reads it
        Bad(
            "train --preset tiny --set sample.guidance=inf --dry-run", ("sample.guidance", "finite")
        ),
    ),
    ("resume-missing", Bad("train --resume {tmp}/nothing", ("not found",))),
    (
        "resume-a-file",
        Bad(
            "train --resume {tmp}/file",
            ("is a file",),
            prepare=lambda run, tmp: (tmp / "file").write_text("x"),
        ),
    ),
    ("resume-bits", Bad("train --resume {run} --set cofi.bits=3", ("cofi.bits", "new run"))),
    (
        "resume-width",
        Bad("train --resume {run} --set diffusion.width=16", ("diffusion.width", "new run")),
    ),
    ("resume-method", Bad("train --resume {run} --set train.method=uncond", ("train.method",))),
    ("resume-seed", Bad("train --resume {run} --set train.seed=5", ("train.seed", "data order"))),
    ("resume-lr", Bad("train --resume {run} --set cofi.lr=0.001", ("cofi.lr", "optimiser"))),
    (
        "resume-shorter",
        Bad("train --resume {run} --set diffusion.steps=2", ("diffusion.steps", "trained 4")),
    ),
    (
        "resume-finished-stage-longer",
        Bad("train --resume {run} --set cofi.steps=8", ("cofi.steps", "finished")),
    ),
    (
        "resume-dry-run-bits",
        Bad("train --resume {run} --set cofi.bits=3 --dry-run", ("cofi.bits",)),
    ),
    (
        "seed-negative",
        Bad(
            "train --preset tiny --runs-dir {tmp} --set train.seed=-1",
            ("train.seed", "[0, 4294967295]"),
        ),
    ),
    (
        "seed-too-big",
        Bad("train --preset tiny --runs-dir {tmp} --set train.seed=4294967296", ("train.seed",)),
    ),
    (
        "seed-negative-dry-run",
        Bad("train --preset tiny --runs-dir {tmp} --set train.seed=-1 --dry-run", ("train.seed",)),
    ),
    (
        "stage1-steps-zero",
        Bad("train --preset tiny --runs-dir {tmp} --set cofi.steps=0", ("cofi.steps", ">= 1")),
    ),
    (
        "diffusion-steps-zero",
        Bad(
            "train --preset tiny --runs-dir {tmp} --set diffusion.steps=0",
            ("diffusion.steps", ">= 1"),
        ),
    ),
    (
        "runs-dir-a-file",
        Bad(
            "train --preset tiny --runs-dir {tmp}/file",
            ("is a file",),
            prepare=lambda run, tmp: (tmp / "file").write_text("x"),
        ),
    ),
    (
        "runs-dir-under-a-file",
        Bad(
            "train --preset tiny --runs-dir {tmp}/file/runs",
            ("is a file",),
            prepare=lambda run, tmp: (tmp / "file").write_text("x"),
        ),
    ),
    (
        "name-with-slash",
        Bad("train --preset tiny --runs-dir {tmp} --name a/b", ("run name", "a/b")),
    ),
    (
        "name-escapes",
        Bad("train --preset tiny --runs-dir {tmp} --name ../escape", ("run name", "../escape")),
    ),
    ("name-dot-dot", Bad("train --preset tiny --runs-dir {tmp} --name ..", ("run name",))),
    (
        "distill-steps-not-a-number",
        Bad("train --preset tiny --set diffusion.distill_steps=abc --dry-run", ("distill_steps",)),
    ),
    (
        "distill-steps-nan",
        Bad("train --preset tiny --set diffusion.distill_steps=nan --dry-run", ("distill_steps",)),
    ),
    (
        "demo-method-unknown",
        Bad("demo --preset tiny --runs-dir {tmp} --method nosuch", ("nosuch", "rcg")),
    ),
    (
        "distill-steps-negative",
        Bad("train --preset tiny --set diffusion.distill_steps=-1 --dry-run", ("distill_steps",)),
    ),
    (
        "step-distill-steps-negative",
        Bad(
            "train --preset tiny --set diffusion.step_distill_steps=-2 --dry-run",
            ("step_distill_steps", "-2"),
        ),
    ),
    (
        "step-distill-steps-not-a-number",
        Bad(
            "train --preset tiny --set diffusion.step_distill_steps=abc --dry-run",
            ("step_distill_steps",),
        ),
    ),
    (
        "step-distill-levels-huge",
        Bad(
            "train --preset tiny --set diffusion.step_distill_levels=101 --dry-run",
            ("step_distill_levels", "[1, 100]"),
        ),
    ),
    (
        "rcg-aug-crop-whole",
        Bad(
            "train --preset tiny --method rcg --set rcg.aug_crop=1 --dry-run",
            ("rcg.aug_crop", "[0, 1)"),
        ),
    ),
    (
        "rcg-aug-crop-negative",
        Bad(
            "train --preset tiny --method rcg --set rcg.aug_crop=-0.1 --dry-run",
            ("rcg.aug_crop", "[0, 1)"),
        ),
    ),
    (
        "rcg-aug-crop-nan",
        Bad(
            "train --preset tiny --method rcg --set rcg.aug_crop=nan --dry-run",
            ("rcg.aug_crop", "[0, 1)"),
        ),
    ),
    (
        "rcg-aug-crop-not-a-number",
        Bad(
            "train --preset tiny --method rcg --set rcg.aug_crop=abc --dry-run",
            ("aug_crop",),
        ),
    ),
    (
        "step-distill-levels-zero",
        Bad(
            "train --preset tiny --set diffusion.step_distill_levels=0 --dry-run",
            ("step_distill_levels", "[1, 100]"),
        ),
    ),
)

# Where outputs go: special files, symlinks, folders, suffixes.
OUTPUTS = rows(
    ("sample-out-not-npz", Bad("sample {run} --out {tmp}/s.txt --steps 2", (".npz",))),
    ("sample-png-gif", Bad("sample {run} --png {tmp}/s.gif --steps 2", ("'.gif'", ".png", ".jpg"))),
    ("sample-png-no-suffix", Bad("sample {run} --png {tmp}/s --steps 2", ("no suffix", ".png"))),
    ("sample-png-dev-null", Bad("sample {run} --png /dev/null --steps 2", ("not a regular file",))),
    (
        "sample-png-fifo",
        Bad(
            "sample {run} --png {tmp}/f.png --steps 2",
            ("f.png", "not a regular file"),
            prepare=lambda run, tmp: os.mkfifo(tmp / "f.png"),
        ),
    ),
    (
        "sample-png-folder",
        Bad(
            "sample {run} --png {tmp}/d.png --steps 2",
            ("d.png", "is a folder"),
            prepare=lambda run, tmp: (tmp / "d.png").mkdir(),
        ),
    ),
    (
        "sample-png-link-to-device",
        Bad(
            "sample {run} --png {tmp}/l.png --steps 2",
            ("l.png", "not a regular file"),
            prepare=lambda run, tmp: (tmp / "l.png").symlink_to("/dev/null"),
        ),
    ),
    (
        "sample-png-under-a-file",
        Bad(
            "sample {run} --png {tmp}/f/s.png --steps 2",
            ("is not a folder",),
            prepare=lambda run, tmp: (tmp / "f").write_text("x"),
        ),
    ),
    (
        "traverse-png-gif",
        Bad("traverse {run} --code 0 --direction 0 --png {tmp}/t.gif --steps 2", ("'.gif'",)),
    ),
    (
        "report-eval-json-cut",
        Bad(
            "report {run}",
            ("eval.json", "not valid json", "ucgen eval"),
            prepare=lambda run, tmp: (run / "eval.json").write_text('{"fd": 1'),
        ),
    ),
    (
        "report-folder-is-a-file",
        Bad(
            "report {run}",
            ("report", "is not a folder"),
            prepare=lambda run, tmp: (run / "report").write_text("mine"),
        ),
    ),
    (
        "report-index-is-a-folder",
        Bad(
            "report {run}",
            ("index.html", "is a folder"),
            prepare=lambda run, tmp: (run / "report" / "index.html").mkdir(parents=True),
        ),
    ),
)

# Evaluation, clustering, reports and data commands.
EVAL = rows(
    ("serve-missing-run", Bad("serve {tmp}/nothing", ("not found",))),
    (
        "interpolate-missing-image",
        Bad("interpolate {run} --image {tmp}/a.png --image {tmp}/b.png", ("a.png",)),
    ),
    ("eval-missing-run", Bad("eval {tmp}/nothing", ("not found",))),
    (
        "download-root-a-file",  # refused before the network is tried
        Bad("data download mnist --root {tmp}/f", ("is not a folder",), prepare=_file_f),
    ),
    ("eval-n-zero-is-not-unset", Bad("eval {run} --n 0", ("eval.num_samples", "got 0"))),
    ("eval-n-one", Bad("eval {run} --n 1", ("eval.num_samples", ">= 2"))),
    ("eval-n-too-large", Bad("eval {run} --n 1000000000", ("GiB",))),
    ("eval-out-unwritable-first", Bad("eval {run} --n 8 --out /proc/e.json", ("/proc/e.json",))),
    ("eval-out-a-folder", Bad("eval {run} --n 8 --out {tmp}", ("a folder",))),
    (
        "eval-samples-out-first",
        Bad("eval --samples {tmp}/s.npz --data digits --out {tmp}", ("a folder",), prepare=_npz),
    ),
    (
        "eval-samples-not-npz",
        Bad("eval --samples {tmp}/x.txt --data digits", ("not an .npz",), prepare=_text),
    ),
    ("cluster-per-code-zero", Bad("cluster {run} --data shapes --per-code 0", ("--per-code",))),
    ("cluster-per-code-negative", Bad("cluster {run} --data shapes --per-code -1", ("got -1",))),
    (
        "cluster-out-in-a-file",
        Bad("cluster {run} --data shapes --out {run}/config.json", ("not a folder",)),
    ),
    ("data-info-n-zero", Bad("data info digits --n 0", ("--n must be >= 1",))),
    ("data-info-preview-suffix", Bad("data info digits --preview {tmp}/p.txt", (".png",))),
)


@pytest.mark.parametrize("case", SAMPLE + TRAIN + OUTPUTS + EVAL)
def test_bad_input_fails_cleanly_and_changes_nothing(case, trained, tmp_path, capsys):
    run_bad(case, trained, tmp_path, capsys)
