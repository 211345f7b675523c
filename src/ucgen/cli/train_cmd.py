"""`ucgen train`: train a method into a new run folder, or resume one."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from ucgen.cli.common import add_config_args, add_method_arg, method_overrides
from ucgen.config import Config, merge, to_dict
from ucgen.config.loading import parse_override
from ucgen.errors import UcgenError
from ucgen.io.atomic import atomic_write_bytes
from ucgen.io.runs import Run, check_run_name, check_runs_dir, run_name_from
from ucgen.methods import load_config, load_saved_config


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a method (CoFi-UCGen, RCG or a baseline) on a data set",
        description="Train every stage of a method into runs/NAME: metrics.jsonl, sample "
        "grids and checkpoints as it goes. A killed run continues with --resume. Launch with "
        "torchrun for several processes or machines.",
    )
    add_config_args(p)
    add_method_arg(p)
    p.add_argument(
        "--data", default=None, metavar="SOURCE", help="data set name or path (sets data.source)"
    )
    p.add_argument("--name", default=None, help="run name (default: METHOD-DATA)")
    p.add_argument(
        "--runs-dir",
        default="runs",
        type=Path,
        help="folder that holds run folders (default: runs)",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="RUN",
        help="continue the run in this folder from its last complete checkpoint, with its "
        "saved config (--set values on top; --preset, --config, --method, --data and --name "
        "are refused)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the resolved configuration and exit"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    if args.resume:
        # A run keeps its method, data and settings; ignoring these options would be silent.
        clash = [
            option
            for option, value in (
                ("--preset", args.preset),
                ("--config", args.config),
                ("--method", args.method),
                ("--data", args.data),
                ("--name", args.name),
            )
            if value is not None
        ]
        if clash:
            raise UcgenError(
                f"--resume continues a run with its saved config: {', '.join(clash)} cannot "
                "be combined with it (use --set section.key=value to change a setting)"
            )
        run = Run.open(args.resume)
        saved = load_saved_config(run.config_path)
        config = saved
        for item in args.overrides:
            config = merge(config, parse_override(item))
        config.check()
        from ucgen.app.driver import check_resume

        check_resume(saved, config, run)
    else:
        shortcuts = method_overrides(args)
        if args.data is not None:
            shortcuts.append(f"data.source={args.data}")
        config = load_config(args.preset, args.config, [*shortcuts, *args.overrides])
        if args.name is None:
            name = run_name_from(f"{config.train.method}-{Path(config.data.source).stem}")
        else:
            name = check_run_name(args.name)
        check_runs_dir(args.runs_dir)
    if args.dry_run:
        print(json.dumps(to_dict(config), indent=2))
        return 0
    from ucgen.app.driver import load_training_data, train_run
    from ucgen.runtime import distributed as dist

    # Bad data fails here, before a run folder is made (or a run's config changed) for it.
    data = load_training_data(config)
    if args.resume:
        kept = _checkpoint_ids(run) if dist.is_main() else None
        old_config = run.config_path.read_bytes()
        if dist.is_main() and config != saved:
            run.save_config(config)
    else:
        run = _create_run(name, config, args.runs_dir)
    if dist.is_main():
        print(f"run folder: {run.path}")
    try:
        train_run(config, run, progress=not args.no_progress, data=data)
    finally:
        if dist.is_main():
            if args.resume:
                _keep_config_unless_trained(run, old_config, kept)
            else:
                _remove_if_only_config(run)
    if dist.is_main():
        print(f"done: {run.path}")
    dist.finish()
    return 0


def _checkpoint_ids(run: Run) -> set[tuple[str, int]]:
    """Every complete checkpoint of a run, by path and inode (a rewritten one is new)."""
    return {(str(p), p.stat().st_ino) for p in run.checkpoints.glob("*/step-*") if p.is_dir()}


def _keep_config_unless_trained(
    run: Run, old_config: bytes, kept: set[tuple[str, int]] | None
) -> None:
    """A resume that wrote no new checkpoint puts the run's config back as it was: the config
    describes what the checkpoints were trained with."""
    if _checkpoint_ids(run) == kept and run.config_path.read_bytes() != old_config:
        atomic_write_bytes(run.config_path, old_config)


def _remove_if_only_config(run: Run) -> None:
    """A new run that failed before writing anything but its description (config.json,
    run.json) is removed, so that it leaves no empty run behind (and the next run of that name
    is not numbered)."""
    files = {p for p in run.path.rglob("*") if not p.is_dir()}
    if files <= {run.config_path, run.started}:
        shutil.rmtree(run.path)


def _create_run(name: str, config: Config, runs_dir: Path) -> Run:
    """Rank 0 creates the folder; other ranks learn its name (it may have a suffix)."""
    import torch.distributed as tdist

    from ucgen.runtime import distributed as dist

    dist.init_from_env(dist.local_device(config.train.device))
    if not tdist.is_initialized():
        return Run.create(name, config, runs_dir)
    box = [str(Run.create(name, config, runs_dir).path) if dist.is_main() else None]
    tdist.broadcast_object_list(box, src=0)
    return Run(Path(box[0]))
