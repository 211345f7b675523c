"""`ucgen sample | traverse | flip | vary | interpolate`: pictures (and sample files) from a
trained run."""

from __future__ import annotations

import argparse
from pathlib import Path

from ucgen.errors import UcgenError


def _common(p: argparse.ArgumentParser, png: str) -> None:
    p.add_argument("run", help="trained run folder, e.g. runs/cofi-digits")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="base seed, 0 to 2**63 - 1; image i depends only on (seed, i) (default: 0)",
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
        default=None,
        help="pixel generator: diffusion (the HM-UNet), distilled (its guidance-distilled "
        "student, one prediction per step at its distilled scales, other scales drawn by the "
        "HM-UNet: diffusion.distill_steps), fewstep (its step-distilled student, a few Euler "
        "steps at levels of its own whatever --steps says: diffusion.step_distill_steps), or "
        "another one the method trained, e.g. stage1 (CoFi-UCGen's GAN generator); default: "
        "the last of fewstep, distilled and diffusion the run has",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a setting of the run's config for this command (repeatable), e.g. "
        "--set cofi.prior=gaussian (CoFi-UCGen's N(0, I) condition sampler)",
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
    """--out, if given, is a writable .npz path (checked before any sampling)."""
    from ucgen.io.outputs import check_output

    if args.out is not None:
        check_output(args.out, (".npz",), "a samples file")


def _write_samples(path: Path | None, images, cond) -> None:
    """The images (N, H, W, C) uint8 and the Condition they were made from as a samples
    .npz, if asked for."""
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
    p.add_argument(
        "--n",
        type=int,
        default=64,
        help="number of images (default: 64); at most what 16 GiB of sampling memory holds "
        "(5 bytes a pixel value: 4.4 million 16x16 RGB images, 280 000 at 64x64)",
    )
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

    p = sub.add_parser(
        "interpolate",
        help="a strip between two real images' conditions",
        description="Encode two real images and generate a strip whose conditions move in a "
        "straight line from the first's to the second's, with the same noise throughout. For "
        "methods whose conditions are continuous (RCG's representations); the grid shows the "
        "first image, the strip, then the second image.",
    )
    _common(p, "interpolate-A-B.png")
    p.add_argument(
        "--image",
        dest="images",
        action="append",
        required=True,
        type=Path,
        help="PNG or JPEG image; give exactly two",
    )
    p.add_argument("--length", type=int, default=8, help="images in the strip (default: 8)")
    p.set_defaults(func=run_interpolate)


def _load(args: argparse.Namespace):
    from ucgen.io.runs import Run

    Run.open(args.run)  # a wrong path is refused before torch is imported
    from ucgen.app.trained import TrainedModel

    model = TrainedModel.load(
        args.run, device=args.device, generator=args.generator, overrides=args.overrides
    )
    drawn_by, _ = model.drawn_by(args.guidance, args.guidance_fine, args.steps)
    if drawn_by != model.generator_name:
        s = model.config.sample
        print(
            f"note: the {model.generator_name} student serves guidance {s.guidance:g} "
            f"(fine {s.guidance_fine:g}) only; {drawn_by} draws these images, more slowly"
        )
    return model


def _kw(args: argparse.Namespace) -> dict:
    return {"steps": args.steps, "guidance": args.guidance, "guidance_fine": args.guidance_fine}


def _prefix(args: argparse.Namespace) -> str:
    """File-name prefix that keeps pictures of other generators apart ("stage1-...")."""
    return "" if args.generator is None else f"{args.generator}-"


def _done(path: Path, what: str) -> None:
    print(f"{what}: {path}")


def _write_grid(rows: list, png: Path, what: str, ncols: int | None = None) -> None:
    """Save (N, H, W, C) uint8 arrays, one after the other, as one picture, and say where."""
    import numpy as np

    from ucgen.report.grid import save_grid

    _done(save_grid(np.concatenate(rows), png, ncols=ncols), what)


def _png(args: argparse.Namespace, model, name: str) -> Path:
    """The picture's path (--png, or RUN/samples/NAME.png), checked before any sampling."""
    from ucgen.report.grid import check_picture_target

    path = args.png or model.run.samples / f"{_prefix(args)}{name}.png"
    check_picture_target(path)
    return path


def run_sample(args: argparse.Namespace) -> int:
    _check_out(args)
    model = _load(args)
    png = _png(args, model, "sample" if args.code is None else f"sample-c{args.code}")
    images, cond = model.sample(args.n, seed=args.seed, code=args.code, **_kw(args))
    _write_grid([images], png, "grid")
    _write_samples(args.out, images, cond)
    return 0


def run_traverse(args: argparse.Namespace) -> int:
    if args.rows < 1:
        raise UcgenError(f"--rows must be >= 1, got {args.rows}")
    from ucgen.app.trained import check_seed

    # Row r is drawn with seed + r: the last row's seed must be a seed too.
    check_seed(args.seed)
    check_seed(args.seed + args.rows - 1, "--seed + --rows - 1")
    _check_out(args)
    model = _load(args)
    model.check_count(args.rows * args.length, "--rows x --length")
    png = _png(args, model, f"traverse-c{args.code}-d{args.direction}")
    rows = [
        model.traverse(
            args.code, args.direction, length=args.length, seed=args.seed + r, **_kw(args)
        )
        for r in range(args.rows)
    ]
    _write_grid([strip for strip, _ in rows], png, "strip", ncols=args.length)
    if args.out is not None:
        import numpy as np

        from ucgen.models.condition import Condition

        images = np.concatenate([strip for strip, _ in rows])
        _write_samples(args.out, images, Condition.cat([cond for _, cond in rows]))
    return 0


def run_flip(args: argparse.Namespace) -> int:
    _check_out(args)
    model = _load(args)
    png = _png(args, model, f"flip-c{args.code}-b{args.bit}")
    before, after = model.flip(args.code, args.bit, n=args.n, seed=args.seed, **_kw(args))
    _write_grid([before, after], png, "flip", ncols=args.n)
    if args.out is not None:
        import numpy as np
        import torch

        from ucgen.models.condition import Condition

        # The conditions TrainedModel.flip drew (same call, same seed), then the same fine
        # vectors under the flipped code.
        cond = model.conditions(args.n, args.seed, args.code)
        flipped = cond.code ^ (1 << args.bit)  # type: ignore[operator]
        both = Condition(None, cond.fine.repeat(2, 1), torch.cat([cond.code, flipped]))  # type: ignore[union-attr, list-item]
        _write_samples(args.out, np.concatenate([before, after]), both)
    return 0


def run_vary(args: argparse.Namespace) -> int:
    from ucgen.data.sources.folder import read_image

    model = _load(args)
    png = _png(args, model, f"vary-{args.image.stem}")
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
    _write_grid([image, images], png, f"variations{code}")
    return 0


def run_interpolate(args: argparse.Namespace) -> int:
    if len(args.images) != 2:
        raise UcgenError(f"interpolate takes exactly two --image, got {len(args.images)}")
    from ucgen.data.sources.folder import read_image

    model = _load(args)
    first, second = args.images
    png = _png(args, model, f"interpolate-{first.stem}-{second.stem}")
    c, h, _ = model.image_shape
    a, b = read_image(first, c, h), read_image(second, c, h)
    strip, _ = model.interpolate(a, b, length=args.length, seed=args.seed, **_kw(args))
    _write_grid([a, strip, b], png, "interpolation", ncols=args.length + 2)
    return 0
