# django-diffs: `make demo` runs the example end to end, `make test` runs the suite.
# Both set up everything they need (virtualenv, packages, redis-server) on a fresh machine.

# .venv holds the newest supported pair: Python 3.13 (pyenv's, else python3.13 on PATH) with
# Django 6.0 (the newest that django-celery-beat, a test dependency, allows). The other pairs
# are nox sessions (noxfile.py); `make PYTHON=/path/to/python3.x test` picks another Python.
PYTHON ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13) \
                      $(shell command -v python3.13 2>/dev/null))
VENV ?= .venv
PY := $(VENV)/bin/python
# Named after the interpreter, so a .venv made by another Python is made anew.
STAMP := $(VENV)/.installed-$(notdir $(or $(PYTHON),none))

.DEFAULT_GOAL := help
.PHONY: help venv bench-venv redis-server wrk valgrind chromium demo serve test test-sqlite \
        test-postgres test-unit test-integration test-e2e test-faults test-matrix test-smoke \
        test-smoke-all lint bench bench-prune clean

help: ## List the targets
	@grep -E '^[a-z0-9.-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

$(STAMP): setup.cfg pyproject.toml
	@[ -n "$(PYTHON)" ] || { echo "Python 3.13 not found: install it (pyenv install 3.13)," \
	  "or run make PYTHON=/path/to/python3.x (3.10 to 3.13)"; exit 1; }
	@if [ -x $(PY) ] && ! [ -e $@ ]; then echo "$(VENV) was made by another Python: making it anew"; \
	  rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(STAMP) ## Create .venv and install the package with its test tools

BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP) setup.cfg
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

bench-venv: $(BENCH_STAMP) ## .venv with the benchmarks' own tools too (pghistory, psutil, py-spy)

redis-server: ## Install Debian's redis-server if it is missing
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "redis-server not found: installing Debian's package"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; }

wrk valgrind: ## Install Debian's wrk (HTTP load) or valgrind (instruction counts) if missing
	@command -v $@ >/dev/null 2>&1 || { \
	  echo "$@ not found: installing Debian's package"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $@ >/dev/null; }

chromium: ## Install Debian's chromium and chromium-driver if missing (the admin's browser test)
	@{ [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; } || { \
	  echo "chromium not found: installing Debian's chromium and chromium-driver"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null \
	  || echo "could not install chromium: the browser test will be skipped"; }

demo: venv redis-server ## Run the example project end to end (records, real worker, reads, prunes)
	$(PY) example/demo.py

serve: venv redis-server ## The example project live: runserver, worker, beat; admin at :8000 (admin/admin)
	$(PY) example/serve.py

# The test tiers (tests/unit, integration, e2e, faults), each a target of its own. pytest-xdist
# spreads the integration and e2e tiers over NPROC processes, each with its own redis-server,
# Celery worker thread and test databases. Fault scenarios run one at a time unless FAULT_PROCS
# says how many at once: the nightly ones check how long a save takes during an outage, and a
# Sentinel turning its restarted master into a replica took over a minute with two at once on
# a loaded machine. DB=postgres runs a tier on PostgreSQL; PICK='-m "..."' selects tests by
# marker; COV measures coverage.
NPROC ?= 2
FAULT_PROCS ?=
DB ?= sqlite
PICK ?=
COV ?=
PYTEST = $(if $(filter postgres,$(DB)),DIFFS_TEST_DB=postgres) $(PY) -m pytest -q $(COV) $(PICK)
XDIST = -n $(NPROC) --dist loadfile
SUB = $(MAKE) --no-print-directory
# `make test` leaves out the slowest fault scenarios (`nightly`: thousands of saves through a
# 10 s outage or a killed worker, 30-80 s each) and the on_commit variants; test-faults runs all.
IN_CI = not nightly and not on_commit_matrix
# Branch coverage of `make test` (every tier, on SQLite; measured 92.0%) may not fall below this.
COVERAGE_FLOOR = 91

test: ## Every tier on SQLite (with coverage and its floor), then on PostgreSQL
	$(SUB) test-sqlite
	$(SUB) test-postgres

test-sqlite: venv redis-server chromium
	$(PY) -m coverage erase
	$(SUB) COV="--cov --cov-append --cov-report=" test-unit test-integration test-e2e
	$(SUB) COV="--cov --cov-append --cov-report=" PICK='-m "$(IN_CI)"' test-faults
	$(PY) -m coverage report --fail-under=$(COVERAGE_FLOOR)

# The unit tier touches no database: it runs once, in test-sqlite. On PostgreSQL the e2e and
# fault tests that start processes (`slow`) run only where the database matters (`both_databases`).
test-postgres: venv redis-server chromium
	$(SUB) DB=postgres test-integration
	$(SUB) DB=postgres PICK='-m "not slow or both_databases"' test-e2e
	$(SUB) DB=postgres PICK='-m "both_databases and $(IN_CI)"' test-faults

test-unit: venv ## Unit tier: pure logic, no service at all (seconds)
	$(PYTEST) tests/unit

test-integration: venv redis-server ## Integration tier: Django and a real Redis, no worker (DB=postgres)
	$(PYTEST) $(XDIST) tests/integration

test-e2e: venv redis-server chromium ## E2E tier: real worker, servers, browser, processes (DB=postgres)
	$(PYTEST) $(XDIST) tests/e2e

test-faults: venv redis-server ## Every fault scenario, in both publish modes (DB=postgres)
	$(PYTEST) $(if $(FAULT_PROCS),-n $(FAULT_PROCS) --dist loadfile) tests/faults

test-matrix: venv redis-server chromium python3.14 ## The whole suite on every supported Django x Python pair (nox)
	$(VENV)/bin/nox -s tests

test-smoke: venv redis-server ## Unit tier + smoke tests on the CI's pairs (3.10/4.2, 3.11/5.2, 3.12/6.1)
	$(VENV)/bin/nox -t ci

test-smoke-all: venv redis-server python3.14 ## The same on every other Django x Python pair (13 of them)
	$(VENV)/bin/nox -s smoke

lint: venv ## ruff, mypy and import-linter
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

bench: bench-venv redis-server ## Recording, ingest, read, memory and bulk-write benchmarks (SQLite and PostgreSQL)
	$(PY) bench/run.py
	$(PY) bench/read_old_values.py
	$(PY) bench/bulk.py

bench-prune: venv redis-server ## Pruning benchmark: 1,000,000 members over 100,000 keys
	$(PY) bench/prune.py

.PHONY: bench-metrics
bench-metrics: venv redis-server ## What metrics add: per save (ratio with/without), per diff in the worker, per scrape
	$(PY) bench/metrics.py

.PHONY: bench-replicas
bench-replicas: venv redis-server ## What storage_replicas: 1 (WAIT) adds per batch of 100 diffs, master + replica
	$(PY) bench/replicas.py

.PHONY: bench-e2e
bench-e2e: venv redis-server ## End to end alone: two web processes, one worker, both publish modes
	$(PY) bench/end_to_end.py

.PHONY: bench-sse
bench-sse: bench-venv redis-server ## Server-Sent Events: 1,000 streams on one uvicorn, 100 writes/s
	$(PY) bench/sse.py

.PHONY: bench-http
bench-http: bench-venv redis-server wrk ## Under HTTP load: wrk, gunicorn, PostgreSQL; plain, diffs, pghistory
	$(PY) bench/http_load.py

.PHONY: bench-stages
bench-stages: bench-venv valgrind ## The recording cost per stage, µs and instructions per save
	$(PY) bench/stages.py

.PHONY: bench-model-feed
bench-model-feed: venv redis-server ## What model_feed=True costs the worker: diffs/s with and without, bytes per diff
	$(PY) bench/model_feed.py

.PHONY: bench-delete
bench-delete: venv redis-server ## What recording deletes costs: QuerySet.delete() of 10,000 rows
	$(PY) bench/delete_cost.py

clean: ## Remove the virtualenvs and caches
	rm -rf $(VENV) .nox .coverage .mypy_cache .ruff_cache test-output site

.PHONY: python3.14
python3.14: ## Install Python 3.14 from Debian's packages for nox (pyenv cannot build it here)
	tools/debian-python.sh 3.14

# The docs site (mkdocs.yml, docs/): its tools in .venv too, as the `docs` extra.
DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): $(STAMP) setup.cfg
	$(PY) -m pip install --quiet -e '.[docs]'
	touch $@

.PHONY: docs docs-serve
docs: $(DOCS_STAMP) ## Build the docs site into site/ (strict: a broken link or reference fails)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

docs-serve: $(DOCS_STAMP) ## Serve the docs at http://127.0.0.1:8001, rebuilt as pages change
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs serve --strict --dev-addr 127.0.0.1:8001

.PHONY: dist-check
dist-check: venv redis-server ## Build wheel and sdist, twine check, run the demo on the wheel in a clean venv
	$(PY) -m pip install --quiet build twine
	$(PY) tools/check_dist.py

.PHONY: docs-screenshots
docs-screenshots: docs chromium ## Screenshots of two built docs pages in test-output/docs/, to check by eye
	mkdir -p test-output/docs
	for page in getting-started reference; do \
	  /usr/bin/chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
	    --window-size=1280,1600 --screenshot=test-output/docs/$$page.png \
	    "file://$(CURDIR)/site/$$page/index.html" 2>/dev/null; done
	@ls test-output/docs/*.png
