import errno
import os
import stat

import pytest

from ucgen.errors import UcgenError
from ucgen.io.atomic import atomic_write, atomic_write_text, check_target


def _with_umask(mask: int, path, text: str = "x") -> int:
    old = os.umask(mask)
    try:
        atomic_write_text(path, text)
    finally:
        os.umask(old)
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_file_gets_the_mode_of_a_plain_open(tmp_path, mask, mode):
    assert _with_umask(mask, tmp_path / "f.txt") == mode


def test_replaced_file_gets_the_umask_mode_too(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    path.chmod(0o600)
    assert _with_umask(0o022, path, "new") == 0o644
    assert path.read_text() == "new"


def test_umask_without_owner_write_still_writes(tmp_path):
    path = tmp_path / "f.txt"
    assert _with_umask(0o222, path) == 0o444
    assert path.read_text() == "x"


def test_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to("real.txt")
    atomic_write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == "real.txt"
    assert real.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "real.txt"]


def _fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def _folder(tmp_path):
    path = tmp_path / "folder"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp: _fifo(tmp), "not a regular file"),
        (lambda tmp: _folder(tmp), "is a folder"),
        (lambda tmp: "/dev/null", "not a regular file"),
        (lambda tmp: "/dev/full", "not a regular file"),
    ],
    ids=["fifo", "folder", "dev-null", "dev-full"],
)
def test_special_targets_are_refused_and_untouched(tmp_path, make, words):
    target = make(tmp_path)
    before = os.lstat(target)
    with pytest.raises(UcgenError, match=words):
        atomic_write_text(target, "x")
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (
        before.st_mode,
        before.st_ino,
        before.st_rdev,
    )
    assert not list(tmp_path.glob(".*.tmp"))


def test_link_to_a_special_file_is_refused(tmp_path):
    link = tmp_path / "out.png"
    link.symlink_to("/dev/null")
    with pytest.raises(UcgenError, match="not a regular file"):
        check_target(link)
    assert link.is_symlink()


def test_a_file_deeper_up_the_path_is_refused_before_any_work(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UcgenError, match="is not a folder"):
        check_target(tmp_path / "file" / "a" / "b.png")


def test_unwritable_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(UcgenError, match="permission denied"):
        check_target(tmp_path / "f.txt")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_while_writing_is_a_clear_error(tmp_path, code):
    target = tmp_path / "f.bin"
    target.write_text("old")

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise OSError(code, os.strerror(code))

    with pytest.raises(UcgenError, match="the disk is full"):
        atomic_write(target, write)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_permission_denied_while_writing_names_the_path_given(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to("real.txt")

    def write(tmp):
        raise PermissionError(errno.EACCES, "Permission denied")

    with pytest.raises(UcgenError, match=r"cannot write .*link\.txt: permission denied"):
        atomic_write(link, write)
    assert [p.name for p in tmp_path.iterdir()] == ["link.txt"]
