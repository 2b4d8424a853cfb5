"""Checkpoints: round trips, continuity, atomic writes, and files that must be refused."""

import json
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import safetensors.numpy

from a3c import A3CAgent
from a3c.agents.a3c import A3CAgent as A3C
from a3c.checkpoint import FORMAT, CheckpointError, latest_checkpoint, read_checkpoint

SMALL = {"model": {"fcnet_hiddens": [16]}, "seed": 3, "grads_per_step": 10, "batch_size": 8, "num_envs_per_worker": 1}


def local_agent(env="CartPole-v0", **overrides):
    return A3CAgent({**SMALL, "execution": "local", "num_workers": 2, **overrides}, env)


def test_save_restore_round_trip_keeps_weights_optimizer_and_counters(tmp_path):
    agent = local_agent()
    for _ in range(3):
        agent.train()
    path = agent.save(tmp_path)
    assert path.name == "checkpoint_000003.safetensors"

    restored = A3C.from_checkpoint(path)
    assert restored.iteration == 3 and restored.timesteps_total == agent.timesteps_total == 240
    assert restored.time_total_s == agent.time_total_s
    assert restored.weights_version == agent.weights_version
    assert restored.episodes.episodes_total == agent.episodes.episodes_total
    np.testing.assert_array_equal(restored.learner.weights(), agent.learner.weights())
    before, after = agent.learner.state()[0], restored.learner.state()[0]
    assert set(before) == {"adam.step", "adam.exp_avg", "adam.exp_avg_sq"}
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])
    assert restored.config == agent.config

    result = restored.train()
    assert result.training_iteration == 4 and result.timesteps_total == 320
    assert float(restored.learner.state()[0]["adam.step"][0]) == 40.0


def test_restore_takes_the_learning_rate_of_the_config_not_the_saved_one(tmp_path):
    """PBT restores a better trial's checkpoint under a perturbed lr; a user may continue at a new one."""
    agent = local_agent(lr=7e-4)
    agent.train()
    path = agent.save(tmp_path)
    slower = A3C.from_checkpoint(path, lr=1e-4)
    assert slower.config["lr"] == 1e-4
    assert slower.learner.lr == 1e-4
    assert slower.train().info["learner"]["cur_lr"] == 1e-4

    annealed = A3C.from_checkpoint(path, lr=1e-3, lr_final=1e-4, lr_decay_steps=160)
    assert annealed.timesteps_total == 80  # halfway through the anneal
    assert annealed.learner.lr == pytest.approx(5.5e-4)


def test_restore_from_a_directory_takes_the_newest_checkpoint(tmp_path):
    agent = local_agent()
    agent.train()
    agent.save(tmp_path)
    agent.train()
    newest = agent.save(tmp_path)
    assert latest_checkpoint(tmp_path) == newest
    assert A3C.from_checkpoint(tmp_path).iteration == 2


def test_restoring_into_a_different_environment_names_what_differs(tmp_path):
    path = local_agent().save(tmp_path)
    other = local_agent(env="MountainCar-v0")
    expected = (
        r"environment action.sizes: checkpoint has \[2\], this agent has \[3\]; "
        r"environment observation.shape: checkpoint has \[4\], this agent has \[2\]"
    )
    with pytest.raises(CheckpointError, match=expected):
        other.restore(path)


def test_restoring_into_a_different_model_names_what_differs(tmp_path):
    path = local_agent().save(tmp_path)
    other = local_agent(model={"fcnet_hiddens": [32]})
    with pytest.raises(CheckpointError, match=r"model fcnet_hiddens: checkpoint has \[16\], this agent has \[32\]"):
        other.restore(path)


def test_missing_file_and_empty_directory_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match="no checkpoint in"):
        read_checkpoint(tmp_path)


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    text = tmp_path / "notes.safetensors"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not an a3c checkpoint"):
        read_checkpoint(text)
    foreign = tmp_path / "foreign.safetensors"
    safetensors.numpy.save_file({"x": np.zeros(3, dtype=np.float32)}, str(foreign))
    with pytest.raises(CheckpointError, match="not an a3c checkpoint"):
        read_checkpoint(foreign)


def test_a_truncated_checkpoint_is_refused(tmp_path):
    path = local_agent().save(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not an a3c checkpoint"):
        read_checkpoint(path)


def test_a_newer_format_version_is_refused(tmp_path):
    path = tmp_path / "future.safetensors"
    metadata = {"format": FORMAT, "format_version": "99", "state": json.dumps({})}
    safetensors.numpy.save_file({"weights": np.zeros(3, dtype=np.float32)}, str(path), metadata)
    with pytest.raises(CheckpointError, match="format version 99.*upgrade"):
        read_checkpoint(path)


class _Payload:
    """Unpickling this creates a marker file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_pickle_is_refused_and_its_payload_never_runs(tmp_path):
    marker = tmp_path / "payload-ran"
    for name in ["evil.safetensors", "evil.pt", "evil.pkl"]:
        crafted = tmp_path / name
        crafted.write_bytes(pickle.dumps(_Payload(str(marker))))
        with pytest.raises(CheckpointError):
            read_checkpoint(crafted)
        with pytest.raises(CheckpointError):
            A3C.from_checkpoint(crafted)
    assert not marker.exists()


def test_a_save_killed_between_write_and_rename_leaves_the_previous_checkpoint_intact(tmp_path):
    agent = local_agent()
    agent.train()
    previous = agent.save(tmp_path)
    previous_bytes = previous.read_bytes()
    # A second process overwrites the same checkpoint name and is SIGKILLed just before the rename.
    script = textwrap.dedent(f"""
        import os, signal
        import a3c.checkpoint as ckpt
        from a3c.agents.a3c import A3CAgent
        agent = A3CAgent.from_checkpoint({str(previous)!r})
        agent.config["grads_per_step"] = 1
        agent.iteration -= 1  # save under the very same name
        ckpt._rename_into_place = lambda tmp, path: os.kill(os.getpid(), signal.SIGKILL)
        agent.save({str(tmp_path)!r})
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == -9, out.stderr
    assert previous.read_bytes() == previous_bytes
    assert read_checkpoint(previous).state["counters"]["training_iteration"] == 1
    assert latest_checkpoint(tmp_path) == previous


def test_an_interrupted_save_cleans_up_its_temporary_file(tmp_path, monkeypatch):
    import a3c.checkpoint as ckpt

    agent = local_agent()
    path = agent.save(tmp_path)

    def interrupted(tmp, target):
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt, "_rename_into_place", interrupted)
    with pytest.raises(KeyboardInterrupt):
        agent.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_run_directory_its_checkpoints_and_its_index_all_name_a_checkpoint(tmp_path):
    """Newest by default, the best by reward on request; the agent and evaluation read the same one."""
    from a3c.checkpoint import resolve_checkpoint
    from a3c.evaluation import SavedPolicy
    from a3c.runlog import CheckpointKeeper

    agent = local_agent()
    folder = tmp_path / "run" / "checkpoints"
    keeper = CheckpointKeeper(folder)
    for reward in [5.0, 30.0, 10.0]:  # the second checkpoint is the best
        agent.train()
        keeper.add(agent.save(folder), reward)
    newest, best = folder / "checkpoint_000003.safetensors", folder / "checkpoint_000002.safetensors"
    for path in [tmp_path / "run", folder, folder / "index.json"]:
        assert resolve_checkpoint(path) == newest
        assert resolve_checkpoint(path, best=True) == best
        assert SavedPolicy(path).path == newest and SavedPolicy(path, best=True).path == best
    assert resolve_checkpoint(newest) == newest
    assert A3C.from_checkpoint(folder / "index.json").iteration == 3
    assert A3C.from_checkpoint(tmp_path / "run", best=True).iteration == 2

    (tmp_path / "run" / "config.json").write_text("{}")
    (tmp_path / "run" / "progress.csv").write_text("training_iteration\n1\n")
    for path, message in [
        (tmp_path / "run" / "config.json", "not an a3c checkpoint but a JSON file; give a checkpoint file"),
        (tmp_path / "run" / "progress.csv", r"not an a3c checkpoint \(not a safetensors file\); give a checkpoint"),
        (tmp_path / "nowhere", "checkpoint not found"),
        (tmp_path, "no checkpoint in"),
    ]:
        with pytest.raises(CheckpointError, match=message):
            read_checkpoint(path)
    with pytest.raises(CheckpointError, match="best checkpoint is picked from a run's index.json"):
        resolve_checkpoint(newest, best=True)
