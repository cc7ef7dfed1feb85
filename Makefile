# The two commands of the README (and test-fast, the quick tier). Each sets itself up on a fresh
# machine: a virtualenv in .venv installed from the hashed lock (requirements/test.txt), with
# torch first as a CPU build (it is not in the lock: requirements/README.md says why).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
LOCKS := requirements/test.txt requirements/checkov.txt
# Re-install whenever the pins or the locks change. checkov conflicts with the pinned boto3, so it
# gets its own virtualenv (.venv/checkov, requirements/checkov.in).
STAMP := $(VENV)/.installed-$(shell cat setup.py $(LOCKS) | sha256sum | cut -c1-12)
TORCH := $(shell grep -o 'torch==[0-9.]*' setup.py)
PIP_TOOLS := pip-tools==7.6.2
COMPILE := $(VENV)/pip-tools/bin/pip-compile --quiet --generate-hashes --no-emit-index-url \
	--no-emit-find-links --strip-extras

.PHONY: setup run test test-fast lint lock bench

$(STAMP): setup.py $(LOCKS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e . --config-settings editable_mode=compat
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet --require-hashes -r requirements/checkov.txt
	touch $(STAMP)

setup: $(STAMP)

# The main job: the stacked ensemble pipeline end to end on this machine, on bundled sample data.
run: setup
	$(BIN)/run-pipeline --local --module-name pipelines.stacked_ensemble.pipeline

lint: setup
	$(BIN)/ruff check .

# Unit and definition tests: a few minutes, no pipeline runs, no subprocess jobs.
test-fast: lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "unit or definition"

# Everything (CI): the fast tier, integration (scripts, servers, the runner's jobs) and e2e.
test: lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

# Re-pin after a change to setup.py's pins: the locks CI, CodeBuild and the image install from.
lock:
	$(PYTHON) -m venv $(VENV)/pip-tools
	$(VENV)/pip-tools/bin/python -m pip install --quiet $(PIP_TOOLS)
	$(COMPILE) --output-file requirements/core.txt setup.py
	$(COMPILE) --extra test --unsafe-package torch --output-file requirements/test.txt setup.py
	$(COMPILE) --output-file requirements/checkov.txt requirements/checkov.in
	$(BIN)/python docker/requirements.py
	$(COMPILE) --unsafe-package torch --output-file docker/requirements.txt docker/requirements.in

# The benchmarks' tables come from the bench extra (not locked: a benchmark, not a build).
bench: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]' --config-settings editable_mode=compat
	$(BIN)/python bench/stacked_ensemble_bench.py
