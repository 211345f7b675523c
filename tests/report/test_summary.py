"""What the report reads from a run's files: headline figures wherever eval.json keeps them,
reference points only on the features they were measured on, stage wall times."""

from ucgen.report.summary import duration, find, headline_rows, stages

DIGITS_8PX = {"name": "reference-cnn-v1 (digits, 8px, 128-d)"}


def _row(rows, head_id):
    return next(r for r in rows if r["head"].id == head_id)


def test_figures_are_found_wherever_the_evaluation_keeps_them():
    evaluation = {
        "generation": {"fd": 12.0, "recall": 0.9},
        "fine_control": {
            "class_retention": {"value": 0.8, "per_step": [1, 0.5]},
            "fine_effect": {"mean": 0.12},  # a metric added later, in a sub-section
            "monotonicity": 0.7,
        },
        "condition_reconstruction": {"value": 0.4},
        "fd_per_code": [{"code": 0, "fd": 99.0}],
    }
    assert find(evaluation, ("fd",)) == 12.0  # dicts first, never a list's entries
    rows, columns = headline_rows(evaluation, [])
    ids = [r["head"].id for r in rows]
    assert ids == [
        "fd",
        "recall",
        "fine_effect",
        "monotonicity",
        "reconstruction",
        "class_retention",
    ]
    assert _row(rows, "fine_effect")["value"] == 0.12 and columns == []


def test_reference_points_and_compared_runs_only_on_the_same_features():
    evaluation = {"features": DIGITS_8PX, "generation": {"fd": 20.0}, "control": {"mean": 0.9}}
    baseline = {"features": DIGITS_8PX, "generation": {"fd": 30.0}}
    other_features = {"features": {"name": "x"}, "generation": {"fd": 1.0}}
    rows, columns = headline_rows(evaluation, [("base", baseline), ("elsewhere", other_features)])
    assert columns == ["floor (real images)", "class Gaussian", "pixel Gaussian", "base"]
    assert _row(rows, "fd")["points"] == [6.41, 28.5, 359.4, 30.0]
    assert _row(rows, "control")["points"] == [1.0, 0.983, None, None]
    rows, columns = headline_rows({"features": {"name": "x"}, "generation": {"fd": 5.0}}, [])
    assert columns == [] and _row(rows, "fd")["points"] == []


def test_stage_wall_time_runs_from_the_stage_before():
    records = [
        {"time": 110.0, "stage": "a", "step": 10},
        {"time": 130.0, "stage": "a", "step": 20},
        {"time": 150.0, "stage": "b", "step": 5},
        {"time": 200.0, "stage": "b", "step": 10},
        ["not", "a", "record"],
    ]
    out = stages(records, started=100.0)
    assert [(s["stage"], s["steps"], s["seconds"]) for s in out] == [
        ("a", 20, 30.0),
        ("b", 10, 70.0),
    ]
    assert [duration(s) for s in (4.25, 245, 7380, None)] == [
        "4.2 s",
        "4 min 05 s",
        "2 h 03 min",
        "unknown",
    ]
