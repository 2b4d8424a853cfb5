"""Scheduling: the pool protocol, run in process (LocalPool) or on Ray actors (RayPool)."""

from a3c.execution.pool import LocalPool, WorkerPool

# Set to 1 to see everything Ray prints for the agent's own local Ray (`a3c ... --debug` sets it).
RAY_VERBOSE_ENV_VAR = "A3C_RAY_VERBOSE"

__all__ = ["RAY_VERBOSE_ENV_VAR", "LocalPool", "WorkerPool"]
