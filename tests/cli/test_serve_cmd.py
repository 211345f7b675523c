"""`ucgen serve` refuses what it cannot serve with one line, before binding anything."""

import pytest

from tests.cli.tiny_runs import error_line
from ucgen.cli.main import main


def test_serve_of_a_missing_run_is_one_error(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nope")]) == 2
    assert "run folder not found" in error_line(capsys)


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_serve_refuses_a_port_out_of_range(tmp_path, capsys, port):
    assert main(["serve", str(tmp_path), "--port", port]) == 2
    assert f"--port must be in [0, 65535], got {port}" in error_line(capsys)
