"""RCG as a choice of three parts:

    semantic encoder  : the self-supervised encoder -> standardised representation r (B, D)
                        (its k-means cluster as the code)
    condition sampler : the representation diffusion model (or, as oracle, representations of
                        random training images; or cluster frequencies for condition=clusters)
    pixel generator   : the HM-UNet with r as its global condition (fine_dim 0)

Semantic stages: the encoder (`RepEncoderStage`) unless `rcg.encoder_from` names a run whose
encoder is reused, then the RDM (`RDMStage`) unless the UNet is conditioned on clusters. The
encoder in use is copied into the run (`rcg-parts/encoder`), so the run stands alone.

Codes: representations have no discrete kind of their own; k-means of the training
representations (`rcg.clusters`) gives every condition a cluster id as its code, which is what
`--code`, clustering metrics and Table 9a's "cluster ids" row need. The UNet conditioned on r
never sees the code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ucgen.config import Config
from ucgen.data import ImageDataset
from ucgen.errors import CheckpointError, UcgenError
from ucgen.io.atomic import atomic_write_text
from ucgen.io.checkpoint import (
    CONFIG_NAME,
    load_component,
    load_weights,
    save_component,
    save_weights,
)
from ucgen.methods.baselines import LabelFrequencySampler, one_hot_condition
from ucgen.methods.method import Parts
from ucgen.methods.rcg.config import RCGConfig
from ucgen.methods.rcg.stages import RDMStage, RepEncoderStage, sample_representations
from ucgen.models.condition import Condition
from ucgen.models.rdm import RDM, RDMConfig
from ucgen.models.rep_encoder import RepEncoder, RepEncoderConfig, standardise
from ucgen.runtime import distributed as dist
from ucgen.runtime.checkpoints import final_components
from ucgen.runtime.stage import TrainingStage

PARTS_FOLDER = "rcg-parts"
STATS_NAME = "representations.safetensors"  # training representations and cluster centres
EXTERNAL_NAME = "external-encoder.json"  # marks a run whose encoder was given in Python
KMEANS_RESTARTS = 4
# `sample(code=c)` from the RDM keeps draws whose cluster is c: at most this many rounds of n.
CODE_ROUNDS = 64


class RCGEncoder:
    """SemanticEncoder: images (B, C, H, W) in [-1, 1] -> Condition(coarse = r (B, D) or the
    one-hot cluster (B, K), code = cluster id (B,) or None without clusters)."""

    def __init__(self, net: nn.Module, centroids: torch.Tensor | None, on_clusters: bool) -> None:
        self.net = net.eval().requires_grad_(False)
        self.centroids = centroids
        self.on_clusters = on_clusters
        dim = net.config.dim
        self.coarse_dim = len(centroids) if on_clusters and centroids is not None else dim
        self.fine_dim = 0

    @torch.no_grad()
    def represent(self, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """(N, C, H, W) in [-1, 1] -> standardised representations (N, D) float32."""
        with torch.autocast(x.device.type, enabled=False):
            return torch.cat(
                [
                    self.net.represent(x[i : i + batch_size].float())
                    for i in range(0, len(x), batch_size)
                ]
            )

    def condition(self, r: torch.Tensor) -> Condition:
        """The Condition of representations r (B, D)."""
        code = None if self.centroids is None else nearest(r, self.centroids.to(r.device))
        if self.on_clusters:
            return one_hot_condition(code, len(self.centroids))  # type: ignore[arg-type]
        return Condition(coarse=r, code=code)

    def encode(self, x: torch.Tensor) -> Condition:
        return self.condition(self.represent(x))


def nearest(r: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index (B,) int64 of the nearest of centroids (K, D) to each row of r (B, D)."""
    return torch.cdist(r.float(), centroids.float()).argmin(dim=1)


class RepresentationSampler:
    """ConditionSampler over representations: from the RDM (`rdm`) or, as the oracle, those of
    random training images (`rdm` None). Row i of a draw depends only on the generator's seed
    and i (the RDM's per-row noise); `code` keeps draws of that cluster only."""

    def __init__(
        self, encoder: RCGEncoder, train: torch.Tensor, rdm: RDM | None, steps: int
    ) -> None:
        self.encoder = encoder
        self.train = train
        self.rdm = rdm
        self.steps = steps

    def _draw(self, n: int, seed: int, offset: int) -> torch.Tensor:
        if self.rdm is None:
            g = torch.Generator().manual_seed(seed + offset)
            return self.train[torch.randint(len(self.train), (n,), generator=g)]
        # Every encoder's representations are standardised per sample, so they lie on one
        # sphere; the RDM only learns that approximately (its draws come out shrunk inward),
        # and projecting them back is exact.
        return standardise(sample_representations(self.rdm, n, seed, self.steps, offset))

    def sample(self, n: int, generator: torch.Generator, code: int | None = None) -> Condition:
        seed = int(torch.randint(2**62, (1,), generator=generator))
        if code is None:
            return self.encoder.condition(self._draw(n, seed, 0))
        centroids = self.encoder.centroids
        if centroids is None or not 0 <= code < len(centroids):
            raise UcgenError(f"code {code} is not a cluster of this run")
        kept: list[torch.Tensor] = []
        for round_ in range(CODE_ROUNDS):
            r = self._draw(n, seed, round_ * n)
            kept.append(r[nearest(r, centroids) == code])
            if sum(map(len, kept)) >= n:
                return self.encoder.condition(torch.cat(kept)[:n])
        raise UcgenError(
            f"cluster {code} is too rare among {CODE_ROUNDS * n} drawn representations"
        )


@dataclass
class EncoderShape:
    """What RCG needs to know of an encoder: image channels, resolution, representation size."""

    channels: int
    resolution: int
    dim: int


class ExternalEncoder(nn.Module):
    """Any module mapping images (B, C, H, W) in [-1, 1] to vectors (B, ...) as RCG's encoder:
    its outputs, flattened and standardised per sample, are the representations. Its weights
    stay the user's: a run trained with it records that and needs it again to load."""

    def __init__(self, module: nn.Module, channels: int, resolution: int) -> None:
        super().__init__()
        self.module = module
        param = next(module.parameters(), None)
        probe = torch.zeros(1, channels, resolution, resolution)
        with torch.no_grad():
            dim = module(probe if param is None else probe.to(param)).flatten(1).shape[1]
        self.config = EncoderShape(channels, resolution, dim)

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        return standardise(self.module(x).flatten(1).float())


class RCG:
    name = "rcg"
    summary = "RCG: self-supervised representations, a representation diffusion model, UNet"

    def __init__(self, encoder: nn.Module | None = None) -> None:
        """`encoder`: a network of one's own (Python API) to use instead of training one or
        `rcg.encoder_from`; see `ExternalEncoder`. The same must be given to load the run."""
        self.external = encoder

    def _encoder(self, checkpoints: Path, device: torch.device) -> nn.Module:
        """The run's encoder network: its own copy, or the module given to this instance."""
        folder = checkpoints / PARTS_FOLDER
        if not (folder / EXTERNAL_NAME).is_file():
            if self.external is not None:
                raise UcgenError("this run has an encoder of its own: load it without one")
            return load_component(RepEncoder, RepEncoderConfig, folder / "encoder").to(device)
        shape = EncoderShape(**json.loads((folder / EXTERNAL_NAME).read_text()))
        if self.external is None:
            raise UcgenError(
                "this run's encoder was given through the Python API: load it with "
                "TrainedModel.load(path, method=RCG(encoder=net)), the same network"
            )
        net = ExternalEncoder(self.external.to(device), shape.channels, shape.resolution)
        if net.config != shape:
            raise UcgenError(f"the given encoder has shape {net.config}, the run's is {shape}")
        return net

    def semantic_stages(
        self, config: Config, data: ImageDataset, checkpoints: Path, device: torch.device
    ) -> Iterator[TrainingStage]:
        options: RCGConfig = config.method
        c, h, _ = data.shape
        if self.external is not None:
            net = ExternalEncoder(self.external.to(device), c, h)
            if dist.is_main():
                text = json.dumps(net.config.__dict__) + "\n"
                atomic_write_text(checkpoints / PARTS_FOLDER / EXTERNAL_NAME, text)
            dist.barrier()
        elif options.encoder_from is None:
            yield RepEncoderStage(options, c, h, device)
        if self.external is not None:
            encoder = self._encoder(checkpoints, device)
        else:
            encoder = install_encoder(options, checkpoints, device)
        if options.condition == "representation":
            yield RDMStage(options, encoder, device)

    def fit_parts(
        self, config: Config, data: ImageDataset, checkpoints: Path, device: torch.device
    ) -> Parts:
        options: RCGConfig = config.method
        if options.clusters > len(data):
            raise UcgenError(
                f"rcg.clusters: {options.clusters} clusters need as many training images, "
                f"got {len(data)}"
            )

        def fit() -> None:
            net = self._encoder(checkpoints, device)
            r = RCGEncoder(net, None, False).represent(data.tensors().to(device)).cpu()
            stats = {"train": r}
            if options.clusters:
                stats["centroids"] = kmeans(r, options.clusters, config.train.seed)
            save_weights(stats, checkpoints / PARTS_FOLDER / STATS_NAME)

        # Fitted once: a resumed UNet may already be trained on these codes.
        marker = checkpoints / PARTS_FOLDER / STATS_NAME
        return dist.fit_once(marker, fit, lambda: self.load_parts(config, checkpoints, device))

    def load_parts(self, config: Config, checkpoints: Path, device: torch.device) -> Parts:
        options: RCGConfig = config.method
        folder = checkpoints / PARTS_FOLDER
        net = self._encoder(checkpoints, device)
        stats = load_weights(folder / STATS_NAME)
        on_clusters = options.condition == "clusters"
        encoder = RCGEncoder(net, stats.get("centroids"), on_clusters)
        num_codes = 0 if encoder.centroids is None else len(encoder.centroids)
        if on_clusters:
            codes = encoder.condition(stats["train"]).code.numpy()  # type: ignore[union-attr]
            sampler = LabelFrequencySampler(codes, num_codes)
        else:
            rdm = None
            if options.sampler == "rdm":
                components = final_components(checkpoints, RDMStage.name)
                rdm = load_component(RDM, RDMConfig, components / "rdm").to(device).eval()
            sampler = RepresentationSampler(encoder, stats["train"], rdm, options.rdm_sample_steps)
        return Parts(
            encoder=encoder,
            sampler=sampler,
            condition=lambda images, labels: encoder.encode(images),
            coarse_dim=encoder.coarse_dim,
            fine_dim=0,
            num_codes=num_codes,
            image_shape=(net.config.channels, net.config.resolution, net.config.resolution),
            continuous=not on_clusters,
        )


def install_encoder(options: RCGConfig, checkpoints: Path, device: torch.device) -> RepEncoder:
    """Copy the encoder in use (this run's trained one, or `rcg.encoder_from`'s) into
    checkpoints/rcg-parts/encoder once, and load it from there (every rank)."""
    target = checkpoints / PARTS_FOLDER / "encoder"
    dist.barrier()
    if not (target / CONFIG_NAME).is_file():
        if options.encoder_from is None:
            source = final_components(checkpoints, RepEncoderStage.name) / "encoder"
        else:
            source = Path(options.encoder_from) / "checkpoints" / PARTS_FOLDER / "encoder"
            if not (source / CONFIG_NAME).is_file():
                raise CheckpointError(
                    f"rcg.encoder_from: {options.encoder_from} has no RCG encoder "
                    f"({source} is missing): name a run trained with --method rcg"
                )
        net = load_component(RepEncoder, RepEncoderConfig, source)
        if net.config.dim != options.rep_dim:
            raise CheckpointError(
                f"rcg.encoder_from: its encoder gives {net.config.dim}-dim representations, "
                f"rcg.rep_dim is {options.rep_dim}"
            )
        if dist.is_main():
            save_component(net, net.config, target)
        dist.barrier()
    return load_component(RepEncoder, RepEncoderConfig, target).to(device)


def kmeans(r: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """k-means centres (k, D) float32 of representations r (N, D)."""
    from sklearn.cluster import KMeans

    km = KMeans(k, n_init=KMEANS_RESTARTS, random_state=seed).fit(r.numpy().astype(np.float64))
    return torch.from_numpy(km.cluster_centers_).float()
