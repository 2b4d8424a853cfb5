"""Starting or joining Ray, and probing the cluster: kept apart from the worker pool (ray_pool), so
what a user sees of Ray (a quiet loopback-only local Ray, one-line connection errors) is decided here.
Ray's private APIs are used through a3c.execution.ray_private only."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from contextlib import nullcontext
from typing import Any

import ray

from a3c.errors import ClusterConnectionError
from a3c.execution import RAY_VERBOSE_ENV_VAR, ray_private

logger = logging.getLogger("a3c")

# How long joining a cluster may wait for its GCS to answer (TCP connect, then one authenticated call).
CONNECT_CHECK_TIMEOUT_S = 5.0

# What the raylet reports to the driver that the quiet local Ray leaves out: the notice that workers
# outnumber the cores 4 to 1, which is this design (16 workers on 2 cores: "(raylet) WARNING: 24
# PYTHON worker processes have been started ..."), and a worker's death, which RayPool reports itself
# with the worker and its environment named.
HIDDEN_RAYLET_MESSAGES = (
    "worker processes have been started on node",
    "A worker died or was killed while executing a task",
)

_quiet_session: str | None = None  # the session of the quiet local Ray this process started


def ray_verbose() -> bool:
    """True when the user asked to see Ray's own output for the agent's local Ray."""
    return os.environ.get(RAY_VERBOSE_ENV_VAR, "").strip().lower() not in ("", "0", "false", "no")


def ensure_ray(address: str | None = None) -> bool:
    """Start (or join) Ray unless the user already did; return True when we started it.

    `address` None (or "local") starts a private local Ray for this process, unless RAY_ADDRESS
    names a cluster: it runs no dashboard, keeps Ray's token authentication (on by default for
    local clusters since 2.59) and listens on loopback only. It is quiet: Ray's informational
    output is not shown (workers' stdout/stderr; Ray's warnings, such as its advice to turn token
    authentication off; the raylet's worker-count notices); Ray's errors are, and RayPool reports
    every worker or environment failure itself. A3C_RAY_VERBOSE=1 shows it all.
    Any other address joins that cluster with Ray's usual output.
    """
    global _quiet_session
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    if address in (None, "local") and not os.environ.get("RAY_ADDRESS"):
        kwargs: dict[str, Any] = {"include_dashboard": False}
        quiet = not ray_verbose()
        if quiet:
            kwargs.update(log_to_driver=False, logging_level=logging.ERROR)
            _hide_raylet_notices()
        with ray_private.loopback_node_address():
            ray.init(address="local", **kwargs)
        if quiet:
            _quiet_session = ray_private.session_name()
    else:
        _join_cluster(address, {"include_dashboard": False, "log_to_driver": True, "logging_level": logging.WARNING})
    return True


def _hide_raylet_notices() -> None:
    try:
        ray_private.filter_raylet_messages(_without_hidden_notices)
    except (ImportError, AttributeError) as error:  # Ray moved it (tests/test_ray_private.py fails): print all
        logger.debug("cannot leave the raylet's notices out of Ray's output (%r)", error)


def _without_hidden_notices(lines: list[str]) -> list[str]:
    """The raylet's lines minus HIDDEN_RAYLET_MESSAGES, for our quiet local Ray only: every other raylet
    message (out of memory, for one) still prints, and a cluster joined later prints them all."""
    if _quiet_session is None or ray_private.session_name() != _quiet_session:
        return lines
    return [line for line in lines if not any(message in line for message in HIDDEN_RAYLET_MESSAGES)]


def _join_cluster(address: str | None, init_kwargs: dict[str, Any]) -> None:
    """ray.init(address) that fails in seconds, in one line, when nobody answers or the token is refused.

    Left alone, Ray retries an unreachable GCS for minutes, and rewrites a loopback address to this
    machine's other address (so a cluster bound to 127.0.0.1 is never reached). A loopback address
    is joined with the single-node switch on (as a local Ray is started), which keeps it loopback.
    """
    target = check_ray_address(address)
    loopback = target is not None and _is_loopback_host(target[0])
    try:
        with ray_private.loopback_node_address() if loopback else nullcontext():
            ray.init(address=address, **init_kwargs)
    except ConnectionError as error:
        raise ClusterConnectionError(
            f"cannot join the Ray cluster at {address or os.environ.get('RAY_ADDRESS')} (ray_address / --address): "
            f"{error}"
        ) from None


def check_ray_address(address: str | None) -> tuple[str, int] | None:
    """Raise ClusterConnectionError unless the cluster `address` points at answers and accepts our token.

    Returns the (host, port) checked, or None when there is nothing to check (a local Ray).
    """
    target = _cluster_host_port(address)
    if target is not None:
        check_cluster_reachable(*target, client_protocol=str(address or "").startswith("ray://"))
    return target


def _cluster_host_port(address: str | None) -> tuple[str, int] | None:
    """(host, port) that `address` (or RAY_ADDRESS, or 'auto': the newest local cluster) points at."""
    if address is None:
        address = os.environ.get("RAY_ADDRESS")
    if address == "auto":
        try:
            address = ray_private.ray_address_from_environment("auto")
        except (ImportError, AttributeError, TypeError) as error:  # Ray moved it (tests/test_ray_private.py fails)
            logger.debug("cannot resolve ray_address 'auto' before ray.init (%r); ray.init will", error)
            return None
        except Exception:  # noqa: BLE001 - no cluster found: let ray.init resolve it and report
            return None
    if not address or address == "local":
        return None
    address = address.removeprefix("ray://")
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ClusterConnectionError(f"ray_address must be 'auto' or host:port (e.g. 10.0.0.5:6379), got {address!r}")
    return host.strip("[]"), int(port)


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_cluster_reachable(host: str, port: int, client_protocol: bool = False) -> None:
    """Raise ClusterConnectionError unless a Ray GCS at host:port answers and accepts this process's token.

    Two quick probes, each bounded by CONNECT_CHECK_TIMEOUT_S: a TCP connection, then one call to
    the GCS with the token ray.init would present (RAY_AUTH_MODE=token with RAY_AUTH_TOKEN,
    RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token). Ray Client (ray://) and TLS clusters get the TCP probe only.
    """
    where = f"{host}:{port}"
    try:
        socket.create_connection((host, port), timeout=CONNECT_CHECK_TIMEOUT_S).close()
    except OSError as error:
        reason = "timed out" if isinstance(error, TimeoutError) else (error.strerror or str(error)).lower()
        raise ClusterConnectionError(
            f"no Ray cluster answers at {where} (ray_address / --address): {reason}; start one with "
            "`ray start --head` and check that this machine can reach its GCS port"
        ) from None
    if client_protocol or os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        return
    import grpc

    token = ray_private.auth_token_metadata()
    try:
        ray_private.gcs_cluster_id(where, token, CONNECT_CHECK_TIMEOUT_S)
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.UNAUTHENTICATED:
            presented = "refused this process's token" if token else "requires a token and this process has none"
            raise ClusterConnectionError(
                f"the Ray cluster at {where} {presented}: set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN (or "
                "RAY_AUTH_TOKEN_PATH) to the cluster's token (`ray get-auth-token` on its head node)"
            ) from None
        raise ClusterConnectionError(
            f"something answers at {where} but not as a Ray cluster's GCS ({error.code().name}); "
            "ray_address is the head node's GCS port (6379 unless `ray start --port` said otherwise)"
        ) from None


def nodes_with_cpus() -> dict[str, float]:
    """Alive nodes of the connected Ray cluster that offer CPUs: node id -> CPUs, in Ray's order."""
    return {
        node["NodeID"]: float(node["Resources"]["CPU"])
        for node in ray.nodes()
        if node.get("Alive") and node.get("Resources", {}).get("CPU", 0) > 0
    }
