"""Atomic file writes: a reader (or a crash) never sees a half-written file.

Each write goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target; rename is atomic on POSIX file systems.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ucgen.errors import UcgenError


def check_target(path: Path) -> Path:
    """The file that writing `path` will create or replace, checked before any work is done.

    A symlink is written through (its target is replaced, the link stays). A target that
    exists and is not a regular file (a device such as /dev/full, a folder, a socket) is
    refused: renaming over it would replace the special file. Returns the resolved path."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        kind = "a folder" if target.is_dir() else "not a regular file"
        raise UcgenError(f"cannot write {path}: it exists and is {kind}")
    parent = target.parent
    if parent.exists() and not parent.is_dir():
        raise UcgenError(f"cannot write {path}: {parent} is not a folder")
    return target


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp_path) and move the result onto `path` only once it is complete."""
    path = check_target(Path(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as err:
        raise UcgenError(_explain(err, path)) from None
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except OSError as err:
        tmp_path.unlink(missing_ok=True)
        raise UcgenError(_explain(err, path)) from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def _explain(err: OSError, path: Path) -> str:
    if err.errno == errno.ENOSPC:
        return f"cannot write {path}: the disk is full"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {path}: permission denied (is the run folder writable?)"
    return f"cannot write {path}: {err.strerror or err}"
