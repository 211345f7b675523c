"""What a report says about a run, read from its files: the stages it trained and how long
they took (metrics.jsonl), where and how it was started (run.json), and its headline figures
(eval.json) set against their reference points. No method is imported: a figure is shown
when eval.json holds it, whichever method wrote it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ucgen.report.references import REFERENCES


@dataclass(frozen=True)
class Headline:
    """A figure worth a row of the short table: where eval.json keeps it (any path ending
    in one of `tails`, so a figure that moves into a sub-section is still found), which way
    is better, and one sentence of how to read it."""

    id: str
    label: str
    tails: tuple[tuple[str, ...], ...]
    better: str
    reading: str


HEADLINES = (
    Headline(
        "fd",
        "FD",
        (("generation", "fd"),),
        "lower",
        "Fréchet distance between generated and real test images on the features named above: "
        "the floor is what real images score (a perfect generator), the Gaussians are trivial "
        "generators to beat; not comparable with Inception FIDs.",
    ),
    Headline(
        "precision",
        "precision",
        (("generation", "precision"),),
        "higher",
        "share of generated images that lie among real ones (quality); read it with recall, "
        "as noise can score high.",
    ),
    Headline(
        "recall",
        "recall",
        (("generation", "recall"),),
        "higher",
        "share of real images that some generated image comes near (diversity); low recall "
        "beside high precision is mode collapse.",
    ),
    Headline(
        "control",
        "control accuracy",
        (("control", "mean"),),
        "higher",
        "share of a code's generated images that the reference classifier puts in the code's "
        "majority class (mean over codes); read it with FD, as blurry class means score high.",
    ),
    Headline(
        "consistency",
        "semantic consistency",
        (("consistency", "value"),),
        "higher",
        "share of codes whose generated images have the majority class of the real images the "
        "encoder gives that code.",
    ),
    Headline(
        "nmi",
        "NMI codes / labels",
        (("clustering", "nmi"),),
        "higher",
        "how much the codes of real test images say about their labels: 0 nothing, 1 the "
        "labels themselves (labels are used only here).",
    ),
    Headline(
        "purity",
        "purity",
        (("clustering", "purity"),),
        "higher",
        "share of real test images whose label is their code's majority label.",
    ),
    Headline(
        "bit_recovery",
        "bit recovery",
        (("bit_recovery",),),
        "higher",
        "share of the bits of generated images that the encoder reads back: 0.5 is chance.",
    ),
    Headline(
        "fine_effect",
        "fine effect",
        (("fine_effect",),),
        "higher",
        "how far a fine traversal moves the image, over how far two images of its code differ: "
        "near 0 means the fine vector is ignored.",
    ),
    Headline(
        "monotonicity",
        "monotonicity",
        (("monotonicity",),),
        "higher",
        "how steadily a traversal moves one way: 1 when every step goes further from the start.",
    ),
    Headline(
        "reconstruction",
        "condition reconstruction",
        (("condition_reconstruction",), ("reconstruction",)),
        "higher",
        "how well a test image regenerated from its own code and fine vector is told apart from "
        "other images of its code.",
    ),
    Headline(
        "class_retention",
        "class retention",
        (("class_retention",),),
        "higher",
        "share of fine-traversal steps that keep the strip's starting class (fine control "
        "should not change the kind).",
    ),
    Headline(
        "speed",
        "sampling images/s",
        (("sampling", "images_per_second"),),
        "higher",
        "images generated per second at the evaluation's sampling settings.",
    ),
)


def find(tree: Any, tail: tuple[str, ...]) -> float | None:
    """The number at the first path of nested dicts (depth first) that ends with `tail`; a
    dict found there gives its "value" or "mean". None where there is none."""
    if not isinstance(tree, dict):
        return None
    value = _at(tree, tail)
    if value is not None:
        return value
    for child in tree.values():
        found = find(child, tail)
        if found is not None:
            return found
    return None


def _at(tree: dict, tail: tuple[str, ...]) -> float | None:
    node: Any = tree
    for key in tail:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    if isinstance(node, dict):
        node = node.get("value", node.get("mean"))
    return float(node) if is_number(node) else None


def headline_rows(
    evaluation: dict[str, Any], compared: list[tuple[str, dict[str, Any]]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The short table: one row per headline figure eval.json holds, with the reference
    points measured on the same features and the figure of each compared run (its label,
    its eval.json) where that run was scored on the same features too. Returns the rows and
    the names of the reference columns."""
    features = _features(evaluation)
    references = REFERENCES.get(features or "", {})
    same = [(label, ev) for label, ev in compared if _features(ev) == features]
    columns = [*references, *(label for label, _ in same)]
    rows = []
    for head in HEADLINES:
        value = _first(evaluation, head.tails)
        if value is None:
            continue
        points = [references[name].get(head.id) for name in references]
        points += [_first(ev, head.tails) for _, ev in same]
        rows.append({"head": head, "value": value, "points": points})
    return rows, columns


def _first(evaluation: dict[str, Any], tails: tuple[tuple[str, ...], ...]) -> float | None:
    for tail in tails:
        value = find(evaluation, tail)
        if value is not None:
            return value
    return None


def _features(evaluation: dict[str, Any]) -> str | None:
    features = evaluation.get("features")
    name = features.get("name") if isinstance(features, dict) else None
    return name if isinstance(name, str) else None


def stages(records: list[dict[str, Any]], started: float | None) -> list[dict[str, Any]]:
    """Per training stage, in the order it was logged: its last logged step and its wall time
    from the end of the stage before (or the run's start) to its last record, so that the
    preparation a stage does before its first step (a teacher, a basis) counts towards it."""
    out: dict[str, dict[str, Any]] = {}
    previous_end = started
    for record in records:
        if not isinstance(record, dict):
            continue  # a hand-edited or damaged line
        stage, step, at = record.get("stage"), record.get("step"), record.get("time")
        if not isinstance(stage, str) or not is_number(step):
            continue
        row = out.get(stage)
        if row is None:
            row = out[stage] = {"stage": stage, "steps": step, "start": previous_end, "end": None}
        row["steps"] = max(row["steps"], step)
        if is_number(at):
            if row["start"] is None:
                row["start"] = at
            row["end"] = at
            previous_end = at
    for row in out.values():
        seconds = None
        if row["start"] is not None and row["end"] is not None:
            seconds = max(0.0, row["end"] - row["start"])
        row["seconds"] = seconds
    return list(out.values())


def duration(seconds: float | None) -> str:
    """12.3 s, 4 min 05 s, 2 h 03 min: a wall time as a person says it."""
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def is_number(value: object) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
