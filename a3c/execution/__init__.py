"""Scheduling: the pool protocol, run in process (LocalPool) or on Ray actors (RayPool)."""

from a3c.execution.pool import LocalPool, WorkerPool

__all__ = ["LocalPool", "WorkerPool"]
