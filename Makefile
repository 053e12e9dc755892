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

.PHONY: run tour test test-sqlite test-postgresql system-deps bench lint install screenshots \
	clean fixtures r-metafor r-lme4

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# The registry on SQLite in ./cpstem-data with the synthetic demo cohort (loaded once), a local
# admin (its one-time password is printed the first time) at http://127.0.0.1:8000
run: $(STAMP)
	$(CPSTEM) demo load
	$(CPSTEM) user create admin --role admin --one-time-password --if-missing
	$(CPSTEM) serve --host 127.0.0.1 --port 8000

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

# Everything on SQLite (unit, API, CLI, browser), then the registry suite on a throw-away
# PostgreSQL server started by the tests from the machine's binaries.
test: $(STAMP) system-deps lint test-sqlite test-postgresql

test-sqlite: $(STAMP)
	$(PY) -m pytest -q

test-postgresql: $(STAMP)
	$(PY) -m pytest -q --db=postgresql tests/registry

bench: $(STAMP) r-metafor r-lme4
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) bench/gmfm_batch.py
	$(PY) bench/evidence.py
	$(PY) bench/registry.py
	$(PY) bench/outcomes.py

# R + metafor (Debian packages) for the metafor reference fixtures and the benchmark
r-metafor:
	@Rscript -e 'library(metafor); library(jsonlite)' >/dev/null 2>&1 || \
		($(SUDO) $(APT) update && $(SUDO) $(APT) install -y --no-install-recommends \
		r-base-core r-cran-metafor r-cran-jsonlite)

# R + lme4 (Debian packages) for the mixed-model reference fixtures and the benchmark
r-lme4:
	@Rscript -e 'library(lme4); library(jsonlite)' >/dev/null 2>&1 || \
		($(SUDO) $(APT) update && $(SUDO) $(APT) install -y --no-install-recommends \
		r-base-core r-cran-lme4 r-cran-jsonlite)

# regenerate tests/evidence/metafor/*.json from R's metafor and tests/outcomes/ipd/lme4/* from
# R's lme4 (not part of `make test`)
fixtures: r-metafor r-lme4
	Rscript tests/evidence/metafor/generate.R tests/evidence/metafor
	Rscript tests/outcomes/ipd/lme4/generate.R tests/outcomes/ipd/lme4

screenshots: $(STAMP) system-deps
	$(PY) docs/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build dist src/*.egg-info
