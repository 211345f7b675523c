"""Inference pipeline: conditions in, images out, with an EDM sampler (`EDM.sample`'s solvers).

No training and no weights of its own: it binds a UNet and a `Condition` into the denoiser
that `EDM.sample` integrates. Seeds are per image (as in EDM's generate.py): image i's
starting noise depends only on (seed, i), so it is the same whatever the batch size, device or
number of processes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from ucgen.config.schema import GuidanceSchedule, Precision, Solver
from ucgen.diffusion.edm import EDM, Denoiser, Steps
from ucgen.models.condition import Condition
from ucgen.models.hm_unet import HMUNet
from ucgen.runtime.seeds import image_generator
from ucgen.runtime.speed import precision_scope


def image_noise(seed: int, indices: range, shape: tuple[int, int, int]) -> torch.Tensor:
    """Standard normal noise (len(indices), C, H, W) on the CPU; row j depends only on
    (seed, indices[j]): each image has its own generator seeded by mixing the pair."""
    return torch.stack([torch.randn(shape, generator=image_generator(seed, i)) for i in indices])


def guided_denoiser(
    unet: HMUNet,
    condition: Condition | None,
    guidance_coarse: float = 1.0,
    guidance_fine: float = 1.0,
    edm: EDM | None = None,
    schedule: GuidanceSchedule = "constant",
) -> Denoiser:
    """D(x, sigma) for a batch with classifier-free guidance, coarse and fine scales separate.

    D = D_u + w_c (D_c - D_u) + w_f (D_cf - D_c), with D_u unconditional, D_c coarse only and
    D_cf coarse + fine; i.e. D = (1 - w_c) D_u + (w_c - w_f) D_c + w_f D_cf. Only the
    predictions with a non-zero weight are computed, in one batched forward pass: scales
    (1, 1) (or no condition) is a single plain conditional pass; without fine, D_cf = D_c.
    condition: length B matching x, or None for unconditional.
    schedule "linear" (RCG's guidance ramp): each scale w is used as 1 + (w - 1) p, p the
    noise level's progress along the sampling schedule (`EDM.progress`: 0 at sigma_max, 1 at
    sigma_min), so early steps, which fix the layout, are unguided and the last fully guided.
    """
    edm = edm or EDM()
    coarse = None if condition is None else condition.coarse
    fine = None if condition is None or coarse is None else condition.fine
    if coarse is None:
        weights = {"full": 1.0}  # nothing to guide with
    elif fine is None:
        weights = {"uncond": 1 - guidance_coarse, "full": guidance_coarse}
    else:
        weights = {
            "uncond": 1 - guidance_coarse,
            "coarse": guidance_coarse - guidance_fine,
            "full": guidance_fine,
        }
    variants = [(k, w) for k, w in weights.items() if w != 0]

    def weight_at(key: str, target: float, sigma: torch.Tensor) -> float:
        """A variant's weight at this noise level: the target, or its ramp from (0, 0, 1)."""
        if schedule == "constant":
            return target
        p = float(edm.progress(sigma[0]))
        return p * target + (1 - p) * (key == "full")

    def denoise(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        if len(variants) == 1 and variants[0][0] == "full":
            return edm.denoise(lambda xi, cn: unet(xi, cn, coarse, fine), x, sigma)
        keep = {"uncond": (0.0, 0.0), "coarse": (1.0, 0.0), "full": (1.0, 1.0)}
        kc = torch.cat([x.new_full((b,), keep[k][0]) for k, _ in variants])
        kf = torch.cat([x.new_full((b,), keep[k][1]) for k, _ in variants])
        n = len(variants)

        def net(xi: torch.Tensor, cn: torch.Tensor) -> torch.Tensor:
            return unet(
                xi,
                cn,
                coarse.repeat(n, 1),  # type: ignore[union-attr]
                None if fine is None else fine.repeat(n, 1),
                kc,
                kf,
            )

        out = edm.denoise(net, x.repeat(n, 1, 1, 1), sigma.repeat(n)).chunk(n)
        return sum(
            (weight_at(k, w, sigma) * d for (k, w), d in zip(variants, out, strict=True)),
            torch.zeros_like(x),
        )

    return denoise


@torch.inference_mode()
def generate(
    unet: HMUNet,
    condition: Condition | None,
    n: int,
    seed: int,
    steps: Steps = 18,
    guidance_coarse: float = 1.0,
    guidance_fine: float = 1.0,
    batch_size: int = 256,
    edm: EDM | None = None,
    precision: Precision = "fp32",
    init: torch.Tensor | None = None,
    strength: float = 1.0,
    guidance_schedule: GuidanceSchedule = "constant",
    solver: Solver = "heun",
) -> torch.Tensor:
    """Generate n images (N, C, H, W) in [-1, 1] (CPU float32) with `solver` (`EDM.sample`).

    condition: length n (coarse (n, Kc), fine (n, D)) or None for unconditional. Runs on the
    UNet's device in batches of `batch_size`; image i starts from `image_noise(seed, i)`, so
    results do not depend on `batch_size`. `steps` (eq. 5's count of noise levels, or the
    levels themselves: `ucgen.diffusion.edm.Steps`) cost `nfe(solver, steps, strength)`
    evaluations (`ucgen.diffusion.edm`), times the number of guided predictions (1 to 3).
    precision "bf16": the UNet evaluations run under bfloat16 autocast, the ODE integration
    stays float32 (`EDM.denoise` casts F's output back), so images differ from fp32 sampling
    by bf16 rounding of F only.
    init: (n, C, H, W) images in [-1, 1] to start from instead of pure noise, redrawn as much
    as `strength` says (`EDM.start`). guidance_schedule: constant scales, or RCG's linear
    ramp over the steps (`guided_denoiser`).
    """
    if condition is not None and len(condition) != n:
        raise ValueError(f"condition has {len(condition)} rows for n = {n} images")
    if n < 1 or batch_size < 1:
        raise ValueError(f"n and batch_size must be >= 1, got {n} and {batch_size}")
    if init is not None and len(init) != n:
        raise ValueError(f"init has {len(init)} images for n = {n}")
    edm = edm or EDM()
    cfg = unet.config
    param = next(unet.parameters())
    shape = (cfg.in_channels, cfg.resolution, cfg.resolution)
    out = []
    for start in range(0, n, batch_size):
        idx = range(start, min(n, start + batch_size))
        cond = None if condition is None else condition.slice(slice(idx.start, idx.stop))
        if cond is not None:
            cond = cond.to(param.device)
        denoiser = guided_denoiser(
            unet, cond, guidance_coarse, guidance_fine, edm, guidance_schedule
        )
        noise = image_noise(seed, idx, shape).to(param.device)
        start_from = None if init is None else init[idx.start : idx.stop].to(param.device)
        with precision_scope(precision, param.device):
            x = edm.sample(denoiser, noise, steps, solver, start_from, strength)
        out.append(x.clamp(-1, 1).float().cpu())
    return torch.cat(out)


@dataclass(frozen=True)
class SamplerSettings:
    """How a pixel generator draws images. A generator ignores what it has no use for (a GAN
    has no steps or guidance). solver: the ODE solver over `steps` noise levels (`EDM.sample`),
    placed by eq. 5 with `rho` (or given as the levels themselves);
    guidance_*: classifier-free guidance scales (1 = none); strength: with start images, how
    much of them to redraw, in (0, 1]; guidance_schedule: constant scales or RCG's linear ramp
    over the steps (`guided_denoiser`)."""

    steps: Steps = 18
    guidance_coarse: float = 1.0
    guidance_fine: float = 1.0
    batch_size: int = 256
    strength: float = 1.0
    guidance_schedule: GuidanceSchedule = "constant"
    solver: Solver = "heun"
    rho: float = 7.0


class DiffusionGenerator:
    """The HM-UNet with an EDM sampler (`SamplerSettings.solver`) as a `PixelGenerator`."""

    def __init__(
        self,
        unet: HMUNet,
        edm: EDM | None = None,
        precision: Precision = "fp32",
    ) -> None:
        if precision == "bf16":
            # bf16 convolutions pay on CPU only in NCHW: GroupNorm's bf16 NHWC kernel is ~20x
            # slower (bench/bench_training_results.md); HMUNet is built NHWC.
            unet = unet.to(memory_format=torch.contiguous_format)
        self.unet = unet.eval()
        self.edm = edm or EDM()
        self.precision = precision

    def render(
        self,
        condition: Condition | None,
        n: int,
        seed: int,
        settings: SamplerSettings,
        init: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return generate(
            self.unet,
            condition,
            n,
            seed,
            settings.steps,
            settings.guidance_coarse,
            settings.guidance_fine,
            settings.batch_size,
            replace(self.edm, rho=settings.rho),
            self.precision,
            init,
            settings.strength,
            settings.guidance_schedule,
            settings.solver,
        )
