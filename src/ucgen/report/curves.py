"""Loss curves from a run's metrics.jsonl, drawn with matplotlib (headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ucgen.io.atomic import atomic_write


def plot_losses(records: list[dict[str, Any]], path: Path) -> list[Path]:
    """One PNG per training stage with every logged loss against the step; returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if "stage" in record and "step" in record:
            stages.setdefault(record["stage"], []).append(record)
    written = []
    for stage, rows in stages.items():
        keys = sorted(
            {
                k
                for r in rows
                for k, v in r.items()
                if k not in ("stage", "step", "time") and isinstance(v, int | float)
            }
        )
        fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
        for key in keys:
            points = [(r["step"], r[key]) for r in rows if key in r]
            ax.plot([p[0] for p in points], [p[1] for p in points], label=key)
        ax.set_xlabel("step")
        ax.set_title(f"{stage}: training losses")
        ax.grid(alpha=0.3)
        if keys:
            ax.legend(fontsize=8)
        fig.tight_layout()
        out = path.parent / f"{path.stem}-{stage}{path.suffix}"
        atomic_write(out, lambda tmp, fig=fig: fig.savefig(tmp, format="png"))
        plt.close(fig)
        written.append(out)
    return written
