"""Does `ucgen vary --image X` resemble X when it keeps X's fine vector, and less so with
`--new-fine`? For the first test images (of codes with at least 10 test images), one variation
each (`TrainedModel.vary`, strength 1: drawn from noise, only the condition ties it to X) is
ranked, by reference-feature distance, against up to 100 real test images of X's code: the
share of them farther from the variation than X is (50 %: the variation says nothing of X
beyond its code).

    PYTHONPATH=src python bench/vary_resemblance.py runs/base runs/fe [--n 100]
"""

from __future__ import annotations

import argparse

import numpy as np

from ucgen.app.trained import TrainedModel
from ucgen.evaluation.evaluate import load_real_and_reference
from ucgen.evaluation.fine import CANDIDATES, MIN_CANDIDATES, reconstruction_percentiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    print("| run | images | keep fine: mean percentile | --new-fine: mean percentile |")
    print("|---|---|---|---|")
    for path in args.runs:
        model = TrainedModel.load(path)
        cfg = model.config
        _, res, _ = model.image_shape
        test, reference = load_real_and_reference(
            cfg.data.source, res, cfg.eval, root=cfg.data.root, verbose=False
        )
        codes = model.encode(test.images).code.numpy()
        feats = reference.features(test.images)
        members = {c: np.flatnonzero(codes == c)[:CANDIDATES] for c in np.unique(codes)}
        chosen = [
            i
            for i in range(len(test))
            if len(members[codes[i]]) >= MIN_CANDIDATES and i in members[codes[i]]
        ][: args.n]
        cand = [feats[members[codes[i]]] for i in chosen]
        true = np.array([int(np.flatnonzero(members[codes[i]] == i)[0]) for i in chosen])
        out = []
        for keep in (True, False):
            made = np.concatenate(
                [model.vary(test.images[i : i + 1], n=1, seed=i, keep_fine=keep)[0] for i in chosen]
            )
            out.append(reconstruction_percentiles(reference.features(made), true, cand).mean())
        print(f"| {path} | {len(chosen)} | {out[0]:.1f} | {out[1]:.1f} |")


if __name__ == "__main__":
    main()
