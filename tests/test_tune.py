"""Ray Tune: a3c's agents as Trainables on the session's local Ray (ASHA and PBT sweeps, config errors)."""

import json
import os
import shlex
import subprocess
import sys

import pytest
import ray

from a3c.tune import import_tune, parse_search, run_sweep, trainable, trial_bundles

# Two workers per trial; a trial reserves 0.5 + 2 x 0.25 CPU, so two trials run at once on 2 cores.
SMALL_TRIAL = {
    "num_workers": 2,
    "num_cpus_per_worker": 0.25,
    "num_cpus_for_driver": 0.5,
    "grads_per_step": 10,
    "model": {"fcnet_hiddens": [16]},
    "seed": 0,
}


def test_a_trial_reserves_its_driver_and_workers_as_one_placement_group():
    bundles, strategy = trial_bundles("a3c", {**SMALL_TRIAL, "env": "CartPole-v0"})
    assert bundles == [{"CPU": 0.5}, {"CPU": 0.25}, {"CPU": 0.25}] and strategy == "PACK"
    bundles, strategy = trial_bundles("ppo", {"num_workers": 3, "placement_strategy": "SPREAD"})
    assert bundles == [{"CPU": 1.0}] + [{"CPU": 1.0}] * 3 and strategy == "SPREAD"
    assert trial_bundles("a3c", {"num_workers": 4, "execution": "local"})[0] == [{"CPU": 1.0}]


def test_workers_created_inside_a_placement_group_go_into_it(ray_session):
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    from a3c.config import A3C_SCHEMA, resolve_config
    from a3c.execution.ray_pool import worker_actor_options

    group = placement_group([{"CPU": 0.25}, {"CPU": 0.25}])
    ray.get(group.ready(), timeout=60)

    @ray.remote(num_cpus=0.25)
    def options_inside() -> tuple:
        options = worker_actor_options(resolve_config({"num_cpus_per_worker": 0.25}, A3C_SCHEMA))
        return options["num_cpus"], options["scheduling_strategy"].placement_group.id

    inside = PlacementGroupSchedulingStrategy(group, placement_group_capture_child_tasks=True)
    assert ray.get(options_inside.options(scheduling_strategy=inside).remote(), timeout=60) == (0.25, group.id)
    remove_placement_group(group)


def a3c_cli(*args: str, cwd, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "a3c.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        env={**os.environ, **env},
    )


def test_a3c_tune_runs_an_asha_sweep_of_two_trials_and_reports_the_best_config_and_checkpoint(tmp_path):
    settings = [f"--set={key}={json.dumps(value)}" for key, value in SMALL_TRIAL.items() if key != "num_workers"]
    sweep = a3c_cli(
        "tune",
        "CartPole-v0",
        "--agent",
        "a3c",
        "--search",
        "lr=[1e-4,1e-2]",
        "--samples",
        "2",
        "--scheduler",
        "asha",
        "--iterations",
        "3",
        "--workers",
        "2",
        "--out",
        "sweep",
        *settings,
        cwd=tmp_path,
    )
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    summary = json.loads((tmp_path / "sweep" / "summary.json").read_text())
    assert summary["num_trials"] == 2 and summary["num_errors"] == 0, summary
    assert summary["best_config"]["lr"] in (1e-4, 1e-2) and "best trial" in sweep.stdout
    assert 1 <= len(summary["best_curve"]) <= 3 and summary["best_curve"][-1] == summary["best_reward"]
    best_config = json.loads((tmp_path / "sweep" / "best_config.json").read_text())
    assert best_config["lr"] == summary["best_config"]["lr"] and best_config["num_workers"] == 2
    assert "run_root" not in best_config and "stop_reward" not in best_config
    trial_runs = sorted((tmp_path / "sweep" / "runs").iterdir())
    assert len(trial_runs) == 2 and all((run / "progress.csv").is_file() for run in trial_runs)
    # The printed next step works: evaluate the best trial's checkpoint (an a3c safetensors file).
    (evaluate_line,) = [line for line in sweep.stdout.splitlines() if line.startswith("Evaluate it:")]
    command = shlex.split(evaluate_line.removeprefix("Evaluate it:"))
    assert command[:2] == ["a3c", "evaluate"] and command[2] == summary["best_checkpoint"]
    evaluated = a3c_cli(*command[1:], "--episodes", "1", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr


def test_a3c_tune_help_shows_the_search_syntax(tmp_path):
    shown = a3c_cli("tune", "--help", cwd=tmp_path, COLUMNS="200")
    assert shown.returncode == 0 and "key=[v1,v2,...] (one per trial) or key=loguniform(a,b)" in shown.stdout


def test_a3c_tune_without_ray_tune_names_the_extra_to_install(tmp_path):
    """Run with ray.tune made unimportable, as on an install without the `tune` extra."""
    code = "import sys; sys.modules['ray.tune'] = None; from a3c.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, "tune", "CartPole-v0", "--search", "lr=[1e-3]"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: Ray Tune is not installed: pip install 'a3c[tune]' (from a clone: make install-tune)"
    ]


def test_pbt_exploits_and_the_exploited_trial_resumes_from_the_other_trials_checkpoint(ray_session, tmp_path):
    summary = run_sweep(
        "a3c",
        "CartPole-v0",
        SMALL_TRIAL,
        parse_search(["lr=[1e-4,3e-3]"]),
        samples=2,
        scheduler="pbt",
        iterations=4,
        time_limit=None,
        out_dir=tmp_path / "pbt",
        perturbation_interval=2,
    )
    assert summary.num_trials == 2 and summary.num_errors == 0, summary.errors
    histories = {}
    for result in import_tune().ExperimentAnalysis(str(tmp_path / "pbt")).trial_dataframes.values():
        histories[result["trial_id"].iloc[-1]] = result
    # Results reported after restoring another trial's checkpoint (a trial paused by synchronous PBT
    # also restores, from its own checkpoint: those are not exploits).
    exploits = [
        (trial, row)
        for trial, frame in histories.items()
        for _, row in frame.iterrows()
        if isinstance(row["checkpoint_origin"], str) and row["checkpoint_origin"] != trial
    ]
    for frame in histories.values():  # every trial's workers ran in its own placement group
        assert set(frame["worker_placement"]) == {"GROUP"}
    seen = {t: f[["training_iteration", "checkpoint_origin"]].to_dict("list") for t, f in histories.items()}
    assert exploits, seen
    trial, first = exploits[0]
    assert first["checkpoint_origin"] in histories, seen
    # It went on from the other trial's iteration count (the exploit happens after iteration 2), with
    # that trial's weights and counters, not from scratch.
    assert first["training_iteration"] > 2 and first["timesteps_total"] > 2 * first["timesteps_this_iter"], seen


def test_a_bad_config_key_is_the_trials_error_naming_the_key(ray_session, tmp_path):
    tune = import_tune()
    tuner = tune.Tuner(
        trainable("a3c"),
        param_space={"env": "CartPole-v0", "num_workers": 0, "lr": -1.0},
        run_config=tune.RunConfig(storage_path=str(tmp_path), stop={"training_iteration": 1}, verbose=0),
    )
    (result,) = tuner.fit()
    assert result.error is not None and "config['lr'] must be a number > 0" in str(result.error)


def test_a_trial_reaches_its_target_by_the_100_episode_rule_and_writes_a_run_directory(ray_session, tmp_path):
    """Every CartPole episode earns more than 5: the trial still goes on until 100 episodes finished."""
    tune = import_tune()
    fast = {"num_workers": 0, "num_envs_per_worker": 1, "grads_per_step": 10, "model": {"fcnet_hiddens": [16]}}
    tuner = tune.Tuner(
        trainable("a3c"),
        param_space={**fast, "env": "CartPole-v0", "stop_reward": 5.0, "run_root": str(tmp_path / "runs")},
        run_config=tune.RunConfig(storage_path=str(tmp_path), stop={"training_iteration": 100}, verbose=0),
    )
    (result,) = tuner.fit()
    assert result.error is None, result.error
    history = result.metrics_dataframe
    episodes, reached = history["episodes_total"].tolist(), history["target_reached"].tolist()
    assert len(episodes) > 1 and episodes[-1] >= 100 > episodes[-2], episodes
    assert reached == [False] * (len(reached) - 1) + [True]
    run_dir = tmp_path / "runs" / result.metrics["trial_id"]
    progress = (run_dir / "progress.csv").read_text().splitlines()
    assert len(progress) == 1 + len(episodes)
    assert json.loads((run_dir / "run.json").read_text())["stop"] == {"stop_reward": 5.0}
    final = run_dir / "checkpoints" / f"checkpoint_{len(episodes):06d}.safetensors"
    assert final.is_file(), "the trial's run directory ends with its checkpoint"


def test_a_trial_larger_than_the_cluster_is_refused_before_it_waits_forever(ray_session):
    from a3c.config import ConfigError
    from a3c.tune import check_trial_fits

    check_trial_fits("a3c", SMALL_TRIAL, {})  # 1 CPU: fits
    with pytest.raises(ConfigError, match=r"a trial reserves 10001 CPUs .* lower num_workers"):
        check_trial_fits("a3c", {"num_workers": 2}, parse_search(["num_workers=[2,10000]"]))


def test_search_syntax_is_checked():
    assert parse_search(["lr=loguniform(1e-4,1e-2)", "gamma=[0.9,0.99]"]) == {
        "lr": ("loguniform", [1e-4, 1e-2]),
        "gamma": ("choice", [0.9, 0.99]),
    }
    for bad in ["lr", "lr=1e-3", "lr=[]", "lr=loguniform(0,1)", "lr=uniform(2,1)", "lr=__import__('os')"]:
        with pytest.raises(ValueError, match="--search"):
            parse_search([bad])
