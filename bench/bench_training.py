"""Training speed of both stages, and sampling speed, with and without each speed option.

For each preset (default: digits 16x16x1 and fmnist 28x28x1) it builds CoFi stage 1 (`Stage1`:
G, E, joint D) and the diffusion stage (`DiffusionStage`: HM-UNet with a CoFi-sized condition
drawn at random, as the frozen encoder's output would be) from the preset's config, and times
`train_step` on random images for these variants, each changing one thing from "eager":

- eager:          NCHW, no torch.compile, torch's default threads, the preset's batch size
                  (the plain eager models: the baseline every speed-up is a multiple of)
- threads=N:      eager on torch.set_num_threads(N) (default: 1 and the number of cores)
- channels_last:  NHWC weights and activations         } each on --option-threads threads
- compile:        torch.compile, mode "default"         } (default 1), so compare them with
- compile-ro:     torch.compile, mode "reduce-overhead" } the threads=1 row
- batch=2B:       twice the preset's batch size         }
- bf16 threads=N: bfloat16 autocast (`train.precision = "bf16"`), NCHW, on N threads (each of
                  --threads); not speed only: results differ by bf16 rounding
                  (bench/bf16_correctness.py checks it learns as fp32 does)
- defaults:       what `ucgen train` uses: the preset's train.{channels_last, compile, threads,
                  precision}, threads "auto" resolved once when the benchmark starts

Speed options are applied exactly as training applies them (`ucgen.runtime.speed`). Each
variant is a separate stage object; variants take turns within each repeat (so a change in
machine load hits all alike) and a figure is the median over repeats. "warm-up s" is the time of
the first two steps (compilation for compiled variants). FLOPs of one step (forward + backward,
matmuls and convolutions) are counted once with `torch.utils.flop_counter.FlopCounterMode` and
divided by the step time, as a share of this machine's matmul peak in the variant's precision
(the best timed large fp32 or bf16 `torch.mm` at the start and at the end, at the variant's
thread count: on a loaded machine the peak is an underestimate, so a share can exceed 100%).
Sampling figures come from bench_sampling.py.

    PYTHONPATH=src python bench/bench_training.py
    PYTHONPATH=src python bench/bench_training.py --presets digits --stages diffusion --repeats 3

Run by hand; it prints a markdown table with the machine and settings.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import time
from dataclasses import dataclass, replace

import torch
from torch.utils.flop_counter import FlopCounterMode

import bench_sampling
from ucgen.config import Config
from ucgen.methods import load_config
from ucgen.methods.cofi.stage import Stage1
from ucgen.models.condition import Condition
from ucgen.runtime.speed import SpeedSettings, apply_speed, auto_threads, precision_scope
from ucgen.runtime.stage import TrainingStage
from ucgen.training.diffusion_stage import DiffusionStage, unet_config

DEFAULT_THREADS = torch.get_num_threads()  # torch's default here: one per core
PEAK: dict[tuple[int, str], float] = {}  # matmul FLOP/s by (threads, precision), from main()
CPU = torch.device("cpu")


@dataclass(frozen=True)
class Variant:
    """One way of running a stage: layout, compile mode, threads (0: default), batch factor,
    precision."""

    name: str
    channels_last: bool = False
    compile: str = "off"
    threads: int = 0
    batch_factor: int = 1
    precision: str = "fp32"


def variants(
    config: Config, names: list[str], thread_counts: list[int], option_threads: int
) -> list[Variant]:
    """The variants named (see the module docstring), in the order named."""
    eager = Variant("eager")
    option = replace(eager, threads=option_threads)
    train = config.train
    known = {
        "eager": [eager],
        "threads": [replace(eager, name=f"threads={n}", threads=n) for n in thread_counts],
        "channels_last": [replace(option, name="channels_last", channels_last=True)],
        "compile": [replace(option, name="compile", compile="default")],
        "compile-ro": [replace(option, name="compile-ro", compile="reduce-overhead")],
        "batch": [replace(option, name="batch=2B", batch_factor=2)],
        "bf16": [
            replace(eager, name=f"bf16 threads={n}", threads=n, precision="bf16")
            for n in thread_counts
        ],
        "defaults": [
            Variant(
                "defaults",
                train.channels_last,
                train.compile,
                auto_threads() if train.threads == "auto" else train.threads,
                precision=train.precision,
            ),
        ],
    }
    return [v for name in names for v in known[name]]


def build_stage(kind: str, config: Config, resolution: int, batch: int) -> TrainingStage:
    """A fresh Stage1 or DiffusionStage of the preset's sizes, seeded, with batch size `batch`."""
    torch.manual_seed(0)
    if kind == "stage1":
        return Stage1(replace(config.method, batch_size=batch), 1, resolution)
    bits, fine = config.method.bits, config.method.fine_dim

    def condition(images: torch.Tensor, labels: torch.Tensor | None) -> Condition:
        b = images.shape[0]
        return Condition(coarse=torch.randn(b, bits).sign(), fine=torch.randn(b, fine))

    unet = unet_config(config.diffusion, 1, resolution, bits, fine)
    return DiffusionStage(replace(config.diffusion, batch_size=batch), unet, condition)


def layout(networks: list[torch.nn.Module]) -> str:
    """NHWC, NCHW or mixed: the memory format of the networks' 4-d weights after apply_speed."""
    weights = [  # those whose two layouts differ in memory
        p
        for net in networks
        for p in net.parameters()
        if p.dim() == 4 and p.shape[1] > 1 and p.shape[2] * p.shape[3] > 1
    ]
    nhwc = [p.is_contiguous(memory_format=torch.channels_last) for p in weights]
    return "NHWC" if all(nhwc) else "NCHW" if not any(nhwc) else "mixed"


def step_flops(stage: TrainingStage, images: torch.Tensor) -> int:
    """FLOPs of one training step (forward + backward, matmuls and convolutions)."""
    probe = copy.deepcopy(stage)
    counter = FlopCounterMode(display=False)
    with counter:
        probe.train_step(images, None, 0)
    return counter.get_total_flops()


def matmul_peak(threads: int, precision: str, n: int = 1024, repeats: int = 10) -> float:
    """Best torch.mm FLOP/s of an n x n product in `precision` on `threads` threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    torch.set_num_threads(before)
    return 2 * n**3 / best


class Runner:
    """A stage, its batch, thread count (0: the process default) and precision; times its
    steps, each under `precision_scope` as the training loop runs them."""

    def __init__(
        self, stage: TrainingStage, images: torch.Tensor, threads: int, precision: str
    ) -> None:
        self.stage, self.images, self.threads = stage, images, threads
        self.precision = precision
        self.step = 0

    def seconds(self, steps: int) -> float:
        """Wall time of the next `steps` training steps."""
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads or DEFAULT_THREADS)
        start = time.perf_counter()
        for _ in range(steps):
            with precision_scope(self.precision, CPU):  # type: ignore[arg-type]
                self.stage.train_step(self.images, None, self.step)
            self.step += 1
        seconds = time.perf_counter() - start
        torch.set_num_threads(before)
        return seconds


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


@dataclass
class Row:
    """One line of the table; its share of peak is rendered last, against the best peak seen."""

    cells: list[str]  # every column but "% peak" (the next to last)
    threads: int
    flops_per_s: float | None = None  # None: not counted (sampling)
    precision: str = "fp32"  # whose matmul peak the share is of

    def render(self) -> str:
        share = (
            ""
            if self.flops_per_s is None
            else f"{100 * self.flops_per_s / PEAK[self.threads, self.precision]:.1f}%"
        )
        return "| " + " | ".join([*self.cells[:-1], share, self.cells[-1]]) + " |"


def bench_training(
    preset: str, overrides: list[str], stages: list[str], names: list[str], args: argparse.Namespace
) -> list[Row]:
    """Table rows for every stage and variant of one preset."""
    config = load_config(preset, overrides=overrides)
    resolution = config.data.resolution or bench_sampling.RESOLUTION[config.data.source]
    rows = []
    for kind in stages:
        base_batch = config.method.batch_size if kind == "stage1" else config.diffusion.batch_size
        chosen = variants(config, names, args.threads, args.option_threads)
        runs: dict[Variant, Runner] = {}
        flops: dict[int, int] = {}
        layouts: dict[Variant, str] = {}
        for v in chosen:
            batch = base_batch * v.batch_factor
            stage = build_stage(kind, config, resolution, batch)
            g = torch.Generator().manual_seed(1)
            images = torch.rand(batch, 1, resolution, resolution, generator=g) * 2 - 1
            if batch not in flops:
                flops[batch] = step_flops(stage, images)
            speed = SpeedSettings(v.channels_last, v.compile, v.precision)  # type: ignore[arg-type]
            apply_speed(stage.networks(), speed)
            runs[v] = Runner(stage, images, v.threads, v.precision)
            layouts[v] = layout(stage.networks())

        warm = {v: runs[v].seconds(2) for v in chosen}
        times: dict[Variant, list[float]] = {v: [] for v in chosen}
        for _ in range(args.repeats):
            for v in chosen:  # variants take turns within each repeat
                times[v].append(runs[v].seconds(args.steps) / args.steps)
        base = statistics.median(times[chosen[0]]) / (base_batch * chosen[0].batch_factor)
        for v in chosen:
            batch = base_batch * v.batch_factor
            step_s = statistics.median(times[v])
            threads = v.threads or DEFAULT_THREADS
            achieved = flops[batch] / step_s
            cells = [
                kind,
                f"{preset} {resolution}x{resolution}x1",
                v.name,
                str(threads),
                layouts[v],
                v.compile,
                v.precision,
                str(batch),
                f"{batch / step_s:.0f}",
                f"{base * batch / step_s:.2f}x",
                f"{flops[batch] / batch / 1e6:.1f}",
                f"{achieved / 1e9:.2f}",
                f"{warm[v]:.1f}",
            ]
            rows.append(Row(cells, threads, achieved, v.precision))
            print(rows[-1].render(), flush=True)
    return rows


def bench_sampling_rows(preset: str, overrides: list[str], args: argparse.Namespace) -> list[Row]:
    """Markdown rows of 18-step Heun sampling images/s, modes taking turns (bench_sampling)."""
    base = bench_sampling.build(preset, overrides, "cpu")
    cfg = base.config
    models = {m: bench_sampling.prepare(copy.deepcopy(base), m) for m in args.sample_modes}
    rows = []
    for threads in args.sample_threads:
        torch.set_num_threads(threads)
        runs = {
            m: bench_sampling.timer(u, args.sample_batch, 18, False, bench_sampling.precision(m))
            for m, u in models.items()
        }
        first = {m: run(0) for m, run in runs.items()}
        times: dict[str, list[float]] = {m: [] for m in runs}
        for i in range(args.repeats):
            for m, run in runs.items():
                times[m].append(run(1 + i))
        base_s = statistics.median(times[args.sample_modes[0]])
        for m in runs:
            s = statistics.median(times[m])
            cells = [
                "sampling",
                f"{preset} {cfg.resolution}x{cfg.resolution}x1",
                m,
                str(threads),
                "NHWC" if m in ("eager", "compile") else "NCHW",
                "default" if m == "compile" else "off",
                bench_sampling.precision(m),
                str(args.sample_batch),
                f"{args.sample_batch / s:.1f}",
                f"{base_s / s:.2f}x",
                "",
                "",
                f"{first[m]:.1f}",
            ]
            rows.append(Row(cells, threads))
            print(rows[-1].render(), flush=True)
    torch.set_num_threads(DEFAULT_THREADS)
    return rows


def peaks() -> str:
    return ", ".join(f"{n} thread(s) {d} {p / 1e9:.1f} GFLOP/s" for (n, d), p in PEAK.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["digits", "fmnist"])
    parser.add_argument("--stages", nargs="+", default=["stage1", "diffusion"])
    parser.add_argument(
        "--variants",
        nargs="+",
        default=[
            "eager",
            "threads",
            "channels_last",
            "compile",
            "compile-ro",
            "batch",
            "bf16",
            "defaults",
        ],
    )
    parser.add_argument(
        "--threads", type=int, nargs="+", default=sorted({1, DEFAULT_THREADS}), help="threads"
    )
    parser.add_argument(
        "--option-threads", type=int, default=1, help="threads of the option variants"
    )
    parser.add_argument(
        "--sample-threads", type=int, nargs="+", default=[1], help="threads for sampling"
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--steps", type=int, default=3, help="training steps per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs; the median is kept")
    parser.add_argument("--sample-batch", type=int, default=64)
    parser.add_argument("--no-sampling", action="store_true")
    parser.add_argument(
        "--sample-modes",
        nargs="+",
        default=["nchw", "eager", "compile", "bf16"],
        choices=["nchw", "eager", "compile", "bf16"],
        help="bench_sampling modes; the first is the baseline of 'vs eager'",
    )
    args = parser.parse_args()

    counts = sorted({*args.threads, *args.sample_threads, args.option_threads, DEFAULT_THREADS})
    for n in counts:
        for precision in ("fp32", "bf16"):
            PEAK[n, precision] = matmul_peak(n, precision)
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"default threads {DEFAULT_THREADS}, load average at start "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print("matmul peak (1024^3 torch.mm, best of 10) at start: " + peaks())
    print(f"steps per timed run {args.steps}, repeats {args.repeats} (median), random images\n")
    header = (
        "| stage | size | variant | threads | layout | compile | precision | batch | images/s "
        "| vs eager "
        "| MFLOP/image | GFLOP/s | % peak | warm-up s |"
    )
    rows: list[Row] = []
    print(header + "\n" + "|---" * 14 + "|", flush=True)
    for preset in args.presets:
        rows += bench_training(preset, args.overrides, args.stages, args.variants, args)
        if not args.no_sampling:
            rows += bench_sampling_rows(preset, args.overrides, args)
    print(f"\nload average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for n, precision in PEAK:  # the machine may have been busier at the start
        PEAK[n, precision] = max(PEAK[n, precision], matmul_peak(n, precision))
    print("matmul peak, best of start and end (the table's % peak): " + peaks() + "\n")
    print(header + "\n" + "|---" * 14 + "|")
    print("\n".join(row.render() for row in rows))


if __name__ == "__main__":
    main()
