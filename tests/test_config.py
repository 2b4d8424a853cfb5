"""Bad input: every config or environment mistake is a clear error, raised before any actor starts."""

import subprocess
import sys

import pytest
from toy_envs import SideEnv

from a3c import DEFAULT_CONFIG, A2CAgent, A3CAgent, ConfigError, EnvError, PPOAgent
from a3c.catalog import CONV_LR, MLP_LR, default_lr
from a3c.config import A3C_SCHEMA, resolve_config


def test_default_config_is_a_dict_the_tutorial_can_copy_and_assign():
    config = DEFAULT_CONFIG.copy()
    config["num_workers"] = 16
    config["batch_size"] = 16
    assert DEFAULT_CONFIG["num_workers"] != 16 or DEFAULT_CONFIG is not config
    assert isinstance(config, dict)
    resolved = resolve_config(config, A3C_SCHEMA)
    assert resolved["num_workers"] == 16 and resolved["model"]["fcnet_hiddens"] == [64, 64]
    assert resolved["num_envs_per_worker"] == 1  # the tutorial's 16 workers step one environment each


def test_sixteen_environments_are_split_across_the_workers_unless_set():
    from a3c.config import PPO_SCHEMA

    assert DEFAULT_CONFIG["num_envs_per_worker"] is None
    envs = {n: resolve_config({"num_workers": n}, A3C_SCHEMA)["num_envs_per_worker"] for n in (0, 1, 2, 3, 16, 40)}
    assert envs == {0: 16, 1: 16, 2: 8, 3: 5, 16: 1, 40: 1}
    assert resolve_config({}, A3C_SCHEMA)["num_envs_per_worker"] == 8  # 2 workers by default
    assert resolve_config({"num_workers": 16, "num_envs_per_worker": 3}, A3C_SCHEMA)["num_envs_per_worker"] == 3
    assert resolve_config({}, PPO_SCHEMA)["num_envs_per_worker"] == 4  # PPO keeps its own


def test_copy_does_not_share_nested_dicts():
    config = DEFAULT_CONFIG.copy()
    config["model"]["fcnet_hiddens"] = [8]
    assert DEFAULT_CONFIG["model"]["fcnet_hiddens"] == [64, 64]


def test_unknown_key_names_the_closest_known_key():
    with pytest.raises(ConfigError, match="unknown config key 'num_worker'.*did you mean 'num_workers'"):
        resolve_config({"num_worker": 4}, A3C_SCHEMA)


def test_unknown_model_key_is_an_error():
    with pytest.raises(ConfigError, match="model.fcnet_hidden.*fcnet_hiddens"):
        resolve_config({"model": {"fcnet_hidden": [4]}}, A3C_SCHEMA)


@pytest.mark.parametrize(
    "key, value, allowed",
    [
        ("num_workers", -1, "int >= 0"),
        ("num_workers", 2.5, "int >= 0"),
        ("num_workers", True, "int >= 0"),
        ("batch_size", 0, "int >= 1"),
        ("gamma", 1.5, r"\(0, 1\]"),
        ("lambda", -0.1, r"\[0, 1\]"),
        ("lr", 0, "> 0"),
        ("lr", float("nan"), "> 0"),
        ("lr", "fast", "> 0"),
        ("entropy_coeff", -0.01, "subtracted"),
        ("grad_clip", -1.0, "> 0"),
        ("model", [256], "a dict"),
        ("seed", -3, "int >= 0"),
        ("execution", "threads", "'ray' or 'local'"),
    ],
)
def test_wrong_type_or_range_names_the_key_and_what_is_allowed(key, value, allowed):
    with pytest.raises(ConfigError, match=rf"config\['{key}'\] must be .*{allowed}"):
        resolve_config({key: value}, A3C_SCHEMA)


def test_bad_hidden_sizes_are_rejected():
    with pytest.raises(ConfigError, match="model.fcnet_hiddens"):
        resolve_config({"model": {"fcnet_hiddens": [0]}}, A3C_SCHEMA)


def test_a_conv_precision_torch_cannot_autocast_to_on_cpu_is_rejected():
    with pytest.raises(ConfigError, match=r"model.conv_precision'\] must be 'float32' or 'bfloat16', got 'float16'"):
        resolve_config({"model": {"conv_precision": "float16"}}, A3C_SCHEMA)


def test_none_is_allowed_only_where_documented():
    assert resolve_config({"grad_clip": None, "seed": None}, A3C_SCHEMA)["grad_clip"] is None
    with pytest.raises(ConfigError, match="gamma"):
        resolve_config({"gamma": None}, A3C_SCHEMA)


def test_lr_none_is_the_agents_mlp_rate_or_the_conv_rate_for_images():
    assert resolve_config({}, A3C_SCHEMA)["lr"] is None
    assert A3CAgent({"num_workers": 0}, "CartPole-v1").config["lr"] == MLP_LR["a3c"] == 1.4e-3
    assert A2CAgent({"num_workers": 0}, "CartPole-v1").config["lr"] == MLP_LR["a2c"]
    assert A3CAgent({"num_workers": 0, "lr": 3e-3}, "CartPole-v1").config["lr"] == 3e-3
    assert A3CAgent({"num_workers": 0}, lambda c: SideEnv()).config["lr"] == CONV_LR  # images: a conv net
    assert PPOAgent({"num_workers": 0}, lambda c: SideEnv()).config["lr"] == CONV_LR < min(MLP_LR.values())
    assert default_lr("a user's own algorithm", is_image=False) == MLP_LR["a3c"]


def test_unknown_environment_names_close_matches():
    with pytest.raises(EnvError, match="unknown gymnasium environment 'CartPol-v0'.*'CartPole-v0'"):
        A3CAgent({"num_workers": 0}, "CartPol-v0")


def test_errors_are_raised_before_ray_or_any_actor_starts():
    code = (
        "import ray\n"
        "from a3c import A3CAgent, ConfigError, EnvError\n"
        "for config, env in [({'num_workers': 4, 'lr': -1}, 'CartPole-v0'), ({'num_workers': 4}, 'NoSuchEnv-v9')]:\n"
        "    try:\n"
        "        A3CAgent(config, env)\n"
        "    except (ConfigError, EnvError):\n"
        "        pass\n"
        "print('ray started:', ray.is_initialized())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ray started: False" in out.stdout


TUNED_CONFIGS = {"cartpole": "a3c", "cartpole_throughput": "a3c", "mountaincar": "a3c", "pong_ppo": "ppo"}


@pytest.mark.parametrize("name", TUNED_CONFIGS)
def test_every_named_config_in_examples_is_valid(name):
    from pathlib import Path

    import yaml

    from a3c.config import PPO_SCHEMA

    path = Path(__file__).parents[1] / "examples" / "tuned" / f"{name}.yaml"
    schema = {"a3c": A3C_SCHEMA, "ppo": PPO_SCHEMA}[TUNED_CONFIGS[name]]
    config = resolve_config(yaml.safe_load(path.read_text()), schema)
    assert config["model"]["fcnet_activation"] == "tanh"  # a partial model dict keeps the defaults
    assert sorted(p.stem for p in path.parent.glob("*.yaml")) == sorted(TUNED_CONFIGS)


def test_the_value_net_is_separate_for_an_mlp_and_shared_for_conv_nets_and_lstms_by_default():
    from a3c.catalog import value_shares_trunk

    default = DEFAULT_CONFIG["model"]
    assert default["vf_share_layers"] is None
    assert not value_shares_trunk(default)
    assert value_shares_trunk(default, is_image=True)
    assert value_shares_trunk({**default, "use_lstm": True})
    assert value_shares_trunk({**default, "vf_share_layers": True})
    assert not value_shares_trunk({**default, "vf_share_layers": False}, is_image=True)


def test_an_lstm_with_a_separate_value_net_is_refused():
    with pytest.raises(ConfigError, match="use_lstm"):
        resolve_config({"model": {"use_lstm": True, "vf_share_layers": False}}, A3C_SCHEMA)
    assert resolve_config({"model": {"use_lstm": True}}, A3C_SCHEMA)["model"]["vf_share_layers"] is None
