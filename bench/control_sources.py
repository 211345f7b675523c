"""Control accuracy of a coded run's pixel generator under three sources of its condition, to
tell a generator that cannot draw what its code says from a prior that asks for the wrong
thing: the method's prior (what `ucgen eval` scores), the prior with the fine part set to zero
(the code's centre), and the conditions of real test images (their own code and fine vector).
Per code, the reference classifier's class of each image is compared with the class most
test images of that code have. If the real images' own conditions do no better than the prior,
the generator is what fails.

    PYTHONPATH=src python bench/control_sources.py runs/shapes --per-code 100
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import torch

from ucgen.app.trained import TrainedModel
from ucgen.errors import UcgenError
from ucgen.evaluation.evaluate import load_real_and_reference
from ucgen.models.condition import Condition


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    parser.add_argument("--per-code", type=int, default=100, help="images per code and source")
    parser.add_argument("--test", type=int, default=2000, help="test images that map codes")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    for name in ("per_code", "test"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    try:
        model = TrainedModel.load(args.run, overrides=args.overrides)
    except UcgenError as error:
        parser.error(str(error))
    _, resolution, _ = model.image_shape
    test, reference = load_real_and_reference(
        model.config.data.source, resolution, model.config.eval, root=model.config.data.root
    )
    images, labels = test.images[: args.test], test.labels[: args.test]
    real = model.encode(images)
    codes = real.code.numpy()
    classes = {int(c): int(np.bincount(labels[codes == c]).argmax()) for c in np.unique(codes)}

    def prior(code: int) -> Condition:
        return model.conditions(args.per_code, seed=code, code=code)

    def centre(code: int) -> Condition:
        c = prior(code)
        return Condition(coarse=c.coarse, fine=torch.zeros_like(c.fine), code=c.code)

    def own(code: int) -> Condition:
        return real.slice(torch.as_tensor(np.nonzero(codes == code)[0][: args.per_code]))

    sources: dict[str, Callable[[int], Condition]] = {
        "prior": prior,
        "prior, fine = 0": centre,
        "real images' own": own,
    }
    print(f"{args.run}: code -> class {classes}; reference accuracy {reference.accuracy:.3f}")
    print("| condition | control per code | control |")
    print("|---|---|---|")
    for name, source in sources.items():
        scores = []
        for code, wanted in classes.items():
            cond = source(code)
            x = model.render(cond, len(cond), seed=code)
            scores.append(float((reference.predict(x) == wanted).mean()))
        per = " / ".join(f"{s:.2f}" for s in scores)
        print(f"| {name} | {per} | {np.mean(scores):.3f} |")


if __name__ == "__main__":
    main()
