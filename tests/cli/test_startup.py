"""The command line answers at once: building the parser and refusing a bad path import no
torch (about 1 s of a command's start on a 2-core CPU), nor the evaluation stack."""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "scipy", "matplotlib", "umap")

PROBE = """
import json, sys
from ucgen.cli.main import main
heavy_names = set(sys.argv[1].split(","))
try:
    code = main(sys.argv[2:])
except SystemExit as exit_:
    code = exit_.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & heavy_names)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def _start(*argv: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(HEAVY), *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["sample", "--help"],
        ["train", "--help"],
        ["sample", "/nonexistent-run"],
        ["eval", "/nonexistent-run"],
        ["cluster", "/nonexistent-run", "--data", "digits"],
        ["train", "--preset", "no-such-preset"],
        ["data", "info", "digits", "--n", "0"],
        ["report", "/nonexistent-run"],
        ["serve", "/nonexistent-run"],
        ["serve", "--help"],
    ],
    ids=" ".join,
)
def test_help_and_argument_errors_import_no_heavy_module(argv):
    result = _start(*argv)
    assert result["code"] in (0, 2)
    assert result["heavy"] == [], f"{argv} imported {result['heavy']}"
