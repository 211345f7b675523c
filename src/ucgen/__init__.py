"""ucgen: controllable image generation learned from unlabeled images."""

__version__ = "0.1.0"
