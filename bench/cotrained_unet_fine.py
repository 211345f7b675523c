"""Fine control of the auxiliary UNet that the fine-encoder stage trains jointly with F (the
diffusion-autoencoder pair), scored by the same metrics as `ucgen eval` (`evaluate_fine`).

    PYTHONPATH=src python bench/cotrained_unet_fine.py runs/fe

The question it answers: when the HM-UNet trained afterwards on F(x) ignores the fine vector,
is F's information unusable, or does a UNet co-trained with F use it? The auxiliary UNet (the
run's diffusion architecture, no condition dropout; `--schedule flat` for runs whose fine
stage trained a flat one, as it did before its UNet took the diffusion section's schedule) is
read from the stage's last training state; its fine input is F(x) itself. Conditions come
from the run's fitted prior (per-code Gaussian of F(x) through the fine basis, unwhitened),
traversals move one per-code PCA direction of F(x), and the test images' own condition is
(their code, F(x)).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import torch

from ucgen.app.trained import TrainedModel
from ucgen.data import to_uint8
from ucgen.diffusion.pipeline import generate
from ucgen.evaluation.evaluate import load_real_and_reference
from ucgen.evaluation.fine import evaluate_fine, format_fine
from ucgen.io.checkpoint import load_into
from ucgen.models.condition import Condition
from ucgen.models.hm_unet import HMUNet
from ucgen.runtime.checkpoints import latest_checkpoint
from ucgen.training.diffusion_stage import unet_config


class CoTrained:
    """A `FineModel` over the auxiliary UNet: coefficients (the fitted prior's) are mapped to
    F's space through the basis before the UNet sees them."""

    def __init__(self, model: TrainedModel, steps: int, schedule: str | None = None) -> None:
        cfg, s1 = model.config, model.config.method
        c, r, _ = model.image_shape
        unet_cfg = unet_config(cfg.diffusion, c, r, s1.bits, s1.fine_dim)
        unet = HMUNet(replace(unet_cfg, fine_schedule=schedule or unet_cfg.fine_schedule))
        state = torch.load(
            latest_checkpoint(model.run.checkpoints / "fine-encoder") / "state.pt",
            weights_only=True,
        )
        load_into(unet, state["stage"]["unet"], "auxiliary unet")
        self.unet, self.model, self.steps = unet.eval(), model, steps
        self.basis = model.parts.encoder.basis  # type: ignore[union-attr]

    def conditions(self, n: int, seed: int = 0, code: int | None = None) -> Condition:
        return self.model.conditions(n, seed, code)  # type: ignore[return-value]

    def render(self, condition: Condition, n: int, seed: int = 0) -> np.ndarray:
        z = self.basis.fine_vector(condition.fine, condition.code)  # type: ignore[arg-type]
        raw = Condition(condition.coarse, z, condition.code)
        return to_uint8(generate(self.unet, raw, n, seed, steps=self.steps))

    def traverse(
        self, code: int, direction: int, length: int = 8, seed: int = 0, span: float = 2.0
    ) -> tuple[np.ndarray, Condition]:
        spread = self.conditions(1000, seed + 1, code).fine[:, direction].std()  # type: ignore
        cond = Condition.cat([self.conditions(1, seed, code)] * length)
        cond.fine = cond.fine.clone()  # type: ignore[union-attr]
        cond.fine[:, direction] = torch.linspace(-span, span, length) * spread  # type: ignore
        strip = [self.render(cond.slice(slice(i, i + 1)), 1, seed) for i in range(length)]
        return np.concatenate(strip), cond

    def encode(self, images: np.ndarray) -> Condition:
        return self.model.encode(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--schedule", choices=["progressive", "flat"], default=None)
    args = parser.parse_args()
    for path in args.runs:
        model = TrainedModel.load(path)
        cfg = model.config
        _, res, _ = model.image_shape
        test, reference = load_real_and_reference(
            cfg.data.source, res, cfg.eval, root=cfg.data.root, verbose=False
        )
        co = CoTrained(model, cfg.sample.steps, args.schedule)
        codes = model.encode(test.images).code.numpy()  # type: ignore[union-attr]
        report = evaluate_fine(
            co,
            reference,
            test.images,
            test.labels,
            codes,
            cfg.method.fine_dim,  # type: ignore[arg-type]
        )
        print(path, "(auxiliary co-trained UNet)")
        print("\n".join(format_fine(report)))


if __name__ == "__main__":
    main()
