# Two commands do all set-up on a fresh machine: `make run` (the local stack) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
# checkov has a venv and a lock of its own: it pins packaging<24, which pytest refuses.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: install lock run test lint typecheck doctor pytest openapi checkov bench bench-discovery \
	bench-load bench-parsing bench-concurrency clean

install: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
		|| { echo "Python 3.11 is needed (found $$($(PYTHON) --version)); set PYTHON=" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements-dev.txt
	touch $@

## lock: compile requirements.in into requirements.txt (the runtime lock Azure installs), then
## requirements-dev.in into requirements-dev.txt, and requirements-checkov.in into
## requirements-checkov.txt, all pinned and hashed (pip-tools, Python 3.11).
## Pins that still fit are kept; LOCK_ARGS=--upgrade (or --upgrade-package NAME) moves them.
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock: $(PY_STAMP)
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in
	$(PIP_COMPILE) --output-file requirements-checkov.txt requirements-checkov.in

$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
		|| { echo "Python 3.11 is needed (found $$($(PYTHON) --version)); set PYTHON=" >&2; exit 1; }
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements-checkov.txt
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## run: the local stack (Azurite, the Azure simulator, the local host on :7071); Ctrl-C stops it.
## Stack options go in ARGS, e.g. make run ARGS="--deployments my.json --batch-step-s 1"
run: install
	$(BIN)/python -m local.stack $(ARGS)

## test: lint, type-check, azure-functions-doctor, then every test (pytest starts and stops Azurite)
test: lint typecheck doctor pytest

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy

doctor: $(PY_STAMP)
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/azure-functions-doctor doctor --path . --profile full --summary-json $(VENV)/doctor.json
	$(BIN)/python -c "import json,sys; s=json.load(open('$(VENV)/doctor.json')); print('doctor:', s); sys.exit(1 if s.get('failed') else 0)"

## pytest: every test; tests/infra runs checkov from .venv-checkov, created here first
pytest: install $(CHECKOV_STAMP)
	$(BIN)/python -m pytest

## openapi: write docs/openapi.json, the HTTP contract as OpenAPI 3.1, generated from the code
## (shared/openapi); a test fails when the committed file differs from what the code generates
openapi: $(PY_STAMP)
	$(BIN)/python -m shared.openapi docs/openapi.json

## checkov: scan infra/ as tests/infra does, printing checkov's own report (0 failed checks;
## each skip is an inline `// checkov:skip=ID:reason`); --skip-download keeps it offline
checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov -d infra --framework bicep --compact --quiet --skip-download

## bench: every benchmark: our chat run against a bare requests POST and the openai SDK, with
## telemetry off and on (simulator, zero latency), then the discovery sync (see bench-discovery),
## then the load (see bench-load), then parsing (see bench-parsing), then concurrency (see
## bench-concurrency)
bench: install
	$(BIN)/python -m bench.chat
	$(BIN)/python -m bench.discovery
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.parsing
	$(BIN)/python -m bench.concurrency

## bench-discovery: discovery of 1,000 deployments (10 ARM pages) into Azurite: first sync,
## unchanged re-sync, 10 changed; time, ARM and storage requests by kind, PASS/FAIL
bench-discovery: install
	$(BIN)/python -m bench.discovery

## bench-load: 5 rounds of 200 chat runs from 32 concurrent callers through the local host
## (simulator latency 0.1 s); runs/s, p50/p95/max, token requests, pool warnings, RSS per
## round and peak, PASS/FAIL
bench-load: install
	$(BIN)/python -m bench.load

## bench-parsing: peak memory and CPU time of reading the worst request bodies (the review's
## attack bodies and the largest valid ones), against a bare json.loads; PASS/FAIL on the bound
bench-parsing: install
	$(BIN)/python -m bench.parsing

## bench-concurrency: 16, 32 and 64 runs in flight at once (one thread each, as Flex sends an
## instance perInstanceConcurrency runs) with the simulator's latency at 2 s and 30 s, each a
## bench-load --duration-s in a fresh process: runs/s against threads / latency, and memory per
## concurrent run, PASS/FAIL (about 6 minutes)
bench-concurrency: install
	$(BIN)/python -m bench.concurrency

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules .azurite .mypy_cache .ruff_cache .pytest_cache .hypothesis
