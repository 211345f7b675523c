"""`ucgen sample | traverse | flip | vary`: pictures (and sample files) from a trained run."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ucgen.errors import DataError, UcgenError
from ucgen.methods.parts import Condition
from ucgen.report.grid import save_grid


def _common(p: argparse.ArgumentParser, png: str) -> None:
    p.add_argument("run", help="trained run folder, e.g. runs/cofi-digits")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="base seed; image i depends only on (seed, i) (default: 0)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="sampler steps (default: sample.steps of the run's config)",
    )
    p.add_argument(
        "--guidance",
        type=float,
        default=None,
        help="coarse classifier-free guidance scale (1 = none; default: config)",
    )
    p.add_argument(
        "--guidance-fine", type=float, default=None, help="fine guidance scale (default: config)"
    )
    p.add_argument(
        "--png",
        default=None,
        type=Path,
        help=f"where to write the picture (default: RUN/samples/{png})",
    )
    p.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="where to run (default: auto)",
    )
    p.add_argument(
        "--generator",
        default="diffusion",
        help="pixel generator: diffusion (the HM-UNet, default) or another one the method "
        "trained, e.g. stage1 (CoFi-UCGen's GAN generator, its baseline)",
    )
    p.add_argument(
        "--prior",
        default=None,
        choices=["gaussian", "fitted"],
        help="CoFi-UCGen's condition sampler: gaussian (N(0, I), every code equally likely) or "
        "fitted (codes and fine coefficients as the training images have them); "
        "default: sample.prior of the run's config",
    )


def _out(p: argparse.ArgumentParser, order: str = "") -> None:
    p.add_argument(
        "--out",
        default=None,
        type=Path,
        metavar="FILE.npz",
        help="also write the images with their codes and fine vectors to this .npz (the "
        "sample exchange format `ucgen eval --samples` scores)" + (f": {order}" if order else ""),
    )


def _check_out(args: argparse.Namespace) -> None:
    if args.out is not None and args.out.suffix != ".npz":
        raise UcgenError(f"--out {args.out}: a samples file must end in .npz")


def _write_samples(path: Path | None, images: np.ndarray, cond: Condition | None) -> None:
    """The images and the Condition they were made from as a samples .npz, if asked for."""
    if path is None:
        return
    from ucgen.evaluation.samples import save_samples

    codes = None if cond is None or cond.code is None else cond.code.numpy()
    fine = None if cond is None or cond.fine is None else cond.fine.numpy()
    _done(save_samples(path, images, codes, fine), "samples")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="generate images (all codes, or one code)",
        description="Generate N images with conditions drawn from the method's "
        "prior (or all of one code), write a PNG grid and optionally a samples "
        ".npz (images, codes, fine) that `ucgen eval --samples` scores.",
    )
    _common(p, "sample.png")
    p.add_argument("--n", type=int, default=64, help="number of images (default: 64)")
    p.add_argument("--code", type=int, default=None, help="generate only this code")
    _out(p)
    p.set_defaults(func=run_sample)

    p = sub.add_parser(
        "traverse",
        help="move one fine attribute: a strip of images",
        description="Generate images of one code while one fine-basis "
        "direction moves from -2 to +2 standard deviations, everything else "
        "fixed. One row per seed.",
    )
    _common(p, "traverse-cC-dK.png")
    p.add_argument("--code", type=int, required=True, help="the code to traverse in")
    p.add_argument(
        "--direction", type=int, required=True, help="fine-basis direction (0 = most variance)"
    )
    p.add_argument("--length", type=int, default=8, help="images per strip (default: 8)")
    p.add_argument("--rows", type=int, default=4, help="strips, one per seed (default: 4)")
    _out(p, "the strips' images row by row")
    p.set_defaults(func=run_traverse)

    p = sub.add_parser(
        "flip",
        help="flip one bit of a code and see the change",
        description="Generate N images of a code (top row) and the same images "
        "with one bit flipped (bottom row): same fine vector, same noise.",
    )
    _common(p, "flip-cC-bI.png")
    p.add_argument("--code", type=int, required=True, help="the code to start from")
    p.add_argument("--bit", type=int, required=True, help="which bit to flip (0 = lowest)")
    p.add_argument("--n", type=int, default=8, help="images per row (default: 8)")
    _out(p, "the N images, then the N flipped ones")
    p.set_defaults(func=run_flip)

    p = sub.add_parser(
        "vary",
        help="new variations of a real image",
        description="Encode a real image, keep its code (and its fine vector "
        "unless --new-fine) and draw new details. The grid shows the image "
        "first, then the variations.",
    )
    _common(p, "vary-IMAGE.png")
    p.add_argument("--image", required=True, type=Path, help="PNG or JPEG image to vary")
    p.add_argument("--n", type=int, default=15, help="number of variations (default: 15)")
    p.add_argument(
        "--new-fine", action="store_true", help="keep only the code and draw a new fine vector too"
    )
    p.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="how much of the image to redraw, in (0, 1]: 1 (default) draws each variation "
        "from noise, lower values start from the image and keep its layout (e.g. 0.5)",
    )
    p.set_defaults(func=run_vary)


def _load(args: argparse.Namespace):
    from ucgen.sampling.trained import TrainedModel

    overrides = [] if args.prior is None else [f"sample.prior={args.prior}"]
    return TrainedModel.load(
        args.run, device=args.device, generator=args.generator, overrides=overrides
    )


def _kw(args: argparse.Namespace) -> dict:
    return {"steps": args.steps, "guidance": args.guidance, "guidance_fine": args.guidance_fine}


def _prefix(args: argparse.Namespace) -> str:
    """File-name prefix that keeps pictures of other generators apart ("stage1-...")."""
    return "" if args.generator == "diffusion" else f"{args.generator}-"


def _done(path: Path, what: str) -> None:
    print(f"{what}: {path}")


def run_sample(args: argparse.Namespace) -> int:
    _check_out(args)
    model = _load(args)
    images, cond = model.sample(args.n, seed=args.seed, code=args.code, **_kw(args))
    name = "sample" if args.code is None else f"sample-c{args.code}"
    png = args.png or model.run.samples / f"{_prefix(args)}{name}.png"
    _done(save_grid(images, png), "grid")
    _write_samples(args.out, images, cond)
    return 0


def run_traverse(args: argparse.Namespace) -> int:
    if args.rows < 1:
        raise UcgenError(f"--rows must be >= 1, got {args.rows}")
    _check_out(args)
    model = _load(args)
    rows = [
        model.traverse(
            args.code, args.direction, length=args.length, seed=args.seed + r, **_kw(args)
        )
        for r in range(args.rows)
    ]
    png = (
        args.png
        or model.run.samples / f"{_prefix(args)}traverse-c{args.code}-d{args.direction}.png"
    )
    images = np.concatenate([strip for strip, _ in rows])
    _done(save_grid(images, png, ncols=args.length), "strip")
    _write_samples(args.out, images, Condition.cat([cond for _, cond in rows]))
    return 0


def run_flip(args: argparse.Namespace) -> int:
    _check_out(args)
    model = _load(args)
    before, after = model.flip(args.code, args.bit, n=args.n, seed=args.seed, **_kw(args))
    png = args.png or model.run.samples / f"{_prefix(args)}flip-c{args.code}-b{args.bit}.png"
    _done(save_grid(np.concatenate([before, after]), png, ncols=args.n), "flip")
    if args.out is not None:
        # The conditions TrainedModel.flip drew (same call, same seed), then the same fine
        # vectors under the flipped code.
        cond = model.conditions(args.n, args.seed, args.code)
        flipped = cond.code ^ (1 << args.bit)  # type: ignore[operator]
        both = Condition(None, cond.fine.repeat(2, 1), torch.cat([cond.code, flipped]))  # type: ignore[union-attr, list-item]
        _write_samples(args.out, np.concatenate([before, after]), both)
    return 0


def run_vary(args: argparse.Namespace) -> int:
    model = _load(args)
    c, h, _ = model.image_shape
    image = read_image(args.image, c, h)
    images, cond = model.vary(
        image,
        n=args.n,
        seed=args.seed,
        keep_fine=not args.new_fine,
        strength=args.strength,
        **_kw(args),
    )
    code = "" if cond.code is None else f" (code {int(cond.code[0])})"
    png = args.png or model.run.samples / f"{_prefix(args)}vary-{args.image.stem}.png"
    _done(save_grid(np.concatenate([image, images]), png), f"variations{code}")
    return 0


def read_image(path: Path, channels: int, resolution: int) -> np.ndarray:
    """One image file as (1, R, R, C) uint8, converted to the model's channels and size."""
    if not path.is_file():
        raise DataError(f"image not found: {path}")
    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB")
            im = im.resize((resolution, resolution), Image.Resampling.BICUBIC)
            arr = np.asarray(im)
    except OSError as err:
        raise DataError(f"{path}: not a readable image ({err})") from None
    return arr.reshape(1, resolution, resolution, channels)
