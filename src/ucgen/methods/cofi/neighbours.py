"""Nearest neighbours of images in the training set, for the mutual-information term's pairs.

An image and its augmentation share everything an augmentation leaves alone; an image and
its nearest training images mostly share their kind as well (on Fashion-MNIST most of the
nearest in pixel space have the image's label), and they differ in what no augmentation
models: a sleeve's length, a collar, the drawing. Pairing an image with a neighbour asks the
codes to be constant along the data's own neighbourhoods (the pairing of SCAN, Van Gansbeke et
al. 2020, here on pixels instead of a pretrained network's features: none may be downloaded).

Distances are Euclidean in the leading principal components of the training pixels: they keep
the shape of the neighbourhoods and make the search of a batch one small matrix product.
The presets leave it off: it did no better than the plain pairs (bench/stage1_results.md).
"""

from __future__ import annotations

import torch


class PixelNeighbours:
    """The k nearest training images of any image, in the top `dims` principal components.

    images: the training set (N, C, H, W) in [-1, 1], kept by reference.
    """

    def __init__(self, images: torch.Tensor, k: int, dims: int = 50) -> None:
        if not 1 <= k < len(images):
            raise ValueError(f"need 1 <= k < {len(images)} (the training images), got k = {k}")
        self.images = images
        self.k = k
        flat = images.reshape(len(images), -1).float()
        self.mean = flat.mean(dim=0)
        dims = min(dims, *flat.shape)
        # A seeded randomised SVD: the same components for the same images on every run.
        state = torch.random.get_rng_state()
        torch.manual_seed(0)
        _, _, v = torch.pca_lowrank(flat, q=dims, center=True, niter=4)
        torch.random.set_rng_state(state)
        self.components = v  # (C*H*W, dims)
        self.points = (flat - self.mean) @ v  # (N, dims)
        self.sq_norms = self.points.pow(2).sum(dim=1)

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """(B, k) indices of the k nearest training images of each x (B, C, H, W), nearest
        first; an image of the training set itself (distance 0) is not its own neighbour."""
        with torch.autocast("cpu", enabled=False):  # bf16 would drown the distances
            q = (x.reshape(len(x), -1).float().cpu() - self.mean) @ self.components
            q_norms = q.pow(2).sum(dim=1, keepdim=True)
            dist = self.sq_norms[None] - 2 * q @ self.points.T + q_norms
        order = dist.topk(self.k + 1, dim=1, largest=False).indices
        own = dist.gather(1, order[:, :1]) <= 1e-3 * (1 + q_norms)
        return torch.where(own, order[:, 1:], order[:, :-1])

    def sample(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One of the k nearest training images of each x, drawn uniformly: (B, C, H, W)."""
        choice = torch.randint(0, self.k, (len(x), 1), generator=generator)
        index = self.nearest(x).gather(1, choice).squeeze(1)
        return self.images[index].to(x.device, x.dtype)
