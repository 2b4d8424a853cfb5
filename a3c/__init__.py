"""a3c: asynchronous advantage actor-critic on Ray, with the 2018 Ray tutorial's API.

Names are imported lazily (PEP 562) so that worker processes, which import `a3c.worker`, never pay
for torch: only the driver builds the torch model.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

# Ray passes objects up to this size inside the task call instead of through its shared-memory
# store. A3C ships one weight vector and one gradient (~270 KB for [256, 256]) per update; inline,
# that roughly doubled the updates per second on 2 cores (`python -m benchmarks speed --sections
# throughput`). Set here, at import, so that it also applies when the user calls ray.init()
# themselves after importing a3c, as the tutorial does; an explicit setting in the environment wins.
_USER_SET_INLINE_SIZE = "RAY_max_direct_call_object_size" in os.environ
os.environ.setdefault("RAY_max_direct_call_object_size", str(4 * 1024 * 1024))
# A Ray started before this import did not see the setting (RayPool warns about it).
RAY_STARTED_WITHOUT_INLINE_SIZE = (
    not _USER_SET_INLINE_SIZE and "ray" in sys.modules and bool(getattr(sys.modules["ray"], "is_initialized", bool)())
)

__version__ = "0.1.0"

_EXPORTS = {
    "A3CAgent": "a3c.agents.a3c",
    "A2CAgent": "a3c.agents.a2c",
    "PPOAgent": "a3c.agents.ppo",
    "Run": "a3c.run",
    "compare": "a3c.comparison",
    "DEFAULT_CONFIG": "a3c.agents.a3c",
    "ConfigError": "a3c.config",
    "EnvError": "a3c.envs",
    "EnvironmentFailure": "a3c.errors",
    "SharedModel": "a3c.models",
    "TrainResult": "a3c.result",
    "register_model": "a3c.custom_models",
    "SavedPolicy": "a3c.evaluation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'a3c' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
