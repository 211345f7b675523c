"""A run's HTML report: configuration, evaluation table, loss curves and every picture.

The page is static (no scripts, images by relative path), so it can be opened from disk or
attached to a message.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from ucgen.errors import UcgenError
from ucgen.io.atomic import atomic_write_text, check_target
from ucgen.io.runs import Run
from ucgen.report.curves import loss_curves, plot_losses
from ucgen.report.grid import FORMATS


def write_report(run: Run) -> Path:
    """Write run/report/index.html from what the run folder holds now; returns its path.

    Everything is read and every output checked before the first file is written, so a
    corrupt eval.json or a report folder that cannot be written leaves the run untouched."""
    evaluation = _read_eval(run)
    config_text = _read(run.config_path, lambda: run.config_path.read_text(encoding="utf-8"))
    records = _read(run.metrics_path, run.read_metrics)
    pictures = _read(run.samples, lambda: _pictures(run.samples))
    out = run.report / "index.html"
    curves = loss_curves(records, run.report / "losses.png")
    for target in [out, *(curve[1] for curve in curves)]:
        check_target(target)

    parts = [f"<h1>ucgen run <code>{html.escape(run.path.resolve().name)}</code></h1>"]
    if evaluation is not None:
        parts.append("<h2>Evaluation</h2>")
        parts.append(_table(evaluation))
    written = plot_losses(curves)
    if written:
        parts.append("<h2>Training</h2>")
        parts.extend(_img(c.name, c.stem) for c in written)
    if pictures:
        parts.append("<h2>Pictures</h2>")
        for pic in pictures:
            rel = (Path("..") / pic.relative_to(run.path)).as_posix()
            parts.append(
                f"<figure>{_img(rel, pic.stem)}"
                f"<figcaption>{html.escape(pic.stem)}</figcaption></figure>"
            )
    parts.append("<h2>Configuration</h2>")
    parts.append(f"<pre>{html.escape(config_text)}</pre>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>ucgen report</title><style>"
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "img{image-rendering:pixelated;max-width:100%;margin:4px}"
        "figure{display:inline-block;margin:6px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )
    atomic_write_text(out, page)
    return out


def _read_eval(run: Run) -> dict[str, Any] | None:
    """The run's eval.json as a dict, None if there is none; a damaged one is an error, as
    the report would otherwise show no evaluation without saying why."""
    path = run.path / "eval.json"
    if not path.exists():
        return None
    rerun = f"rerun `ucgen eval {run.path}` to rewrite it"
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        where = f"{err.msg}, line {err.lineno}"
        raise UcgenError(f"{path} is not valid JSON ({where}); {rerun}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UcgenError(f"cannot read {path}: {_reason(err)}; {rerun}") from None
    if not isinstance(values, dict):
        raise UcgenError(f"{path} does not hold an evaluation report (a JSON object); {rerun}")
    return values


T = TypeVar("T")


def _read(path: Path, read: Callable[[], T]) -> T:
    """read(), with an unreadable or undecodable `path` turned into one clear error."""
    try:
        return read()
    except (OSError, UnicodeDecodeError) as err:
        raise UcgenError(f"cannot read {path}: {_reason(err)}") from None


def _reason(err: OSError | UnicodeDecodeError) -> str:
    if isinstance(err, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return err.strerror or str(err)


def _pictures(samples: Path) -> list[Path]:
    """The grids and strips in the samples folder, by name."""
    if not samples.is_dir():
        return []
    return sorted(p for p in samples.iterdir() if p.suffix.lower() in FORMATS and p.is_file())


def _img(src: str, alt: str) -> str:
    return f'<img src="{html.escape(quote(src))}" alt="{html.escape(alt)}">'


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
