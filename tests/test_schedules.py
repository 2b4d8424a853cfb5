"""Learning-rate schedules: the linear anneal and the plateau drop, alone and inside an agent."""

import math

import numpy as np
import pytest
from toy_envs import CueEnv

from a3c import A3CAgent
from a3c.agents.a3c import A3CAgent as A3C
from a3c.checkpoint import read_checkpoint
from a3c.config import ConfigError
from a3c.core.schedules import PlateauDrop, linear_lr

SMALL = {"model": {"fcnet_hiddens": [16]}, "seed": 3, "batch_size": 8, "num_envs_per_worker": 1}


def test_linear_lr_matches_a_slow_interpolation_and_then_stays():
    for t in range(0, 2001, 50):
        expected = np.interp(t, [0, 1000], [1e-3, 1e-4])
        assert linear_lr(1e-3, 1e-4, 1000, t) == pytest.approx(expected)
    assert linear_lr(1e-3, 1e-4, 0, 5000) == 1e-3


def test_a_flat_return_that_never_rose_keeps_the_full_rate():
    drop = PlateauDrop(patience=100)
    for t in range(0, 10_000, 50):
        assert drop.observe(t, -200.0) == 1.0


def test_a_return_that_rose_and_stalls_drops_once_per_patience():
    drop = PlateauDrop(patience=100, factor=0.5)
    drop.observe(0, -100.0)
    drop.observe(10, -50.0)  # risen: best -50 at 10
    assert drop.observe(100, -60.0) == 1.0  # 90 steps since the best
    assert drop.observe(110, -60.0) == 0.5
    assert drop.observe(200, -55.0) == 0.5  # the next drop needs another 100 steps
    assert drop.observe(210, -55.0) == 0.25
    assert drop.observe(220, -40.0) == 0.25  # a new best: the count starts again, the rate stays
    assert drop.observe(310, -45.0) == 0.25
    assert drop.observe(320, -45.0) == 0.125


def test_nan_returns_and_patience_zero_change_nothing():
    drop = PlateauDrop(patience=10)
    assert drop.observe(0, math.nan) == 1.0 and drop.first is None
    off = PlateauDrop(patience=0)
    for t, reward in enumerate([0.0, 5.0, 1.0, 1.0, 1.0]):
        assert off.observe(t * 100, reward) == 1.0


def test_plateau_state_round_trips():
    drop = PlateauDrop(patience=100, factor=0.3)
    for t, reward in [(0, -10.0), (5, 3.0), (200, 1.0)]:
        drop.observe(t, reward)
    assert PlateauDrop.from_state(drop.state()) == drop


def local_agent(env="CartPole-v0", **overrides):
    return A3CAgent({**SMALL, "execution": "local", "num_workers": 1, **overrides}, env)


def test_the_learner_drops_its_rate_on_a_plateau_but_never_below_lr_final():
    agent = local_agent(lr=1e-3, lr_final=3e-4, lr_plateau_steps=100, lr_plateau_factor=0.5)
    learner = agent.learner
    learner.observe_return(0, 10.0)
    learner.observe_return(50, 20.0)
    learner.observe_return(150, 15.0)
    assert learner.update_lr(150) == pytest.approx(5e-4)
    learner.observe_return(250, 15.0)
    assert learner.update_lr(250) == pytest.approx(3e-4)  # 2.5e-4 is below lr_final
    assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(3e-4)


def test_training_feeds_the_return_to_the_plateau_drop():
    """A feed-forward policy cannot beat chance on CueEnv: its 100-episode mean wanders around 0,
    rises above the first value by chance and then stalls, so the rate must come down."""
    agent = local_agent(lambda c: CueEnv(), grads_per_step=20, lr_plateau_steps=400)
    lrs = [agent.train().info["learner"]["cur_lr"] for _ in range(60)]
    assert lrs[0] == agent.config["lr"]
    assert min(lrs) < agent.config["lr"] / 1.9
    assert lrs == sorted(lrs, reverse=True)


def test_checkpoints_keep_the_plateau_state(tmp_path):
    agent = local_agent(lr_plateau_steps=100)
    agent.train()
    agent.learner.observe_return(0, 10.0)
    agent.learner.observe_return(50, 20.0)
    agent.learner.observe_return(200, 15.0)
    path = agent.save(tmp_path)
    restored = A3C.from_checkpoint(path)
    assert restored.learner.plateau == agent.learner.plateau
    assert restored.learner.plateau.scale == 0.5
    assert restored.learner.optimizer.param_groups[0]["lr"] == agent.learner.optimizer.param_groups[0]["lr"]
    assert restored.train().info["learner"]["cur_lr"] == pytest.approx(agent.config["lr"] / 2)


def test_a_checkpoint_saved_before_any_return_is_plain_json(tmp_path):
    agent = local_agent(lr_plateau_steps=100)
    path = agent.save(tmp_path)
    assert read_checkpoint(path).state["optimizer"]["plateau"]["best"] is None
    assert A3C.from_checkpoint(path).learner.plateau.best == -math.inf


def test_a_plateau_floor_at_or_above_lr_is_refused():
    with pytest.raises(ConfigError, match="lr_final, which must then be below lr"):
        local_agent(lr=3e-5, lr_final=5e-5, lr_plateau_steps=100)
