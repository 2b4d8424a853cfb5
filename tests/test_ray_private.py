"""Each private Ray API a3c relies on (a3c.execution.ray_private), checked against the installed Ray.

A Ray upgrade that moves or changes one of them fails here, naming it, even where a3c degrades
gracefully at run time (prints the raylet's notices, skips the quick probe of 'auto'). Each test
imports the exact symbol, checks what we rely on, and runs our wrapper against the session's Ray.
"""

import inspect
import os
import uuid
from pathlib import Path

import grpc
import pytest
import ray

from a3c.execution import ray_private, ray_runtime


def test_the_session_name_and_logs_dir_come_from_the_connected_node(ray_session):
    from ray._private import worker

    assert worker.global_worker.node is not None
    name = ray_private.session_name()
    assert name is not None and name.startswith("session_"), name
    logs = Path(ray_private.session_logs_dir())
    assert logs.parent.name == name and (logs / "raylet.out").is_file(), logs


def test_the_driver_prints_the_raylets_messages_through_the_function_we_wrap(ray_session, capsys):
    from ray._private import worker

    ray_print = inspect.unwrap(worker.print_to_stdstream)  # Ray's own, under our filter
    assert list(inspect.signature(ray_print).parameters) == ["data", "ignore_prefix"]
    listener = inspect.getsource(worker.listen_error_messages)
    assert "print_to_stdstream(" in listener and '"pid": "raylet"' in listener and '"lines": [' in listener
    # ensure_ray's quiet start installed our filter (a graceful fallback there would leave Ray's own).
    assert getattr(worker.print_to_stdstream, "filters_raylet_messages", False)
    kept = f"(raylet) something else happened {uuid.uuid4().hex}"
    hidden = f"WARNING: 24 PYTHON {ray_runtime.HIDDEN_RAYLET_MESSAGES[0]} {uuid.uuid4().hex}"
    worker.print_to_stdstream({"lines": [hidden, kept], "pid": "raylet", "is_err": False}, ignore_prefix=False)
    printed = capsys.readouterr().out
    assert kept in printed and hidden not in printed, printed


def test_ray_resolves_auto_from_ray_address(ray_session, monkeypatch):
    from ray._private.services import get_ray_address_from_environment

    assert list(inspect.signature(get_ray_address_from_environment).parameters) == ["addr", "temp_dir"]
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    assert ray_private.ray_address_from_environment("auto") == "127.0.0.1:1"
    # Through the runtime, whose fallback (None: ray.init resolves it) would hide a moved function.
    assert ray_runtime._cluster_host_port("auto") == ("127.0.0.1", 1)


def test_the_token_ray_init_presents_is_read_and_reloaded_from_the_environment(ray_session, monkeypatch):
    from ray._raylet import AuthenticationTokenLoader, Config

    assert callable(Config.initialize) and callable(AuthenticationTokenLoader.instance().reset_cache)
    token = ray_private.auth_token_metadata()
    assert [key for key, _ in token] == ["authorization"] and token[0][1].startswith("Bearer "), token
    other = uuid.uuid4().hex
    monkeypatch.setenv("RAY_AUTH_TOKEN", other)
    try:
        ray_private.reload_auth_settings()
        assert ray_private.auth_token_metadata() == [("authorization", f"Bearer {other}")]
    finally:
        monkeypatch.undo()
        ray_private.reload_auth_settings()
    assert ray_private.auth_token_metadata() == token


def test_the_gcs_answers_the_cluster_id_call_with_the_token(ray_session):
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    with grpc.insecure_channel("127.0.0.1:1") as channel:  # no call is made: the stub's method must exist
        assert hasattr(gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel), "GetClusterId")
    assert "cluster_id" in gcs_service_pb2.GetClusterIdReply.DESCRIPTOR.fields_by_name
    gcs = ray.get_runtime_context().gcs_address
    cluster_id = ray_private.gcs_cluster_id(gcs, ray_private.auth_token_metadata(), timeout_s=10)
    assert isinstance(cluster_id, bytes) and cluster_id


def test_the_multi_node_switch_picks_the_node_address_and_is_off_only_inside_the_context(ray_session):
    from ray._private import ray_constants, services

    assert ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR == ray_private.LOCAL_ONLY_ENV_VAR
    choose_address = inspect.getsource(services.get_node_ip_address)
    assert "ray_constants.ENABLE_RAY_CLUSTER" in choose_address and "get_localhost_ip()" in choose_address
    assert services.get_localhost_ip() == "127.0.0.1"
    assert ray_private.multi_node_switch() is True
    with ray_private.loopback_node_address():
        assert ray_private.multi_node_switch() is False and os.environ[ray_private.LOCAL_ONLY_ENV_VAR] == "0"
    assert ray_private.multi_node_switch() is True and ray_private.LOCAL_ONLY_ENV_VAR not in os.environ


def test_soft_node_affinity_spills_over_when_the_node_is_unavailable():
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    assert "_spill_on_unavailable" in inspect.signature(NodeAffinitySchedulingStrategy).parameters
    strategy = ray_private.soft_node_affinity("ab" * 28)
    assert (strategy.node_id, strategy.soft, strategy._spill_on_unavailable) == ("ab" * 28, True, True)


def test_ray_still_reads_the_inline_object_size_that_a3c_sets_at_import():
    """a3c/__init__.py sets RAY_max_direct_call_object_size; Ray reads RAY_<name> for each entry of its
    compiled system config, so the entry's name must still be in Ray's core library."""
    from ray import _raylet

    assert os.environ["RAY_max_direct_call_object_size"] == str(4 * 1024 * 1024)
    with open(_raylet.__file__, "rb") as library:
        assert b"max_direct_call_object_size" in library.read()


WRAPPERS = [f for f in vars(ray_private).values() if inspect.isfunction(f) and f.__module__ == ray_private.__name__]


@pytest.mark.parametrize("function", WRAPPERS, ids=lambda function: function.__name__)
def test_every_wrapper_names_the_ray_version_it_was_checked_against(function):
    assert f"Ray {ray_private.CHECKED_RAY_VERSION}" in (function.__doc__ or "")


def test_a_moved_private_api_degrades_at_run_time_and_only_the_checks_above_fail(monkeypatch):
    """Users keep a working a3c after a Ray upgrade: 'auto' is left to ray.init, the raylet's notices print."""

    def moved(*args, **kwargs):
        raise ImportError("cannot import name 'get_ray_address_from_environment' from 'ray._private.services'")

    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    monkeypatch.setattr(ray_private, "ray_address_from_environment", moved)
    assert ray_runtime._cluster_host_port("auto") is None
    monkeypatch.setattr(ray_private, "filter_raylet_messages", moved)
    ray_runtime._hide_raylet_notices()
