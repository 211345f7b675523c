"""Run folders: `runs/NAME/` holds everything a run wrote and describes itself.

Layout:
    config.json      resolved configuration
    metrics.jsonl    one JSON object per logged step
    checkpoints/     components (config.json + model.safetensors) and training state
    samples/         sample grids and strips
    report/          HTML report and its figures
A new run never overwrites another: an existing name gets a numbered suffix.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ucgen.config import Config, load_saved_config, save_config
from ucgen.errors import CheckpointError, UcgenError


class Run:
    """A run folder: where a run's config, metrics, checkpoints and pictures live."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, name: str, config: Config, root: Path = Path("runs")) -> Run:
        """Make a fresh folder `root/name` (or `name-2`, `name-3`, ...) and save the config."""
        root = Path(root)
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
        except PermissionError:
            raise UcgenError(f"cannot create a run folder in {root}: permission denied") from None
        run = cls(path)
        save_config(config, run.config_path)
        return run

    @classmethod
    def open(cls, path: str | Path) -> Run:
        """An existing run folder; fails clearly if it is not one."""
        run = cls(Path(path))
        if not run.path.is_dir():
            raise CheckpointError(f"run folder not found: {path}")
        if not run.config_path.is_file():
            raise CheckpointError(f"{path} is not a ucgen run folder (no config.json)")
        return run

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

    def config(self) -> Config:
        return load_saved_config(self.config_path)

    def log(self, record: dict[str, Any]) -> None:
        """Append one JSON line to metrics.jsonl (with a wall-clock time stamp)."""
        record = {"time": round(time.time(), 3), **record}
        with self.metrics_path.open("a") as f:
            f.write(json.dumps(record) + "\n")

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
