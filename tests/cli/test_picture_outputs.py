"""Where `ucgen sample --png` writes, end to end: through symlinks, in the format the suffix
names, with the mode a plain open() would give."""

import os
import stat

import pytest
from PIL import Image

from tests.cli.tiny_runs import train_tiny
from ucgen.cli.main import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("runs"), "cofi")


def test_png_through_a_symlink_replaces_its_target_and_keeps_the_link(trained, tmp_path):
    real = tmp_path / "real.png"
    real.write_text("old")
    link = tmp_path / "link.png"
    link.symlink_to("real.png")
    assert main(["sample", str(trained), "--steps", "2", "--png", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == "real.png"
    with Image.open(real) as pic:
        assert pic.format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.png", "real.png"]


@pytest.mark.parametrize(("name", "fmt"), [("s.jpg", "JPEG"), ("s.JPEG", "JPEG"), ("s.png", "PNG")])
def test_png_option_writes_the_format_its_suffix_names(trained, tmp_path, name, fmt):
    assert main(["sample", str(trained), "--steps", "2", "--png", str(tmp_path / name)]) == 0
    with Image.open(tmp_path / name) as pic:
        assert pic.format == fmt


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_pictures_get_the_mode_the_umask_gives(trained, tmp_path, mask, mode):
    out = tmp_path / "s.png"
    old = os.umask(mask)
    try:
        assert main(["sample", str(trained), "--steps", "2", "--png", str(out)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == mode
