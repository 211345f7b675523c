"""What the pixel generator's training length buys: one run's HM-UNet evaluated at several of
its own checkpoints (the EMA weights each saved), at the run's sampling settings, so the
steps past the point where FD, control accuracy and recall stop improving show up as waste.

The training loop keeps only the newest checkpoints, so copy the ones to compare while the run
trains (e.g. `cp -r RUN/checkpoints/diffusion/step-0006000 keep/`). Each is scored by
`ucgen.app.run_eval.evaluate_run` (what `ucgen eval RUN` prints) with the UNet swapped in;
everything else (codes, prior, encoder) is the run's own.

    PYTHONPATH=src python bench/unet_budget.py RUN keep/step-0006000 keep/step-0008000 \\
        --n 10000 --set train.threads=1
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ucgen.app.run_eval import evaluate_run
from ucgen.app.trained import TrainedModel
from ucgen.diffusion.pipeline import DiffusionGenerator
from ucgen.methods.method import UNetInputGenerator
from ucgen.models.hm_unet import load_unet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a trained run folder (its own final UNet is scored too)")
    parser.add_argument("checkpoints", nargs="*", help="checkpoint folders step-NNNNNNN")
    parser.add_argument("--n", type=int, default=None, help="samples (default eval.num_samples)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="override of the run's config, section.key=value (repeatable)",
    )
    args = parser.parse_args()
    model = TrainedModel.load(args.run, generator="diffusion", overrides=args.overrides)
    final = model.generator
    print(
        "| UNet steps | FD | KID | recall | control acc. | NMI | images/s |\n"
        "|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = [(Path(c).name.removeprefix("step-").lstrip("0"), Path(c)) for c in args.checkpoints]
    rows.append((f"{model.config.diffusion.steps} (final)", None))
    with tempfile.TemporaryDirectory() as tmp:
        for steps, folder in rows:
            generator = final
            if folder is not None:
                unet = load_unet(folder / "components").eval()
                generator = DiffusionGenerator(unet, precision=model.config.sample.precision)
                if model.parts.unet_input is not None:
                    generator = UNetInputGenerator(generator, model.parts.unet_input)
            model.generator = generator
            report = evaluate_run(model, args.n, out=Path(tmp) / "eval.json", progress=False)
            g = report["generation"]
            control = report.get("control", {}).get("mean")
            nmi = report.get("clustering", {}).get("nmi")
            print(
                f"| {steps} | {g['fd']:.2f} | {g['kid']:.3f} | {g['recall']:.3f} | "
                f"{'-' if control is None else f'{control:.3f}'} | "
                f"{'-' if nmi is None else f'{nmi:.3f}'} | "
                f"{report['sampling']['images_per_second']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
