"""`ucgen data info SOURCE` (counts, shape, labels, factors and a preview grid of a data set)
and `ucgen data download NAME` (fetch a public set, with checksums)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ucgen.errors import UcgenError


def add_parser(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser(
        "data",
        help="inspect and download data sets",
        description="Inspect image data sets without training anything, or download a public one.",
    )
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    info = data_sub.add_parser(
        "info",
        help="print counts, shape, channels, labels and write a preview grid",
        description="Load a data set, print its size, image shape, channels, label presence "
        "and class balance, and write a preview grid PNG.",
    )
    info.add_argument("source", help="data set name or path")
    info.add_argument(
        "--split",
        choices=["train", "test"],
        default="train",
        help="which split to inspect (default: train)",
    )
    info.add_argument(
        "--resolution",
        type=int,
        default=None,
        help="square size to load at: images are resized, shapes are drawn at it",
    )
    info.add_argument(
        "--data-root", default=None, metavar="DIR", help="folder holding a named data set's files"
    )
    info.add_argument(
        "--preview",
        default=None,
        metavar="PNG",
        help="where to write the preview grid (default: preview-NAME.png)",
    )
    info.add_argument("--n", type=int, default=64, help="images in the preview (default: 64)")
    info.set_defaults(func=run_info)
    from ucgen.data.download import PUBLIC_SETS

    names = sorted(PUBLIC_SETS)
    dl = data_sub.add_parser(
        "download",
        help=f"download a public data set ({', '.join(names)})",
        description="Download a public data set from its canonical URL, check its MD5 and "
        "write it atomically. Files already present are kept. Without --root the files go to "
        "the set's environment variable folder (UCGEN_MNIST, UCGEN_FASHION_MNIST, "
        "UCGEN_CIFAR10) or ~/.cache/ucgen/NAME, where `--data NAME` finds them.",
    )
    dl.add_argument("name", choices=names, help="which data set")
    dl.add_argument(
        "--root",
        default=None,
        metavar="DIR",
        help="folder to download into (default: $UCGEN_... or ~/.cache/ucgen/NAME)",
    )
    dl.set_defaults(func=run_download)


def run_info(args: argparse.Namespace) -> int:
    import numpy as np

    from ucgen.data import load_dataset
    from ucgen.report.grid import check_picture_target, save_grid

    if args.n < 1:
        raise UcgenError(f"--n must be >= 1, got {args.n}")
    ds = load_dataset(
        args.source, split=args.split, resolution=args.resolution, root=args.data_root
    )
    out = Path(args.preview or f"preview-{ds.name}.png")
    check_picture_target(out)
    c, h, w = ds.shape
    print(f"data set     {ds.name} ({args.split})")
    print(f"images       {len(ds)}")
    print(f"shape        {h}x{w}, {c} channel{'s' if c > 1 else ''}")
    print(f"fingerprint  {ds.fingerprint}")
    if ds.labels is None:
        print("labels       none")
    else:
        counts = np.bincount(ds.labels, minlength=ds.num_classes or 0)
        names = ds.class_names or tuple(str(i) for i in range(len(counts)))
        print(f"labels       {len(counts)} classes")
        for name, count in zip(names, counts, strict=False):
            print(f"  {name:<20} {count:>7}  {100 * count / len(ds):5.1f}%")
    for key in sorted(ds.factors):
        values = ds.factors[key]
        print(f"factor       {key:<12} {values.min():.3f} .. {values.max():.3f}")
    n = min(args.n, len(ds))
    index = np.linspace(0, len(ds) - 1, n).round().astype(int)
    save_grid(ds.images[index], out)
    print(f"preview      {out}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from ucgen.data.download import download

    folder = download(args.name, args.root)
    print(f"{args.name} is in {folder}")
    return 0
