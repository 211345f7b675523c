"""Loss curves from a run's metrics.jsonl, drawn with matplotlib (headless)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from ucgen.io.atomic import atomic_write

# A curve: the stage's name, the file it goes to, and the stage's records.
Curve = tuple[str, Path, list[dict[str, Any]]]
# Keys of a record that are not curves.
_NOT_LOSSES = ("stage", "step", "time")


def loss_curves(records: list[Any], path: Path) -> list[Curve]:
    """One curve per training stage of `records`, to be written next to `path` as
    `STEM-STAGE.SUFFIX`; nothing is drawn yet, so callers can check the files first.

    Only records a training loop could have logged count (a JSON object with a string stage
    and a numeric step): a hand-edited or damaged metrics.jsonl must not break the report.
    The stage's name is reduced to safe file-name characters, so that it cannot lead the
    file out of the report folder, and numbered if another stage was reduced to the same."""
    stages: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if (
            isinstance(record, dict)
            and isinstance(record.get("stage"), str)
            and _is_number(record.get("step"))
        ):
            stages.setdefault(record["stage"], []).append(record)
    curves = []
    taken: set[str] = set()
    for stage, rows in stages.items():
        safe = base = re.sub(r"[^A-Za-z0-9_.-]+", "_", stage)
        n = 1
        while safe in taken:  # two stage names reduced to one: number the second
            n += 1
            safe = f"{base}-{n}"
        taken.add(safe)
        curves.append((stage, path.parent / f"{path.stem}-{safe}{path.suffix}", rows))
    return curves


def plot_losses(curves: list[Curve]) -> list[Path]:
    """Draw each curve (every logged loss against the step) as a PNG; returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for stage, out, rows in curves:
        keys = sorted(
            {k for r in rows for k, v in r.items() if k not in _NOT_LOSSES and _is_number(v)}
        )
        fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
        for key in keys:
            points = [(r["step"], r[key]) for r in rows if _is_number(r.get(key))]
            ax.plot([p[0] for p in points], [p[1] for p in points], label=key)
        ax.set_xlabel("step")
        ax.set_title(f"{stage}: training losses")
        ax.grid(alpha=0.3)
        if keys:
            ax.legend(fontsize=8)
        fig.tight_layout()
        try:
            atomic_write(out, lambda tmp, fig=fig: fig.savefig(tmp, format="png"))
        finally:
            plt.close(fig)
        written.append(out)
    return written


def _is_number(value: object) -> bool:
    """A finite int or float (not a bool): something a curve can show."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
