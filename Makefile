# Interchange: `make run` starts the whole suite on its embedded default; `make test` passes every test.
# Each target bootstraps .venv itself, so a fresh clone needs only Python 3.11+ and make to run;
# make test also needs redis-server, curl and git (tests/support/prerequisites.py checks them first).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test prerequisites lint format contracts bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/interchange up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

contracts: $(STAMP)
	$(BIN)/interchange contracts export

# Programs the tests start besides Python (redis-server, curl, git): one message naming what is
# missing; it fails the run in CI (CI=true) and warns locally, where those tests skip.
prerequisites: $(STAMP)
	$(BIN)/python -m tests.support.prerequisites

# Tests run on one xdist worker per core; tests sharing a module-scoped fixture, and those that start
# real processes, are grouped onto one worker each (tests/conftest.py). PYTEST_WORKERS=0 runs serially.
PYTEST_WORKERS ?= auto

test: prerequisites lint
	$(BIN)/interchange contracts check
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis
