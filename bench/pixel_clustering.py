"""Bench: what the pixels alone give as a clustering (labels only here): the floor a learned
bit-code has to beat. With --encoder, the same for a trained stage-1 encoder's features: does
the encoder see more than the pixels do?

k-means, and spectral clustering of a k-nearest-neighbour graph, of the test split's PCA
(50 dimensions) into as many clusters as the codes have (16 = K 4), and the share of each
image's nearest test images that share its label. Run from the repository root, e.g.
    PYTHONPATH=src python bench/pixel_clustering.py --data fashion-mnist
    PYTHONPATH=src python bench/pixel_clustering.py --data fashion-mnist \
        --encoder runs/cofi-fashion-mnist/checkpoints/cofi-parts/encoder
Prints one line per clustering with the metrics `bench/stage1_experiments.py` reports.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from ucgen.data import load_dataset
from ucgen.evaluation import semantic
from ucgen.io.checkpoint import load_component
from ucgen.models.stage1 import Encoder, Stage1NetConfig


@torch.no_grad()
def encoder_features(folder: Path, images: torch.Tensor) -> np.ndarray:
    """(N, F) output of the saved encoder's convolutional trunk, the layer both of its heads
    (bit-code and fine vector) read."""
    encoder = load_component(Encoder, Stage1NetConfig, folder).eval()
    return torch.cat(
        [encoder.trunk(images[i : i + 500]) for i in range(0, len(images), 500)]
    ).numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="fashion-mnist", help="a registered name or a path")
    ap.add_argument("--resolution", type=int, default=None)
    ap.add_argument("--clusters", type=int, default=16)
    ap.add_argument("--neighbours", type=int, nargs="+", default=[10, 30])
    ap.add_argument("--encoder", type=Path, default=None, help="a saved stage-1 encoder folder")
    args = ap.parse_args()
    data = load_dataset(args.data, "test", resolution=args.resolution)
    if data.labels is None:
        raise SystemExit(f"{args.data} has no labels to measure a clustering against")
    images = data.tensors()
    if args.encoder is None:
        what, features = "pixels", images.flatten(1).numpy()
    else:
        what, features = "encoder trunk", encoder_features(args.encoder, images)
    labels = np.asarray(data.labels)
    points = PCA(min(50, features.shape[1]), random_state=0).fit_transform(features)
    nearest = NearestNeighbors(n_neighbors=11).fit(points).kneighbors(points)[1][:, 1:]
    agree = labels[nearest] == labels[:, None]
    print(
        f"{args.data} test, {what}: the nearest image shares the label {agree[:, 0].mean():.3f}, "
        f"the 10 nearest {agree.mean():.3f}"
    )
    runs = {"k-means": KMeans(args.clusters, n_init=4, random_state=0)}
    for k in args.neighbours:
        runs[f"spectral, {k}-NN graph"] = SpectralClustering(
            args.clusters,
            affinity="nearest_neighbors",
            n_neighbors=k,
            assign_labels="cluster_qr",
            random_state=0,
        )
    for name, method in runs.items():
        codes = method.fit_predict(points)
        print(
            f"{args.data} test, {what}, {name}: NMI {semantic.nmi(codes, labels):.3f}, "
            f"purity {semantic.purity(codes, labels):.3f}, "
            f"accuracy {semantic.hungarian_accuracy(codes, labels):.3f}"
        )


if __name__ == "__main__":
    main()
