"""A tiny stage 1 trained briefly on shapes learns bit-codes that follow the shape.

Fixture: the `shapes` renderer with one size and no colour (white on black, 16 px), so the
coarse factor is the shape and the nuisances are position (which `coarse_pool` keeps out of
the code) and rotation. Measured with this exact setting (lr 1e-3, 300 steps): NMI of the
codes with the shape 0.64 for seed 0 (the test's; deterministic), and 0.13 / 0.55 / 0.47 for
seeds 1-3, 0.0 untrained (all one code); ~15 s of CPU. So the bar holds for this seed with a
wide margin, but a GAN this small is seed-sensitive: a change to the networks or losses that
fails this test should be checked on a few seeds before it is blamed.
The full-size shapes set (random size and hue) is not learned at this scale: its codes
follow size and hue first (see bench/stage1_results.md), hence this fixture and a 0.3 bar.
"""

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from tests.methods.game import game_options
from ucgen.data.sources.shapes import shape_masks
from ucgen.methods.cofi.bitcodes import bit_ids
from ucgen.methods.cofi.stage import Stage1

RES = 16
THRESHOLD = 0.3
STEPS = 300


def grey_shapes(n: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = rng.integers(0, 4, n)
    factors = {"x": rng.random(n), "y": rng.random(n), "size": np.full(n, 0.3)}
    factors["rotation"] = rng.uniform(0, np.pi / 2, n)
    masks = shape_masks(shape, factors, RES)
    return torch.from_numpy(masks[:, None] * 2 - 1).float(), shape


def code_nmi(stage: Stage1, x: torch.Tensor, labels: np.ndarray) -> float:
    with torch.no_grad():
        codes = bit_ids(stage.E_ema(x)[0]).numpy()
    return normalized_mutual_info_score(labels, codes)


def test_tiny_stage1_codes_follow_shape():
    # One torch thread (tests/conftest.py): the calibrated trajectory.
    torch.manual_seed(0)
    train, _ = grey_shapes(2000, 0)
    test, labels = grey_shapes(500, 1)
    config = game_options(
        bits=2,
        fine_dim=4,
        width=16,
        batch_size=32,
        lr=1e-3,
        coarse_pool=True,
        w_augment=0.0,
        w_mutual=0.0,
    )
    stage = Stage1(config, channels=1, resolution=RES)
    assert code_nmi(stage, test, labels) < 0.1  # untrained: fails the bar
    gen = torch.Generator().manual_seed(0)
    for step in range(STEPS):
        stage.train_step(train[torch.randint(0, len(train), (32,), generator=gen)], None, step)
    assert code_nmi(stage, test, labels) >= THRESHOLD
