"""Take the policy anywhere (issue 30): every model kind and action distribution exported as ONNX (run
by onnxruntime) and TorchScript (loaded by torch) gives SavedPolicy's deterministic actions and values
on hundreds of observations from its environment; `a3c export` checks that and says so."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from a3c import A3CAgent
from a3c.errors import ExportError
from a3c.evaluation import SavedPolicy
from a3c.export import check_agreement, export_policy, load_exported, observation_feed

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TESTS = Path(__file__).resolve().parent
FAST = {"execution": "local", "num_workers": 1, "num_envs_per_worker": 2, "seed": 0, "grads_per_step": 3}
SIDE, ACTIONS = "toy_envs:a3c-tests/Side-v0", "toy_envs:a3c-tests/Actions-v0"
TINY_CONV = {"conv_filters": [[4, 3, 2]], "conv_fc_hiddens": [8]}

KINDS = {
    "mlp, discrete": ("CartPole-v1", {"fcnet_hiddens": [16]}, {}),
    "gaussian": ("Pendulum-v1", {"fcnet_hiddens": [16]}, {}),
    "conv": (SIDE, TINY_CONV, {}),
    "lstm": ("CartPole-v1", {"fcnet_hiddens": [16], "use_lstm": True, "lstm_cell_size": 8}, {}),
    "custom": ("CartPole-v1", {"custom_model": "custom_model:ResidualMLP"}, {}),
    "custom, recurrent": ("CartPole-v1", {"custom_model": "toy_models:TinyGRU"}, {}),
    "custom, conv": (SIDE, {"custom_model": "toy_models:SmallConv"}, {}),
    "dict obs, bernoulli": (ACTIONS, {"fcnet_hiddens": [16]}, {}),
    "dict obs, multi-categorical": (ACTIONS, {"fcnet_hiddens": [16]}, {"actions": "multi_discrete"}),
}


@pytest.fixture(scope="module")
def saved_policies(tmp_path_factory):
    """One briefly trained checkpoint per kind (trained: the observation filter has statistics to bake in)."""
    policies = {}
    for kind, (env, model, env_config) in KINDS.items():
        agent = A3CAgent({**FAST, "model": model, "env_config": env_config}, env)
        agent.train()
        policies[kind] = SavedPolicy(agent.save(tmp_path_factory.mktemp("run")))
    return policies


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_exported_graph_gives_saved_policys_actions(kind, fmt, saved_policies, tmp_path):
    saved = saved_policies[kind]
    path = export_policy(saved, tmp_path / f"policy.{fmt}", fmt)
    agreement = check_agreement(saved, load_exported(path, fmt), steps=300)
    assert agreement.agrees, agreement.describe()
    assert agreement.observations == 300 and agreement.max_value_diff < 1e-4, agreement.describe()
    if saved.recurrent:
        assert 0 <= agreement.max_state_diff < 1e-4, agreement.describe()


def test_an_onnx_graph_takes_a_batch_of_observations(saved_policies, tmp_path):
    saved = saved_policies["conv"]
    run = load_exported(export_policy(saved, tmp_path / "policy.onnx", "onnx"), "onnx")
    env = saved.make_env()
    observations = [env.reset(seed=seed)[0] for seed in range(8)]
    batch = np.concatenate([observation_feed(saved.spaces.encoder, obs)["obs"] for obs in observations])
    out = run({"obs": batch})
    assert out["action"].shape == (8,) and out["value"].shape == (8,)
    expected = [saved.compute_action(obs, deterministic=True) for obs in observations]
    np.testing.assert_array_equal(out["action"], expected)


def test_the_filter_statistics_are_baked_in(saved_policies, tmp_path):
    """A graph that left the observation filter out would disagree: the check would fail, not pass silently."""
    saved = saved_policies["mlp, discrete"]
    assert saved.obs_filter.stat.count > 0
    path = export_policy(saved, tmp_path / "policy.onnx", "onnx")
    stat = saved.obs_filter.stat
    saved.obs_filter.stat = type(stat)(stat.mean.shape)  # the Python side loses its statistics
    try:
        agreement = check_agreement(saved, load_exported(path, "onnx"), steps=300)
    finally:
        saved.obs_filter.stat = stat
    assert agreement.max_value_diff > 1e-3, agreement.describe()


def test_an_unknown_format_is_an_export_error(saved_policies, tmp_path):
    with pytest.raises(ExportError, match="--format must be one of onnx, torchscript"):
        export_policy(saved_policies["mlp, discrete"], tmp_path / "policy.pb", "tensorflow")


def cli(*args, cwd):
    path = os.pathsep.join([str(EXAMPLES), str(TESTS), os.environ.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "a3c.cli", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=300, env=env)


@pytest.fixture(scope="module")
def branching_run(tmp_path_factory):
    """A run whose custom module branches on its input in Python: tracing bakes one branch in."""
    directory = tmp_path_factory.mktemp("branching")
    agent = A3CAgent({**FAST, "model": {"custom_model": "toy_models:BranchesOnData"}}, "CartPole-v1")
    agent.train()
    return agent.save(directory)


def test_the_cli_refuses_a_graph_that_disagrees_and_removes_it(branching_run, tmp_path):
    out_file = tmp_path / "policy.pt"
    out = cli("export", branching_run, "--format", "torchscript", "--out", out_file, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "the exported graph disagrees with the policy" in out.stderr and not out_file.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "pdf"], "--format must be one of onnx, torchscript, got 'pdf'"),
        (["--format", "onnx", "--out", "."], "is a directory: give a file name"),
    ],
)
def test_bad_export_input_is_one_line(args, message, branching_run, tmp_path):
    command = ["export", branching_run, "--out", tmp_path / "p.onnx", *args]
    out = cli(*command, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_exporting_a_missing_checkpoint_is_one_line(tmp_path):
    out = cli("export", tmp_path / "nothing-here", "--out", tmp_path / "p.onnx", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr and "checkpoint not found" in out.stderr


@pytest.mark.parametrize("layout, shape", [("HW", (10, 12)), ("HWC", (10, 12, 3)), ("CHW", (4, 10, 12))])
def test_every_image_layout_is_encoded_as_the_workers_encode_it(layout, shape):
    """Atari's stacked frames are CHW; the conv test above covers HW."""
    import torch

    from a3c.export import _EncodeLeaf
    from a3c.spaces import ImageEncoder

    encoder = ImageEncoder(shape, layout)
    images = np.random.default_rng(0).integers(0, 256, (5, *shape), dtype=np.uint8)
    encoded = _EncodeLeaf(encoder)(torch.from_numpy(images)).numpy()
    np.testing.assert_array_equal(encoded, encoder.batch(images))
