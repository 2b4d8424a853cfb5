"""The conv net's frame layout on CPU: channels-first (torch's default) against channels-last, where a
gradient flows and where the net only acts (a3c.models.GRADIENT_MEMORY_FORMAT).

    python -m benchmarks.tools.conv_layout [--repeats 3] [--seconds 60]

1. The default Pong network (84x84x4 frames, the A3C paper's conv stack, 6 actions) in this process:
   forward and backward of a loss's batch (128: an A3C worker's 8 envs x 16 steps; 256: a PPO
   minibatch) and a forward pass alone (8: acting; 128), on one and two torch threads. Each figure
   is the best of `--repeats` alternations of the two layouts.
2. End to end: PPO on ALE/Pong-v5 with examples/tuned/pong_ppo.yaml for `--seconds` each, its
   learner's frames channels-first and channels-last, alternated `--repeats` times (the learner is
   in this process; its workers only act). `--seconds 0` skips it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

import a3c.models
from a3c.config import resolve_model
from a3c.models import build_model
from benchmarks.report import table

LAYOUTS = {"channels-first": torch.contiguous_format, "channels-last": torch.channels_last}
CASES = ((128, True), (256, True), (8, False), (128, False))  # (frames, with a gradient)


def best_ms(work: Callable[[], None], iterations: int) -> float:
    work()  # warm-up: the kernels' first call picks and caches its algorithm
    start = time.perf_counter()
    for _ in range(iterations):
        work()
    return (time.perf_counter() - start) / iterations * 1e3


def network_ms(repeats: int, iterations: int) -> list[list[str]]:
    torch.manual_seed(0)
    net = build_model((4, 84, 84), 6, resolve_model({}), True)
    frames = torch.randint(0, 256, (256, 4, 84, 84), dtype=torch.uint8)
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for size, gradient in CASES:
            batch = frames[:size]

            def work(layout: torch.memory_format, batch: torch.Tensor = batch, gradient: bool = gradient) -> None:
                x = batch.to(torch.float32).div_(255.0).contiguous(memory_format=layout)
                with torch.set_grad_enabled(gradient):
                    features = net.trunk(x)
                    out = net.policy_head(features).sum() + net.value_head(features).sum()
                if gradient:
                    net.zero_grad(set_to_none=True)
                    out.backward()

            ms = {name: [] for name in LAYOUTS}
            for _ in range(repeats):
                for name, layout in LAYOUTS.items():
                    ms[name].append(best_ms(lambda layout=layout: work(layout), iterations))
            first, last = min(ms["channels-first"]), min(ms["channels-last"])
            what = "forward + backward" if gradient else "forward only"
            rows.append([str(threads), f"{what}, {size} frames", f"{first:.2f}", f"{last:.2f}", f"{first / last:.2f}"])
            print(f"  {threads} thread(s), {what}, {size} frames: {first:.2f} / {last:.2f} ms", flush=True)
    torch.set_num_threads(1)
    return rows


def ppo_end_to_end(repeats: int, seconds: float) -> list[list[str]]:
    from benchmarks.entrants import tuned_config
    from benchmarks.measure import agent_throughput

    config = tuned_config("pong_ppo")
    rates: dict[str, list[dict]] = {name: [] for name in LAYOUTS}
    try:
        for _ in range(repeats):
            for name, layout in LAYOUTS.items():
                a3c.models.GRADIENT_MEMORY_FORMAT = layout
                rates[name].append(agent_throughput(config, seconds, env="ALE/Pong-v5", agent="ppo"))
                print(f"  PPO, learner {name}: {rates[name][-1]['env_steps_per_s']:,.0f} env steps/s", flush=True)
    finally:
        a3c.models.GRADIENT_MEMORY_FORMAT = LAYOUTS["channels-last"]
    return [
        [
            name,
            " / ".join(f"{r['env_steps_per_s']:,.0f}" for r in runs),
            " / ".join(f"{r['learn_ms_per_1k_steps']:,.0f}" for r in runs),
            " / ".join(f"{r['sample_ms_per_1k_steps']:,.0f}" for r in runs),
        ]
        for name, runs in rates.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="alternations of the two layouts (default 3)")
    parser.add_argument("--iterations", type=int, default=10, help="timed calls per figure (default 10)")
    parser.add_argument("--seconds", type=float, default=60.0, help="PPO on Pong per layout and repeat; 0 skips it")
    args = parser.parse_args()
    print(
        table(
            "The Pong conv net in one process: ms per call, frames channels-first / channels-last",
            ["torch threads", "call", "channels-first ms", "channels-last ms", "speed-up"],
            network_ms(args.repeats, args.iterations),
        )
    )
    if args.seconds > 0:
        print(
            table(
                f"PPO on ALE/Pong-v5 (examples/tuned/pong_ppo.yaml), {args.seconds:.0f} s per run after a warm-up",
                ["learner's frames", "env steps/s, each run", "learning ms / 1k env steps", "sampling ms / 1k"],
                ppo_end_to_end(args.repeats, args.seconds),
                note="The runs alternate the two layouts; the workers act channels-first in both.",
            )
        )


if __name__ == "__main__":
    main()
