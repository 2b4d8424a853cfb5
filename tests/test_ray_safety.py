"""The local Ray the agent starts itself: loopback only, token authentication on, no dashboard."""

import ipaddress
import os

import grpc
import psutil
import pytest
import ray

from a3c.execution import ray_private


def _ray_processes() -> list[psutil.Process]:
    """This test process (the driver's core worker listens too) and everything Ray spawned under it."""
    me = psutil.Process()
    return [me, *me.children(recursive=True)]


def _listening_sockets(process: psutil.Process) -> list[tuple[str, int]]:
    try:
        connections = process.net_connections(kind="inet")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []
    return [(c.laddr.ip, c.laddr.port) for c in connections if c.status == psutil.CONN_LISTEN]


def _is_loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


@ray.remote(num_cpus=0)
class Process:
    def pid(self) -> int:
        return os.getpid()


@pytest.fixture(scope="module")
def running_workers(ray_session):
    """A few worker processes alive, so that their servers are among the sockets checked.

    Actors, not tasks: Ray ends idle task workers beyond its soft limit about a second after their
    last task, so a task's process may be gone by the time the test looks.
    """
    actors = [Process.remote() for _ in range(4)]
    yield set(ray.get([actor.pid.remote() for actor in actors]))
    for actor in actors:
        ray.kill(actor)


def test_every_ray_server_listens_on_loopback_only(running_workers):
    processes = _ray_processes()
    names = {p.name() for p in processes}
    assert {"gcs_server", "raylet"} <= names, names
    assert running_workers <= {p.pid for p in processes}
    sockets = {(p.name(), *s) for p in processes for s in _listening_sockets(p)}
    assert len(sockets) >= 3, sockets  # GCS, raylet and at least one worker really listen
    exposed = sorted(s for s in sockets if not _is_loopback(s[1]))
    assert exposed == [], f"listening beyond loopback: {exposed}"


def test_the_node_address_is_loopback_and_joining_a_cluster_later_is_unaffected(ray_session):
    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    assert ray_private.multi_node_switch() is True  # the switch was flipped only while the node started
    assert "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER" not in os.environ


def test_the_gcs_refuses_calls_without_the_token(ray_session):
    gcs = ray.get_runtime_context().gcs_address
    for metadata in ([], [("authorization", "Bearer not-the-token")]):
        with pytest.raises(grpc.RpcError) as refused:
            ray_private.gcs_cluster_id(gcs, metadata, timeout_s=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # The same call with the cluster's token succeeds: the refusal above is the token check.
    token = ray_private.auth_token_metadata()
    assert token and ray_private.gcs_cluster_id(gcs, token, timeout_s=10)


def test_no_dashboard_is_served(ray_session):
    """Ray keeps a head process for internal modules; it must run without the web frontend."""
    heads = []
    for process in _ray_processes():
        try:
            command = process.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if any(part.endswith("dashboard/dashboard.py") for part in command):
            heads.append(command)
    assert all("--disable-frontend" in command for command in heads), heads
    ports = {port for p in _ray_processes() for _, port in _listening_sockets(p)}
    assert 8265 not in ports
