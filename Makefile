# Everything a fresh machine needs: `make tutorial` runs the tutorial, `make test` the test suite.
# Both create .venv (python -m venv + pip: the CPU torch wheel is found by pip, not by uv/poetry).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

BENCH_STAMP := $(VENV)/.bench-installed
DOCS_STAMP := $(VENV)/.docs-installed
EXTRAS_STAMP := $(VENV)/.extras-installed

# Atari (ale-py ships the ROMs), Box2D and MuJoCo environments: `make extras`.
$(EXTRAS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,atari,box2d,mujoco]'
	touch $(EXTRAS_STAMP)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

.PHONY: install install-tune export extras tutorial test lint docs bench bench-quick suite suite-quick suite-pong
install: $(STAMP)

extras: $(EXTRAS_STAMP)

# Ray Tune for `a3c tune` and a3c.tune (already part of the test extra that `make install` installs).
install-tune: $(STAMP)
	$(PY) -m pip install --quiet -e '.[tune]'

# onnx and onnxruntime for `a3c export --format onnx` (already part of the test extra).
export: $(STAMP)
	$(PY) -m pip install --quiet -e '.[export]'

tutorial: $(STAMP)
	$(PY) examples/tutorial.py

lint: $(STAMP)
	$(PY) -m ruff check a3c tests examples benchmarks docs/_hooks

test: lint
	$(PY) -m pytest -n 2  # two test processes: most tests wait on Ray and subprocesses, not the CPU

# The documentation site (mkdocs.yml; MkDocs Material + mkdocstrings) into site/, in strict mode: a
# broken link or anchor, a missing page or a public name without a docstring fails the build.
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

# The benchmark harness (python -m benchmarks, BENCHMARKS.md): the throughput sections, then time to solve
# CartPole-v0 and MountainCar-v0 against Stable-Baselines3 (installs the bench extras).
bench: $(BENCH_STAMP)
	$(PY) -m benchmarks speed
	$(PY) -m benchmarks suite solve

bench-quick: $(BENCH_STAMP)
	$(PY) -m benchmarks speed --quick
	$(PY) -m benchmarks suite solve --seeds 1 --cap-scale 0.25 --entrants a3c_tuned a3c_tuned_mountaincar sb3_ppo_zoo \
		--out benchmarks/results/quick/suite_solve.json

# Issue 13's suite: defaults against Stable-Baselines3 on five environments (Pong: `make suite-pong`);
# needs the environment extras too (rows whose extra is missing are skipped with one line).
SUITE_STAMP := $(VENV)/.suite-installed

$(SUITE_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench,atari,box2d,mujoco]'
	touch $(SUITE_STAMP)

suite: $(SUITE_STAMP)
	$(PY) -m benchmarks suite defaults

suite-quick: $(SUITE_STAMP)
	$(PY) -m benchmarks suite defaults --rows CartPole-v1 Pendulum-v1 --seeds 1 --cap-scale 0.6 \
		--out benchmarks/results/quick/suite_defaults.json

suite-pong: $(SUITE_STAMP)
	$(PY) -m benchmarks suite pong
