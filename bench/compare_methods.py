"""Train several methods on one data set under the same budget, evaluate each, write a table.

    python bench/compare_methods.py --preset digits --methods cofi uncond labels \
        --set diffusion.steps=3000 --out bench/results/digits.md

Every method gets the same config (so the same UNet, the same diffusion steps and batch) and
differs only in `train.method` (and each method's own section). A row may also be
`LABEL=METHOD:SECTION.KEY=VALUE,...`, a method with training overrides of its own; a value
`@LABEL` is the run folder of an earlier row (e.g. RCG's Table 9a on Fashion-MNIST, every row
one UNet and one budget, the cluster-id row reusing the RCG row's encoder):

    python bench/compare_methods.py --preset fmnist --methods uncond \
        rcg-clusters=rcg:rcg.condition=clusters,rcg.encoder_from=@rcg cofi labels rcg ...

(`rcg` must come before the row that names `@rcg`; bench/results/table9a-10k.md has the
command that was run.) Every pixel generator a method
trains is evaluated (CoFi-UCGen's HM-UNet and its stage-1 GAN), with the run's own config and
with each --variant whose section the run's config has (by default CoFi's Gaussian condition
sampler). The markdown table names the machine and every setting. Run by hand; it takes as
long as its budget.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from ucgen.app.driver import train_run
from ucgen.app.run_eval import evaluate_run
from ucgen.app.trained import STUDENTS, TrainedModel
from ucgen.config import to_dict
from ucgen.io.atomic import atomic_write_text
from ucgen.io.runs import Run
from ucgen.methods import load_config

COLUMNS = [
    ("FD", ("generation", "fd")),
    ("KID", ("generation", "kid")),
    ("precision", ("generation", "precision")),
    ("recall", ("generation", "recall")),
    ("control acc.", ("control", "mean")),
    ("consistency", ("consistency", "value")),
    ("NMI", ("clustering", "nmi")),
    ("purity", ("clustering", "purity")),
    ("bit recovery", ("bit_recovery",)),
    ("cond. FD", ("condition_fd", "generated")),
    ("cond. FD floor", ("condition_fd", "floor")),
    ("probe acc.", ("representation", "accuracy")),
    ("vary class kept", ("variations", "class_retention")),
    ("vary agreement", ("variations", "class_agreement")),
    ("vary novelty", ("variations", "novelty")),
    ("img/s", ("sampling", "images_per_second")),
]


def machine() -> str:
    cpu = "unknown CPU"
    if Path("/proc/cpuinfo").is_file():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__}, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )


def lookup(report: dict, path: tuple[str, ...]) -> str:
    value: object = report
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return "-"
        value = value[key]
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def parse_row(spec: str, done: dict[str, Path]) -> tuple[str, str, list[str]]:
    """`METHOD` or `LABEL=METHOD:SECTION.KEY=VALUE,...` -> (label, method, overrides), with
    each value `@LABEL` replaced by that earlier row's run folder."""
    label, _, rest = spec.partition("=") if "=" in spec.split(":", 1)[0] else (spec, "", spec)
    method, _, extra = rest.partition(":")
    overrides = []
    for item in filter(None, extra.split(",")):
        key, _, value = item.partition("=")
        if value.startswith("@"):
            if value[1:] not in done:
                raise SystemExit(f"{spec}: no earlier row {value[1:]!r} (rows: {list(done)})")
            value = str(done[value[1:]])
        overrides.append(f"{key}={value}")
    return label, method, [*overrides, f"train.method={method}"]


def write_table(args: argparse.Namespace, rows: list, config_dict: dict) -> None:
    """The markdown table of the rows so far (rewritten after every row: a long benchmark
    leaves what it has measured if it is stopped)."""
    lines = [
        f"# {args.preset}: {', '.join(args.methods)}",
        "",
        f"Machine: {machine()}.",
        f"Command: `python {' '.join(sys.argv)}`.",
        f"Evaluation: {rows[0][3]['samples']['images']} samples against the "
        f"{rows[0][3]['data']['name']} test split, features: {rows[0][3]['features']['name']}. "
        f"{rows[0][3]['features']['note']}",
        "",
        "| method | generator | train s | " + " | ".join(c for c, _ in COLUMNS) + " |",
        "|---" * (3 + len(COLUMNS)) + "|",
    ]
    for method, name, seconds, report in rows:
        cells = [lookup(report, path) for _, path in COLUMNS]
        lines.append(f"| {method} | {name} | {seconds:.0f} | " + " | ".join(cells) + " |")
    lines += ["", "Settings:", "", "```json", json.dumps(config_dict, indent=2), "```", ""]
    atomic_write_text(args.out, "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="digits")
    parser.add_argument("--methods", nargs="+", default=["cofi", "uncond", "labels"])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/bench"))
    parser.add_argument("--samples", type=int, default=None, help="eval samples per method")
    parser.add_argument(
        "--variant",
        dest="variants",
        action="append",
        default=None,
        metavar="LABEL:SECTION.KEY=VALUE",
        help="also evaluate with this sampling-time override, for the runs whose config has the "
        "section (repeatable; default: 'gaussian prior:cofi.prior=gaussian', the N(0, I) "
        "sampler the stage-1 GAN was trained on)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/compare.md"))
    args = parser.parse_args()

    variants = [v.split(":", 1) for v in args.variants or ["gaussian prior:cofi.prior=gaussian"]]
    rows = []
    done: dict[str, Path] = {}
    for spec in args.methods:
        method, kind, own = parse_row(spec, done)
        config = load_config(args.preset, overrides=[*args.overrides, *own])
        run = Run.create(f"{args.preset}-{method}", config, args.runs_dir)
        done[method] = run.path
        started = time.perf_counter()
        train_run(config, run, progress=False)
        seconds = time.perf_counter() - started
        print(f"{method} ({kind}): trained in {seconds:.0f} s", flush=True)
        students = [g for g, (_, key) in STUDENTS.items() if getattr(config.diffusion, key)]
        unets = ["diffusion", *students]
        generators = [*unets, *sorted(TrainedModel.load(run.path).parts.generators)]
        sections = to_dict(config)
        mine = [(label, o) for label, o in variants if o.split(".", 1)[0] in sections]
        for name in generators:
            for i, (label, overrides) in enumerate([("own config", None), *mine]):
                model = TrainedModel.load(
                    run.path, generator=name, overrides=[] if overrides is None else [overrides]
                )
                report = evaluate_run(
                    model,
                    num_samples=args.samples,
                    progress=False,
                    out=run.path / f"eval-{name}-{i}.json",
                )
                label = f"{name}, {label}"
                rows.append((method, label, seconds, report))
                fd = report["generation"]["fd"]
                print(f"{method}/{label}: FD {fd:.3f} ({seconds:.0f} s training)", flush=True)
        write_table(args, rows, to_dict(load_config(args.preset, overrides=args.overrides)))
    print(f"table written to {args.out}")


if __name__ == "__main__":
    main()
