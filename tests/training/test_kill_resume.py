"""A training process killed with SIGKILL resumes to exactly the uninterrupted result."""

import os
import signal
import subprocess
import sys
import time

from ucgen.runtime.checkpoints import complete_checkpoints

ARGS = [
    sys.executable,
    "-m",
    "ucgen",
    "train",
    "--preset",
    "tiny",
    "--method",
    "cofi",
    "--no-progress",
    "--set",
    "cofi.steps=24",
    "--set",
    "diffusion.steps=24",
    "--set",
    "train.checkpoint_every=2",
]


def _weights(run):
    found = {}
    for path in sorted(run.rglob("*.safetensors")):
        found[str(path.relative_to(run))] = path.read_bytes()
    return found


def test_sigkill_mid_run_then_resume_is_bit_exact(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [*ARGS, "--runs-dir", str(tmp_path), "--name", "straight"],
        check=True,
        env=env,
        capture_output=True,
    )
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [*ARGS, "--runs-dir", str(tmp_path), "--name", "killed"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not complete_checkpoints(killed / "checkpoints" / "diffusion"):
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    last = complete_checkpoints(killed / "checkpoints" / "diffusion")[-1].name
    assert last != "step-0000024", "the kill came too late to test anything"

    subprocess.run(
        [*ARGS[:4], "--resume", str(killed), "--no-progress"],
        check=True,
        env=env,
        capture_output=True,
    )
    straight, resumed = _weights(tmp_path / "straight"), _weights(killed)
    assert straight.keys() == resumed.keys()
    for name in straight:
        assert straight[name] == resumed[name], f"{name} differs after resume"
