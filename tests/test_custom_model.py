"""A network of your own (issue 30): it trains with every agent, checkpoints, restores, evaluates; a
recurrent one gets the built-in LSTM's reset rule; a bad one is a clear error before any actor starts."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from custom_model import ResidualMLP
from toy_envs import CueEnv

import a3c
from a3c import A2CAgent, A3CAgent, ConfigError, PPOAgent
from a3c.checkpoint import CheckpointError
from a3c.evaluation import SavedPolicy
from a3c.policy import TorchPolicy

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TESTS = Path(__file__).resolve().parent
FAST = {"execution": "local", "num_workers": 2, "seed": 0, "batch_size": 8, "num_envs_per_worker": 2}
BY_PATH = {"custom_model": "custom_model:ResidualMLP", "custom_model_config": {"width": 16}}


def small(cls, **config):
    per_class = {"train_batch_size": 32, "num_sgd_iter": 1} if cls is PPOAgent else {"grads_per_step": 4}
    return {**FAST, **per_class, **config}


@pytest.mark.parametrize("cls", [A3CAgent, A2CAgent, PPOAgent])
def test_a_custom_model_trains_checkpoints_restores_and_evaluates_with_every_agent(cls, tmp_path):
    agent = cls(small(cls, model=BY_PATH), "CartPole-v1")
    assert isinstance(agent.model.net, ResidualMLP) and agent.model.net.inp.out_features == 16
    assert all(isinstance(worker.policy, TorchPolicy) for worker in agent.pool.workers)  # never the numpy path
    before = agent.learner.weights().copy()
    agent.train()
    assert not np.array_equal(before, agent.learner.weights())
    path = agent.save(tmp_path)
    restored = cls.from_checkpoint(path)
    np.testing.assert_array_equal(restored.learner.weights(), agent.learner.weights())
    assert restored.config["model"]["custom_model"] == "custom_model:ResidualMLP"
    assert restored.train().training_iteration == 2
    result = SavedPolicy(path).evaluate(episodes=2, deterministic=True, seed=0)
    assert len(result.rewards) == 2 and result.summary["mean"] > 0


def test_a_registered_name_works_like_an_import_path(tmp_path):
    a3c.register_model("tests-residual", ResidualMLP)
    agent = A3CAgent(small(A3CAgent, model={"custom_model": "tests-residual"}), "CartPole-v1")
    agent.train()
    policy = SavedPolicy(agent.save(tmp_path))
    assert isinstance(policy.policy.net.net, ResidualMLP)
    assert policy.compute_action(np.zeros(4, np.float32), deterministic=True) in (0, 1)


def test_restore_refuses_a_different_custom_model_by_name(tmp_path):
    a3c.register_model("tests-other", ResidualMLP)
    path = A3CAgent(small(A3CAgent, model=BY_PATH), "CartPole-v1").save(tmp_path)
    with pytest.raises(CheckpointError, match=r"model custom_model: checkpoint has 'custom_model:ResidualMLP'"):
        A3CAgent.from_checkpoint(path, model={**BY_PATH, "custom_model": "tests-other"})
    with pytest.raises(CheckpointError, match="custom_model"):
        A3CAgent.from_checkpoint(path, model={})  # nor the built-in network


def test_a_recurrent_custom_model_solves_the_memory_task():
    """CueEnv needs memory: a feed-forward policy averages 0. The state is zeroed at each episode start."""
    model = {"custom_model": "toy_models:TinyGRU"}
    agent = A3CAgent(
        {**FAST, "lr": 3e-3, "grads_per_step": 20, "num_envs_per_worker": 4, "model": model}, lambda c: CueEnv()
    )
    assert agent.model.recurrent and agent.pool.workers[0].policy.recurrent
    rewards = [agent.train().episode_reward_mean for _ in range(8)]
    assert rewards[-1] >= 0.8, rewards
    action, state = agent.compute_action(np.array([1.0, 0.0], np.float32), explore=False)
    assert len(state) == 1 and state[0].shape == (1, 16)


def test_a_truncated_episode_bootstraps_from_a_recurrent_custom_models_state():
    """At a time limit the worker takes the value of the last observation with that env's state row:
    a custom state of one tensor, not the LSTM's two."""
    from gymnasium.wrappers import TimeLimit

    model = {"custom_model": "toy_models:TinyGRU"}
    config = {**small(A3CAgent, model=model), "num_workers": 0, "batch_size": 8}
    agent = A3CAgent(config, lambda c: TimeLimit(CueEnv({"length": 50}), max_episode_steps=3))
    result = agent.train()
    assert result.episodes_this_iter > 0 and result.episode_len_mean == 3


def test_a_recurrent_custom_model_trains_with_ppo():
    model = {"custom_model": "toy_models:TinyGRU"}
    agent = PPOAgent(small(PPOAgent, model=model), lambda c: CueEnv())
    assert agent.train().info["learner"]["num_sgd_steps"] >= 1


def test_the_reset_rule_zeroes_the_state_where_an_episode_starts():
    agent = A3CAgent(small(A3CAgent, model={"custom_model": "toy_models:TinyGRU"}), lambda c: CueEnv())
    obs = torch.randn(3, 2, 2)
    state = (torch.randn(2, 16),)
    resets = torch.tensor([[False, True], [False, False], [True, False]])
    params, values, _ = agent.model.forward_sequence(obs, state, resets)
    by_hand = []
    h = state[0]
    for t in range(3):
        h = h * (~resets[t]).float()[:, None]
        p, _, (h,) = agent.model.net(obs[t], (h,))
        by_hand.append(p)
    torch.testing.assert_close(params, torch.stack(by_hand))


BROKEN = {
    "no_such_module:Net": "cannot import module 'no_such_module'",
    "toy_models:Missing": "module 'toy_models' has no 'Missing'",
    "toy_models:NOT_A_MODULE": "is not a torch.nn.Module subclass",
    "not-registered": "'not-registered' is not a registered model",
    "toy_models:BadConstructor": r"BadConstructor\(\(4,\), 2, model_config\) raised TypeError",
    "toy_models:NoParameters": "has no parameters",
    "toy_models:Raises": "forward on a batch of 2 observations of shape \\(4,\\) raised RuntimeError: mat1",
    "toy_models:OneOutput": r"forward must return \(params, value\), got Tensor",
    "toy_models:WrongParamsSize": r"forward's params must have shape \[2, 2\] for a batch of 2, got \[2, 3\]",
    "toy_models:ValueNotSqueezed": r"value must have shape \[2\].*got \[2, 1\] \(squeeze\(-1\)",
    "toy_models:Detached": "does not depend on the module's parameters",
    "toy_models:StateNotZero": r"initial_state\(2\) must be zeros",
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_bad_module_is_a_config_error_naming_what_is_wrong(name):
    with pytest.raises(ConfigError, match=BROKEN[name]) as error:
        A3CAgent({**FAST, "model": {"custom_model": name}}, "CartPole-v1")
    assert "config['model']['custom_model']" in str(error.value)


def test_config_errors_for_custom_models():
    with pytest.raises(ConfigError, match=r"\['use_lstm'\] must be False with a custom_model"):
        A3CAgent({**FAST, "model": {**BY_PATH, "use_lstm": True}}, "CartPole-v1")
    with pytest.raises(ConfigError, match=r"config\['model.custom_model'\] must be"):
        A3CAgent({**FAST, "model": {"custom_model": 3}}, "CartPole-v1")
    with pytest.raises(ConfigError, match="without ':'"):
        a3c.register_model("a:b", ResidualMLP)
    with pytest.raises(ConfigError, match="torch.nn.Module subclass"):
        a3c.register_model("fn", lambda *args: None)


def cli(*args, cwd):
    path = os.pathsep.join([str(EXAMPLES), str(TESTS), os.environ.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "a3c.cli", *map(str, args)]
    return subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, timeout=300, env={**os.environ, "PYTHONPATH": path}
    )


def test_ray_workers_import_a_custom_model_by_path_then_evaluate_and_export_from_the_cli(tmp_path):
    run = tmp_path / "run"
    settings = ["--set", "model.custom_model=custom_model:ResidualMLP", "--set", "grads_per_step=10"]
    out = cli("train", "CartPole-v1", "--workers", "2", *settings, "--iterations", 2, "--run-dir", run, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Constructing custom model custom_model:ResidualMLP" in out.stderr
    out = cli("evaluate", run, "--episodes", 2, "--deterministic", cwd=tmp_path)
    assert out.returncode == 0 and "mean" in out.stdout, out.stderr
    out = cli("export", run, "--format", "onnx", "--out", tmp_path / "policy.onnx", "--check-steps", 300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "300/300 deterministic actions equal" in out.stdout and (tmp_path / "policy.onnx").stat().st_size > 0


@pytest.mark.parametrize(
    "model, message",
    [
        ("custom_model:Nope", "module 'custom_model' has no 'Nope'"),
        ("toy_models:ValueNotSqueezed", "forward's value must have shape [2]"),
    ],
)
def test_a_bad_module_on_the_command_line_is_one_line(model, message, tmp_path):
    out = cli("train", "CartPole-v1", "--workers", "0", "--set", f"model.custom_model={model}", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert message in out.stderr and len(out.stderr.strip().splitlines()) <= 5, out.stderr


def test_compare_runs_a_custom_model(tmp_path):
    from a3c import compare

    config = {**small(A3CAgent, model=BY_PATH), "seed": None}
    result = compare("CartPole-v1", ["a3c"], 1, {"training_iteration": 1}, {"a3c": config}, tmp_path)
    assert len(result.runs) == 1 and len(result.runs[0].rows) == 1


def test_a_tune_trial_builds_a_model_registered_in_the_driver(ray_session, tmp_path):
    """The trial runs in another process: the registered class travels with the trainable (by value, as a
    class defined in a user's script does; this test's module is not importable there)."""
    from torch import nn

    from a3c.tune import import_tune, trainable

    class Linear(nn.Module):
        def __init__(self, obs_shape, num_outputs, model_config):
            super().__init__()
            self.out = nn.Linear(obs_shape[0], num_outputs + 1)

        def forward(self, obs):
            out = self.out(obs)
            return out[:, :-1], out[:, -1]

    a3c.register_model("tests-tune-linear", Linear)
    tune = import_tune()
    space = {
        "env": "CartPole-v1",
        "num_workers": 0,
        "grads_per_step": 2,
        "model": {"custom_model": "tests-tune-linear"},
    }
    tuner = tune.Tuner(
        trainable("a3c"),
        param_space=space,
        run_config=tune.RunConfig(storage_path=str(tmp_path), stop={"training_iteration": 1}, verbose=0),
    )
    (result,) = tuner.fit()
    assert result.error is None, result.error
    assert result.metrics["training_iteration"] == 1
