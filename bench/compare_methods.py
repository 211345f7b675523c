"""Train several methods on one data set under the same budget, evaluate each, write a table.

    python bench/compare_methods.py --preset digits --methods cofi uncond labels \
        --set diffusion.steps=3000 --out bench/results/digits.md

Every method gets the same config (so the same UNet, the same diffusion steps and batch) and
differs only in `train.method`; CoFi-UCGen also trains its stage 1 (its steps are reported)
and is evaluated with the HM-UNet and with its stage-1 GAN generator, each under the condition
samplers of --priors (`sample.prior`). The markdown
table names the machine and every setting. Run by hand; it takes as long as its budget.
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

from ucgen.config import load_config, to_dict
from ucgen.evaluation.run_eval import evaluate_run
from ucgen.io.atomic import atomic_write_text
from ucgen.io.runs import Run
from ucgen.sampling.trained import TrainedModel
from ucgen.training.driver import train_run

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="digits")
    parser.add_argument("--methods", nargs="+", default=["cofi", "uncond", "labels"])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/bench"))
    parser.add_argument("--samples", type=int, default=None, help="eval samples per method")
    parser.add_argument(
        "--priors",
        nargs="+",
        default=["fitted", "gaussian"],
        choices=["fitted", "gaussian"],
        help="CoFi condition samplers to evaluate each of its generators with (sample.prior): "
        "the HM-UNet was trained on the fitted one, the stage-1 GAN on the Gaussian one",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/compare.md"))
    args = parser.parse_args()

    rows = []
    for method in args.methods:
        config = load_config(args.preset, overrides=[*args.overrides, f"train.method={method}"])
        run = Run.create(f"{args.preset}-{method}", config, args.runs_dir)
        started = time.perf_counter()
        train_run(config, run, progress=False)
        seconds = time.perf_counter() - started
        generators = ["diffusion", *sorted(TrainedModel.load(run.path).parts.generators)]
        # sample.prior picks CoFi's condition sampler; the other methods have one sampler.
        priors = args.priors if method == "cofi" else [config.sample.prior]
        for name in generators:
            for prior in priors:
                label = f"{name}, {prior} prior" if method == "cofi" else name
                model = TrainedModel.load(
                    run.path, generator=name, overrides=[f"sample.prior={prior}"]
                )
                report = evaluate_run(
                    model,
                    num_samples=args.samples,
                    progress=False,
                    out=run.path
                    / (
                        f"eval-{name}-{prior}-prior.json"
                        if method == "cofi"
                        else f"eval-{name}.json"
                    ),
                )
                rows.append((method, label, seconds, report))
                fd = report["generation"]["fd"]
                print(f"{method}/{label}: FD {fd:.3f} ({seconds:.0f} s training)")

    config = load_config(args.preset, overrides=args.overrides)
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
    lines += ["", "Settings:", "", "```json", json.dumps(to_dict(config), indent=2), "```", ""]
    atomic_write_text(args.out, "\n".join(lines))
    print(f"table written to {args.out}")


if __name__ == "__main__":
    main()
