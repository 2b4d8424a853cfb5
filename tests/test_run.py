"""a3c.run: the one "reached the target" rule, stop rules, and a Run's loop, directory, callbacks,
evaluation, resume and Ctrl-C, on a real CartPole agent stepped in process (num_workers 0)."""

import csv
import json
import math
import os
import signal

import pytest

from a3c import A3CAgent
from a3c.evaluation import evaluate_agent
from a3c.run import (
    EPISODE_WINDOW,
    Callback,
    Evaluation,
    MaxEnvSteps,
    MaxIterations,
    Progress,
    RewardTarget,
    Run,
    RunDirectoryError,
    TimeLimit,
    reached_target,
    stop_from_dict,
    stop_to_dict,
)

# 10 gradients of 16 steps: 160 env steps and about 8 CartPole episodes per iteration.
FAST = {"num_workers": 0, "num_envs_per_worker": 1, "grads_per_step": 10, "model": {"fcnet_hiddens": [16]}, "seed": 1}


@pytest.fixture
def agent():
    with A3CAgent(FAST, "CartPole-v0") as built:
        yield built


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def progress(**fields) -> Progress:
    values = dict(
        training_iteration=1, timesteps_total=0, time_total_s=0.0, wall_s=0.0, episode_reward_mean=0, episodes_total=0
    )
    return Progress(**{**values, **fields})


# -- the one rule ----------------------------------------------------------------------------------


def test_the_window_is_100_episodes():
    assert EPISODE_WINDOW == 100


@pytest.mark.parametrize("episodes", [0, 1, 10, 99])
def test_fewer_than_a_full_window_of_episodes_never_reaches_the_target(episodes):
    assert not reached_target(200.0, episodes, 195.0)
    assert not reached_target(1e9, episodes, -1e9)


def test_a_full_window_reaches_the_target_at_or_above_it_only():
    assert reached_target(195.0, 100, 195.0)
    assert reached_target(200.0, 5000, 195.0)
    assert not reached_target(194.9, 100, 195.0)


def test_no_target_or_no_mean_is_never_reached():
    assert not reached_target(200.0, 100, None)
    assert not reached_target(math.nan, 100, 195.0)


# -- stop rules ------------------------------------------------------------------------------------


def test_each_stop_rule_stops_at_its_bound_and_not_before():
    assert MaxIterations(3).reason(progress(training_iteration=2)) is None
    assert MaxIterations(3).reason(progress(training_iteration=3)) == "3 iterations"
    assert MaxEnvSteps(1000).reason(progress(timesteps_total=999)) is None
    assert MaxEnvSteps(1000).reason(progress(timesteps_total=1000)) == "1,000 env steps"
    assert TimeLimit(10).reason(progress(time_total_s=9.9, wall_s=50)) is None, "training time, not wall time"
    assert TimeLimit(10).reason(progress(time_total_s=10)) == "time limit 10 s"
    assert TimeLimit(10, wall=True).reason(progress(time_total_s=50, wall_s=9.9)) is None
    assert TimeLimit(10, wall=True).reason(progress(wall_s=10)) == "time limit 10 s"
    assert RewardTarget(195).reason(progress(episode_reward_mean=200, episodes_total=99)) is None
    assert "200.0 >= 195" in RewardTarget(195).reason(progress(episode_reward_mean=200, episodes_total=100))


def test_run_json_keeps_the_stop_rules_a_resume_needs():
    rules = [MaxIterations(5), RewardTarget(195.0), TimeLimit(60.0), MaxEnvSteps(10_000)]
    saved = stop_to_dict(rules)
    assert saved == {"iterations": 5, "stop_reward": 195.0, "time_limit": 60.0, "env_steps": 10_000}
    assert stop_from_dict(saved) == rules
    # a run directory written before the run layer: None meant "no such rule"
    assert stop_from_dict({"iterations": 100, "stop_reward": None, "time_limit": None}) == [MaxIterations(100)]


def test_a_run_needs_a_stop_rule(agent):
    with pytest.raises(ValueError, match="stop rule"):
        Run(agent).run()


# -- a run -----------------------------------------------------------------------------------------


def test_a_run_writes_its_directory(agent, tmp_path):
    run_dir = tmp_path / "run"
    outcome = Run(agent, run_dir, MaxIterations(3), checkpoint_every=2).run()
    assert outcome.stopped_by == "3 iterations" and not outcome.interrupted
    assert outcome.result.training_iteration == 3 and agent.iteration == 3
    assert json.loads((run_dir / "run.json").read_text()) == {
        "agent": "a3c",
        "env": "CartPole-v0",
        "stop": {"iterations": 3},
    }
    assert json.loads((run_dir / "config.json").read_text())["grads_per_step"] == 10
    assert [int(r["training_iteration"]) for r in read_csv(run_dir / "progress.csv")] == [1, 2, 3]
    assert len((run_dir / "result.json").read_text().splitlines()) == 3
    assert list(run_dir.glob("events.out.tfevents.*"))
    saved = sorted(p.name for p in (run_dir / "checkpoints").glob("*.safetensors"))
    assert saved == ["checkpoint_000002.safetensors", "checkpoint_000003.safetensors"]
    assert outcome.checkpoint == run_dir / "checkpoints" / "checkpoint_000003.safetensors"
    assert outcome.best_checkpoint is not None and (run_dir / "checkpoints" / "index.json").is_file()
    assert not (run_dir / "evaluation.csv").exists(), "no evaluation unless asked for"


def test_a_new_run_never_reuses_a_non_empty_directory(agent, tmp_path):
    (tmp_path / "progress.csv").write_text("precious")
    with pytest.raises(RunDirectoryError, match="not empty"):
        Run(agent, tmp_path, MaxIterations(1))
    assert (tmp_path / "progress.csv").read_text() == "precious"


def test_without_a_directory_a_run_writes_nothing(agent, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outcome = Run(agent, None, MaxIterations(2)).run()
    assert outcome.result.training_iteration == 2 and outcome.checkpoint is None
    assert list(tmp_path.iterdir()) == []


def test_a_reward_target_needs_a_full_window_of_episodes(agent, tmp_path):
    """Any CartPole episode earns more than 5: the mean is above the target from the first episode
    on, and still the run goes on until 100 episodes have finished."""
    run_dir = tmp_path / "run"
    outcome = Run(agent, run_dir, [RewardTarget(5.0), MaxIterations(200)], checkpoint_every=0).run()
    rows = read_csv(run_dir / "progress.csv")
    episodes = [int(r["episodes_total"]) for r in rows]
    assert len(rows) > 1 and float(rows[0]["episode_reward_mean"]) > 5.0
    assert episodes[-1] >= EPISODE_WINDOW > episodes[-2], episodes
    assert outcome.stopped_by.startswith("episode_reward_mean") and "over 100 episodes" in outcome.stopped_by
    assert outcome.reached_at is not None and outcome.reached_at.training_iteration == len(rows)


class StopAt(Callback):
    def __init__(self, iteration: int):
        self.iteration = iteration
        self.seen: list[int] = []
        self.checkpoints: list[str] = []

    def on_iteration(self, run, result) -> bool:
        self.seen.append(result.training_iteration)
        return result.training_iteration >= self.iteration

    def on_checkpoint(self, run, path) -> bool:
        self.checkpoints.append(path.name)
        return False


def test_a_callback_sees_every_iteration_and_checkpoint_and_can_stop_the_run(agent, tmp_path):
    callback = StopAt(2)
    outcome = Run(agent, tmp_path / "run", MaxIterations(100), callbacks=[callback], checkpoint_every=1).run()
    assert callback.seen == [1, 2]
    assert outcome.stopped_by == "a callback" and outcome.result.training_iteration == 2
    periodic_then_final = ["checkpoint_000001.safetensors"] + ["checkpoint_000002.safetensors"] * 2
    assert callback.checkpoints == periodic_then_final


def test_a_checkpoint_callback_stops_the_run_at_the_first_save(agent, tmp_path):
    class StopOnFirstCheckpoint(Callback):
        def on_checkpoint(self, run, path) -> bool:
            return True

    outcome = Run(
        agent, tmp_path / "r", MaxIterations(100), callbacks=[StopOnFirstCheckpoint()], checkpoint_every=3
    ).run()
    assert outcome.stopped_by == "a callback" and outcome.result.training_iteration == 3


def test_periodic_evaluation_writes_its_rows_beside_the_training_rows(agent, tmp_path):
    run_dir = tmp_path / "run"
    seen = []

    class Watch(Callback):
        def on_evaluation(self, run, row) -> bool:
            seen.append(row)
            return False

    evaluation = Evaluation(every=2, episodes=3, seed=7)
    Run(agent, run_dir, MaxIterations(4), evaluation=evaluation, callbacks=[Watch()], checkpoint_every=0).run()
    rows = read_csv(run_dir / "evaluation.csv")
    training = {r["training_iteration"]: r for r in read_csv(run_dir / "progress.csv")}
    assert [r["training_iteration"] for r in rows] == ["2", "4"]
    for row in rows:
        assert row["timesteps_total"] == training[row["training_iteration"]]["timesteps_total"]
        assert row["episodes"] == "3" and float(row["episode_reward_mean"]) >= 8
    assert [int(r["training_iteration"]) for r in seen] == [2, 4]
    # deterministic actions on seeded episodes: the same policy plays the same episodes again
    again = evaluate_agent(agent, 3, seed=7).summary["mean"]
    assert again == pytest.approx(float(rows[-1]["episode_reward_mean"]))


def test_a_resumed_run_continues_its_counters_and_files(tmp_path):
    run_dir = tmp_path / "run"
    with A3CAgent(FAST, "CartPole-v0") as agent:
        Run(agent, run_dir, MaxIterations(2), checkpoint_every=1).run()
    assert Run.saved_progress(run_dir).training_iteration == 2
    resumed = Run.resume(run_dir, MaxIterations(4))
    with resumed.agent:
        outcome = resumed.run()
    assert outcome.result.training_iteration == 4
    rows = read_csv(run_dir / "progress.csv")
    assert [int(r["training_iteration"]) for r in rows] == [1, 2, 3, 4]
    assert [int(r["timesteps_total"]) for r in rows] == [160, 320, 480, 640]
    episodes = [int(r["episodes_total"]) for r in rows]
    assert episodes == sorted(episodes) and episodes[2] > episodes[1], "the episode count continues"
    walls = [float(r["wall_s"]) for r in rows]
    assert walls == sorted(walls), "the wall clock continues from the checkpoint's row, it does not restart"


def test_resume_refuses_a_directory_that_is_not_a_run(tmp_path):
    with pytest.raises(RunDirectoryError, match="not a run directory"):
        Run.resume(tmp_path)


def test_ctrl_c_finishes_the_iteration_saves_and_puts_the_handler_back(agent, tmp_path):
    """A real SIGINT, sent to this process during iteration 2."""

    class PressCtrlC(Callback):
        def on_iteration(self, run, result) -> bool:
            if result.training_iteration == 2:
                os.kill(os.getpid(), signal.SIGINT)
            return False

    before = signal.getsignal(signal.SIGINT)
    run_dir = tmp_path / "run"
    outcome = Run(agent, run_dir, MaxIterations(100), callbacks=[PressCtrlC()], checkpoint_every=0).run()
    assert outcome.interrupted and outcome.stopped_by == "Ctrl-C"
    assert outcome.result.training_iteration == 2
    assert outcome.checkpoint == run_dir / "checkpoints" / "checkpoint_000002.safetensors"
    assert outcome.checkpoint.is_file()
    assert signal.getsignal(signal.SIGINT) is before


def test_a_second_ctrl_c_saves_and_stops_at_once(agent, tmp_path):
    class PressCtrlCTwice(Callback):
        def on_iteration(self, run, result) -> bool:
            os.kill(os.getpid(), signal.SIGINT)  # sets the flag: this iteration would finish
            os.kill(os.getpid(), signal.SIGINT)  # stops at once: KeyboardInterrupt from here
            return False

    run = Run(agent, tmp_path / "run", MaxIterations(100), callbacks=[PressCtrlCTwice()], checkpoint_every=0)
    with pytest.raises(KeyboardInterrupt):
        run.run()
    assert run.last_checkpoint == tmp_path / "run" / "checkpoints" / "checkpoint_000001.safetensors"
    assert run.last_checkpoint.is_file()


def test_a_training_error_saves_what_was_learned_then_propagates(agent, tmp_path):
    from a3c.errors import TrainingError

    class FailAt2(Callback):
        def on_iteration(self, run, result) -> bool:
            if result.training_iteration == 2:
                raise TrainingError("gradients went bad")
            return False

    run = Run(agent, tmp_path / "run", MaxIterations(100), callbacks=[FailAt2()], checkpoint_every=0)
    with pytest.raises(TrainingError, match="gradients went bad"):
        run.run()
    assert run.last_checkpoint is not None and run.last_checkpoint.name == "checkpoint_000002.safetensors"
    assert Run.saved_progress(tmp_path / "run").training_iteration == 2, "a resume starts from there"
