"""The algorithms: each an Agent subclass that fills in one iteration of work."""

from a3c.agents.a2c import A2CAgent
from a3c.agents.a3c import A3CAgent
from a3c.agents.base import Agent
from a3c.agents.ppo import PPOAgent

AGENTS: dict[str, type[Agent]] = {"a3c": A3CAgent, "ppo": PPOAgent, "a2c": A2CAgent}
"""The agent classes by the names the command line, `a3c.compare` and `a3c.tune.trainable` take."""

__all__ = ["AGENTS", "A2CAgent", "A3CAgent", "Agent", "PPOAgent"]
