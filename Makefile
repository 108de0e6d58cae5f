# The template repository's commands: `make demo` and `make test`. Both create .venv first
# (uv when it is installed, python3 -m venv + pip otherwise) with the pinned tools of pyproject.toml.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null)
# Only PyPI is reachable: uv must use the machine's Python, never download one.
export UV_PYTHON_DOWNLOADS ?= never
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install demo test fuzz lint clean bench soak

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@if [ -n "$(UV)" ]; then \
	  [ -x "$(PY)" ] || "$(UV)" venv --quiet --python "$(PYTHON)" "$(VENV)"; \
	  "$(UV)" pip install --quiet --python "$(PY)" --group dev; \
	else \
	  [ -x "$(PY)" ] || "$(PYTHON)" -m venv "$(VENV)"; \
	  "$(PY)" -m pip install --quiet --disable-pip-version-check "pip>=25.1"; \
	  "$(PY)" -m pip install --quiet --disable-pip-version-check --group dev; \
	fi
	@touch "$@"

install: $(STAMP) ## create .venv with the template's pinned dev tools

demo: $(STAMP) ## bake the default project and run the worked example through its make simulate [GZIP=1]
	$(PY) demo/run_demo.py $(if $(GZIP),--gzip)

test: $(STAMP) ## the whole suite: hooks, bakes of every mode, each project's own make lint / make test
	@# pytest exits 5 when no test ran: that is a failure too, and says so.
	$(PY) -m pytest $(PYTEST_ARGS) || { rc=$$?; [ $$rc -ne 5 ] || echo "ERROR: pytest ran no tests" >&2; exit $$rc; }

fuzz: $(STAMP) ## the bake fuzzer alone, with more draws: make fuzz [DRAWS=400] [SEED=<n>]
	FUZZ_DRAWS=$(or $(DRAWS),400) FUZZ_SEED=$(or $(SEED),20261129) $(PY) -m pytest tests/test_fuzz_bake.py $(PYTEST_ARGS)

bench: $(STAMP) ## benchmark the generated handler, every mode (~14 min; writes bench/results.json)
	$(PY) -m bench.run_bench $(BENCH_ARGS)

soak: $(STAMP) ## seeded fault chains through the emulator, every mode: make soak RUNS=210 (fails on any loss)
	$(PY) soak/run_soak.py --runs $(or $(RUNS),210) --seed $(or $(SEED),1)

lint: $(STAMP) ## ruff and mypy on the hooks and tests
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

clean: ## remove .venv and caches
	rm -rf "$(VENV)" .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
