"""The losses of adversarial semantic reciprocal learning (CoFi-UCGen stage 1), in one place.

Adversarial (hinge, BiGAN/ALI joint pairs): D separates real pairs (x, E(x)) from generated
pairs (G(z), z); G and E together try to swap them. At the optimum the joint distributions
match, so E and G invert each other and E(x)_c follows the prior: balanced, fair bits.
Reciprocal terms make the inversion semantic and fast:
  consistency  E(G(z)) recovers z: logistic bit loss on z_c (E's output read in the unit of
               the real codes' scale, `code_scale`), squared error on z_f;
  completeness G(E(x)) stays close to x: pixel L1;
  augmentation bits of E(x) survive label-free augmentations (shifts, optional flips);
  mutual       the code of E(x) and the code of an augmented E(x') share as much information
               as possible (IIC, Ji et al. 2019, on the 2**K codes): agreement and balanced
               use of all codes in one term;
  balance      bits of E(x) are independent fair coins over a batch (a cheap moment guard
               against constant or redundant bits while D is still weak).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def d_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss; real, fake: (B,) scores of real and generated pairs."""
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def ge_adversarial(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """G and E's side of the hinge game: make real pairs look generated and vice versa."""
    return real.mean() - fake.mean()


def bit_loss(logits: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """Logistic loss of bit logits (B, K) against target signs (B, K) in ±1."""
    return F.softplus(-bits * logits).mean()


def code_scale(z_c_hat: torch.Tensor) -> torch.Tensor:
    """(1, K) root mean square of each coarse latent over a batch (B, K): the unit in which
    the mutual and bit consistency terms read codes, so that neither depends on (or can
    change) the scale of |z_c_hat|. The mutual term alone leaves that scale free: it shrinks
    in an encoder-only warm-up, and the bit loss of E(G(z)) then sits at log 2 and bit recovery
    stays at chance (bench/stage1_results.md)."""
    return z_c_hat.float().pow(2).mean(dim=0, keepdim=True).sqrt().clamp_min(1e-6)


def fine_loss(z_f_hat: torch.Tensor, z_f: torch.Tensor) -> torch.Tensor:
    """Squared error of the recovered fine latent (B, D), averaged over entries."""
    return F.mse_loss(z_f_hat, z_f)


def completeness_loss(x_rec: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Pixel L1 between G(E(x)) and x, both (B, C, H, W) in [-1, 1]."""
    return (x_rec - x).abs().mean()


def balance_loss(z_c_hat: torch.Tensor) -> torch.Tensor:
    """The prior's bits are independent fair coins; ask the same of the soft bits
    t = tanh(z_c_hat) (B, K) of real images over a batch: squared means (each bit 50/50) plus
    squared off-diagonal second moments (no two bits redundant). Zero when they hold."""
    t = torch.tanh(z_c_hat)
    k = t.shape[1]
    second = t.T @ t / len(t)
    off = second - torch.diag_embed(second.diagonal())
    return t.mean(dim=0).pow(2).mean() + off.pow(2).sum() / max(1, k * (k - 1))


def code_probs(z_c_hat: torch.Tensor, sharpness: float) -> torch.Tensor:
    """(B, K) coarse latents of a batch -> (B, 2**K) probabilities of each bit-code id, the
    bits taken as independent with p(bit i = +1) = sigmoid(sharpness * u_i) (id layout of
    `bit_ids`), u_i = z_c_hat_i over its root mean square in the batch.

    The sharpness lets codes be nearly certain while |z_c_hat| stays on the prior's scale; the
    normalisation makes the probabilities blind to that scale, so a loss on them can sharpen
    codes only by moving images across a bit's boundary, never by inflating |z_c_hat| (which
    the joint discriminator sees: with w_mutual 4 and no normalisation it won outright within
    80 steps of an fp32 digits run)."""
    k = z_c_hat.shape[1]
    u = z_c_hat.float() / code_scale(z_c_hat)
    p_plus = torch.sigmoid(sharpness * u)
    ids = torch.arange(2**k, device=z_c_hat.device)
    on = ((ids[:, None] >> torch.arange(k, device=z_c_hat.device)) & 1).bool()  # (2**K, K)
    per_bit = torch.where(on[None], p_plus[:, None, :], 1 - p_plus[:, None, :])
    return per_bit.prod(dim=2)


def mutual_information_loss(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Minus the mutual information of the codes of paired views, from their code
    probabilities p, q (B, N): the symmetrised joint P = mean_b p_b q_b^T, then
    -sum P log(P / (P_row P_col)). Minimal (-log N) when every code is used equally often
    and both views always get the same code."""
    joint = p.T @ q / len(p)
    joint = ((joint + joint.T) / 2).clamp_min(1e-8)
    row = joint.sum(dim=1, keepdim=True)
    col = joint.sum(dim=0, keepdim=True)
    return -(joint * (joint.log() - row.log() - col.log())).sum()


def augment_with(x: torch.Tensor, options: object) -> torch.Tensor:
    """`augment` with a method's aug_* options (`ucgen.methods.augmentation`)."""
    o = options
    return augment(
        x,
        o.aug_shift,  # type: ignore[attr-defined]
        o.aug_flip,  # type: ignore[attr-defined]
        o.aug_color,  # type: ignore[attr-defined]
        zoom=o.aug_zoom,  # type: ignore[attr-defined]
        intensity=o.aug_intensity,  # type: ignore[attr-defined]
        rotate=o.aug_rotate,  # type: ignore[attr-defined]
        crop=o.aug_crop,  # type: ignore[attr-defined]
    )


def augment(
    x: torch.Tensor,
    shift: int,
    flip: bool,
    color: bool,
    generator: torch.Generator | None = None,
    zoom: float = 0.0,
    intensity: float = 0.0,
    rotate: float = 0.0,
    crop: float = 0.0,
) -> torch.Tensor:
    """Label-free augmentation of (B, C, H, W) in [-1, 1]: if `zoom` or `rotate`, a random
    scaling by a factor in [1 - zoom, 1 + zoom] and rotation by an angle in [-rotate, rotate]
    degrees about the centre; if `crop`, then a random resized crop (SimCLR's): a box holding
    a share in [1 - crop, 1] of the area, aspect ratio in [3/4, 4/3], anywhere inside the
    image, stretched to its size (one bilinear resampling for all three, edge-replicated);
    random integer shifts of up to `shift` pixels (edge-replicated); if `flip`, random
    horizontal flips; if `color` and C == 3, a random hue rotation (rotation of RGB about the
    grey axis by a uniform angle); if `intensity`, a random contrast factor in
    [1 - intensity, 1 + intensity] and brightness offset in [-intensity, intensity] per image.
    Results are clipped to [-1, 1]. These say what a coarse kind must not depend on: where it
    is, how large, how it is turned, which way it faces, what colour or brightness it has."""
    b, c, h, w = x.shape
    out = x
    if zoom > 0 or rotate > 0 or crop > 0:
        factor = 1 + zoom * (2 * torch.rand(b, generator=generator) - 1)
        angle = torch.zeros(b)
        if rotate > 0:
            angle = math.radians(rotate) * (2 * torch.rand(b, generator=generator) - 1)
        cos, sin = angle.cos() / factor, angle.sin() / factor
        theta = torch.zeros(b, 2, 3)
        theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
        if crop > 0:
            box = _crop_boxes(b, crop, generator)
            theta = torch.cat([box[:, :, :2] @ theta[:, :, :2], box[:, :, 2:]], dim=2)
        grid = F.affine_grid(theta.to(x), [b, c, h, w], align_corners=False)
        out = F.grid_sample(out, grid, padding_mode="border", align_corners=False)
    if shift > 0:
        padded = F.pad(out, (shift, shift, shift, shift), mode="replicate")
        dy, dx = torch.randint(0, 2 * shift + 1, (2, b), generator=generator).tolist()
        out = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(b)])
    if flip:
        mask = torch.rand(b, generator=generator) < 0.5
        out = torch.where(mask.to(x.device)[:, None, None, None], out.flip(3), out)
    if color and c == 3:
        out = torch.einsum("bij,bjhw->bihw", _hue_rotations(b, generator).to(x), out)
    if intensity > 0:
        gain = 1 + intensity * (2 * torch.rand(b, 1, 1, 1, generator=generator) - 1)
        offset = intensity * (2 * torch.rand(b, 1, 1, 1, generator=generator) - 1)
        out = gain.to(x) * out + offset.to(x)
    return out.clamp(-1, 1) if (color or intensity > 0) else out


def _crop_boxes(n: int, crop: float, generator: torch.Generator | None) -> torch.Tensor:
    """(n, 2, 3) affine maps (affine_grid's) of the whole image onto random boxes inside it
    that hold a share in [1 - crop, 1] of its area, with aspect ratios in [3/4, 4/3] (a box
    wider or taller than the image is cut to it)."""
    area = 1 - crop * torch.rand(n, generator=generator)
    ratio = torch.exp(math.log(4 / 3) * (2 * torch.rand(n, generator=generator) - 1))
    width, height = (area * ratio).sqrt().clamp(max=1), (area / ratio).sqrt().clamp(max=1)
    box = torch.zeros(n, 2, 3)
    box[:, 0, 0], box[:, 1, 1] = width, height
    box[:, 0, 2] = (1 - width) * (2 * torch.rand(n, generator=generator) - 1)
    box[:, 1, 2] = (1 - height) * (2 * torch.rand(n, generator=generator) - 1)
    return box


def _hue_rotations(n: int, generator: torch.Generator | None) -> torch.Tensor:
    """(n, 3, 3) rotations about the grey axis (1, 1, 1)/sqrt(3) by uniform random angles
    (Rodrigues' formula); grey pixels are fixed points, so only hue changes."""
    angle = torch.rand(n, generator=generator) * 2 * math.pi
    k = torch.full((3,), 1 / math.sqrt(3))
    cross = torch.tensor([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    outer = torch.outer(k, k)
    cos, sin = angle.cos()[:, None, None], angle.sin()[:, None, None]
    return cos * torch.eye(3) + sin * cross + (1 - cos) * outer
