"""A run's HTML report, reading top to bottom: what was trained, the headline figures
against their reference points, each code with real and generated images, fine control,
training curves, and every metric last.

The page is one self-contained file: pictures are data URIs, and the loss panels, also
written as PNGs beside it, are linked relatively, so it still opens when the run folder (or
its report folder) is copied elsewhere. Pictures of the model itself are drawn by the caller
(`ucgen.report.figures`); this package only reads the run folder's files.
"""

from __future__ import annotations

import base64
import json
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ucgen.errors import UcgenError
from ucgen.io.atomic import atomic_write_text, check_target
from ucgen.io.runs import Run
from ucgen.report.curves import loss_curves, plot_losses
from ucgen.report.figures import ModelPictures, Strip, png_data_uri
from ucgen.report.grid import FORMATS
from ucgen.report.summary import duration, headline_rows, is_number, stages

MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def write_report(
    run: Run,
    pictures: ModelPictures | None = None,
    compare: Sequence[Run] = (),
    missing: str | None = None,
) -> Path:
    """Write run/report/index.html from what the run folder holds now; returns its path.

    `pictures`: the model's own pictures, drawn by the caller; `missing` says why there are
    none. `compare`: other runs on the same data (baselines), whose headline figures stand
    beside this run's where they were scored on the same features. Everything is read and
    every output checked before the first file is written, so a corrupt eval.json or a
    report folder that cannot be written leaves the run untouched."""
    evaluation = _read_eval(run)
    compared = [(_label(other), _read_eval(other)) for other in compare]
    config_text = _read(run.config_path, lambda: run.config_path.read_text(encoding="utf-8"))
    try:
        config = json.loads(config_text)
    except json.JSONDecodeError:
        config = {}  # Run.open has found it; a damaged one is shown as text below
    started = _read_started(run)
    records = _read(run.metrics_path, run.read_metrics)
    previews = _read(run.samples, lambda: _previews(run.samples))
    out = run.report / "index.html"
    curves = loss_curves(records, run.report / "losses.png")
    for target in [out, *(curve[1] for curve in curves)]:
        check_target(target)

    name = run.path.resolve().name
    rows, columns = headline_rows(evaluation or {}, [(k, v) for k, v in compared if v])
    context = {
        "name": name,
        "config": config,
        "config_text": config_text,
        "data": _data_line(config, evaluation),
        "method": _section(config, "train").get("method", "unknown"),
        "stages": [
            {**row, "wall": duration(row["seconds"])}
            for row in stages(records, started.get("created"))
        ],
        "machine": _machine_line(started.get("machine")),
        "reproduce": f"ucgen train --config {shlex.quote(str(run.config_path))} "
        f"--name {shlex.quote(name)}",
        "command": _command_line(started.get("command")),
        "evaluation": evaluation,
        "features": (evaluation or {}).get("features", {}).get("name")
        if isinstance((evaluation or {}).get("features"), dict)
        else None,
        "headlines": rows,
        "columns": columns,
        "compared": [label for label, ev in compared if ev],
        "codes": _code_rows(pictures, evaluation),
        "samples": None
        if pictures is None or pictures.samples is None
        else png_data_uri(pictures.samples),
        "counted_on": None if pictures is None else pictures.counted_on,
        "traversals": _strips(pictures.traversals, evaluation) if pictures else [],
        "flips": _strips(pictures.flips, evaluation) if pictures else [],
        "variations": _strips(pictures.variations, evaluation) if pictures else [],
        "interpolations": _strips(pictures.interpolations, evaluation) if pictures else [],
        "span": None if pictures is None else pictures.span,
        "missing": missing,
        "curves": [],
        "previews": previews,
        "metrics": _flatten(evaluation, "") if evaluation else [],
    }
    context["curves"] = [path.name for path in plot_losses(curves)]
    atomic_write_text(out, _template().render(**context))
    return out


def _template() -> Any:
    """The page's Jinja2 template (ucgen/report/templates/report.html), HTML-escaping every
    value it prints."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ucgen.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["figure"] = _figure
    return env.get_template("report.html")


def _figure(value: object) -> str:
    """A figure as the table shows it: 4 significant digits, '-' where there is none."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _label(run: Run) -> str:
    """A compared run's column: its folder name and method."""
    try:
        method = _section(json.loads(run.config_path.read_text(encoding="utf-8")), "train")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        method = {}
    return f"{run.path.resolve().name} ({method.get('method', 'unknown method')})"


def _section(config: Any, name: str) -> dict[str, Any]:
    value = config.get(name) if isinstance(config, dict) else None
    return value if isinstance(value, dict) else {}


def _data_line(config: Any, evaluation: dict[str, Any] | None) -> str:
    data = _section(config, "data")
    parts = [str(data.get("source", "unknown"))]
    if data.get("resolution"):
        parts.append(f"at {data['resolution']} px")
    if data.get("limit"):
        parts.append(f"first {data['limit']} training images")
    scored = (evaluation or {}).get("data")
    if isinstance(scored, dict) and "images" in scored:
        parts.append(f"evaluated on {scored['images']} test images")
    return ", ".join(parts)


def _machine_line(machine: Any) -> str:
    if not isinstance(machine, dict):
        return "not recorded (the run predates run.json)"
    parts = [f"{machine.get('cpu', 'unknown CPU')}, {machine.get('cores', '?')} cores"]
    if machine.get("accelerator"):
        parts.append(str(machine["accelerator"]))
    parts.append(f"{machine.get('os', '')}, Python {machine.get('python', '?')}")
    parts.append(f"torch {machine.get('torch', '?')}")
    return "; ".join(parts)


def _command_line(command: Any) -> str | None:
    if not isinstance(command, list) or not all(isinstance(c, str) for c in command):
        return None
    return shlex.join(["ucgen", *command[1:]] if command else command)


def _read_started(run: Run) -> dict[str, Any]:
    """run.json as a dict; {} for a run made before it existed or a damaged one, since what
    it holds (the machine, the start time) only annotates the report."""
    try:
        value = json.loads(run.started.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _code_rows(pictures: ModelPictures | None, evaluation: dict[str, Any] | None) -> list[dict]:
    """The per-code rows, largest code first, with the control accuracy eval.json gives it."""
    if pictures is None:
        return []
    per_code = _per_code(evaluation)
    total = sum(row.size or 0 for row in pictures.codes) or 1
    rows = []
    for row in sorted(pictures.codes, key=lambda r: (-(r.size or 0), r.code)):
        control = per_code.get(str(row.code), {})
        rows.append(
            {
                "code": row.code,
                "bits": format(row.code, f"0{pictures.bits}b") if pictures.bits else None,
                "size": row.size,
                "share": None if row.size is None else row.size / total,
                "control": control.get("accuracy"),
                "class": control.get("class"),
                "real": png_data_uri(row.real, columns=len(row.real)) if len(row.real) else None,
                "generated": png_data_uri(row.generated, columns=len(row.generated)),
            }
        )
    return rows


def _per_code(evaluation: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    control = (evaluation or {}).get("control")
    per_code = control.get("per_code") if isinstance(control, dict) else None
    if not isinstance(per_code, dict):
        return {}
    return {k: v for k, v in per_code.items() if isinstance(v, dict)}


def _strips(strips: list[Strip], evaluation: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Strips with the figures eval.json gives for the same code and direction (or bit)."""
    records = _strip_records(evaluation)
    out = []
    for strip in strips:
        figures = []
        for record in records:
            if record.get("code") != strip.code:
                continue
            if strip.direction is not None and record.get("direction") != strip.direction:
                continue
            if strip.bit is not None and record.get("bit") != strip.bit:
                continue
            if strip.direction is None and strip.bit is None:
                continue
            figures += [
                (k, v)
                for k, v in record.items()
                if k not in ("code", "direction", "bit") and is_number(v)
            ]
        out.append(
            {
                "label": strip.label,
                "image": png_data_uri(strip.images, columns=strip.columns),
                "figures": figures,
            }
        )
    return out


def _strip_records(tree: Any) -> list[dict[str, Any]]:
    """Every dict in eval.json lists that names a code and a direction or bit: the per-strip
    figures of whatever fine-control metrics the evaluation wrote."""
    found: list[dict[str, Any]] = []
    if isinstance(tree, dict):
        for value in tree.values():
            found += _strip_records(value)
    elif isinstance(tree, list):
        for item in tree:
            if isinstance(item, dict) and "code" in item and ("direction" in item or "bit" in item):
                found.append(item)
            else:
                found += _strip_records(item)
    return found


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


def _previews(samples: Path) -> list[dict[str, str]]:
    """The pictures in the samples folder (training previews and any grids), by name, as
    data URIs so that the page needs no file beside it."""
    if not samples.is_dir():
        return []
    out = []
    for path in sorted(p for p in samples.iterdir() if p.suffix.lower() in FORMATS and p.is_file()):
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        out.append({"name": path.stem, "src": f"data:{MIME[path.suffix.lower()]};base64,{encoded}"})
    return out


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
