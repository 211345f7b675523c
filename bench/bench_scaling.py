"""Training throughput at 1 and 2 processes under torchrun, as `ucgen train` runs it.

    PYTHONPATH=src python bench/bench_scaling.py --preset fmnist --steps 60

For each layout (processes x torch threads each: by default 1x1, 1x2 and 2x1 on a 2-core
machine) it launches `torchrun --standalone --nproc_per_node=P -m ucgen train --method uncond`
with the preset's UNet for `--steps` HM-UNet steps at the preset's global batch (split over the
ranks), and reads the wall time between the first and last logged steps from the run's
metrics.jsonl, so start-up, data loading and the last checkpoint are left out. Prints training
images/s per layout and the speed-up over 1x1. Run by hand on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path


def images_per_second(metrics: Path, batch: int) -> float:
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    steps = [r for r in rows if r.get("stage") == "diffusion" and "loss" in r]
    first, last = steps[0], steps[-1]
    return (last["step"] - first["step"]) * batch / (last["time"] - first["time"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="fmnist")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=None, help="global batch (preset's)")
    parser.add_argument("--layouts", nargs="+", default=["1x1", "1x2", "2x1"], help="PxT ...")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    from ucgen.methods import load_config

    batch = args.batch or load_config(args.preset).diffusion.batch_size
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; preset "
        f"{args.preset}, uncond, global batch {batch}, {args.steps} steps; load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for layout in args.layouts:
            procs, threads = (int(v) for v in layout.split("x"))
            sets = [
                f"diffusion.steps={args.steps}",
                f"diffusion.batch_size={batch}",
                f"train.threads={threads}",
                "train.log_every=10",
                f"train.checkpoint_every={args.steps}",
                f"train.sample_every={10 * args.steps}",
                *args.overrides,
            ]
            argv = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
            argv += [f"--nproc_per_node={procs}", "-m", "ucgen", "train", "--preset", args.preset]
            argv += ["--method", "uncond", "--name", layout, "--runs-dir", tmp, "--no-progress"]
            for item in sets:
                argv += ["--set", item]
            env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
            subprocess.run(argv, check=True, env=env, capture_output=True)
            rates[layout] = images_per_second(Path(tmp) / layout / "metrics.jsonl", batch)
            base = rates[args.layouts[0]]
            print(
                f"| {procs} process(es) x {threads} thread(s) | {rates[layout]:.0f} images/s | "
                f"{rates[layout] / base:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
