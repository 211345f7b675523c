"""`ucgen cluster RUN --data SOURCE`: every image's code, per-code galleries, and (with labels)
the clustering metrics."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ucgen.cli.common import add_data_args
from ucgen.errors import UcgenError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cluster",
        help="assign every image of a data set its code; galleries per code",
        description="Encode every image of a data set with a trained run's semantic encoder: "
        "writes codes (and fine vectors) to an .npz, one gallery PNG of real images per code, "
        "prints code usage and, when the data set has labels, NMI, ARI, purity and Hungarian "
        "accuracy (labels are used only here, to measure).",
    )
    p.add_argument("run", help="trained run folder")
    add_data_args(p, resolution_default="the run's data.resolution")
    p.add_argument(
        "--split",
        choices=["train", "test"],
        default="test",
        help="which split to cluster (default: test)",
    )
    p.add_argument(
        "--out",
        default=None,
        type=Path,
        help="folder for codes.npz, clusters.json and galleries (default: RUN/clusters-DATA-SPLIT)",
    )
    p.add_argument("--per-code", type=int, default=64, help="images per gallery (default: 64)")
    p.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="where to run the encoder (default: auto)",
    )
    p.set_defaults(func=run_cluster)


def run_cluster(args: argparse.Namespace) -> int:
    from ucgen.io.runs import Run

    if args.per_code < 1:
        raise UcgenError(f"--per-code must be >= 1, got {args.per_code}")
    run = Run.open(args.run)  # a wrong path is refused before torch is imported
    import numpy as np

    from ucgen.data import load_dataset
    from ucgen.evaluation import semantic
    from ucgen.io.atomic import atomic_write, atomic_write_text
    from ucgen.io.outputs import check_output
    from ucgen.methods import get_method, load_saved_config
    from ucgen.methods.method import encode_dataset
    from ucgen.report.grid import save_grid
    from ucgen.runtime import distributed as dist
    from ucgen.runtime.speed import set_threads

    config = load_saved_config(run.config_path)
    set_threads(config.train.threads)
    device = dist.local_device(args.device)
    parts = get_method(config.train.method).load_parts(config, run.checkpoints, device)
    if parts.num_codes == 0:
        raise UcgenError("this run's conditions have no discrete codes to cluster by")
    resolution = args.resolution or config.data.resolution
    data = load_dataset(args.data, split=args.split, resolution=resolution, root=args.data_root)
    if parts.image_shape is not None and data.shape != parts.image_shape:
        # Resizing cannot change the number of channels: suggest --resolution only where it helps.
        same_channels = data.shape[0] == parts.image_shape[0]
        hint = "--resolution or other data" if same_channels else "other data"
        raise UcgenError(
            f"{args.data} has images of shape {data.shape} (C, H, W) but the run "
            f"was trained on {parts.image_shape}; pass {hint}"
        )
    out = args.out or run.path / f"clusters-{Path(args.data).stem}-{args.split}"
    check_output(out / "codes.npz")  # the folder exists or can be made, before encoding
    cond = encode_dataset(parts, data, device)
    codes = cond.code.numpy()  # type: ignore[union-attr]
    arrays = {"codes": codes}
    if cond.fine is not None:
        arrays["fine"] = cond.fine.numpy().astype(np.float32)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    atomic_write(out / "codes.npz", write)
    usage = semantic.code_usage(codes, parts.num_codes)
    summary: dict[str, object] = {
        "data": data.name,
        "split": args.split,
        "images": len(data),
        "usage": usage,
    }
    print(f"{len(data)} images of {data.name} ({args.split}) in {parts.num_codes} codes")
    counts = np.bincount(codes, minlength=parts.num_codes)
    for code in range(parts.num_codes):
        members = np.flatnonzero(codes == code)
        line = f"  code {code:>3}: {counts[code]:>7} ({100 * counts[code] / len(codes):5.1f}%)"
        if data.labels is not None and len(members):
            top = np.bincount(data.labels[members]).argmax()
            name = data.class_names[top] if data.class_names else str(top)
            share = (data.labels[members] == top).mean()
            line += f"  majority: {name} ({100 * share:.0f}%)"
        print(line)
        if len(members):
            save_grid(data.images[members[: args.per_code]], out / f"code-{code:03d}.png")
    if data.labels is not None:
        scores = semantic.clustering_scores(codes, data.labels)
        summary["metrics"] = scores
        print("  ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    atomic_write_text(out / "clusters.json", json.dumps(summary, indent=2, default=float) + "\n")
    print(f"codes, galleries and clusters.json in {out}")
    return 0
