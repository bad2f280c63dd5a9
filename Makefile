# Quick start: `make demo`, `make test`. Everything installs into .venv from uv.lock.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(VENV)
export DO_NOT_TRACK := 1

DOCS_PORT ?= 8080

.PHONY: bench docs install demo test test-unit test-integration lint schema samples services-up services-down soak clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-groups --quiet --compile-bytecode
	touch $@

install: $(VENV)/.installed

demo: install  ## Ingest the bundled price lists through the queue and print a summary
	$(BIN)/loader demo

test: install  ## Whole suite against real PostgreSQL/Redis (local ones started when no URLs are set)
	$(BIN)/pytest --cov=loader --cov-report=term-missing:skip-covered --cov-fail-under=85 --durations=15 -n 2 --dist loadfile

docs: install  ## Build the dbt docs site from the local database and serve it on DOCS_PORT
	$(BIN)/loader migrate up
	$(BIN)/loader docs serve --port $(DOCS_PORT)

test-unit: install
	$(BIN)/pytest tests/unit

test-integration: install
	$(BIN)/pytest tests/integration

lint: install
	$(BIN)/ruff check loader tests samples migrations
	$(BIN)/ruff format --check loader tests samples migrations
	$(BIN)/mypy
	$(BIN)/loader schema --check

schema: install  ## Regenerate schemas/ (parse task, task result) from the pydantic models
	$(BIN)/loader schema

samples: install  ## Regenerate the synthetic sample price lists
	$(BIN)/python samples/make_samples.py
	$(BIN)/python samples/make_hard_cases.py

bench: install  ## End-to-end benchmark through the queue and workers (BENCH_SIZES, BENCH_FORMATS...)
	$(BIN)/python scripts/bench.py

soak: install  ## Chaos soak outside CI: SOAK_MINUTES (default 20) of tasks, kills and restarts
	$(BIN)/python scripts/soak.py

services-up: install  ## Start the project-local PostgreSQL and Redis; prints their URLs
	$(BIN)/loader services up

services-down: install
	$(BIN)/loader services down

clean:
	-$(BIN)/loader services down
	rm -rf .local $(VENV) $(TOOLS) .pytest_cache .coverage
