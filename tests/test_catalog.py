"""Each part of the model catalog on a task that needs it: a Gaussian policy, an LSTM, a conv net,
Dict observations; checkpoints of every model kind; the MLP worker's numpy fast path."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from custom_env import RoomsEnv
from toy_envs import CueEnv, SideEnv, TargetEnv

from a3c import A2CAgent, A3CAgent, PPOAgent
from a3c.config import resolve_model
from a3c.models import build_model

FAST = {"execution": "local", "num_workers": 2, "seed": 0, "batch_size": 8, "num_envs_per_worker": 4}
FAST_LR = {"lr": 3e-3, "lr_decay_steps": 0, "grads_per_step": 20}


def train(env, iterations, **config):
    agent = A3CAgent({**FAST, **FAST_LR, **config}, env)
    rewards = [agent.train().episode_reward_mean for _ in range(iterations)]
    return agent, rewards


def test_a_gaussian_policy_learns_a_continuous_action_task():
    agent, rewards = train(lambda c: TargetEnv(), 15, model={"fcnet_hiddens": [32]})
    assert rewards[-1] > -0.5 and rewards[-1] > rewards[0] + 0.3, rewards
    assert agent.model.describe() == "Constructing fcnet [32] tanh, separate value network"
    action = agent.compute_action(np.array([0.5], dtype=np.float32), explore=False)
    assert action.shape == (1,) and abs(float(action[0]) - 0.5) < 0.4


def test_a_memory_task_is_solved_with_an_lstm_and_not_without():
    model = {"fcnet_hiddens": [32], "lstm_cell_size": 32}
    _, with_lstm = train(lambda c: CueEnv(), 8, gamma=0.99, model={**model, "use_lstm": True})
    _, without = train(lambda c: CueEnv(), 8, gamma=0.99, model={**model, "use_lstm": False})
    assert with_lstm[-1] >= 0.8, with_lstm
    assert without[-1] < 0.5, without  # a feed-forward policy cannot know the cue: about 0


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_a_small_image_task_is_learned_with_the_conv_net(precision):
    model = {"conv_fc_hiddens": [32], "conv_filters": [[8, 3, 2]], "conv_precision": precision}
    agent, rewards = train(lambda c: SideEnv(), 4, model=model)
    assert agent.spaces.encoder.is_image and agent.model.describe().startswith("Constructing conv [[8, 3, 2]]")
    assert rewards[-1] >= 0.8 > rewards[0], rewards  # chance is 0.5


def test_bfloat16_conv_precision_changes_only_the_passes_that_carry_a_gradient_and_keeps_them_close():
    frames = torch.randint(0, 256, (32, 4, 42, 42), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    nets, outputs, grads = {}, {}, {}
    for precision in ("float32", "bfloat16"):
        torch.manual_seed(0)
        nets[precision] = net = build_model((4, 42, 42), 6, resolve_model({"conv_precision": precision}), True)
        logits, values = net(frames)
        (torch.log_softmax(logits, -1)[:, 0].sum() + values.square().sum()).backward()
        outputs[precision] = torch.cat([logits, values[:, None]], 1).detach()
        grads[precision] = torch.from_numpy(net.get_flat_grad())
    np.testing.assert_array_equal(nets["float32"].get_flat_weights(), nets["bfloat16"].get_flat_weights())
    with torch.no_grad():  # acting (and export): float32 in both, bit for bit
        torch.testing.assert_close(nets["bfloat16"](frames)[0], nets["float32"](frames)[0], rtol=0, atol=0)
    assert outputs["bfloat16"].dtype == torch.float32 and not torch.equal(outputs["bfloat16"], outputs["float32"])
    torch.testing.assert_close(outputs["bfloat16"], outputs["float32"], rtol=0.05, atol=0.02)
    assert not torch.equal(grads["bfloat16"], grads["float32"])  # autocast ran
    cosine = torch.nn.functional.cosine_similarity(grads["bfloat16"], grads["float32"], dim=0)
    assert cosine > 0.99, cosine
    assert all(p.dtype == torch.float32 for p in nets["bfloat16"].parameters())


def test_dict_observations_are_learned():
    _, rewards = train(lambda c: RoomsEnv(), 6, model={"fcnet_hiddens": [32]})
    assert rewards[-1] >= 0.8 > rewards[0], rewards  # chance is 1/3


KINDS = {
    "gaussian": (lambda c: TargetEnv(), {"model": {"fcnet_hiddens": [8]}}),
    "lstm": (lambda c: CueEnv(), {"model": {"fcnet_hiddens": [8], "use_lstm": True, "lstm_cell_size": 4}}),
    "conv": (lambda c: SideEnv(), {"model": {"conv_fc_hiddens": [8], "conv_filters": [[4, 3, 2]]}}),
    "dict": (lambda c: RoomsEnv(), {"model": {"fcnet_hiddens": [8]}}),
}


@pytest.mark.parametrize("cls", [A3CAgent, PPOAgent, A2CAgent])
@pytest.mark.parametrize("kind", KINDS)
def test_every_model_kind_trains_and_round_trips_through_a_checkpoint(kind, cls, tmp_path):
    env, config = KINDS[kind]
    per_class = {"train_batch_size": 32, "num_sgd_iter": 1} if cls is PPOAgent else {"grads_per_step": 2}
    small = {**FAST, "num_workers": 1, **per_class, **config}
    agent = cls(small, env)
    agent.train()
    path = agent.save(tmp_path)
    restored = cls.from_checkpoint(path, env=env)
    np.testing.assert_array_equal(restored.learner.weights(), agent.learner.weights())
    assert restored.spaces.to_dict() == agent.spaces.to_dict()
    assert restored.train().training_iteration == 2


def test_a_checkpoint_of_format_1_still_loads_and_resumes(tmp_path):
    """tests/fixtures/checkpoint_v1_cartpole.safetensors was written before spaces became specs."""
    from pathlib import Path

    from a3c.checkpoint import read_checkpoint
    from a3c.evaluation import SavedPolicy

    fixture = Path(__file__).parent / "fixtures" / "checkpoint_v1_cartpole.safetensors"
    assert read_checkpoint(fixture).state["spaces"] == {"obs_shape": [4], "num_actions": 2}
    agent = A3CAgent.from_checkpoint(fixture)
    assert agent.iteration == 1 and agent.model.num_params() == 67
    assert agent.config["normalize_rewards"] is False  # it predates the key: the run had none
    assert agent.train().training_iteration == 2
    assert SavedPolicy(fixture).evaluate(episodes=2, seed=0).summary["mean"] > 0


def test_an_mlp_worker_never_imports_torch():
    code = (
        "import sys\n"
        "from a3c.config import A3C_SCHEMA, resolve_config\n"
        "from a3c.worker import RolloutWorker\n"
        "for env in ['CartPole-v1', 'Pendulum-v1', 'FrozenLake-v1']:\n"
        "    worker = RolloutWorker(env, resolve_config({'seed': 0}, A3C_SCHEMA), 1)\n"
        "    worker.compute_gradients(worker.get_weights())\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_checkpoint_names_every_parameter_and_its_shape(tmp_path):
    from a3c.checkpoint import read_checkpoint

    agent = A3CAgent({**FAST, "grads_per_step": 1, "model": {"fcnet_hiddens": [8]}}, lambda c: TargetEnv())
    state = read_checkpoint(agent.save(tmp_path)).state
    layout = [(name, shape) for name, shape in state["parameters"]]
    assert layout[0] == ("trunk.0.weight", [8, 1]) and layout[-1] == ("log_std.log_std", [1])
    assert sum(int(np.prod(shape)) for _, shape in layout) == agent.model.num_params()


def spaces_of_env(env):
    from a3c.envs import check_spaces

    return check_spaces(env)


@pytest.mark.parametrize(
    "env, model, algorithm, decided",
    [
        ("CartPole-v1", {}, "a3c", ("mlp", "categorical", 1.4e-3, False)),
        (TargetEnv, {}, "ppo", ("mlp", "gaussian", 1e-3, False)),
        (SideEnv, {}, "a2c", ("conv", "categorical", 2.5e-4, True)),
        (CueEnv, {"use_lstm": True}, "a3c", ("lstm", "categorical", 1.4e-3, True)),
        (SideEnv, {"use_lstm": True}, "a3c", ("lstm", "categorical", 2.5e-4, True)),
        (TargetEnv, {"custom_model": "toy_models:TinyModel"}, "a3c", ("custom", "gaussian", 1.4e-3, True)),
    ],
)
def test_the_catalog_decides_network_distribution_rate_and_torch_in_one_place(env, model, algorithm, decided):
    import gymnasium as gym

    from a3c.catalog import plan_model
    from a3c.config import resolve_model

    spaces = spaces_of_env(gym.make(env) if isinstance(env, str) else env())
    plan = plan_model(spaces, resolve_model(model), algorithm)
    assert (plan.kind, plan.distribution_kind, plan.lr, plan.needs_torch) == decided
    numpy_classes = {"categorical": "Categorical", "gaussian": "DiagGaussian"}
    assert type(plan.distribution()).__name__ == numpy_classes[plan.distribution_kind]


@pytest.mark.parametrize("env", ["CartPole-v1", "FrozenLake-v1", "a3c-tests/Actions-v0", "Pendulum-v1"])
@pytest.mark.parametrize("share", [True, False])
def test_torch_and_numpy_models_are_built_from_the_catalogs_one_layout(env, share):
    """Every action distribution: torch's named parameters are the catalog's layout, which the numpy
    model reads (so a flat vector means the same to both)."""
    import gymnasium as gym

    from a3c.catalog import plan_model
    from a3c.config import resolve_model
    from a3c.core.numpy_model import NumpyActorCritic
    from a3c.models import build_network

    spaces = spaces_of_env(gym.make(env))
    plan = plan_model(spaces, resolve_model({"fcnet_hiddens": [8, 4], "vf_share_layers": share}))
    torch_model = build_network(plan)
    layout = [(name, tuple(p.shape)) for name, p in torch_model.named_parameters()]
    assert layout == plan.layout() == NumpyActorCritic(plan).layout
    assert layout[0] == ("trunk.0.weight", (8, spaces.obs_size)) and layout[2][0] == "trunk.2.weight"
    assert any(name.startswith("value_trunk.") for name, _ in layout) is not share


@pytest.mark.parametrize("activation, module", [("relu", "ReLU"), ("elu", "ELU")])
def test_conv_activation_sets_every_nonlinearity_of_an_image_network(activation, module):
    """`conv_activation` reaches the conv stack and the dense layers after it (an ELU unit keeps a
    gradient where a ReLU unit has none), and the construction line names it."""
    from a3c.catalog import plan_model
    from a3c.config import resolve_model
    from a3c.models import build_network

    plan = plan_model(spaces_of_env(SideEnv()), resolve_model({"conv_activation": activation}))
    net = build_network(plan)
    nonlinear = {type(m).__name__ for m in net.modules() if type(m).__name__ in ("ReLU", "ELU", "Tanh")}
    assert nonlinear == {module}
    assert f"] {activation}" in net.describe()


def test_image_networks_default_to_elu_and_a_checkpoint_from_before_keeps_relu():
    """ELU is the default for images (BENCHMARKS, "Pong levers"); a checkpoint written before the key
    existed was a ReLU network and restores as one."""
    from a3c.config import resolve_model, upgrade_saved_config

    assert resolve_model({})["conv_activation"] == "elu"
    assert upgrade_saved_config({"model": {"conv_filters": None}})["model"]["conv_activation"] == "relu"
    assert upgrade_saved_config({"model": {"conv_activation": "elu"}})["model"]["conv_activation"] == "elu"
    assert upgrade_saved_config({})["scale_observations"] is True  # scaled before the key existed
