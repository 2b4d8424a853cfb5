"""Errors that stop a run (bad input has its own: ConfigError, EnvError, CheckpointError).

A run that stops on one of RUN_FAILURES saves what it learned first (a3c.run), and the command line
reports it as a failure (exit status 1), not as bad input (status 2).
"""

from a3c.config import ConfigError


class TrainingError(RuntimeError):
    """Training cannot go on: too many NaN/inf gradients."""


class WorkerFailureError(RuntimeError):
    """One worker kept failing past max_worker_restarts: training stops instead of looping."""


class EnvironmentFailure(RuntimeError):
    """An environment kept raising while it ran, past what a worker recovers from (a worker rebuilds an
    environment whose step raises and drops that episode): every step of a rollout raised, reset raised
    3 times in a row, or rendering an episode failed. The environment was built fine (an id, an
    env_config or a space that is wrong is an EnvError): the run stops as a failure, not as bad input."""


RUN_FAILURES = (WorkerFailureError, TrainingError, EnvironmentFailure)


class ClusterConnectionError(ConfigError):
    """ray_address names no Ray cluster this process can join: nobody answers there, or it refuses
    this process's token. Bad input (the CLI exits 2), found before any actor starts."""


class ExportError(ValueError):
    """A policy cannot be exported as asked: an unknown format, a module that cannot be traced, a graph
    that disagrees with the policy. Bad input (the CLI exits 2)."""
