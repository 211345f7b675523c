"""Run folders: `runs/NAME/` holds everything a run wrote and describes itself.

Layout:
    config.json      resolved configuration
    run.json         when, by which command and on which machine the run was started
    metrics.jsonl    one JSON object per logged step
    checkpoints/     components (config.json + model.safetensors) and training state
    samples/         sample grids and strips
    report/          HTML report and its figures
A new run never overwrites another: an existing name gets a numbered suffix. A run name is
one path component of letters, digits, '.', '_' and '-', so a run stays inside its runs folder.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from ucgen.config import Config, to_json
from ucgen.errors import CheckpointError, UcgenError
from ucgen.io.atomic import atomic_write_text

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_run_name(name: str) -> str:
    """`name` if it can name a run folder: one path component (no '/', not '..') of letters,
    digits, '.', '_' and '-', starting with a letter or digit, at most 128 characters."""
    if not RUN_NAME.match(name):
        raise UcgenError(
            f"run name {name!r} is not allowed: use letters, digits, '.', '_' and '-' "
            "(at most 128, starting with a letter or digit; no '/')"
        )
    return name


def run_name_from(text: str) -> str:
    """A valid run name made from free text (a data set's file name): every run of other
    characters becomes '-'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")[:128]
    return name or "run"


def check_runs_dir(root: Path) -> Path:
    """`root` if run folders can be made in it: a folder, or a path whose first existing
    ancestor is one (it is created with the run)."""
    root = Path(root)
    for path in (root, *root.parents):
        if path.exists():
            if not path.is_dir():
                where = "" if path == root else f": {path}"
                raise UcgenError(f"runs folder {root}{where} is a file, not a folder")
            break
    return root


class Run:
    """A run folder: where a run's config, metrics, checkpoints and pictures live."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, name: str, config: Config, root: Path = Path("runs")) -> Run:
        """Make a fresh folder `root/name` (or `name-2`, `name-3`, ...) and save the config."""
        check_run_name(name)
        root = check_runs_dir(Path(root))
        try:
            root.mkdir(parents=True, exist_ok=True)
            path = root / name
            n = 1
            while True:
                try:
                    path.mkdir()
                    break
                except FileExistsError:
                    n += 1
                    path = root / f"{name}-{n}"
        except OSError as err:
            raise UcgenError(
                f"cannot create a run folder in {root}: {err.strerror or err}"
            ) from None
        run = cls(path)
        run.save_config(config)
        started = {"created": round(time.time(), 3), "command": sys.argv, "machine": machine()}
        atomic_write_text(run.path / "run.json", json.dumps(started, indent=2) + "\n")
        return run

    @classmethod
    def open(cls, path: str | Path) -> Run:
        """An existing run folder; fails clearly if it is not one."""
        run = cls(Path(path))
        if run.path.exists() and not run.path.is_dir():
            raise CheckpointError(f"{path} is a file, not a run folder")
        if not run.path.is_dir():
            raise CheckpointError(f"run folder not found: {path}")
        if not run.config_path.is_file():
            raise CheckpointError(f"{path} is not a ucgen run folder (no config.json)")
        return run

    @property
    def started(self) -> Path:
        """run.json: when, by which command and on which machine the run was created."""
        return self.path / "run.json"

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def report(self) -> Path:
        return self.path / "report"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def save_config(self, config: Config) -> None:
        """Write the run's resolved config as config.json, atomically."""
        atomic_write_text(self.config_path, to_json(config))

    def log(self, record: dict[str, Any]) -> None:
        """Append one JSON line to metrics.jsonl (with a wall-clock time stamp)."""
        record = {"time": round(time.time(), 3), **record}
        with self.metrics_path.open("a") as f:
            f.write(json.dumps(record) + "\n")

    def drop_metrics_after(self, stage: str, step: int) -> None:
        """Remove the rows `stage` logged after `step` (and a line cut by a kill), atomically.

        A resumed stage continues from its checkpoint at `step`; the rows a killed process
        logged after it would otherwise appear twice, with the loss curve doubling back."""
        if not self.metrics_path.is_file():
            return
        lines = self.metrics_path.read_text().splitlines()
        kept = []
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("stage") == stage and record.get("step", 0) > step:
                continue
            kept.append(line)
        if kept != lines:
            atomic_write_text(self.metrics_path, "".join(f"{line}\n" for line in kept))

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.is_file():
            return []
        lines = self.metrics_path.read_text().splitlines()
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a kill mid-write; every earlier line is intact
        return records


def machine() -> dict[str, Any]:
    """What the report says a run was trained on: CPU model and cores, accelerator, OS and
    the versions that change results (Python, torch), without importing torch where the
    caller has not (a CLI that only makes a folder stays light)."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = None
    accelerator = None
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        accelerator = torch.cuda.get_device_name(0)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "accelerator": accelerator,
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "torch": torch_version,
    }
