import os

import numpy as np
import pytest
from PIL import Image

from ucgen.errors import UcgenError
from ucgen.report.grid import check_picture_target, save_grid


@pytest.mark.parametrize(
    ("name", "fmt"), [("g.png", "PNG"), ("g.jpg", "JPEG"), ("g.jpeg", "JPEG"), ("G.JPG", "JPEG")]
)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_grid_is_written_in_the_format_its_suffix_names(tmp_path, name, fmt, channels):
    images = np.full((4, 8, 8, channels), 128, np.uint8)
    path = save_grid(images, tmp_path / name)
    with Image.open(path) as pic:
        assert pic.format == fmt
        if fmt == "JPEG":
            assert pic.mode == ("L" if channels == 1 else "RGB")


@pytest.mark.parametrize("name", ["g.gif", "g.npz", "g", "g.png.txt"])
def test_other_suffixes_are_refused_naming_the_allowed_ones(tmp_path, name):
    with pytest.raises(UcgenError, match=r"\.png, \.jpg, \.jpeg") as err:
        save_grid(np.zeros((1, 8, 8, 3), np.uint8), tmp_path / name)
    suffix = os.path.splitext(name)[1]
    assert (repr(suffix) if suffix else "no suffix") in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_up_front_check_refuses_special_targets_and_keeps_the_path(tmp_path):
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(UcgenError, match="is a folder"):
        check_picture_target(tmp_path / "dir.png")
    with pytest.raises(UcgenError, match="not a regular file"):
        check_picture_target("/dev/full")
    link = tmp_path / "link.png"
    link.symlink_to("real.png")
    assert check_picture_target(str(link)) == link
