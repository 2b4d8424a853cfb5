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

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

.PHONY: install install-tune tutorial test lint bench bench-quick
install: $(STAMP)

# Ray Tune for `a3c tune` and a3c.tune (already part of the test extra that `make install` installs).
install-tune: $(STAMP)
	$(PY) -m pip install --quiet -e '.[tune]'

tutorial: $(STAMP)
	$(PY) examples/tutorial.py

lint: $(STAMP)
	$(PY) -m ruff check a3c tests examples benchmarks

test: lint
	$(PY) -m pytest

# benchmarks/run.py against Stable-Baselines3 (installs the bench extras): BENCHMARKS.md
bench: $(BENCH_STAMP)
	$(PY) benchmarks/run.py

bench-quick: $(BENCH_STAMP)
	$(PY) benchmarks/run.py --quick
