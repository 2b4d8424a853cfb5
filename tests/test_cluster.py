"""A multi-node Ray cluster on loopback (ray.cluster_utils.Cluster): placement, lost nodes, joining.

Every node gets node_ip_address 127.0.0.1 and token authentication is set here, explicitly, so no
test inherits it from another. The module runs its own Ray: the session's local Ray (conftest's
`ray_session`) is shut down first and started again afterwards, so later tests still find it.
"""

import os
import secrets
import subprocess
import sys
import time

import pytest
import ray
from ray.cluster_utils import Cluster

from a3c import A3CAgent
from a3c.execution.ray_pool import least_loaded_node
from a3c.execution.ray_private import reload_auth_settings
from a3c.execution.ray_runtime import ensure_ray

AUTH_VARS = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
# Ray's node health check, tightened so a SIGKILLed node is declared dead in seconds (defaults: every
# 3 s, 10 s timeout, 5 misses), loose enough that a busy 2-core machine does not miss 5 checks in a row.
HEALTH_CHECK = {"health_check_period_ms": 1000, "health_check_timeout_ms": 2000, "health_check_failure_threshold": 5}
LOSS_DEADLINE_S = 180.0  # generous bound on noticing a lost node's workers and replacing them


@pytest.fixture(scope="module")
def cluster():
    """A head and two worker nodes, 1 CPU each, all on 127.0.0.1, with a fresh token."""
    restart_local_ray = ray.is_initialized()
    ray.shutdown()
    saved = {name: os.environ.get(name) for name in AUTH_VARS}
    os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(16)
    reload_auth_settings()
    loopback = Cluster(
        initialize_head=True,
        head_node_args={
            "node_ip_address": "127.0.0.1",
            "num_cpus": 1,
            "include_dashboard": False,
            "_system_config": HEALTH_CHECK,
        },
    )
    try:
        for _ in range(2):
            loopback.add_node(node_ip_address="127.0.0.1", num_cpus=1)
        loopback.wait_for_nodes()
        yield loopback
    finally:
        ray.shutdown()
        loopback.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reload_auth_settings()
        if restart_local_ray:
            ensure_ray(None)


def test_spread_deals_workers_to_nodes_in_proportion_to_their_cpus_avoiding_where_one_just_died():
    cpus = {"a": 1.0, "b": 1.0, "c": 2.0}
    placed: list = []
    for _ in range(8):
        placed.append(least_loaded_node(cpus, placed))
    assert placed[:3] == ["c", "a", "b"]  # c first: one worker there is half a worker per CPU
    assert {node: placed.count(node) for node in cpus} == {"a": 2, "b": 2, "c": 4}
    assert least_loaded_node(cpus, ["a", "b", "c"], avoid="c") == "a"
    assert least_loaded_node({"a": 1.0}, ["a"], avoid="a") == "a"  # the only node: it, not nowhere
    assert least_loaded_node({}, []) is None


def _alive_nodes() -> set[str]:
    return {node["NodeID"] for node in ray.nodes() if node["Alive"]}


def _config(cluster: Cluster, **overrides) -> dict:
    return {"ray_address": cluster.address, "seed": 0, "num_envs_per_worker": 1, **overrides}


def test_the_driver_joins_by_loopback_address_and_workers_run_on_every_node(cluster):
    agent = A3CAgent(_config(cluster, num_workers=6, grads_per_step=10, model={"fcnet_hiddens": [16]}), "CartPole-v0")
    assert ray.get_runtime_context().gcs_address == cluster.address  # not rewritten to another address
    result = agent.train()
    per_node = result.info["workers_per_node"]
    agent.stop()
    assert set(per_node) == _alive_nodes() and len(per_node) == 3, per_node
    assert sorted(per_node.values()) == [2, 2, 2], per_node  # 1 CPU each: dealt evenly


def test_pack_puts_the_workers_on_the_drivers_node(cluster):
    config = _config(cluster, num_workers=3, placement_strategy="PACK", model={"fcnet_hiddens": [16]})
    with A3CAgent(config, "CartPole-v0") as agent:
        assert agent.pool.workers_per_node() == {ray.get_runtime_context().get_node_id(): 3}


def _train_until_replaced(agent: A3CAgent, lost_node: str, restarts_before: int, lost: int):
    """Train until the pool has replaced the workers of `lost_node`; return the last result."""
    deadline = time.monotonic() + LOSS_DEADLINE_S
    while time.monotonic() < deadline:
        result = agent.train()
        if result.info["num_worker_restarts"] - restarts_before >= lost:
            return result
    pytest.fail(f"the {lost} workers of node {lost_node} were not replaced within {LOSS_DEADLINE_S} s")


def test_nodes_lost_during_training_take_their_workers_which_are_replaced_and_cartpole_still_learns(cluster):
    """One worker node stopped gracefully, then the other SIGKILLed, while tasks are in flight there."""
    num_workers = 6
    agent = A3CAgent(_config(cluster, num_workers=num_workers, grads_per_step=50), "CartPole-v0")
    result = agent.train()
    for graceful in (True, False):
        node = next(iter(cluster.worker_nodes))
        per_node = result.info["workers_per_node"]
        lost = per_node.get(node.node_id, 0)
        assert lost >= 1, per_node  # spread: this node runs workers, and A3C keeps a task in flight on each
        restarts_before = result.info["num_worker_restarts"]
        cluster.remove_node(node, allow_graceful=graceful)  # graceful: SIGTERM; else SIGKILL to every process
        result = _train_until_replaced(agent, node.node_id, restarts_before, lost)
        per_node = result.info["workers_per_node"]
        assert node.node_id not in per_node and set(per_node) <= _alive_nodes(), per_node
        assert sum(per_node.values()) == num_workers, per_node
        # Lost tasks are not counted: the steps are exactly those of the 50 gradients applied (16 each).
        assert result.info["learner"]["num_grads_applied"] == 50 and result.timesteps_this_iter == 50 * 16
    assert set(result.info["workers_per_node"]) == {cluster.head_node.node_id}
    for _ in range(40):
        result = agent.train()
        if result.episode_reward_mean >= 100:
            break
    agent.stop()
    assert result.episode_reward_mean >= 100, (result.episode_reward_mean, result.timesteps_total)


def _cli_train(address: str, cwd, **env: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "a3c.cli", "train", "CartPole-v0", "--address", address, "--iterations", "1"]
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_an_address_that_is_not_host_port_is_a_config_error_naming_the_key():
    from a3c.config import ConfigError
    from a3c.execution.ray_runtime import check_ray_address

    with pytest.raises(ConfigError, match=r"ray_address must be 'auto' or host:port .* got 'head-node'"):
        check_ray_address("head-node")
    assert check_ray_address("local") is None


def test_an_address_nobody_answers_at_is_one_line_and_exit_2(tmp_path):
    started = time.monotonic()
    unreachable = _cli_train("127.0.0.1:1", tmp_path)
    assert time.monotonic() - started < 30
    assert unreachable.returncode == 2, unreachable.stderr
    assert unreachable.stderr.strip().splitlines() == [
        "error: no Ray cluster answers at 127.0.0.1:1 (ray_address / --address): connection refused; start one "
        "with `ray start --head` and check that this machine can reach its GCS port"
    ]
    assert list(tmp_path.iterdir()) == []  # no run directory was made


def test_a_cluster_refusing_the_token_is_one_line_and_exit_2(cluster, tmp_path):
    started = time.monotonic()
    refused = _cli_train(cluster.address, tmp_path, RAY_AUTH_TOKEN=secrets.token_hex(16))
    assert time.monotonic() - started < 30
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert "refused this process's token" in lines[-1] and "RAY_AUTH_TOKEN" in lines[-1], refused.stderr
    assert "Traceback" not in refused.stderr
    nobody = _cli_train(cluster.address, tmp_path, RAY_AUTH_MODE="disabled")
    assert nobody.returncode == 2 and "requires a token and this process has none" in nobody.stderr, nobody.stderr


def test_the_example_cluster_config_is_valid_for_rays_cluster_launcher():
    import json
    from pathlib import Path

    import jsonschema
    import yaml

    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    config = yaml.safe_load((Path(__file__).parents[1] / "examples" / "cluster" / "onprem.yaml").read_text())
    jsonschema.validate(config, schema)
    assert all(
        "RAY_AUTH_MODE=token ray start" in command[-1]
        for command in (config["head_start_ray_commands"], config["worker_start_ray_commands"])
    )
