# The two commands of the README. Each sets itself up on a fresh machine: a virtualenv in
# .venv with the pinned dependencies (torch first, as a CPU build, so nothing pulls CUDA).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Re-install whenever the pins change.
STAMP := $(VENV)/.installed-$(shell sha256sum setup.py | cut -c1-12)
# checkov conflicts with the pinned boto3, so it gets its own virtualenv (setup.py IAC_CHECKS).
CHECKOV := $(shell grep -o 'checkov==[0-9.]*' setup.py)

.PHONY: setup run test lint bench

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet $(CHECKOV)
	touch $(STAMP)

setup: $(STAMP)

# The main job: the stacked ensemble pipeline end to end on this machine, on bundled sample data.
run: setup
	$(BIN)/run-pipeline --local --module-name pipelines.stacked_ensemble.pipeline

lint: setup
	$(BIN)/ruff check .

test: lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

# The benchmarks' tables come from the bench extra (plotnine's bundled ggplot2 tables).
bench: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]' --config-settings editable_mode=compat
	$(BIN)/python bench/stacked_ensemble_bench.py
