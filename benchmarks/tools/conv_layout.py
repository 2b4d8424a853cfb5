"""The conv net's frame layout and precision on CPU: channels-first (torch's default) against
channels-last in float32 (a3c.models.GRADIENT_MEMORY_FORMAT), and bfloat16 under torch.autocast
(model["conv_precision"], channels-first), where a gradient flows and where the net only acts.

    python -m benchmarks.tools.conv_layout [--repeats 3] [--seconds 60]

1. The default Pong network (84x84x4 frames, the A3C paper's conv stack, 6 actions) in this process,
   called as the learner calls it (uint8 frames in, the model's own scaling and layout): forward and
   backward of a loss's batch (128: an A3C worker's 8 envs x 16 steps; 256: a PPO minibatch) and a
   forward pass alone (8: acting; 128), on one and two torch threads. Each figure is the best of
   `--repeats` alternations of the variants.
2. End to end: PPO on ALE/Pong-v5 with examples/tuned/pong_ppo.yaml for `--seconds` each, its
   learner in each variant, alternated `--repeats` times (the learner is in this process; its
   workers only act, in float32 channels-first). `--seconds 0` skips it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

import a3c.models
from a3c.config import resolve_model
from a3c.models import build_model
from benchmarks.report import table

# name: (the float32 gradient layout, model["conv_precision"])
VARIANTS = {
    "float32 channels-first": (torch.contiguous_format, "float32"),
    "float32 channels-last": (torch.channels_last, "float32"),
    "bfloat16 channels-first": (torch.contiguous_format, "bfloat16"),
}
CASES = ((128, True), (256, True), (8, False), (128, False))  # (frames, with a gradient)


@contextmanager
def variant(name: str) -> Iterator[dict[str, str]]:
    """The variant's layout set in a3c.models for the block; yields its model-config overlay."""
    layout, precision = VARIANTS[name]
    a3c.models.GRADIENT_MEMORY_FORMAT = layout
    try:
        yield {"conv_precision": precision}
    finally:
        a3c.models.GRADIENT_MEMORY_FORMAT = torch.channels_last


def best_ms(work: Callable[[], None], iterations: int) -> float:
    work()  # warm-up: the kernels' first call picks and caches its algorithm
    start = time.perf_counter()
    for _ in range(iterations):
        work()
    return (time.perf_counter() - start) / iterations * 1e3


def network_ms(repeats: int, iterations: int) -> list[list[str]]:
    frames = torch.randint(0, 256, (256, 4, 84, 84), dtype=torch.uint8)
    nets = {}
    for name in VARIANTS:
        with variant(name) as model:
            torch.manual_seed(0)
            nets[name] = build_model((4, 84, 84), 6, resolve_model(model), True)
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for size, gradient in CASES:
            batch = frames[:size]

            def work(net: torch.nn.Module, batch: torch.Tensor = batch, gradient: bool = gradient) -> None:
                with torch.set_grad_enabled(gradient):
                    logits, values = net(batch)
                    out = logits.sum() + values.sum()
                if gradient:
                    net.zero_grad(set_to_none=True)
                    out.backward()

            ms: dict[str, list[float]] = {name: [] for name in VARIANTS}
            for _ in range(repeats):
                for name in VARIANTS:
                    with variant(name):
                        ms[name].append(best_ms(lambda net=nets[name]: work(net), iterations))
            best = {name: min(values) for name, values in ms.items()}
            what = "forward + backward" if gradient else "forward only"
            base = best["float32 channels-first"]
            rows.append(
                [str(threads), f"{what}, {size} frames"]
                + [f"{value:.2f} ({base / value:.2f}x)" for value in best.values()]
            )
            figures = " / ".join(f"{value:.2f}" for value in best.values())
            print(f"  {threads} thread(s), {what}, {size} frames: {figures} ms", flush=True)
    torch.set_num_threads(1)
    return rows


def ppo_end_to_end(repeats: int, seconds: float) -> list[list[str]]:
    from benchmarks.entrants import deep_merge, tuned_config
    from benchmarks.measure import agent_throughput

    config = tuned_config("pong_ppo")
    rates: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for _ in range(repeats):
        for name in VARIANTS:
            with variant(name) as model:
                run = agent_throughput(deep_merge(config, {"model": model}), seconds, env="ALE/Pong-v5", agent="ppo")
            rates[name].append(run)
            print(f"  PPO, learner {name}: {run['env_steps_per_s']:,.0f} env steps/s", flush=True)
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
    parser.add_argument("--repeats", type=int, default=3, help="alternations of the variants (default 3)")
    parser.add_argument("--iterations", type=int, default=10, help="timed calls per figure (default 10)")
    parser.add_argument("--seconds", type=float, default=60.0, help="PPO on Pong per layout and repeat; 0 skips it")
    args = parser.parse_args()
    print(
        table(
            "The Pong conv net in one process: ms per call (speed-up over float32 channels-first)",
            ["torch threads", "call", *(f"{name} ms" for name in VARIANTS)],
            network_ms(args.repeats, args.iterations),
        )
    )
    if args.seconds > 0:
        print(
            table(
                f"PPO on ALE/Pong-v5 (examples/tuned/pong_ppo.yaml), {args.seconds:.0f} s per run after a warm-up",
                ["learner", "env steps/s, each run", "learning ms / 1k env steps", "sampling ms / 1k"],
                ppo_end_to_end(args.repeats, args.seconds),
                note="The runs alternate the variants; the workers act in float32 channels-first in all.",
            )
        )


if __name__ == "__main__":
    main()
