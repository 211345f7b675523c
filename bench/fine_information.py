"""How much a run's fine vectors say about real images, source by source.

    PYTHONPATH=src python bench/fine_information.py runs/base runs/fe

For each run and each fine source it has (the stage-1 encoder's fine head E(x)_f; the fine
encoder F(x) trained through the diffusion loss, where the run has one; the coarse teacher's
autoencoder embedding, where it has a teacher), a ridge probe is fitted per bit-code on the
training images, from the source's vector to the image's reference-network features, and
scored on the test images: pooled within-code R² = 1 - SSE / SST with SST around each code's
mean (0: the vector says nothing beyond the code; 1: it determines the image's features).
Also prints, from RUN/eval-fine.json or RUN/eval.json where present, the condition
reconstruction percentile and the fine effect (what the HM-UNet makes of the vectors).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ucgen.app.trained import TrainedModel
from ucgen.data import load_dataset, to_model_range
from ucgen.evaluation.evaluate import load_real_and_reference
from ucgen.io.checkpoint import load_component
from ucgen.methods.cofi.teacher import ManifoldTeacher, TeacherConfig


def within_code_r2(
    train_x: np.ndarray,
    train_y: np.ndarray,
    train_c: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    test_c: np.ndarray,
    ridge: float = 1e-2,
) -> float:
    """Pooled R² of per-code ridge probes (see the module docstring)."""
    sse = sst = 0.0
    for code in np.unique(test_c):
        tr, te = train_c == code, test_c == code
        if tr.sum() < train_x.shape[1] + 2:
            continue
        mx, my = train_x[tr].mean(0), train_y[tr].mean(0)
        a = train_x[tr] - mx
        w = np.linalg.solve(a.T @ a + ridge * len(a) * np.eye(a.shape[1]), a.T @ (train_y[tr] - my))
        pred = (test_x[te] - mx) @ w + my
        sse += float(((test_y[te] - pred) ** 2).sum())
        sst += float(((test_y[te] - test_y[te].mean(0)) ** 2).sum())
    return 1 - sse / sst


def measure(path: str) -> None:
    """Print one table row per fine source of the run at `path`."""
    model = TrainedModel.load(path)
    cfg = model.config
    _, res, _ = model.image_shape
    test, reference = load_real_and_reference(
        cfg.data.source, res, cfg.eval, root=cfg.data.root, verbose=False
    )
    train = load_dataset(cfg.data.source, split="train", resolution=res, root=cfg.data.root)
    enc = model.parts.encoder
    splits = {"train": train, "test": test}
    xs = {k: to_model_range(d.images) for k, d in splits.items()}
    codes = {k: model.encode(d.images).code.numpy() for k, d in splits.items()}
    feats = {k: reference.features(d.images) for k, d in splits.items()}
    sources = {"stage-1 fine head E(x)_f": lambda x: enc.stage1_latents(x)[1]}
    if enc.fine is not None:
        sources["fine encoder F(x)"] = lambda x: enc.latents(x)[1]
    teacher_dir = Path(path) / "checkpoints" / "teacher"
    if (teacher_dir / "config.json").is_file():
        teacher = load_component(ManifoldTeacher, TeacherConfig, teacher_dir)
        sources["teacher embedding"] = teacher.embed
    generator = torch.Generator().manual_seed(0)
    sources["random (control)"] = lambda x: torch.randn(len(x), 16, generator=generator)
    report: dict = {}
    for name in ("eval-fine.json", "eval.json"):
        if (Path(path) / name).is_file():
            report = json.loads((Path(path) / name).read_text()).get("fine_control", {})
            if "reconstruction" in report:
                break
    rec = report.get("reconstruction", {}).get("mean_percentile")
    effect = report.get("fine_effect", {}).get("per_direction")
    used = "fine encoder F(x)" if enc.fine is not None else "stage-1 fine head E(x)_f"
    for name, fn in sources.items():
        with torch.no_grad():
            v = {k: fn(x).float().numpy() for k, x in xs.items()}
        r2 = within_code_r2(
            v["train"], feats["train"], codes["train"], v["test"], feats["test"], codes["test"]
        )
        extra = ["-", "-"]
        if name == used:
            extra = [
                "-" if rec is None else f"{rec:.1f}",
                "-" if effect is None else " / ".join(f"{e:.2f}" for e in effect),
            ]
        print(f"| {path} | {name} | {v['test'].shape[1]} | {r2:.3f} | {' | '.join(extra)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args()
    print("| run | source | dims | within-code R² (test) | reconstruction % | fine effect |")
    print("|---|---|---|---|---|---|")
    for path in args.runs:
        measure(path)


if __name__ == "__main__":
    main()
