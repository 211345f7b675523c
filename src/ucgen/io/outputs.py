"""Output paths checked before any work: a command that would fail to write its result at the
end (a wrong suffix, a special file, a read-only or missing folder) fails before it starts, so
that it leaves no file behind and wastes no time."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ucgen.errors import UcgenError
from ucgen.io.atomic import check_target


def check_output(path: str | Path, suffixes: Sequence[str] = (), what: str = "the file") -> Path:
    """The file that writing `path` will create or replace, checked: its suffix is one of
    `suffixes` (any case; no check if empty), `check_target` accepts it, and its folder exists
    or can be created, in a folder where a file can be made (tried with a probe file that is
    removed at once: permission bits say nothing for root or on read-only mounts).
    Returns the resolved path; a UcgenError naming `path` otherwise."""
    path = Path(path)
    target = check_target(path)
    if suffixes and path.suffix.lower() not in suffixes:
        shown = f"suffix {path.suffix!r}" if path.suffix else "no suffix"
        raise UcgenError(f"{path}: {what} must end in one of {', '.join(suffixes)}; got {shown}")
    folder = target.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise UcgenError(f"cannot write {path}: {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".ucgen-probe-", dir=folder)
    except OSError as err:
        raise UcgenError(
            f"cannot write {path}: no file can be created in {folder} ({err.strerror or err})"
        ) from None
    os.close(fd)
    os.unlink(probe)
    return target
