"""`ucgen report RUN`: write the run's HTML report.

The report package renders the run folder's files; the pictures of the model itself (codes
with their real and generated images, traversals, bit flips) need the trained model, so this
command, which may load it, draws them and hands them over as arrays."""

from __future__ import annotations

import argparse
import itertools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from ucgen.app.trained import TrainedModel
    from ucgen.report.figures import ModelPictures

PER_CODE = 8  # real and generated images in a code's row
MAX_ENCODED = 2000  # real images encoded to size the codes
TRAVERSED_CODES = 3  # the largest codes, each with its first fine directions
TRAVERSED_DIRECTIONS = 3
STRIP_LENGTH = 7
VARIED = 3  # real images shown with variations (and interpolated between, in turn)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write a run's HTML report",
        description="Write RUN/report/index.html, one self-contained page: what was trained "
        "(data, method, stages and wall time, machine, command to reproduce), the headline "
        "figures against their reference points, each code with real images the encoder puts "
        "in it and generated ones, fine-direction traversals and bit flips, loss curves, "
        "training previews and every metric. Loads the model to draw its pictures.",
    )
    p.add_argument("run", help="run folder, e.g. runs/digits")
    p.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="RUN",
        help="other runs on the same data (baselines) whose headline figures stand beside "
        "this run's, where they were evaluated on the same features",
    )
    p.add_argument(
        "--no-pictures",
        action="store_true",
        help="do not load the model: the page shows only what the run folder holds",
    )
    p.add_argument("--device", default="auto", help="device to draw pictures on (default: auto)")
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    from ucgen.errors import UcgenError
    from ucgen.io.runs import Run
    from ucgen.report.html import write_report

    run = Run.open(args.run)
    compare = [Run.open(other) for other in args.compare]
    pictures, missing = None, "not drawn (--no-pictures)"
    if not args.no_pictures:
        from ucgen.app.trained import TrainedModel

        try:
            model = TrainedModel.load(run.path, device=args.device)
        except UcgenError as err:  # an unfinished or broken run still gets its page
            missing = f"the model cannot be loaded: {err}"
        else:
            pictures, missing = model_pictures(model), None
    out = write_report(run, pictures, compare=compare, missing=missing)
    print(f"report written to {out}")
    return 0


def model_pictures(model: TrainedModel, seed: int = 0) -> ModelPictures:
    """The model's pictures for the report, from whatever its parts expose: per code (where
    there are codes) real images the encoder puts in it (where there is an encoder) and
    generated ones; traversals of the largest codes' first fine directions (where there is
    a fine vector); every bit of the largest code flipped (where codes are bit-codes);
    variations of real images (where there is an encoder) and interpolations between two
    (where its conditions are continuous)."""
    import numpy as np

    from ucgen.data import load_dataset
    from ucgen.report.figures import CodeRow, ModelPictures, Strip

    parts = model.parts
    pictures = ModelPictures(counted_on="no real images", bits=parts.code_bits)
    codes = real = None
    if parts.encoder is not None:
        data = model.config.data
        real = load_dataset(data.source, "test", model.image_shape[1], root=data.root).images
        real = real[:MAX_ENCODED]
        code_of = model.encode(real).code
        codes = None if code_of is None else code_of.numpy()
        pictures.counted_on = f"{len(real)} test images"
    if not parts.num_codes:
        pictures.samples = model.sample(2 * PER_CODE, seed=seed)[0]
    for code in range(parts.num_codes):
        generated = model.sample(PER_CODE, seed=seed + code, code=code)[0]
        if codes is None or real is None:
            pictures.codes.append(CodeRow(code, None, generated[:0], generated))
            continue
        mine = real[codes == code]
        pictures.codes.append(CodeRow(code, len(mine), mine[:PER_CODE], generated))
    largest = [row.code for row in sorted(pictures.codes, key=lambda r: (-(r.size or 0), r.code))]
    for code in largest[:TRAVERSED_CODES] if parts.fine_dim else []:
        for direction in range(min(TRAVERSED_DIRECTIONS, parts.fine_dim)):
            strip, _ = model.traverse(code, direction, length=STRIP_LENGTH, seed=seed)
            label = f"code {code}, direction {direction}"
            pictures.traversals.append(Strip(code, label, strip, STRIP_LENGTH, direction=direction))
    k = parts.code_bits
    for bit in range(k):
        code = largest[0]
        before, after = model.flip(code, bit, n=PER_CODE // 2 + 2, seed=seed)
        other = code ^ (1 << bit)
        label = f"bit {bit}: code {code} ({code:0{k}b}) -> code {other} ({other:0{k}b})"
        pictures.flips.append(
            Strip(code, label, np.concatenate([before, after]), len(before), bit=bit)
        )
    if real is not None:
        shown = real_examples(real, codes, VARIED)
        for i in shown:
            varied, cond = model.vary(real[i : i + 1], n=PER_CODE - 1, seed=seed)
            code = -1 if cond.code is None else int(cond.code[0])
            label = f"test image {i}" + ("" if code < 0 else f" (code {code})")
            pictures.variations.append(
                Strip(code, label, np.concatenate([real[i : i + 1], varied]), PER_CODE)
            )
        if parts.continuous:
            for a, b in itertools.pairwise(shown):
                strip, _ = model.interpolate(real[a : a + 1], real[b : b + 1], STRIP_LENGTH, seed)
                label = f"test image {a} -> test image {b}"
                row = np.concatenate([real[a : a + 1], strip, real[b : b + 1]])
                pictures.interpolations.append(Strip(-1, label, row, STRIP_LENGTH + 2))
    return pictures


def real_examples(real: np.ndarray, codes: np.ndarray | None, n: int) -> list[int]:
    """Indices of n real images to vary: the first of each of the n largest codes (so the
    rows show different kinds), or the first n without codes."""
    import numpy as np

    if codes is None:
        return list(range(min(n, len(real))))
    sizes = np.bincount(codes)
    order = sorted(np.flatnonzero(sizes), key=lambda c: (-sizes[c], c))[:n]
    return [int(np.flatnonzero(codes == c)[0]) for c in order]
