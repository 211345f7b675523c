"""Errors a user can cause and fix: the CLI prints them as one clear line and exits non-zero."""


class UcgenError(Exception):
    """Base class of every error caused by user input (bad data, config, paths, checkpoints)."""


class DataError(UcgenError):
    """A data source is missing, unreadable, inconsistent or unknown."""


class ConfigError(UcgenError):
    """A configuration key is unknown or a value is out of range."""


class CheckpointError(UcgenError):
    """A checkpoint or run folder is missing, incomplete or does not match the model."""


class TrainingError(UcgenError):
    """Training cannot go on (divergence, collapse, unwritable run folder)."""
