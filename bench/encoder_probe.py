"""Linear probe of an RCG run's encoder at two depths: the backbone's pooled features and the
projector's output (the representation r the UNet is conditioned on), on Fashion-MNIST.

    PYTHONPATH=src python bench/encoder_probe.py runs/fm-rcg/checkpoints/rcg-parts/encoder

The probe is `ucgen.evaluation.semantic.linear_probe` (what `ucgen eval` reports for r), fitted
on the first 10,000 training images and scored on the 10,000 test images.
"""

from __future__ import annotations

import argparse

import torch

from ucgen.data import load_dataset
from ucgen.evaluation.semantic import linear_probe
from ucgen.io.checkpoint import load_component
from ucgen.models.rep_encoder import RepEncoder, RepEncoderConfig

TRAIN = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("encoders", nargs="+", help="encoder component folders")
    args = parser.parse_args()
    train, test = load_dataset("fashion-mnist", "train"), load_dataset("fashion-mnist", "test")
    x_train, y_train = train.tensors()[:TRAIN], train.labels[:TRAIN]
    x_test, y_test = test.tensors(), test.labels
    for path in args.encoders:
        net = load_component(RepEncoder, RepEncoderConfig, path).eval()
        with torch.no_grad():
            b_train, b_test = net.backbone(x_train), net.backbone(x_test)
            p_train, p_test = net.projector(b_train), net.projector(b_test)
        backbone = linear_probe(b_train.numpy(), y_train, b_test.numpy(), y_test)
        projector = linear_probe(p_train.numpy(), y_train, p_test.numpy(), y_test)
        print(f"{path}: backbone {backbone:.4f}, projector {projector:.4f}", flush=True)


if __name__ == "__main__":
    main()
