"""Errors that stop training (bad input has its own: ConfigError, EnvError, CheckpointError)."""

from a3c.config import ConfigError


class TrainingError(RuntimeError):
    """Training cannot go on: too many NaN/inf gradients."""


class WorkerFailureError(RuntimeError):
    """One worker kept failing past max_worker_restarts: training stops instead of looping."""


class ClusterConnectionError(ConfigError):
    """ray_address names no Ray cluster this process can join: nobody answers there, or it refuses
    this process's token. Bad input (the CLI exits 2), found before any actor starts."""


class ExportError(ValueError):
    """A policy cannot be exported as asked: an unknown format, a module that cannot be traced, a graph
    that disagrees with the policy. Bad input (the CLI exits 2)."""
