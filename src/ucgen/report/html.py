"""A run's HTML report: configuration, evaluation table, loss curves and every picture.

The page is static (no scripts, images by relative path), so it can be opened from disk or
attached to a message.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from ucgen.io.atomic import atomic_write_text
from ucgen.io.runs import Run
from ucgen.report.curves import plot_losses


def write_report(run: Run) -> Path:
    """Write run/report/index.html from what the run folder holds now; returns its path."""
    run.report.mkdir(parents=True, exist_ok=True)
    curves = plot_losses(run.read_metrics(), run.report / "losses.png")
    parts = [f"<h1>ucgen run <code>{html.escape(run.path.name)}</code></h1>"]

    eval_path = run.path / "eval.json"
    if eval_path.is_file():
        parts.append("<h2>Evaluation</h2>")
        parts.append(_table(json.loads(eval_path.read_text())))

    if curves:
        parts.append("<h2>Training</h2>")
        parts.extend(f'<img src="{c.name}" alt="{c.stem}">' for c in curves)

    pictures = sorted(run.samples.glob("*.png")) if run.samples.is_dir() else []
    if pictures:
        parts.append("<h2>Pictures</h2>")
        for pic in pictures:
            rel = Path("..") / pic.relative_to(run.path)
            parts.append(
                f'<figure><img src="{rel.as_posix()}" alt="{pic.stem}">'
                f"<figcaption>{html.escape(pic.stem)}</figcaption></figure>"
            )

    parts.append("<h2>Configuration</h2>")
    parts.append(f"<pre>{html.escape(run.config_path.read_text())}</pre>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>ucgen report</title><style>"
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "img{image-rendering:pixelated;max-width:100%;margin:4px}"
        "figure{display:inline-block;margin:6px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )
    out = run.report / "index.html"
    atomic_write_text(out, page)
    return out


def _table(values: dict, prefix: str = "") -> str:
    rows = []
    for key, value in _flatten(values, prefix):
        shown = f"{value:.4g}" if isinstance(value, float) else html.escape(str(value))
        rows.append(f"<tr><th>{html.escape(key)}</th><td>{shown}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _flatten(values: dict, prefix: str) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_flatten(value, name + "."))
        elif isinstance(value, list) and len(value) > 16:
            out.append((name, f"[{len(value)} values]"))
        else:
            out.append((name, value))
    return out
