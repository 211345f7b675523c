"""Does a run's HM-UNet use the fine vector at all? The denoising error (mean squared, images
in [-1, 1]) of the first 256 test images at a few noise levels, given their own condition,
the same code with the fine vector of another test image of that code, and a zero vector.

    PYTHONPATH=src python bench/fine_denoising.py runs/base runs/fe-flat

Equal errors mean the UNet ignores the fine vector; the gap is what the vector is worth to it.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch

from ucgen.app.trained import TrainedModel
from ucgen.data import load_dataset, to_model_range
from ucgen.diffusion.edm import EDM
from ucgen.models.condition import Condition

SIGMAS = (0.5, 1.5, 5.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--n", type=int, default=256)
    args = parser.parse_args()
    print("| run | fine | " + " | ".join(f"error at sigma {s}" for s in SIGMAS) + " |")
    print("|---|---|" + "---|" * len(SIGMAS))
    for path in args.runs:
        model = TrainedModel.load(path)
        cfg = model.config
        _, res, _ = model.image_shape
        test = load_dataset(cfg.data.source, split="test", resolution=res, root=cfg.data.root)
        images = test.images[: args.n]
        x = to_model_range(images)
        cond = model.encode(images)
        g = torch.Generator().manual_seed(0)
        other = torch.arange(len(x))
        for code in cond.code.unique():  # type: ignore[union-attr]
            idx = (cond.code == code).nonzero().flatten()
            other[idx] = idx[torch.randperm(len(idx), generator=g)]
        # The UNet itself, and conditions as it takes them (F-space vectors for a run with a
        # fine encoder: `Parts.unet_input`).
        pixel = model.generator
        unet = getattr(pixel, "inner", pixel).unet  # type: ignore[attr-defined]
        to_unet = model.parts.unet_input or (lambda c: c)
        fines = {
            "own": cond.fine,
            "another image's of the code": cond.fine[other],  # type: ignore[index]
            "zero": torch.zeros_like(cond.fine),  # type: ignore[arg-type]
        }
        for name, coefficients in fines.items():
            fine = to_unet(Condition(cond.coarse, coefficients, cond.code)).fine
            errors = []
            for sigma in SIGMAS:
                noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
                s = torch.full((len(x),), sigma)
                with torch.no_grad():
                    net = partial(unet, coarse=cond.coarse, fine=fine)
                    d = EDM().denoise(net, x + sigma * noise, s)
                errors.append((d - x).pow(2).mean().item())
            print(f"| {path} | {name} | " + " | ".join(f"{e:.4f}" for e in errors) + " |")


if __name__ == "__main__":
    main()
