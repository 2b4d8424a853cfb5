"""One small real Ray cluster for the whole test session, started only if a test asks for it."""

import logging
import sys
from pathlib import Path

import pytest

# examples/custom_env.py (a Dict-observation env) is used by the tests as users use it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))


@pytest.fixture(scope="session")
def ray_session():
    import ray

    from a3c.execution.ray_runtime import ensure_ray

    ensure_ray(None)
    yield ray
    ray.shutdown()


@pytest.fixture(autouse=True)
def quiet_agent_logs():
    logging.getLogger("a3c").setLevel(logging.WARNING)
    yield
