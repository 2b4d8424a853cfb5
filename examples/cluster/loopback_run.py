"""A multi-node Ray cluster on one machine, an A3C run across it, and a node lost in the middle.

    .venv/bin/python examples/cluster/loopback_run.py --workers 6 --iterations 30 --lose-at 10 --how sigkill

Starts a head node and `--nodes` worker nodes with ray.cluster_utils.Cluster, every one bound to
127.0.0.1 and guarded by a fresh token (RAY_AUTH_MODE=token), joins it the way `a3c train --address`
does (config["ray_address"]), trains CartPole-v0, and before iteration `--lose-at` removes one
worker node: `graceful` stops its raylet with SIGTERM, `sigkill` kills every process of the node at
once, as a crashed machine would; `freeze` stops them all with SIGSTOP, as a machine that drops
off the network would look (no connection is closed: only Ray's health checks notice; the frozen
processes are killed at the end). Each iteration prints where the workers are, env steps/s, the
reward and the worker replacements so far; the end says how long the loss took to be noticed.

Ray notices a SIGKILLed node by its health checks (health_check_period_ms 3000 x
health_check_failure_threshold 5 by default); `--fast-health-check` sets 1000 ms x 5, as
tests/test_cluster.py does.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time

# Token authentication for every node of the cluster and for this driver: set before Ray is imported
# (Ray reads it into its config once).
os.environ["RAY_AUTH_MODE"] = "token"
os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(16)

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from a3c import A3CAgent  # noqa: E402


def freeze(node) -> None:
    """SIGSTOP every process of a Ray node (its raylet, the workers it started, its helpers)."""
    import signal

    import psutil

    for infos in node.all_processes.values():
        for info in infos:
            process = psutil.Process(info.process.pid)
            for member in [process, *process.children(recursive=True)]:
                member.send_signal(signal.SIGSTOP)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2, help="worker nodes besides the head")
    parser.add_argument("--cpus-per-node", type=int, default=1)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--lose-at", type=int, default=10, help="remove a worker node before this iteration")
    parser.add_argument("--how", choices=["graceful", "sigkill", "freeze"], default="sigkill")
    parser.add_argument("--fast-health-check", action="store_true")
    args = parser.parse_args()

    system_config = {"health_check_period_ms": 1000, "health_check_timeout_ms": 2000} if args.fast_health_check else {}
    head_args = {"node_ip_address": "127.0.0.1", "num_cpus": args.cpus_per_node, "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args={**head_args, "_system_config": system_config})
    nodes = [cluster.add_node(node_ip_address="127.0.0.1", num_cpus=args.cpus_per_node) for _ in range(args.nodes)]
    cluster.wait_for_nodes()
    names = {cluster.head_node.node_id: "head", **{node.node_id: f"node{i + 1}" for i, node in enumerate(nodes)}}
    print(f"cluster at {cluster.address}: head + {args.nodes} nodes, {args.cpus_per_node} CPU each, on 127.0.0.1")

    # One environment per worker, as BENCHMARKS.md's loopback figures were measured (the default until 2026-11-26).
    config = {"num_workers": args.workers, "num_envs_per_worker": 1, "ray_address": cluster.address, "seed": 0}
    agent = A3CAgent(config, "CartPole-v0")
    lost_at = None
    noticed_s = None
    steps_per_s = []
    for iteration in range(1, args.iterations + 1):
        if iteration == args.lose_at:
            victim = nodes[-1]
            lost_at = time.monotonic()
            if args.how == "freeze":
                freeze(victim)
            else:
                cluster.remove_node(victim, allow_graceful=args.how == "graceful")
            print(f"-- removed {names[victim.node_id]} ({args.how})")
        result = agent.train()
        per_node = {names.get(node, node[:8]): count for node, count in sorted(result.info["workers_per_node"].items())}
        rate = result.timesteps_this_iter / result.time_this_iter_s
        restarts = result.info["num_worker_restarts"]
        if lost_at is not None and noticed_s is None and restarts > 0:
            noticed_s = time.monotonic() - lost_at
        if lost_at is None:
            steps_per_s.append(rate)
        print(
            f"iter {iteration:3d}  workers {per_node}  {rate:7.0f} env steps/s  "
            f"reward {result.episode_reward_mean:6.1f}  restarts {restarts}",
            flush=True,
        )
    agent.stop()
    ray.shutdown()
    if args.how == "freeze":
        cluster.remove_node(nodes[-1], allow_graceful=False)
    cluster.shutdown()
    if steps_per_s:
        print(f"before the loss: {sum(steps_per_s) / len(steps_per_s):.0f} env steps/s (mean of iterations)")
    if lost_at is not None:
        noticed = f"{noticed_s:.1f} s" if noticed_s is not None else "not within the run"
        print(f"node lost ({args.how}): its workers replaced by the end of an iteration {noticed} after the removal")
    print(f"final: reward {result.episode_reward_mean:.1f}, {result.timesteps_total} env steps")


if __name__ == "__main__":
    main()
