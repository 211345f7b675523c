"""The reference network: a small CNN classifier trained with labels, used only to evaluate.

Its penultimate activations are the feature space of the generation metrics (FD, KID,
precision/recall) and its predictions judge control (does code c produce class y?). One
network per labeled data set and resolution, trained once, deterministically on CPU for a
given seed and thread count, and cached as `config.json` + `model.safetensors` under
`$UCGEN_CACHE/reference/` (default `~/.cache/ucgen`). The test accuracy is recorded in the
config so every report can state how much the judge itself can be trusted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ucgen.data import ImageDataset, to_model_range
from ucgen.errors import CheckpointError, DataError
from ucgen.io.checkpoint import CONFIG_NAME, WEIGHTS_NAME, load_component, save_component

# Bump when ReferenceNet's layers change: old cache entries then stop matching.
ARCH_VERSION = 1
AUTO_EPOCHS, AUTO_MIN_STEPS = 4, 300


@dataclass(frozen=True)
class ReferenceConfig:
    """How to train a reference network. The defaults reach the accuracy targets in
    docs/evaluation.md (Fashion-MNIST 0.9177 >= 0.91 in about 3 minutes of a quiet 2-core CPU,
    digits 0.9944 >= 0.95); tests use width=4 and a few epochs."""

    width: int = 16  # channels of the first conv block; blocks have width, 2*width, 4*width
    feature_dim: int = 128  # size of the penultimate layer: the metrics' feature space
    # None: 4 epochs, more on small data sets so that training takes at least 300 steps
    # (digits: 28 epochs of 11 steps). An integer: exactly that many epochs.
    epochs: int | None = None
    batch_size: int = 128
    lr: float = 3e-3  # peak of the one-cycle schedule (Adam)
    seed: int = 0

    def check(self) -> None:
        for key in ("width", "feature_dim", "epochs", "batch_size"):
            if (getattr(self, key) or 1) < 1:
                raise DataError(f"reference.{key} must be >= 1, got {getattr(self, key)}")
        if not 0 < self.lr < 1:
            raise DataError(f"reference.lr must be in (0, 1), got {self.lr}")


@dataclass
class ReferenceSpec:
    """Everything `config.json` of a cached reference network holds: the layer sizes that
    rebuild it, and what it was trained on and how well it does (read by reports)."""

    in_channels: int
    resolution: int
    num_classes: int
    width: int
    feature_dim: int
    arch_version: int = ARCH_VERSION
    dataset: str = ""
    train_fingerprint: str = ""
    test_fingerprint: str = ""
    class_names: tuple[str, ...] = ()
    test_accuracy: float = float("nan")
    epochs: int = 0
    train_seconds: float = 0.0


class ReferenceNet(nn.Module):
    """Three conv blocks (conv3x3-BN-ReLU; max-pool after the first two), a 4x4 average pool,
    then `feature_dim` penultimate units and the class logits. Any resolution >= 4 and any
    channel count. Input (B, C, H, W) in [-1, 1]."""

    def __init__(self, spec: ReferenceSpec) -> None:
        super().__init__()
        self.spec = spec
        w = spec.width
        chans = [spec.in_channels, w, 2 * w, 4 * w]
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=False),
                nn.BatchNorm2d(chans[i + 1]),
                nn.ReLU(inplace=True),
            )
            for i in range(3)
        )
        self.fc = nn.Linear(4 * 4 * 4 * w, spec.feature_dim)
        self.head = nn.Linear(spec.feature_dim, spec.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [-1, 1] -> (B, feature_dim) penultimate activations (>= 0)."""
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < 2:
                x = F.max_pool2d(x, 2, ceil_mode=True)
        x = F.adaptive_avg_pool2d(x, 4).flatten(1)
        return F.relu(self.fc(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [-1, 1] -> (B, num_classes) logits."""
        return self.head(self.features(x))


class Reference:
    """A trained reference network with numpy in/out: what metrics and reports use.

    images everywhere are uint8 (N, H, W, C), the `ImageDataset` layout.
    """

    def __init__(self, net: ReferenceNet, spec: ReferenceSpec, path: Path | None = None) -> None:
        self.net = net.eval()
        self.spec = spec
        self.path = path

    @property
    def name(self) -> str:
        return (
            f"reference-cnn-v{self.spec.arch_version} ({self.spec.dataset}, "
            f"{self.spec.resolution}px, {self.spec.feature_dim}-d)"
        )

    @property
    def accuracy(self) -> float:
        """Test-split accuracy measured right after training."""
        return self.spec.test_accuracy

    @property
    def dim(self) -> int:
        return self.spec.feature_dim

    def features(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """uint8 (N, H, W, C) -> float64 (N, feature_dim) penultimate features."""
        return self._run(images, batch_size, self.net.features).astype(np.float64)

    def logits(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """uint8 (N, H, W, C) -> float32 (N, num_classes)."""
        return self._run(images, batch_size, self.net)

    def predict(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """uint8 (N, H, W, C) -> int64 (N,) predicted class ids."""
        return self.logits(images, batch_size).argmax(1).astype(np.int64)

    def _run(self, images: np.ndarray, batch_size: int, fn) -> np.ndarray:
        self._check(images)
        out = []
        with torch.inference_mode():
            for i in range(0, len(images), batch_size):
                x = to_model_range(images[i : i + batch_size])
                out.append(fn(x.contiguous(memory_format=torch.channels_last)).float().numpy())
        return np.concatenate(out)

    def _check(self, images: np.ndarray) -> None:
        s = self.spec
        if images.dtype != np.uint8 or images.ndim != 4:
            raise DataError(
                f"reference network needs uint8 (N, H, W, C) images, got "
                f"{images.dtype} {images.shape}"
            )
        if images.shape[1:] != (s.resolution, s.resolution, s.in_channels):
            raise DataError(
                f"reference network for {s.dataset} takes {s.resolution}x{s.resolution}x"
                f"{s.in_channels} images, got {images.shape[1]}x{images.shape[2]}x"
                f"{images.shape[3]}"
            )


def cache_dir() -> Path:
    """`$UCGEN_CACHE`, else `~/.cache/ucgen`."""
    return Path(os.environ.get("UCGEN_CACHE") or Path.home() / ".cache" / "ucgen")


def cache_key(train: ImageDataset, test: ImageDataset, config: ReferenceConfig) -> str:
    """Folder name of a reference network: data set, both splits' content, resolution,
    architecture version and training settings, so nothing stale is ever reused."""
    settings = json.dumps(dataclasses.asdict(config), sort_keys=True)
    digest = hashlib.sha256(
        f"{train.fingerprint}|{test.fingerprint}|{train.resolution}|{ARCH_VERSION}|{settings}".encode()
    ).hexdigest()[:16]
    return f"{train.name}-{train.resolution}px-v{ARCH_VERSION}-{digest}"


def get_reference(
    train: ImageDataset,
    test: ImageDataset,
    config: ReferenceConfig | None = None,
    root: Path | None = None,
    verbose: bool = False,
) -> Reference:
    """The reference network for this labeled data set: loaded from the cache, or trained on
    `train` (labels used here, and only for evaluation), scored on `test`, and cached.

    root: cache folder (default `cache_dir()`); the network lives in root/reference/KEY/.
    """
    config = config or ReferenceConfig()
    config.check()
    for ds in (train, test):
        if ds.labels is None:
            raise DataError(
                f"{ds.name}: a reference network needs labels; this data set has "
                "none, so only label-free metrics can be computed"
            )
    if train.shape != test.shape:
        raise DataError(
            f"{train.name}: train images are {train.shape} but test images are {test.shape}"
        )
    folder = (root or cache_dir()) / "reference" / cache_key(train, test, config)
    if (folder / CONFIG_NAME).is_file() and (folder / WEIGHTS_NAME).is_file():
        net = load_component(ReferenceNet, ReferenceSpec, folder)
        if net.spec.train_fingerprint != train.fingerprint:
            raise CheckpointError(f"{folder}: cached reference network was trained on other data")
        return Reference(net, net.spec, folder)
    net, spec = train_reference(train, test, config, verbose=verbose)
    save_component(net, spec, folder)
    return Reference(net, spec, folder)


def train_reference(
    train: ImageDataset, test: ImageDataset, config: ReferenceConfig, verbose: bool = False
) -> tuple[ReferenceNet, ReferenceSpec]:
    """Train a ReferenceNet: Adam with a one-cycle learning rate, no augmentation, fixed
    seed (same weights on the same CPU and thread count). Returns the net and its spec with
    the test accuracy filled in."""
    start = time.perf_counter()
    num_classes = max(
        train.num_classes or 0, int(train.labels.max()) + 1, int(test.labels.max()) + 1
    )
    spec = ReferenceSpec(
        in_channels=train.channels,
        resolution=train.resolution,
        num_classes=num_classes,
        width=config.width,
        feature_dim=config.feature_dim,
        dataset=train.name,
        train_fingerprint=train.fingerprint,
        test_fingerprint=test.fingerprint,
        class_names=tuple(train.class_names or ()),
    )
    torch.manual_seed(config.seed)
    net = ReferenceNet(spec).to(memory_format=torch.channels_last)
    x_all = to_model_range(train.images)
    y_all = torch.from_numpy(train.labels)
    n = len(x_all)
    steps_per_epoch = max(1, n // config.batch_size)  # drop the last partial batch (BatchNorm)
    epochs = config.epochs or max(AUTO_EPOCHS, -(-AUTO_MIN_STEPS // steps_per_epoch))
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=config.lr, total_steps=epochs * steps_per_epoch
    )
    gen = torch.Generator().manual_seed(config.seed)
    net.train()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for step in range(steps_per_epoch):
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            x = x_all[idx].contiguous(memory_format=torch.channels_last)  # NHWC: faster convs
            loss = F.cross_entropy(net(x), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        if verbose:
            print(
                f"reference {train.name}: epoch {epoch + 1}/{epochs} "
                f"loss {total / steps_per_epoch:.4f}",
                flush=True,
            )
    net.eval()
    spec.epochs = epochs
    spec.train_seconds = round(time.perf_counter() - start, 1)
    pred = Reference(net, spec).predict(test.images)
    spec.test_accuracy = float((pred == test.labels).mean())
    if verbose:
        print(
            f"reference {train.name}: test accuracy {spec.test_accuracy:.4f} "
            f"({spec.train_seconds} s)",
            flush=True,
        )
    return net, spec
