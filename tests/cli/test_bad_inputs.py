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

import pytest

from tests.cli.tiny_runs import train_tiny
from ucgen.cli.main import main


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


# Sampling commands: sample, traverse, flip, vary.
SAMPLE = rows(
    ("sample-code-out-of-range", Bad("sample {run} --code 99 --steps 2", ("code", "99"))),
)

# Training: new runs, run names and folders, resume.
TRAIN = rows(
    ("resume-missing", Bad("train --resume {tmp}/nothing", ("not found",))),
    (
        "resume-a-file",
        Bad(
            "train --resume {tmp}/file",
            ("is a file",),
            prepare=lambda run, tmp: (tmp / "file").write_text("x"),
        ),
    ),
    ("resume-bits", Bad("train --resume {run} --set stage1.bits=3", ("stage1.bits", "new run"))),
    (
        "resume-width",
        Bad("train --resume {run} --set diffusion.width=16", ("diffusion.width", "new run")),
    ),
    ("resume-method", Bad("train --resume {run} --set train.method=uncond", ("train.method",))),
    ("resume-seed", Bad("train --resume {run} --set train.seed=5", ("train.seed", "data order"))),
    ("resume-lr", Bad("train --resume {run} --set stage1.lr=0.001", ("stage1.lr", "optimiser"))),
    (
        "resume-shorter",
        Bad("train --resume {run} --set diffusion.steps=2", ("diffusion.steps", "trained 4")),
    ),
    (
        "resume-finished-stage-longer",
        Bad("train --resume {run} --set stage1.steps=8", ("stage1.steps", "finished")),
    ),
    (
        "resume-dry-run-bits",
        Bad("train --resume {run} --set stage1.bits=3 --dry-run", ("stage1.bits",)),
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
        Bad("train --preset tiny --runs-dir {tmp} --set stage1.steps=0", ("stage1.steps", ">= 1")),
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
    ("eval-missing-run", Bad("eval {tmp}/nothing", ("not found",))),
)


@pytest.mark.parametrize("case", SAMPLE + TRAIN + OUTPUTS + EVAL)
def test_bad_input_fails_cleanly_and_changes_nothing(case, trained, tmp_path, capsys):
    run_bad(case, trained, tmp_path, capsys)
