"""Data-parallel training: 2 CPU processes with gloo against 1 process, same global batch."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.distributed as tdist
import torch.multiprocessing as mp

from ucgen.data import ImageDataset
from ucgen.io.runs import Run
from ucgen.methods import load_config
from ucgen.runtime.distributed import finish, rank_checksums
from ucgen.training.loop import LoopSettings, train_stage

from ..float_checks import assert_losses_close
from .toy_stage import ToyStage

SETTINGS = LoopSettings(seed=1, log_every=1, sample_every=100, checkpoint_every=100, progress=False)


def _data() -> ImageDataset:
    rng = np.random.default_rng(0)
    return ImageDataset(rng.integers(0, 256, (64, 4, 4, 1), dtype=np.uint8), None, "toy")


def _train_toy(rank: int, world: int, folder: str, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    tdist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    data = _data()
    stage = ToyStage(data.shape, total_steps=12, batch_size=8, noise=0.0)
    run = Run(os.path.join(folder, "run"))
    train_stage(stage, data, run, SETTINGS, torch.device("cpu"), resume=False)
    torch.save(stage.net.state_dict(), os.path.join(folder, f"rank{rank}.pt"))
    finish()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_equal_one_process_with_the_same_global_batch(tmp_path):
    data = _data()
    single = ToyStage(data.shape, total_steps=12, batch_size=8, noise=0.0)
    run = Run.create("single", load_config("tiny"), tmp_path)
    train_stage(single, data, run, SETTINGS, torch.device("cpu"))

    folder = tmp_path / "ddp"
    (folder / "run").mkdir(parents=True)
    Run.create("ddp", load_config("tiny"), tmp_path)
    mp.spawn(_train_toy, args=(2, str(folder), _free_port()), nprocs=2, join=True)
    ranks = [torch.load(folder / f"rank{r}.pt") for r in range(2)]
    for key in single.net.state_dict():
        assert torch.equal(ranks[0][key], ranks[1][key]), f"ranks differ in {key}"
    # Gradients of the two half batches are averaged: the same updates as the whole batch, up
    # to float rounding of the sum, so every step's loss (the ranks' mean) is the same.
    single_losses = [r for r in run.read_metrics() if "loss" in r]
    ddp_losses = [r for r in Run(folder / "run").read_metrics() if "loss" in r]
    assert [r["step"] for r in ddp_losses] == [r["step"] for r in single_losses]
    assert len(single_losses) == 12
    for a, b in zip(ddp_losses, single_losses, strict=True):
        assert_losses_close(a, b, ["loss"])


def test_torchrun_tiny_preset_two_ranks(tmp_path):
    """`torchrun -m ucgen train` on 2 CPU processes: ranks end with identical weights (checked by
    the driver and logged), only rank 0 writes, and the losses match a 1-process run with the
    same global batch within 25% (the ranks draw other noise than one process does)."""
    common = [
        "train",
        "--preset",
        "tiny",
        "--method",
        "uncond",
        "--runs-dir",
        str(tmp_path),
        "--no-progress",
        "--set",
        "diffusion.steps=30",
        "--set",
        "train.log_every=30",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, "-m", "ucgen", *common, "--name", "one"],
        check=True,
        env=env,
        capture_output=True,
    )
    launched = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "ucgen",
            *common,
            "--name",
            "two",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]  # one folder per run

    def records(name):
        lines = (tmp_path / name / "metrics.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    two = records("two")
    checks = [r for r in two if "rank_checksums" in r]
    assert checks and all(len(set(r["rank_checksums"])) == 1 for r in checks)
    assert len(checks[0]["rank_checksums"]) == 2
    loss_one = next(r["loss"] for r in records("one") if "loss" in r)
    loss_two = next(r["loss"] for r in two if "loss" in r)
    assert abs(loss_two - loss_one) / loss_one < 0.25


@pytest.mark.parametrize(
    ("method", "steps", "stages"),
    [
        ("cofi", ("cofi.steps=4", "cofi.mi_warmup=2", "cofi.mi_heads=3"), ["stage1", "diffusion"]),
        ("rcg", ("rcg.encoder_steps=4", "rcg.rdm_steps=4"), ["rep-encoder", "rdm", "diffusion"]),
    ],
)
def test_torchrun_two_ranks_agree_after_every_stage(tmp_path, method, steps, stages):
    """Later stages are built after earlier ones drew rank-dependent noise (CoFi's HM-UNet
    after stage 1, RCG's RDM after the encoder, whose views differ per rank); each must still
    start (and end) the same on every rank, and the parts fitted between (RCG's k-means) once."""
    argv = ["train", "--preset", "tiny", "--method", method, "--runs-dir", str(tmp_path)]
    argv += ["--no-progress", "--name", "two"]
    for key in (*steps, "diffusion.steps=2"):
        argv += ["--set", key]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    launched = subprocess.run(
        [*torchrun, "--nproc_per_node=2", "-m", "ucgen", *argv],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    lines = (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()
    checks = [r for r in map(json.loads, lines) if "rank_checksums" in r]
    assert [r["stage"] for r in checks] == stages
    assert all(len(set(r["rank_checksums"])) == 1 for r in checks)


def test_rank_checksum_tells_states_apart():
    """The 2-rank tests rely on equal checksums meaning equal states."""
    state = {"net": {"w": torch.ones(3), "b": torch.zeros(2)}, "opt": [{"step": 4}]}
    same = {"opt": [{"step": 4}], "net": {"b": torch.zeros(2), "w": torch.ones(3)}}
    assert rank_checksums(state) == rank_checksums(same)  # key order does not matter
    for changed in (
        {**state, "net": {"w": torch.tensor([1.0, 1.0, 2.0]), "b": torch.zeros(2)}},
        {**state, "opt": [{"step": 5}]},
        {**state, "net": {"w": torch.zeros(2), "b": torch.ones(3)}},  # values swapped
    ):
        assert rank_checksums(changed) != rank_checksums(state)
