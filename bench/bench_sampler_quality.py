"""Sampler quality against speed on one trained run: FD, recall, control accuracy, images/s, NFE.

For each candidate `SOLVER:STEPS` (`sample.solver`, `sample.steps`) it runs the run's own
evaluation (`ucgen.app.run_eval.evaluate_run`, what `ucgen eval RUN` prints: FD and recall on
the reference network's features, control accuracy where the run has codes) once per
`--seeds` value with the run's other sample.* settings (`--set sample.guidance=2` etc. change
them for every candidate), then times sampling alone: `--repeats` rounds in which the
candidates take turns (so a change in the shared machine's load hits all alike), each round
drawing `--speed-n` images with `TrainedModel.render`; images/s is the median round.
NFE is `ucgen.diffusion.edm.nfe` (denoiser evaluations per image); "UNet/img" is counted
with a forward hook (NFE times the guided predictions batched into each evaluation).

    PYTHONPATH=src python bench/bench_sampler_quality.py RUN
    PYTHONPATH=src python bench/bench_sampler_quality.py RUN --seeds 0 1 2 \\
        --candidates heun:18 heun:8 dpmpp2m:6 --set sample.guidance=2 --set sample.guidance_fine=2

Run by hand (minutes); prints a markdown table with the machine and its load.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import tempfile
import time
import typing
from pathlib import Path

import torch

from ucgen.app.run_eval import evaluate_run
from ucgen.app.trained import TrainedModel
from ucgen.config.schema import Solver
from ucgen.diffusion.edm import nfe

DEFAULT = ["heun:18", "heun:12", "heun:8", "heun:6", "heun:4"] + [
    f"dpmpp2m:{n}" for n in (4, 6, 8, 10, 12)
]


def parse(candidate: str) -> tuple[Solver, int]:
    solver, _, steps = candidate.partition(":")
    if solver not in typing.get_args(Solver) or not steps.isdigit():
        raise SystemExit(f"candidate {candidate!r}: expected SOLVER:STEPS, e.g. dpmpp2m:6")
    return solver, int(steps)  # type: ignore[return-value]


def with_sampler(model: TrainedModel, solver: Solver, steps: int) -> None:
    """Point the model's sample.* config (what evaluate_run and render read) at a candidate."""
    sample = dataclasses.replace(model.config.sample, solver=solver, steps=steps)
    sample.check()
    model.config = dataclasses.replace(model.config, sample=sample)


def unet_rows_per_image(model: TrainedModel, n: int) -> float:
    """UNet rows evaluated per image in one render of n images (forward-hook count)."""
    rows = []
    hook = model.generator.unet.register_forward_hook(  # type: ignore[attr-defined]
        lambda _m, args, _o: rows.append(args[0].shape[0])
    )
    model.sample(n, seed=0)
    hook.remove()
    return sum(rows) / n


def load() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", help="a trained run folder")
    parser.add_argument("--candidates", nargs="+", default=DEFAULT, help="SOLVER:STEPS ...")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="evaluation seeds")
    parser.add_argument("--n", type=int, default=None, help="samples (default eval.num_samples)")
    parser.add_argument("--speed-n", type=int, default=256, help="images per timed round")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="override of the run's config, section.key=value (repeatable)",
    )
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    candidates = [parse(c) for c in args.candidates]

    model = TrainedModel.load(args.run, device=args.device, overrides=args.overrides)
    s = model.config.sample
    print(
        f"run {args.run} ({model.config.train.method}, {model.config.data.source}), "
        f"guidance {s.guidance} / fine {s.guidance_fine}, precision {s.precision}, "
        f"batch {s.batch_size}; torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}); "
        f"load average (1/5/15 min) at start {load()}",
        flush=True,
    )
    quality: dict[tuple[str, int], list[dict[str, typing.Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for solver, steps in candidates:
            with_sampler(model, solver, steps)
            for seed in args.seeds:
                out = Path(tmp) / f"{solver}-{steps}-{seed}.json"
                report = evaluate_run(model, args.n, seed=seed, out=out, progress=False)
                quality.setdefault((solver, steps), []).append(report)
                g = report["generation"]
                print(
                    f"  {solver}:{steps} seed {seed}: FD {g['fd']:.3f} recall {g['recall']:.3f}"
                    f" (load {load()})",
                    flush=True,
                )
    print(f"timing, load average at start {load()}", flush=True)
    rates: dict[tuple[str, int], list[float]] = {c: [] for c in candidates}
    for _ in range(args.repeats):
        for solver, steps in candidates:
            with_sampler(model, solver, steps)
            start = time.perf_counter()
            model.sample(args.speed_n, seed=1)
            rates[(solver, steps)].append(args.speed_n / (time.perf_counter() - start))
    print(f"timing done, load average {load()}", flush=True)

    def cell(values: list[float], digits: int) -> str:
        if len(values) == 1:
            return f"{values[0]:.{digits}f}"
        return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"

    base = statistics.mean(r["generation"]["fd"] for r in quality[candidates[0]])
    print()
    print(
        "| solver | steps | NFE | UNet/img | FD | FD / first | recall | control | images/s "
        "(median, range) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for solver, steps in candidates:
        reports = quality[(solver, steps)]
        fd = [r["generation"]["fd"] for r in reports]
        recall = [r["generation"]["recall"] for r in reports]
        control = [r["control"]["mean"] for r in reports if "control" in r]
        with_sampler(model, solver, steps)
        rows = unet_rows_per_image(model, 8)
        r = rates[(solver, steps)]
        print(
            f"| {solver} | {steps} | {nfe(solver, steps)} | {rows:.0f} | {cell(fd, 2)} | "
            f"{statistics.mean(fd) / base:.2f} | {cell(recall, 3)} | "
            f"{cell(control, 3) if control else '-'} | "
            f"{statistics.median(r):.0f} ({min(r):.0f}-{max(r):.0f}) |"
        )
    n = model.config.eval.num_samples if args.n is None else args.n
    print(
        f"\n{n} samples per evaluation, seeds {args.seeds}; timing {args.speed_n} images x "
        f"{args.repeats} rounds; FD / first: mean FD over the first candidate's"
    )


if __name__ == "__main__":
    main()
