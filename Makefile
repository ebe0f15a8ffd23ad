# Connectra Serverless — local developer commands. `make run` and `make test` work on a
# fresh machine: they create the virtual environment and everything else they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CONNECTRA_HOME := $(CURDIR)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv lock node assets chromium db migrate lint format typecheck test fuzz test-fast run stop status bench bench-quick synth layer clean

help:
	@echo "make run    - set up everything and start the local stack (PostgreSQL, S3, API, runner, sample data)"
	@echo "make test   - set up everything and run lint, type checks and the whole test suite"
	@echo "make stop   - stop everything 'make run' started"
	@echo "make bench  - run the benchmarks (results in bench/results/)"

# requirements.lock pins every package (the layer build uses the same file): `make lock`
# after changing the dependencies in pyproject.toml, then commit both.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip setuptools wheel 2>&1 | grep -v "is ignored" || true
	@$(BIN)/pip install --quiet -c requirements.lock -e '.[local,infra,dev]' 2>&1 | grep -v -e "is ignored" -e "BuildBackendWarning" -e "return '" || true
	@$(BIN)/python -c "import connectra, fastapi, psycopg, moto, aws_cdk" # fail loudly if the install failed
	@touch $(STAMP)

venv: $(STAMP) assets

lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python scripts/lock.py $(ARGS) 2>&1 | grep -v "is ignored"

# Node tools (package.json + package-lock.json): the pinned CDK CLI, the API docs assets.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

node: $(NODE_STAMP)

# Swagger UI and ReDoc, served by the app itself (no CDN): copied into the package.
assets: $(NODE_STAMP)
	@$(PYTHON) scripts/docs_assets.py

# Headless Chromium for the /docs browser test (Debian's package).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

db: venv
	@$(BIN)/python -m connectra.local.postgres start >/dev/null

migrate: db
	@DATABASE_URL=$${DATABASE_URL:-$$($(BIN)/python -m connectra.local.postgres url)} $(BIN)/python -m connectra.db.migrate

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv
	$(BIN)/mypy layers/common/python/connectra functions bench

test: venv db lint typecheck chromium
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

# Every environment, as the docs run it: the pinned CDK CLI (cdk.out/<env>/).
synth: venv node
	@for env in dev staging prod; do \
		npx cdk synth --quiet -c env=$$env -o cdk.out/$$env || exit 1; \
	done

layer: venv assets
	$(BIN)/python scripts/build_layer.py

clean: stop
	rm -rf .local build cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
