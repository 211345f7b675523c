"""Where the public data sets live on disk, and how to download them with checksums.

A named set (`mnist`, `fashion-mnist`, `cifar10`) is looked for in, in order: the `root`
argument, its environment variable, system folders (Debian's `dataset-fashion-mnist` package
installs Fashion-MNIST under /usr/share/datasets), then ~/.cache/ucgen/NAME. When the files are
in none of them, or a download cannot reach its host, the error says which folder, which file
names and which environment variable to use, so the set can be supplied by hand offline.

Checksums are the MD5 sums the data sets' publishers (and torchvision) list for the archives as
served; they protect against truncated or tampered downloads, not against files a user copies
in by hand (Debian recompresses the Fashion-MNIST .gz files, so those sums differ, while the
contents are the same).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import tarfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ucgen.errors import DataError
from ucgen.io.atomic import atomic_write_bytes
from ucgen.io.outputs import check_output

CACHE = Path("~/.cache/ucgen")
TIMEOUT_S = 60.0
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta")


@dataclass(frozen=True)
class Remote:
    """One file to fetch: mirrors tried in order, and the MD5 of its bytes."""

    filename: str
    urls: tuple[str, ...]
    md5: str


@dataclass(frozen=True)
class PublicSet:
    """A named public data set: where its files may be, which files, and where to get them.

    files: names that must exist in the data folder; an IDX name may also be present as NAME.gz.
    subfolder: the data folder inside a root (CIFAR's archive unpacks into one); "" for none.
    """

    name: str
    env_var: str
    system_dirs: tuple[Path, ...]
    files: tuple[str, ...]
    remotes: tuple[Remote, ...]
    subfolder: str = ""

    def default_root(self) -> Path:
        """Where a download goes without --root: the env var's folder, else the user cache."""
        env = os.environ.get(self.env_var)
        return Path(env).expanduser() if env else (CACHE / self.name).expanduser()

    def candidates(self, root: str | Path | None) -> list[Path]:
        """Folders to search, in order; an explicit root is the only candidate."""
        if root is not None:
            return [Path(root).expanduser()]
        env = os.environ.get(self.env_var)
        found = [Path(env).expanduser()] if env else []
        return [*found, *self.system_dirs, (CACHE / self.name).expanduser()]

    def data_folder(self, root: Path) -> Path:
        """The folder holding the files under `root`: root itself when it is that folder or
        already holds the files, else its subfolder (where CIFAR's archive unpacks)."""
        if not self.subfolder or root.name == self.subfolder or not self.missing(root):
            return root
        return root / self.subfolder

    def missing(self, folder: Path) -> list[str]:
        """Required file names absent from `folder` (an IDX file counts if NAME.gz is there)."""
        return [
            f
            for f in self.files
            if not (folder / f).is_file() and not (folder / f"{f}.gz").is_file()
        ]

    def how_to_supply(self, root: Path) -> str:
        """The one-sentence recipe for getting the files in place by hand."""
        folder = self.data_folder(root)
        files = ", ".join(f"{f}{'[.gz]' if f in IDX_FILES else ''}" for f in self.files)
        return (
            f"put {files} in {folder} (or point {self.env_var} or --data-root at a folder "
            f"holding them); they come from {self.remotes[0].urls[0].rsplit('/', 1)[0]}/, "
            f"which `ucgen data download {self.name}` fetches where the network allows"
        )


MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MNIST_MD5 = (
    "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "d53e105ee54ea40749a09fcbcd1e9432",
    "9fb629c4189551a2d022fa330f9573f3",
    "ec29112dd5afa0611ce80d1b7f02629c",
)
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MD5 = (
    "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "25c81989df183df01b3e8a0aad5dffbe",
    "bef4ecab320f06d8554ea6380940ec79",
    "bb300cfdad3c16e7a12a480ee83cd310",
)

PUBLIC_SETS: dict[str, PublicSet] = {
    "mnist": PublicSet(
        name="mnist",
        env_var="UCGEN_MNIST",
        system_dirs=(),
        files=IDX_FILES,
        remotes=tuple(
            Remote(f"{f}.gz", tuple(u + f"{f}.gz" for u in MNIST_URLS), md5)
            for f, md5 in zip(IDX_FILES, MNIST_MD5, strict=True)
        ),
    ),
    "fashion-mnist": PublicSet(
        name="fashion-mnist",
        env_var="UCGEN_FASHION_MNIST",
        system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
        files=IDX_FILES,
        remotes=tuple(
            Remote(f"{f}.gz", (FASHION_URL + f"{f}.gz",), md5)
            for f, md5 in zip(IDX_FILES, FASHION_MD5, strict=True)
        ),
    ),
    "cifar10": PublicSet(
        name="cifar10",
        env_var="UCGEN_CIFAR10",
        system_dirs=(),
        files=CIFAR_FILES,
        remotes=(
            Remote(
                "cifar-10-python.tar.gz",
                ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
                "c58f30108f718f92721af3b95e74349a",
            ),
        ),
        subfolder=CIFAR_FOLDER,
    ),
}


def locate(name: str, root: str | Path | None = None) -> Path:
    """The folder holding every file of public set `name`; DataError saying how to supply it."""
    spec = PUBLIC_SETS[name]
    candidates = spec.candidates(root)
    for candidate in candidates:
        folder = spec.data_folder(candidate)
        if not spec.missing(folder):
            return folder
    folders = [spec.data_folder(c) for c in candidates]
    missing = spec.missing(folders[0])
    where = f"in {folders[0]}" + (
        f" (nor in {', '.join(map(str, folders[1:]))})" if len(folders) > 1 else ""
    )
    partial = f", which lacks {', '.join(missing)}" if len(missing) < len(spec.files) else ""
    raise DataError(
        f"{name}: data files not found {where}{partial}. To supply them, "
        + spec.how_to_supply(candidates[0] if root is not None else spec.default_root())
    )


def fetch_url(url: str) -> bytes:
    """GET `url` and return its body, with a progress bar; the one network call (tests
    replace it)."""
    request = urllib.request.Request(url, headers={"User-Agent": "ucgen"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        chunks = []
        name = url.rsplit("/", 1)[-1]
        with tqdm(total=total, unit="B", unit_scale=True, desc=name, leave=False) as bar:
            while chunk := response.read(1 << 20):
                chunks.append(chunk)
                bar.update(len(chunk))
        return b"".join(chunks)


def download(name: str, root: str | Path | None = None) -> Path:
    """Download public set `name` into `root` (default: $ENV_VAR or ~/.cache/ucgen/NAME).

    Files already present are kept. Every fetched file is checked against its MD5 before it
    is written, and written atomically, so an interrupted download never leaves a half file
    that a later load would trust. Returns the folder that now holds the set.
    """
    if name not in PUBLIC_SETS:
        known = ", ".join(sorted(PUBLIC_SETS))
        raise DataError(f"no download for '{name}': downloadable sets are {known}")
    spec = PUBLIC_SETS[name]
    target = Path(root).expanduser() if root is not None else spec.default_root()
    folder = spec.data_folder(target)
    missing = spec.missing(folder)
    if missing:
        # Where the files will go is checked before the network: a file or an unwritable
        # folder as the root would otherwise fail only after the download.
        check_output(folder / sorted(missing)[0])
    for remote in spec.remotes:
        if remote.filename.endswith(".tar.gz"):
            if missing:
                _extract(_fetch_checked(spec, remote, target), remote, folder, spec.files)
        elif remote.filename.removesuffix(".gz") in missing:
            atomic_write_bytes(folder / remote.filename, _fetch_checked(spec, remote, target))
    return folder


def _fetch_checked(spec: PublicSet, remote: Remote, target: Path) -> bytes:
    """Bytes of `remote` from its first reachable mirror whose MD5 matches."""
    errors = []
    for url in remote.urls:
        host = urllib.parse.urlparse(url).netloc
        try:
            data = fetch_url(url)
        except (OSError, http.client.HTTPException, ValueError) as err:
            reason = getattr(err, "reason", err)
            errors.append(f"could not reach {host} ({reason})")
            continue
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if digest == remote.md5:
            return data
        errors.append(f"{url} gave MD5 {digest}, expected {remote.md5}")
    raise DataError(
        f"{spec.name}: download of {remote.filename} failed: {'; '.join(errors)}. "
        "To supply the files by hand, " + spec.how_to_supply(target)
    )


def _extract(data: bytes, remote: Remote, folder: Path, names: tuple[str, ...]) -> None:
    """Write only the expected members of a verified .tar.gz, by base name, atomically."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for name in names:
                if name not in members:
                    raise DataError(f"{remote.filename}: archive has no member named {name}")
                member = tar.extractfile(members[name])
                assert member is not None  # isfile() members always have a file object
                atomic_write_bytes(folder / name, member.read())
    except (tarfile.TarError, gzip.BadGzipFile, EOFError) as err:
        raise DataError(f"{remote.filename}: not a readable .tar.gz archive ({err})") from None
