"""The coarse teacher of CoFi-UCGen stage 1: a label-free clustering of the training images
into 2**K kinds, which the encoder's bits learn alongside the reciprocal game.

Why a teacher: on Fashion-MNIST every signal the encoder can train on itself within a CPU
budget (invariance to augmentations, mutual information of views, instance discrimination,
neighbour pairs) gave codes no better than a spectral clustering of the pixels. Clustering the
manifold of an autoencoder's embedding instead (N2D, McConville et al. 2020: autoencoder ->
UMAP -> clustering) separates the kinds better and costs a few minutes of one core
(bench/stage1_results.md).

The recipe: the dense autoencoder of `ucgen.models.autoencoder` trained on the pixels
(`AutoencoderStage`); UMAP (McInnes et al. 2018) of the training images' embeddings to 10
dimensions with `min_dist` 0, so that kinds become tight clumps; k-means into 2**K clusters;
bit-code ids for the clusters such that clusters bordering in UMAP's neighbour graph differ in
few bits (`bitcodes.neighbour_order`: what makes each bit learnable). A teacher answers for
any image with the majority code of its nearest training images in the autoencoder's
embedding: UMAP's own `transform` is fitted state that cannot be saved without pickle, and is
far slower than one matrix product.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ucgen.data.dataset import to_uint8
from ucgen.errors import UcgenError
from ucgen.io.checkpoint import save_component
from ucgen.methods.cofi.bitcodes import neighbour_order
from ucgen.models.autoencoder import Autoencoder, AutoencoderConfig
from ucgen.runtime.stage import OneNetworkStage

AUTOENCODER_BATCH = 256  # N2D's batch size
AUTOENCODER_LR = 1e-3
UMAP_DIMS = 10
UMAP_NEIGHBOURS = 20  # N2D's choice
# k-means starts: with few, a seed can fall into a worse partition (bench/stage1_results.md).
KMEANS_RESTARTS = 20


class AutoencoderStage(OneNetworkStage):
    """Trains the teacher's autoencoder on pixel mean squared error (a `TrainingStage`)."""

    name = "autoencoder"
    state_name = "autoencoder training state"

    def __init__(
        self, steps: int, channels: int, resolution: int, device: torch.device | str = "cpu"
    ) -> None:
        self.batch_size = AUTOENCODER_BATCH
        self.total_steps = steps
        self.device = torch.device(device)
        self.model = Autoencoder(AutoencoderConfig(channels * resolution**2)).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=AUTOENCODER_LR, fused=True)
        self.shape = (channels, resolution, resolution)
        self._shown: torch.Tensor | None = None

    def train_step(
        self, images: torch.Tensor, labels: torch.Tensor | None, step: int
    ) -> dict[str, float]:
        """One Adam step on images (B, C, H, W) in [-1, 1]; labels ignored."""
        x = images.to(self.device)
        loss = F.mse_loss(self.model(x).float(), x.flatten(1))
        self.optimise(loss, step)
        self._shown = x[:8].detach()
        return {"reconstruction": loss.item()}

    def save(self, folder: Path) -> None:
        save_component(self.model, self.model.config, Path(folder) / "autoencoder")

    @torch.no_grad()
    def preview(self, generator: torch.Generator) -> np.ndarray:
        """The last batch's first images above their reconstructions: (2n, H, W, C) uint8."""
        if self._shown is None:
            return np.zeros((1, *self.shape[1:], self.shape[0]), np.uint8)
        rec = self.model(self._shown).view(-1, *self.shape)
        return to_uint8(torch.cat([self._shown, rec]))


@dataclass
class TeacherConfig:
    """Shape of a saved teacher: its autoencoder, how many training images it remembers,
    K (2**K codes) and how many nearest images vote on a code."""

    autoencoder: dict[str, Any]
    num_points: int
    bits: int
    votes: int = 10


class ManifoldTeacher(nn.Module):
    """Image -> teacher bit-code id: the majority code of its `votes` nearest training images
    in the autoencoder's embedding (ties go to the nearest image's code).

    points: (N, embed_dim) embeddings of the training images; codes: (N,) their cluster ids.
    """

    def __init__(self, config: TeacherConfig) -> None:
        super().__init__()
        self.config = config
        ae = config.autoencoder
        self.autoencoder = Autoencoder(
            AutoencoderConfig(ae["pixels"], tuple(ae["hidden"]), ae["embed_dim"])
        ).requires_grad_(False)
        dim = self.autoencoder.config.embed_dim
        self.register_buffer("points", torch.zeros(config.num_points, dim))
        self.register_buffer("codes", torch.zeros(config.num_points, dtype=torch.int64))

    @torch.no_grad()
    def embed(self, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """(N, C, H, W) in [-1, 1] -> (N, embed_dim), in float32 whatever autocast says (the
        votes compare these with the stored points)."""
        with torch.autocast(x.device.type, enabled=False):
            return torch.cat(
                [
                    self.autoencoder.embed(x[i : i + batch_size].float())
                    for i in range(0, len(x), batch_size)
                ]
            )

    @torch.no_grad()
    def code(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [-1, 1] -> (B,) int64 teacher code ids in [0, 2**K)."""
        q = self.embed(x)
        distance = self.points.pow(2).sum(dim=1)[None] - 2 * q @ self.points.T
        k = min(self.config.votes, len(self.points))
        # (B, k) codes of the nearest training images, nearest first
        nearest = self.codes[distance.topk(k, dim=1, largest=False).indices]
        votes = F.one_hot(nearest, 2**self.config.bits).sum(dim=1).float()
        votes[torch.arange(len(x)), nearest[:, 0]] += 0.5
        return votes.argmax(dim=1)


def fit_teacher(
    autoencoder: Autoencoder, images: torch.Tensor, bits: int, seed: int
) -> ManifoldTeacher:
    """Cluster the training images (N, C, H, W) in [-1, 1] into 2**bits kinds on the UMAP
    manifold of their embeddings; the same seed gives the same teacher."""
    try:
        import umap
    except ImportError:
        raise UcgenError(
            "the coarse teacher needs umap-learn: pip install umap-learn "
            "(or set cofi.teacher_steps=0)"
        ) from None
    from sklearn.cluster import KMeans

    n, least = len(images), max(2**bits, UMAP_DIMS + 1)
    if n <= least:
        raise UcgenError(
            f"the coarse teacher needs more than {least} training images "
            f"to cluster into {2**bits} codes, got {n}"
        )
    cfg = autoencoder.config
    teacher = ManifoldTeacher(
        TeacherConfig(
            {"pixels": cfg.pixels, "hidden": list(cfg.hidden), "embed_dim": cfg.embed_dim},
            num_points=n,
            bits=bits,
        )
    )
    teacher.autoencoder.load_state_dict(autoencoder.state_dict())
    teacher.to(images.device)
    points = teacher.embed(images)
    threads = torch.get_num_threads()  # numba's parallel code sets torch's to the core count
    reducer = umap.UMAP(
        n_neighbors=min(UMAP_NEIGHBOURS, n - 1),
        n_components=UMAP_DIMS,
        min_dist=0.0,
        random_state=seed,
        n_jobs=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # UMAP's notes on random_state and n_jobs
        manifold = reducer.fit_transform(points.cpu().numpy())
    clusters = KMeans(2**bits, n_init=KMEANS_RESTARTS, random_state=seed).fit_predict(manifold)
    torch.set_num_threads(threads)
    graph = reducer.graph_.tocoo()  # UMAP's neighbour graph of the training images
    adjacency = np.zeros((2**bits, 2**bits))
    np.add.at(adjacency, (clusters[graph.row], clusters[graph.col]), graph.data)
    order = neighbour_order(adjacency, bits, seed)
    teacher.points.copy_(points)
    teacher.codes.copy_(torch.from_numpy(order[clusters].astype(np.int64)))
    return teacher
