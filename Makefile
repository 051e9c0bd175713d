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
.PHONY: help venv bench-venv redis-server wrk valgrind chromium demo serve test test-unit test-sqlite test-postgres test-faults test-matrix test-smoke lint bench bench-prune clean

help: ## List the targets
	@grep -E '^[a-z0-9.-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

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

test: test-sqlite test-postgres ## Run the whole suite on SQLite, then on PostgreSQL

test-unit: venv redis-server ## Only the fast unit tests (wire format, tracking, buffer): seconds
	$(PY) -m pytest -m unit -q

test-sqlite: venv redis-server chromium
	$(PY) -m pytest --cov --cov-report=term -m "not on_commit_matrix"

test-postgres: venv redis-server chromium
	DIFFS_TEST_DB=postgres $(PY) -m pytest -m "(not slow or both_databases) and not on_commit_matrix"

test-faults: venv redis-server ## Every fault scenario in both publish modes (background, on_commit)
	$(PY) -m pytest -m slow tests/faults/test_outages.py tests/faults/test_nothing_lost.py tests/e2e/test_background.py

test-matrix: venv redis-server chromium python3.14 ## The whole suite on every supported Django x Python pair (nox)
	$(VENV)/bin/nox -s tests

test-smoke: venv redis-server python3.14 ## Unit tests + one end-to-end test per area on the older pairs (CI)
	$(VENV)/bin/nox -s smoke

lint: venv ## ruff and mypy
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

bench: bench-venv redis-server ## Recording, ingest, read, memory and bulk-write benchmarks (SQLite and PostgreSQL)
	$(PY) bench/run.py
	$(PY) bench/read_old_values.py
	$(PY) bench/bulk.py

bench-prune: venv redis-server ## Pruning benchmark: 1,000,000 members over 100,000 keys
	$(PY) bench/prune.py

.PHONY: bench-e2e
bench-e2e: venv redis-server ## End to end alone: two web processes, one worker, both publish modes
	$(PY) bench/end_to_end.py

.PHONY: bench-http
bench-http: bench-venv redis-server wrk ## Under HTTP load: wrk, gunicorn, PostgreSQL; plain, diffs, pghistory
	$(PY) bench/http_load.py

.PHONY: bench-stages
bench-stages: bench-venv valgrind ## The recording cost per stage, µs and instructions per save
	$(PY) bench/stages.py

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
