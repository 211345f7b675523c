"""NMI between a run's stage-1 bit-codes and the true shape, on the shapes test split, read
from the finished stage-1 encoder (so it works before the rest of the run has trained).

    PYTHONPATH=src python bench/shapes_codes.py runs/shapes
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from ucgen.data import load_dataset, to_model_range
from ucgen.io.checkpoint import load_component
from ucgen.methods.cofi.bitcodes import bit_ids
from ucgen.models.stage1 import Encoder, Stage1NetConfig
from ucgen.runtime.checkpoints import final_components


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    args = parser.parse_args()
    folder = final_components(Path(args.run) / "checkpoints", "stage1") / "encoder"
    encoder = load_component(Encoder, Stage1NetConfig, folder).eval()
    res = encoder.config.resolution
    test = load_dataset("shapes", split="test", resolution=res)
    with torch.no_grad():
        codes = bit_ids(encoder(to_model_range(test.images))[0]).numpy()
    print(
        f"{args.run}: NMI codes / shape {normalized_mutual_info_score(test.labels, codes):.3f}, "
        f"code usage {np.bincount(codes, minlength=2**encoder.config.bits).tolist()}"
    )


if __name__ == "__main__":
    main()
