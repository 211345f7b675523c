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


def plot_losses(curves: list[Curve], columns: int = 4) -> list[Path]:
    """Draw each stage's logged terms as small multiples: one small panel per term against
    the step, each on its own y scale, so that a term near 0.01 is as readable as one near
    10 (on one shared axis the small ones lie flat). Returns the PNGs written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for stage, out, rows in curves:
        keys = loss_keys(rows)
        ncols = max(1, min(columns, len(keys)))
        nrows = max(1, math.ceil(len(keys) / ncols))
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(max(3.2, 2.4 * ncols), 1.7 * nrows + 0.4), dpi=100, squeeze=False
        )
        for ax in axes.flat[len(keys) :]:
            ax.set_visible(False)
        for ax, key in zip(axes.flat, keys, strict=False):
            points = [(r["step"], r[key]) for r in rows if _is_number(r.get(key))]
            ax.plot([p[0] for p in points], [p[1] for p in points], lw=1.2, color="#1f5fa8")
            ax.set_title(key, fontsize=9)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        fig.suptitle(f"{stage} (against the step)", fontsize=10)
        fig.tight_layout()
        try:
            atomic_write(out, lambda tmp, fig=fig: fig.savefig(tmp, format="png"))
        finally:
            plt.close(fig)
        written.append(out)
    return written


def loss_keys(rows: list[dict[str, Any]]) -> list[str]:
    """The numeric terms a stage logged (everything but stage, step and time), by name."""
    return sorted({k for r in rows for k, v in r.items() if k not in _NOT_LOSSES and _is_number(v)})


def _is_number(value: object) -> bool:
    """A finite int or float (not a bool): something a curve can show."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
