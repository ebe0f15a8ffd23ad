# Connectra Serverless — local developer commands. `make run` and `make test` work on a
# fresh machine: they create the virtual environment and everything else they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CONNECTRA_HOME := $(CURDIR)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv db migrate lint format typecheck test fuzz test-fast run stop status bench bench-quick synth layer clean

help:
	@echo "make run    - set up everything and start the local stack (PostgreSQL, S3, API, runner, sample data)"
	@echo "make test   - set up everything and run lint, type checks and the whole test suite"
	@echo "make stop   - stop everything 'make run' started"
	@echo "make bench  - run the benchmarks (results in bench/results/)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip setuptools wheel 2>&1 | grep -v "is ignored" || true
	@$(BIN)/pip install --quiet -e '.[local,infra,dev]' 2>&1 | grep -v -e "is ignored" -e "BuildBackendWarning" -e "return '" || true
	@$(BIN)/python -c "import connectra, fastapi, psycopg, moto, aws_cdk" # fail loudly if the install failed
	@touch $(STAMP)

venv: $(STAMP)

db: venv
	@$(BIN)/python -m connectra.local.postgres start >/dev/null

migrate: db
	@DATABASE_URL=$${DATABASE_URL:-$$($(BIN)/python -m connectra.local.postgres url)} $(BIN)/python -m connectra.db.migrate

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv
	$(BIN)/mypy layers/common/python/connectra functions

test: venv db lint typecheck
	$(BIN)/pytest -q -n 2 --dist loadfile -m "not fuzz"
	@$(MAKE) --no-print-directory fuzz

# The fuzz stage (about two minutes): schemathesis over the whole OpenAPI with hostile
# Unicode (lone surrogates, NUL, 100k-character strings) and hypothesis over the CSV and
# NDJSON parsers; any 5xx fails it.
fuzz: venv db
	$(BIN)/pytest -q -n 2 -m fuzz tests/reliability

test-fast: venv db
	$(BIN)/pytest -q -x -m "not slow"

run: migrate
	@$(BIN)/python -m connectra.local.stack up

stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m connectra.local.stack down; fi

status: venv
	@$(BIN)/python -m connectra.local.stack status

bench: migrate
	$(BIN)/python -m bench.run

bench-quick: migrate
	$(BIN)/python -m bench.run --quick

synth: venv
	$(BIN)/python infra/app.py

layer: venv
	$(BIN)/python scripts/build_layer.py

clean: stop
	rm -rf .local build cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
