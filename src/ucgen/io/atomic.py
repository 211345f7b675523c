"""Atomic file writes: a reader (or a crash) never sees a half-written file.

Each write goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target; rename is atomic on POSIX file systems. The file gets the mode a plain open()
would give it (0o666 less the umask), not the 0o600 of a private temporary file.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from ucgen.errors import UcgenError


def check_target(path: Path) -> Path:
    """The file that writing `path` will create or replace, checked before any work is done.

    A symlink is written through (its target is replaced, the link stays). A target that
    exists and is not a regular file (a device such as /dev/full, a folder, a socket) is
    refused: renaming over it would replace the special file. So is a target whose nearest
    existing folder is a file or cannot be written to, since the write would fail only after
    the work. Returns the resolved path."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        kind = "a folder" if target.is_dir() else "not a regular file"
        raise UcgenError(f"cannot write {path}: it exists and is {kind}")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UcgenError(f"cannot write {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UcgenError(f"cannot write {path}: permission denied in {parent}")
    return target


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp_path) and move the result onto `path` only once it is complete.

    Any OSError of the write (a full disk, a folder that is not writable) becomes a
    UcgenError naming `path`, and the temporary file is removed: `path` is left as it was."""
    target = check_target(Path(path))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp, mode = _create_temp(target)
    except OSError as err:
        raise UcgenError(_explain(err, path)) from None
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise UcgenError(_explain(err, path)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (see atomic_write)."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically (see atomic_write)."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _create_temp(target: Path) -> tuple[Path, int]:
    """A new empty file next to `target`, and the mode a plain open() gives a new file.

    The file is created with 0o666 so that the kernel applies the umask; reading that mode
    back is how the umask is learnt without os.umask's race with other threads. While being
    written the file is also readable and writable by its owner, whatever the umask."""
    while True:
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        os.fchmod(fd, mode | stat.S_IRUSR | stat.S_IWUSR)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return tmp, mode


def _explain(err: OSError, path: Path) -> str:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"cannot write {path}: the disk is full"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {path}: permission denied (is the folder writable?)"
    return f"cannot write {path}: {err.strerror or err}"
