"""Arguments shared by several subcommands."""

from __future__ import annotations

import argparse

from ucgen.config import Config, preset_names
from ucgen.methods import load_config


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """--preset, --config FILE and repeated --set section.key=value."""
    parser.add_argument(
        "--preset", default=None, help=f"named preset from configs/ ({', '.join(preset_names())})"
    )
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="TOML or JSON config file applied after the preset",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one config value (repeatable), e.g. --set cofi.bits=4",
    )


def add_method_arg(parser: argparse.ArgumentParser) -> None:
    """--method NAME: sets train.method (any registered method)."""
    from ucgen.methods.registry import REGISTRY

    parser.add_argument(
        "--method",
        default=None,
        help="method to train (sets train.method): " + ", ".join(r.name for r in REGISTRY),
    )


def method_overrides(args: argparse.Namespace) -> list[str]:
    """The --set item --method stands for, before the user's own --set values."""
    return [] if args.method is None else [f"train.method={args.method}"]


def config_from_args(args: argparse.Namespace) -> Config:
    return load_config(args.preset, args.config, args.overrides)


def add_data_args(
    parser: argparse.ArgumentParser,
    required: bool = True,
    resolution_default: str = "the source's own size",
) -> None:
    """--data SOURCE, --resolution and --data-root for commands that read a data set;
    `resolution_default` says in --resolution's help what happens without it."""
    parser.add_argument(
        "--data",
        required=required,
        metavar="SOURCE",
        help="data set name (digits, shapes, fashion-mnist, mnist, cifar10) "
        "or a path (folder of images, .npz, IDX or CIFAR folder)",
    )
    parser.add_argument(
        "--resolution",
        type=int,
        default=None,
        help=f"resize images to this square size (default: {resolution_default})",
    )
    parser.add_argument(
        "--data-root", default=None, metavar="DIR", help="folder holding a named data set's files"
    )
