"""`ucgen`: the command line. Each subcommand lives in its own module of this package and
exposes `add_parser(subparsers)`; this module only dispatches and turns user errors into one
clear line and a non-zero exit."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ucgen import __version__
from ucgen.cli import (
    cluster_cmd,
    data_cmd,
    demo_cmd,
    eval_cmd,
    generate_cmd,
    report_cmd,
    serve_cmd,
    train_cmd,
)
from ucgen.errors import UcgenError

COMMANDS = [
    demo_cmd,
    train_cmd,
    generate_cmd,
    eval_cmd,
    cluster_cmd,
    data_cmd,
    report_cmd,
    serve_cmd,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ucgen",
        description="Controllable image generation learned from unlabeled images: discover "
        "bit-codes and fine attributes, train a coarse-to-fine diffusion generator, sample, "
        "cluster and evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"ucgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UcgenError as err:
        print(f"ucgen: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ucgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
