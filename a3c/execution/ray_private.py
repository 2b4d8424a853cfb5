"""Every use of a private Ray API, each behind one small function, so a Ray upgrade is fixed here.

Private means anything Ray does not promise to keep: `ray._private.*`, `ray._raylet.*`, the
generated gRPC stubs `ray.core.generated.*`, a module constant we set, and underscore arguments.
Each function says what it is for and the Ray version it was checked against; tests/test_ray_private.py
checks each one against the installed Ray and fails, naming the symbol, when an upgrade moves it.
(One more Ray internal is read at import, and so lives in a3c/__init__.py: the system config
`RAY_max_direct_call_object_size`; its test is in tests/test_ray_private.py too.)

Ray's private modules are imported inside the functions: a3c imports without them, and a caller
that degrades gracefully (a3c.execution.ray_runtime) can catch ImportError or AttributeError.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# The Ray release every function below was checked against.
CHECKED_RAY_VERSION = "2.60.0"

# Ray's switch for multi-node clusters; off, a local node's address is 127.0.0.1 (see loopback_node_address).
LOCAL_ONLY_ENV_VAR = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"

# What filter_raylet_messages applies to each raylet message's lines (None: print them all).
_raylet_lines_filter: Callable[[list[str]], list[str]] | None = None


def session_name() -> str | None:
    """The session name of the Ray this process is connected to (None when it is not): tells our own
    quiet local Ray from a cluster joined later in the same process. Checked against Ray 2.60.0:
    `ray._private.worker.global_worker.node.session_name` (no public API names the session)."""
    from ray._private import worker

    node = getattr(worker.global_worker, "node", None)  # None until ray.init, and after ray.shutdown
    return getattr(node, "session_name", None)


def session_logs_dir() -> str:
    """The log directory of the connected Ray session (the tests read the workers' logs there).
    Checked against Ray 2.60.0: `ray._private.worker.global_worker.node.get_logs_dir_path()`."""
    from ray._private import worker

    return worker.global_worker.node.get_logs_dir_path()


def filter_raylet_messages(select: Callable[[list[str]], list[str]]) -> None:
    """Pass the lines of each message the raylet publishes to this driver through `select` before Ray
    prints them; a message left with no lines is not printed. Later calls replace `select`.

    The raylet publishes its notices (workers outnumber the cores, a worker died) as job errors,
    which the driver prints through `ray._private.worker.print_to_stdstream`, whatever log_to_driver
    says, and Ray has no option to leave some out. Checked against Ray 2.60.0: the error listener
    thread calls the module-level `print_to_stdstream(data, ignore_prefix)` with
    data = {"lines": [...], "pid": "raylet", "is_err": False}.
    """
    from ray._private import worker

    global _raylet_lines_filter
    _raylet_lines_filter = select
    original = worker.print_to_stdstream
    if getattr(original, "filters_raylet_messages", False):
        return

    @functools.wraps(original)
    def print_to_stdstream(data: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if data.get("pid") == "raylet" and _raylet_lines_filter is not None:
            lines = _raylet_lines_filter(list(data.get("lines", [])))
            if not lines:
                return None
            data = {**data, "lines": lines}
        return original(data, *args, **kwargs)

    print_to_stdstream.filters_raylet_messages = True  # type: ignore[attr-defined]
    worker.print_to_stdstream = print_to_stdstream


def ray_address_from_environment(address: str = "auto") -> str:
    """What ray.init(address) would join: RAY_ADDRESS, else for "auto" the newest Ray started on this
    machine; raises ConnectionError when there is none. Resolves 'auto' for the quick reachability
    probe before ray.init. Checked against Ray 2.60.0:
    `ray._private.services.get_ray_address_from_environment(addr, temp_dir)`."""
    from ray._private.services import get_ray_address_from_environment

    return get_ray_address_from_environment(address, None)


def auth_token_metadata() -> list[tuple[str, str]]:
    """gRPC metadata with the token ray.init would present (RAY_AUTH_MODE=token with RAY_AUTH_TOKEN,
    RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token); empty without one. Checked against Ray 2.60.0:
    `ray._raylet.AuthenticationTokenLoader.instance().get_token_for_http_header()` -> {"authorization": ...}."""
    from ray._raylet import AuthenticationTokenLoader

    return list(AuthenticationTokenLoader.instance().get_token_for_http_header().items())


def reload_auth_settings() -> None:
    """Make this process's Ray read the RAY_AUTH_* variables again (Ray caches both its config and the
    token): the tests change them between clusters in one process. Checked against Ray 2.60.0:
    `ray._raylet.Config.initialize("")` and `AuthenticationTokenLoader.instance().reset_cache()`."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def gcs_cluster_id(address: str, metadata: list[tuple[str, str]], timeout_s: float) -> bytes:
    """Ask the GCS at host:port for its cluster id: one cheap call that passes only with an accepted
    token. Raises grpc.RpcError (UNAUTHENTICATED: token missing or refused). Checked against Ray 2.60.0:
    `ray.core.generated.gcs_service_pb2_grpc.NodeInfoGcsServiceStub.GetClusterId(GetClusterIdRequest)`."""
    import grpc
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        nodes = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        reply = nodes.GetClusterId(gcs_service_pb2.GetClusterIdRequest(), metadata=metadata or None, timeout=timeout_s)
        return reply.cluster_id


def multi_node_switch() -> bool | None:
    """Ray's multi-node switch in this process (None if Ray no longer has it): off while a local Ray starts.
    Checked against Ray 2.60.0: `ray._private.ray_constants.ENABLE_RAY_CLUSTER`."""
    from ray._private import ray_constants

    return getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)


@contextmanager
def loopback_node_address() -> Iterator[None]:
    """While Ray starts (or joins a loopback cluster), make this node's address 127.0.0.1 so every
    server binds loopback only.

    Ray picks the node address with `ray._private.services.get_node_ip_address()`, which returns
    127.0.0.1 when RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER is off (Ray's default on macOS and Windows,
    where a local Ray is single-node); GCS, raylet and workers then listen on 127.0.0.1 instead of
    all interfaces. Ray reads that variable once, at import, into `ray_constants.ENABLE_RAY_CLUSTER`,
    so set both the variable (inherited by raylet and the workers it spawns) and the constant, and
    only for the start: joining a cluster later in this process needs the reachable address again.
    Checked against Ray 2.60.0. Should Ray drop the constant, Ray still starts (on its usual address)
    and tests/test_ray_private.py and tests/test_ray_safety.py fail.
    """
    from ray._private import ray_constants

    saved_env = os.environ.get(LOCAL_ONLY_ENV_VAR)
    saved_flag = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    os.environ[LOCAL_ONLY_ENV_VAR] = "0"
    if saved_flag is not None:
        ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        if saved_flag is not None:
            ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        if saved_env is None:
            os.environ.pop(LOCAL_ONLY_ENV_VAR, None)
        else:
            os.environ[LOCAL_ONLY_ENV_VAR] = saved_env


def soft_node_affinity(node_id: str) -> Any:
    """A scheduling strategy for `node_id` that runs the actor elsewhere when that node is full or
    gone (soft affinity alone waits for a node that is alive but full). Checked against Ray 2.60.0:
    `NodeAffinitySchedulingStrategy(node_id, soft=True, _spill_on_unavailable=True)`, a private argument."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id, soft=True, _spill_on_unavailable=True)
