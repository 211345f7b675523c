"""Bench: what the pixels alone give as a clustering (labels only here): the floor a learned
bit-code has to beat.

k-means, and spectral clustering of a k-nearest-neighbour graph, of the test split's pixel
PCA (50 dimensions), into as many clusters as the codes have (16 = K 4). Run from the
repository root, e.g.
    PYTHONPATH=src python bench/pixel_clustering.py --data fashion-mnist
Prints one line per clustering with the metrics `bench/stage1_experiments.py` reports.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.decomposition import PCA

from ucgen.data import load_dataset
from ucgen.evaluation import semantic


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="fashion-mnist", help="a registered name or a path")
    ap.add_argument("--resolution", type=int, default=None)
    ap.add_argument("--clusters", type=int, default=16)
    ap.add_argument("--neighbours", type=int, nargs="+", default=[10, 30])
    args = ap.parse_args()
    data = load_dataset(args.data, "test", resolution=args.resolution)
    if data.labels is None:
        raise SystemExit(f"{args.data} has no labels to measure a clustering against")
    pixels = data.tensors().flatten(1).numpy()
    labels = np.asarray(data.labels)
    points = PCA(min(50, pixels.shape[1]), random_state=0).fit_transform(pixels)
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
            f"{args.data} test, {name}: NMI {semantic.nmi(codes, labels):.3f}, "
            f"purity {semantic.purity(codes, labels):.3f}, "
            f"accuracy {semantic.hungarian_accuracy(codes, labels):.3f}"
        )


if __name__ == "__main__":
    main()
