"""a3c: asynchronous advantage actor-critic on Ray, with the 2018 Ray tutorial's API."""

from a3c.agents.a3c import DEFAULT_CONFIG, A3CAgent
from a3c.config import ConfigError
from a3c.envs import EnvError
from a3c.models import SharedModel
from a3c.result import TrainResult

__all__ = ["DEFAULT_CONFIG", "A3CAgent", "ConfigError", "EnvError", "SharedModel", "TrainResult"]
__version__ = "0.1.0"
