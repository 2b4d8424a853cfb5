"""Errors that stop training (bad input has its own: ConfigError, EnvError, CheckpointError)."""


class TrainingError(RuntimeError):
    """Training cannot go on: too many NaN/inf gradients."""


class WorkerFailureError(RuntimeError):
    """One worker kept failing past max_worker_restarts: training stops instead of looping."""
