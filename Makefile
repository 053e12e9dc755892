# cpstem: the README's commands. `make run` and `make test` install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CPSTEM := $(VENV)/bin/cpstem
# Debian packages the tests need: chromium (browser tests), the PostgreSQL server binaries and
# Pango with a font (PDF reports).
APT := DEBIAN_FRONTEND=noninteractive apt-get
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo "sudo -n")

.PHONY: run tour test test-fast test-registry test-e2e test-sqlite test-postgresql system-deps \
	bench lint install screenshots clean fixtures r-metafor r-design r-lme4

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# The DEMO registry: SQLite in its own data dir ./cpstem-demo (never a production database)
# with the synthetic demo cohort (loaded once), a local admin (its one-time password is printed
# the first time) at http://127.0.0.1:8000; every page says it is a demo
DEMO_DATA := ./cpstem-demo
run: $(STAMP)
	$(CPSTEM) demo load --data-dir $(DEMO_DATA)
	$(CPSTEM) user create admin --role admin --one-time-password --if-missing --data-dir $(DEMO_DATA)
	$(CPSTEM) serve --host 127.0.0.1 --port 8000 --data-dir $(DEMO_DATA)

tour: $(STAMP)
	$(CPSTEM) tour

system-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { echo "Installing Debian chromium (browser tests)"; $(SUDO) $(APT) update -q && \
	    $(SUDO) $(APT) install -y -q --no-install-recommends chromium; }
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { echo "Installing the PostgreSQL server (database tests)"; $(SUDO) $(APT) update -q && \
	    $(SUDO) $(APT) install -y -q --no-install-recommends postgresql; }
	@{ ldconfig -p | grep -q libpangoft2-1.0 && fc-list 2>/dev/null | grep -q .; } || \
	  { echo "Installing Pango and fonts (PDF reports)"; $(SUDO) $(APT) update -q && \
	    $(SUDO) $(APT) install -y -q --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
	    fontconfig fonts-dejavu-core; }

# ruff, the ruff formatter (check only) and mypy on the pure layers (files: [tool.mypy])
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

# Test selections, by path:
#   fast      the pure layers, the command line and the suite's own checks: no database, no
#             browser, no system package (tests/reports needs Pango: it runs in `make test`)
#   registry  the Django registry: on SQLite, then on a throw-away PostgreSQL server
#   e2e       browser tests: the real server driven by headless Debian chromium
# `make test` runs the whole suite. Tests never install system packages: `system-deps` does,
# and a test whose component is missing fails with the command that installs it.
FAST_TESTS := tests/test_*.py tests/measures tests/reference tests/evidence tests/outcomes tests/design \
	tests/cli
PYTEST := $(PY) -m pytest -q
# pytest-xdist: one worker per core; the browser tests share one server, so they stay together
XDIST := -n auto --dist loadgroup

# Everything: system packages, lint, the whole suite on SQLite (unit, reports, API, CLI,
# browser), then the registry suite on PostgreSQL.
test: $(STAMP) system-deps lint test-sqlite test-postgresql

# the inner loop, under 30 s on 2 cores (26 s measured): one worker per core, and without the
# API fuzzer's pytest plugin (2 s of start-up; the fast tests do not use it)
test-fast: $(STAMP)
	$(PYTEST) -n auto -p no:schemathesis $(FAST_TESTS)

test-registry: $(STAMP) system-deps
	$(PYTEST) $(XDIST) tests/registry
	$(PYTEST) $(XDIST) --db=postgresql tests/registry

test-e2e: $(STAMP) system-deps
	$(PYTEST) tests/e2e

test-sqlite: $(STAMP)
	$(PYTEST) $(XDIST)

test-postgresql: $(STAMP)
	$(PYTEST) $(XDIST) --db=postgresql tests/registry

bench: $(STAMP) r-metafor r-design r-lme4
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) bench/gmfm_batch.py
	$(PY) bench/evidence.py
	$(PY) bench/registry.py
	$(PY) bench/design.py
	$(PY) bench/outcomes.py

# R + metafor (Debian packages) for the metafor reference fixtures and the benchmark
r-metafor:
	@Rscript -e 'library(metafor); library(clubSandwich); library(jsonlite)' >/dev/null 2>&1 || \
		($(SUDO) $(APT) update && $(SUDO) $(APT) install -y --no-install-recommends \
		r-base-core r-cran-metafor r-cran-clubsandwich r-cran-jsonlite)

# R + rpact and pwr (Debian packages) for the design fixtures and benchmark
r-design:
	@Rscript -e 'library(rpact); library(pwr); library(jsonlite)' >/dev/null 2>&1 || \
		($(SUDO) $(APT) update && $(SUDO) $(APT) install -y --no-install-recommends \
		r-base-core r-cran-rpact r-cran-pwr r-cran-jsonlite)

# R + lme4 (Debian packages) for the mixed-model reference fixtures and the benchmark
r-lme4:
	@Rscript -e 'library(lme4); library(jsonlite)' >/dev/null 2>&1 || \
		($(SUDO) $(APT) update && $(SUDO) $(APT) install -y --no-install-recommends \
		r-base-core r-cran-lme4 r-cran-jsonlite)

# regenerate the R reference fixtures (not part of `make test`): tests/evidence/metafor/*.json
# (metafor), tests/design/rpact/*.json (rpact, pwr, power.t.test), tests/outcomes/ipd/lme4/*
# (lme4)
fixtures: r-metafor r-design r-lme4
	Rscript tests/evidence/metafor/generate.R tests/evidence/metafor
	Rscript tests/evidence/metafor/bundled.R tests/evidence/metafor
	Rscript tests/design/rpact/generate.R tests/design/rpact
	Rscript tests/outcomes/ipd/lme4/generate.R tests/outcomes/ipd/lme4

screenshots: $(STAMP) system-deps
	$(PY) docs/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build dist src/*.egg-info
