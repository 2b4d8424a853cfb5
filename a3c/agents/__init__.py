"""The algorithms: each an Agent subclass that fills in one iteration of work."""

from a3c.agents.a3c import A3CAgent
from a3c.agents.base import Agent

__all__ = ["A3CAgent", "Agent"]
