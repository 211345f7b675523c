"""Linear probe of RCG encoders at two depths: the backbone's pooled features and r, the
standardised projector output the UNet is conditioned on, on Fashion-MNIST.

    PYTHONPATH=src python bench/encoder_probe.py runs/fm-rcg/checkpoints/rcg-parts/encoder \
        [--train 60000] [--pixels]

The probe is `ucgen.evaluation.semantic.linear_probe` (what `ucgen eval` reports for r), fitted
on the first --train training images (10,000 by default; `ucgen eval` fits on all 60,000) and
scored on the 10,000 test images; --pixels adds the same probe on raw pixels.
`bench/encoder_variants.py` trains encoders with other options and probes them as they train.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from ucgen.data import load_dataset
from ucgen.evaluation.semantic import linear_probe
from ucgen.io.checkpoint import load_component
from ucgen.models.rep_encoder import RepEncoder, RepEncoderConfig

TRAIN = 10_000


class ProbeData:
    """The probe's images and labels: the first `count` training images, all test images."""

    def __init__(self, count: int = TRAIN) -> None:
        train, test = load_dataset("fashion-mnist", "train"), load_dataset("fashion-mnist", "test")
        self.x_train, self.y_train = train.tensors()[:count], train.labels[:count]
        self.x_test, self.y_test = test.tensors(), test.labels

    @torch.no_grad()
    def probe(self, net: RepEncoder) -> tuple[float, float]:
        """Test accuracy of the probe on the backbone's features and on r."""
        net = net.eval()

        def features(f, x: torch.Tensor) -> np.ndarray:  # in chunks: 60,000 at once is GBs
            return torch.cat([f(chunk) for chunk in x.split(2000)]).numpy()

        backbone = [features(net.backbone, x) for x in (self.x_train, self.x_test)]
        r = [features(net.represent, x) for x in (self.x_train, self.x_test)]
        return (
            linear_probe(backbone[0], self.y_train, backbone[1], self.y_test),
            linear_probe(r[0], self.y_train, r[1], self.y_test),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("encoders", nargs="+", help="encoder component folders")
    parser.add_argument("--train", type=int, default=TRAIN, help="training images to fit on")
    parser.add_argument("--pixels", action="store_true", help="also probe raw pixels")
    args = parser.parse_args()
    data = ProbeData(args.train)
    if args.pixels:
        pixels = [x.flatten(1).numpy() for x in (data.x_train, data.x_test)]
        accuracy = linear_probe(pixels[0], data.y_train, pixels[1], data.y_test)
        print(f"raw pixels: {accuracy:.4f}", flush=True)
    for path in args.encoders:
        net = load_component(RepEncoder, RepEncoderConfig, path)
        backbone, r = data.probe(net)
        print(f"{path}: backbone {backbone:.4f}, r {r:.4f}", flush=True)


if __name__ == "__main__":
    main()
