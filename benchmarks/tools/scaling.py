"""How many gradients one A3C driver can take, by model size: the figures behind SCALING.md.

    python -m benchmarks.tools.scaling [--repeats 200]

For CartPole-v0 models of about 10k, 70k, 700k and 1.7M parameters, and for the two networks the
defaults build (the tutorial's on CartPole-v0; the conv net on ALE/Pong-v5, with the atari extra),
it measures, in CPU time of
the process that does the work (less sensitive to other load on a shared machine than wall time):

- apply: the driver's Learner.apply_gradient (clip + fused Adam step on the flat vector)
- snapshot: the copy of the weights that is sent with each task (RayPool.put for one reader)
- transport: the driver's CPU per Ray round trip that carries the weights to an actor and a
  gradient of the same size back (an echo actor on the local Ray; inline, as A3C sends them)
- worker task: RolloutWorker.compute_gradients for the tutorial's task (16 steps x 1 env) and a
  16x larger one (16 steps x 16 envs), in process; for Pong, one default worker's (16 steps x 8 envs)

and prints them as a Markdown table with the bytes per gradient.
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np

import a3c  # noqa: F401 - sets Ray's inline object size before Ray starts
from a3c.agents.base import Learner
from a3c.catalog import default_lr
from a3c.config import A3C_SCHEMA, default_envs_per_worker, resolve_config
from a3c.worker import RolloutWorker

# Hidden sizes giving about 10k, 70k, 700k and 1.7M parameters on CartPole (4 inputs, 2 actions).
SIZES = {"10k": [96, 96], "70k": [256, 256], "700k": [830, 830], "1.7M": [1300, 1300]}
# The two networks the defaults build for the tutorial and for Pong, each measured with its own env.
DEFAULT_NETWORKS = {"the tutorial's (CartPole-v0 defaults)": "CartPole-v0", "Pong's conv net (defaults)": "ALE/Pong-v5"}


def cpu_ms_per_call(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.process_time()
    for _ in range(repeats):
        fn()
    return (time.process_time() - start) / repeats * 1e3


def measure(env: str, model_config: dict, repeats: int, echo, tasks: list[int]) -> dict[str, float]:
    """The driver's CPU per gradient (apply, snapshot, transport) for this env's network, and a worker
    task's CPU for each number of environments in `tasks` (16 steps each)."""
    import ray

    from a3c.envs import check_spaces, make_env
    from a3c.models import ActorCritic

    config = resolve_config({"model": model_config, "num_workers": 1, "seed": 0}, A3C_SCHEMA)
    probe = make_env(env)
    spaces = check_spaces(probe)
    probe.close()
    model = ActorCritic(spaces.encoder.shape, spaces.action, config["model"], spaces.encoder.is_image)
    learner = Learner(model, default_lr("a3c", spaces.encoder.is_image), config["grad_clip"])
    params = model.num_params()
    grad = np.random.default_rng(0).normal(size=params).astype(np.float32)
    weights = learner.weights()
    row = {"model": model.describe().removeprefix("Constructing "), "params": params, "bytes_per_gradient": 4 * params}
    row["apply_ms"] = cpu_ms_per_call(lambda: learner.apply_gradient(grad), repeats)
    row["snapshot_ms"] = cpu_ms_per_call(lambda: np.array(weights, copy=True), repeats)
    row["transport_ms"] = cpu_ms_per_call(lambda: ray.get(echo.echo.remote(np.array(weights, copy=True))), repeats)
    row["tasks"] = {}
    for envs in tasks:
        worker = RolloutWorker(env, {**config, "batch_size": 16, "num_envs_per_worker": envs}, 1)
        calls = max(3, repeats // (4 * envs * (50 if spaces.encoder.is_image else 1)))
        row["tasks"][envs] = cpu_ms_per_call(lambda w=worker: w.compute_gradients(weights), calls)
    return row


def task_parts(env: str, envs: int, repeats: int) -> dict[str, float]:
    """CPU ms of the parts of one worker task (16 steps x `envs`), each timed on its own in process:
    where a task's time goes (BENCHMARKS.md, "Speed")."""
    from a3c.core.returns import compute_gae

    config = resolve_config({"num_workers": 1, "num_envs_per_worker": envs, "batch_size": 16, "seed": 0}, A3C_SCHEMA)
    worker = RolloutWorker(env, config, 1)
    weights = (np.random.default_rng(0).normal(size=worker.policy.num_params) * 0.1).astype(np.float32)
    filters = {"obs": worker.obs_filter.stat.state() if hasattr(worker.obs_filter, "stat") else None}
    if worker.return_filter is not None:
        filters["returns"] = worker.return_filter.stat.state()
    rollout = worker.sample()
    batch = worker.sample_batch()
    policy_input = worker.obs_filter(worker.obs, update=False)
    steps = rollout.rewards.size
    return {
        "whole task": cpu_ms_per_call(lambda: worker.compute_gradients(weights, 0, filters), repeats),
        "set weights and filters": cpu_ms_per_call(lambda: worker.set_weights(weights, filters), repeats),
        "sample (16 steps)": cpu_ms_per_call(worker.sample, repeats),
        "  of which: policy act, per step": cpu_ms_per_call(
            lambda: worker.policy.act(policy_input, None, worker.rng), repeats * 16
        ),
        "  of which: observation filter, per step": cpu_ms_per_call(
            lambda: worker.obs_filter(worker.obs, update=False), repeats * 16
        ),
        "return normalizer": cpu_ms_per_call(
            lambda: (
                worker.return_filter(rollout.rewards, rollout.terminated | rollout.truncated, rollout.valid)
                if worker.return_filter is not None
                else None
            ),
            repeats,
        ),
        "GAE": cpu_ms_per_call(
            lambda: compute_gae(
                rollout.rewards,
                rollout.values,
                rollout.terminated,
                rollout.truncated,
                rollout.final_values,
                rollout.last_values,
                0.99,
                1.0,
            ),
            repeats,
        ),  # fmt: skip
        "loss and gradient": cpu_ms_per_call(
            lambda: worker.policy.loss_and_grad(batch.loss_inputs(batch.advantages), 0.5, 0.01), repeats
        ),
        "steps": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument(
        "--parts", action="store_true", help="only the parts of the tutorial's worker task, in process (no Ray)"
    )
    args = parser.parse_args()
    if args.parts:
        import torch

        torch.set_num_threads(1)
        parts = task_parts("CartPole-v0", 1, args.repeats * 5)
        print("| part of the tutorial's worker task (16 steps x 1 env) | CPU ms |\n|---|---|")
        for name, value in parts.items():
            if name != "steps":
                print(f"| {name} | {value:.3f} |")
        return

    import ray
    import torch
    from threadpoolctl import threadpool_limits

    from a3c.execution.ray_runtime import ensure_ray

    torch.set_num_threads(1)  # as the driver runs (Agent) and as each worker runs (one BLAS thread)
    threadpool_limits(1)
    ensure_ray(None)

    @ray.remote(num_cpus=0)
    class Echo:
        def echo(self, array: np.ndarray) -> np.ndarray:
            return array

    echo = Echo.remote()
    rows = [
        # one shared trunk, as the sizes' names count parameters
        measure("CartPole-v0", {"fcnet_hiddens": hiddens, "vf_share_layers": True}, args.repeats, echo, [1, 16])
        for hiddens in SIZES.values()
    ]
    for env in DEFAULT_NETWORKS.values():
        if env.startswith("ALE/") and importlib.util.find_spec("ale_py") is None:
            print(f"({env}: skipped, the atari extra is not installed)")
            continue
        envs = [1, 16] if not env.startswith("ALE/") else [default_envs_per_worker(A3C_SCHEMA["num_workers"].default)]
        rows.append(measure(env, {}, args.repeats, echo, envs))
    print(
        "| model | parameters | bytes per gradient (each way) | apply ms | snapshot ms | transport ms "
        "| driver ms per gradient | driver gradients/s | worker task ms (16 steps x envs) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        driver_ms = row["apply_ms"] + row["snapshot_ms"] + row["transport_ms"]
        tasks = " / ".join(f"{ms:.2f} (x{envs})" for envs, ms in row["tasks"].items())
        print(
            f"| {row['model']} | {row['params']:,} | {row['bytes_per_gradient']:,} | {row['apply_ms']:.3f} "
            f"| {row['snapshot_ms']:.3f} | {row['transport_ms']:.3f} | {driver_ms:.3f} | {1e3 / driver_ms:,.0f} "
            f"| {tasks} |"
        )
    ray.shutdown()


if __name__ == "__main__":
    main()
