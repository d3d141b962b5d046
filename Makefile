# Two commands a new user needs: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# The demo's images sit in the default data dir (./data, SIGNIFIER_DATA_DIR's default), so the README's
# `signifier search ... -c shapes` finds the collection `make demo` made without setting anything.
DEMO_SAMPLES ?= data/samples
DEMO_COUNT ?= 600
HOST ?= 127.0.0.1
PORT ?= 8000

WEB := services/web

.PHONY: install demo test lint typecheck typecheck-web unit train-shapes bench clean web-vendor e2e

install: $(VENV)/.installed

# torch is installed first and pinned: 2.13.0 is the CPU wheel this machine kind carries; an
# unpinned torch would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Generate the sample collection, ingest it with the bundled model, and serve the API and UI.
demo: install
	@test -f $(DEMO_SAMPLES)/manifest.jsonl || $(BIN)/signifier samples shapes --count $(DEMO_COUNT) --out $(DEMO_SAMPLES)
	SIGNIFIER_MODEL=shapes-clip $(BIN)/signifier ingest $(DEMO_SAMPLES)/manifest.jsonl --collection shapes
	@echo
	@echo "Try:  curl -s http://$(HOST):$(PORT)/v1/collections/shapes/search -H 'content-type: application/json' \\"
	@echo "        -d '{\"expression\": \"\\\"a red circle\\\" - \\\"red\\\" + \\\"blue\\\"\", \"limit\": 5}'"
	@echo "  or open http://$(HOST):$(PORT)/?collection=shapes&q=%22a%20red%20circle%22"
	@echo
	SIGNIFIER_MODEL=shapes-clip $(BIN)/signifier serve --host $(HOST) --port $(PORT)

lint: install typecheck-web
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/vulture

typecheck: install
	$(BIN)/mypy

# The UI's JavaScript against its JSDoc types: TypeScript's checker, pinned in services/web/package.json
# (see services/web/jsconfig.json). npm ci runs only when node_modules is missing or older than the lockfile.
typecheck-web: $(WEB)/node_modules/.package-lock.json
	cd $(WEB) && node_modules/.bin/tsc -p jsconfig.json

$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

unit: install
	$(BIN)/pytest tests/unit -q

# The whole suite: lint, layer contracts (.importlinter), types (Python and the UI's JS), unit, integration
# (real services), e2e (real browser where installed).
test: install typecheck-web
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/vulture
	$(BIN)/mypy
	$(BIN)/pytest -q

train-shapes: install
	$(PY) -m services.shapes.train --out services/shapes/model

# The browser tests alone (Debian's chromium; screenshots in $SIGNIFIER_TEST_ARTIFACTS/ui, default artifacts/ui).
e2e: install
	$(BIN)/pytest tests/e2e -q -m browser

# Re-copy the pinned libraries (Preact, htm; Swagger UI and ReDoc for /docs, /redoc) from npm into services/web/static/vendor (committed).
web-vendor:
	cd services/web && npm ci --no-audit --no-fund && npm run vendor

bench: install
	$(PY) bench/query.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
