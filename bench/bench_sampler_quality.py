"""Sampler quality against speed on one trained run: FD, recall, control accuracy, images/s, NFE.

For each candidate `[GENERATOR/]SOLVER:STEPS[:RHO]` (the pixel generator, by default
"diffusion", e.g. "distilled" for the run's guidance-distilled student; `sample.solver`,
`sample.steps`, `sample.rho`, by default the run's), or a bare GENERATOR at the run's
sampling settings (e.g. "fewstep", the step-distilled student, which samples at its own
levels), it runs the run's own evaluation (`ucgen.app.run_eval.evaluate_run`, what
`ucgen eval RUN` prints: FD and recall on the reference network's features, control accuracy
where the run has codes) once per
`--seeds` value with the run's other sample.* settings (`--set sample.guidance=2` etc. change
them for every candidate), then times sampling alone: `--repeats` rounds in which the
candidates take turns (so a change in the shared machine's load hits all alike), each round
drawing `--speed-n` images with `TrainedModel.render` at each `--batch-sizes` value (quality
is measured once, at the run's: an image depends on the seed and its index, not the batch, up
to float rounding); images/s is the median round.
NFE is `ucgen.diffusion.edm.nfe` (denoiser evaluations per image); "UNet/img" is counted
with a forward hook (NFE times the guided predictions batched into each evaluation).
"GFLOP/img" counts matmuls and convolutions of one render (`FlopCounterMode`); "peak %" is
that times images/s over this machine's best fp32 `torch.mm` rate on the same threads
(`bench_training.matmul_peak`, measured before the timing rounds).

    PYTHONPATH=src python bench/bench_sampler_quality.py RUN
    PYTHONPATH=src python bench/bench_sampler_quality.py RUN --seeds 0 1 2 \\
        --candidates heun:18 heun:8 dpmpp2m:6 --set sample.guidance=2 --set sample.guidance_fine=2
    PYTHONPATH=src python bench/bench_sampler_quality.py RUN --candidates heun:12 \
        distilled/dpmpp2m:8 fewstep          # a run trained with diffusion.*distill_steps
    PYTHONPATH=src python bench/bench_sampler_quality.py RUN --candidates dpmpp2m:8 \
        distilled/dpmpp2m:8 --batch-sizes 32 64 128 256

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
from torch.utils.flop_counter import FlopCounterMode

from bench_training import matmul_peak
from ucgen.app.run_eval import evaluate_run
from ucgen.app.trained import TrainedModel
from ucgen.config.schema import SampleConfig, Solver
from ucgen.diffusion.edm import level_count, nfe

DEFAULT = ["heun:18", "heun:12", "heun:8", "heun:6", "heun:4"] + [
    f"dpmpp2m:{n}" for n in (4, 6, 8, 10, 12)
]


Candidate = tuple[str, Solver | None, int | None, float | None]


def parse(candidate: str) -> Candidate:
    if ":" not in candidate and "/" not in candidate:
        return (candidate, None, None, None)
    generator, _, sampler = candidate.rpartition("/")
    solver, steps, *rho = sampler.split(":")
    try:
        parsed = (generator or "diffusion", solver, int(steps), float(rho[0]) if rho else None)
    except ValueError:
        parsed = ("", "", 0, None)
    if solver not in typing.get_args(Solver) or len(rho) > 1 or parsed[2] < 1:
        raise SystemExit(
            f"candidate {candidate!r}: expected [GENERATOR/]SOLVER:STEPS[:RHO], "
            "e.g. distilled/dpmpp2m:8:10"
        )
    return parsed  # type: ignore[return-value]


def name(candidate: Candidate) -> str:
    sampler = ":".join(str(v) for v in candidate[1:] if v is not None)
    return candidate[0] + ("/" + sampler if sampler else "")


def with_sampler(
    model: TrainedModel, base: SampleConfig, candidate: Candidate, batch_size: int | None = None
) -> None:
    """Point the model's sample.* config (what evaluate_run and render read) at a candidate
    (and a sampling batch size, by default the run's)."""
    _, solver, steps, rho = candidate
    sample = dataclasses.replace(
        model.config.sample,
        solver=base.solver if solver is None else solver,
        steps=base.steps if steps is None else steps,
        rho=base.rho if rho is None else rho,
        batch_size=base.batch_size if batch_size is None else batch_size,
    )
    sample.check()
    model.config = dataclasses.replace(model.config, sample=sample)


def unet_rows_per_image(model: TrainedModel, n: int) -> float:
    """UNet rows evaluated per image in one render of n images (forward-hook count)."""
    rows = []
    generator = model.generator
    while hasattr(generator, "inner"):  # wrappers of the DiffusionGenerator
        generator = generator.inner
    hook = generator.unet.register_forward_hook(  # type: ignore[attr-defined]
        lambda _m, args, _o: rows.append(args[0].shape[0])
    )
    model.sample(n, seed=0)
    hook.remove()
    return sum(rows) / n


def flops_per_image(model: TrainedModel, n: int) -> float:
    """Matmul and convolution FLOPs per image of one render of n images."""
    counter = FlopCounterMode(display=False)
    with counter:
        model.sample(n, seed=0)
    return counter.get_total_flops() / n


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
        "--batch-sizes",
        type=int,
        nargs="+",
        default=None,
        help="sample.batch_size values to time each candidate at (default: the run's); "
        "quality is measured once, at the run's, since an image depends only on (seed, index)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="override of the run's config, section.key=value (repeatable)",
    )
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.batch_sizes and min(args.batch_sizes) < 1:
        parser.error(f"--batch-sizes must be >= 1, got {args.batch_sizes}")
    candidates = [parse(c) for c in args.candidates]

    models = {
        g: TrainedModel.load(args.run, device=args.device, generator=g, overrides=args.overrides)
        for g in dict.fromkeys(c[0] for c in candidates)
    }
    model = models[candidates[0][0]]
    s = model.config.sample
    print(
        f"run {args.run} ({model.config.train.method}, {model.config.data.source}), "
        f"guidance {s.guidance} / fine {s.guidance_fine}, precision {s.precision}, "
        f"batch {s.batch_size}; torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}); "
        f"load average (1/5/15 min) at start {load()}",
        flush=True,
    )
    run_sample = s
    threads = torch.get_num_threads()
    quality: dict[Candidate, list[dict[str, typing.Any]]] = {c: [] for c in candidates}
    with tempfile.TemporaryDirectory() as tmp:
        for c in candidates:
            model = models[c[0]]
            with_sampler(model, run_sample, c)
            for seed in args.seeds:
                out = Path(tmp) / f"{name(c)}-{seed}.json"
                report = evaluate_run(model, args.n, seed=seed, out=out, progress=False)
                quality[c].append(report)
                g = report["generation"]
                print(
                    f"  {name(c)} seed {seed}: FD {g['fd']:.3f} recall {g['recall']:.3f}"
                    f" (load {load()})",
                    flush=True,
                )
    peak = matmul_peak(threads, "fp32")
    print(f"timing, load average at start {load()}", flush=True)
    batches = args.batch_sizes or [run_sample.batch_size]
    rates: dict[tuple[Candidate, int], list[float]] = {
        (c, b): [] for c in candidates for b in batches
    }
    for _ in range(args.repeats):
        for c, b in rates:
            model = models[c[0]]
            with_sampler(model, run_sample, c, b)
            start = time.perf_counter()
            model.sample(args.speed_n, seed=1)
            rates[c, b].append(args.speed_n / (time.perf_counter() - start))
    print(f"timing done, load average {load()}", flush=True)

    def cell(values: list[float], digits: int) -> str:
        if len(values) == 1:
            return f"{values[0]:.{digits}f}"
        return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"

    first_fd = statistics.mean(r["generation"]["fd"] for r in quality[candidates[0]])
    print()
    print(
        "| generator | solver | steps | rho | NFE | UNet/img | FD | FD / first | recall | control "
        "| batch | images/s (median, range) | GFLOP/img | peak % |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in candidates:
        generator = c[0]
        model = models[generator]
        reports = quality[c]
        fd = [r["generation"]["fd"] for r in reports]
        recall = [r["generation"]["recall"] for r in reports]
        control = [r["control"]["mean"] for r in reports if "control" in r]
        with_sampler(model, run_sample, c)
        _, used = model.drawn_by()
        rows = unet_rows_per_image(model, 8)
        flops = flops_per_image(model, 8)
        for b in batches:
            r = rates[c, b]
            print(
                f"| {generator} | {used.solver} | {level_count(used.steps)} | {used.rho:g} | "
                f"{nfe(used.solver, used.steps)} | {rows:.0f} | {cell(fd, 2)} | "
                f"{statistics.mean(fd) / first_fd:.2f} "
                f"| {cell(recall, 3)} | {cell(control, 3) if control else '-'} | {b} | "
                f"{statistics.median(r):.0f} ({min(r):.0f}-{max(r):.0f}) | {flops / 1e9:.3f} | "
                f"{100 * flops * statistics.median(r) / peak:.1f} |"
            )
    n = model.config.eval.num_samples if args.n is None else args.n
    print(
        f"\n{n} samples per evaluation, seeds {args.seeds}; timing {args.speed_n} images x "
        f"{args.repeats} rounds; FD / first: mean FD over the first candidate's; fp32 matmul "
        f"peak {peak / 1e9:.0f} GFLOP/s on {threads} thread(s)"
    )


if __name__ == "__main__":
    main()
