# cpstem: the README's commands. `make run` and `make test` install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint install clean fixtures r-metafor

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/cpstem tour

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench

test: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(PY) -m pytest -q

bench: $(STAMP) r-metafor
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) bench/gmfm_batch.py
	$(PY) bench/evidence.py

# R + metafor (Debian packages) for the metafor reference fixtures and the benchmark
r-metafor:
	@Rscript -e 'library(metafor); library(jsonlite)' >/dev/null 2>&1 || \
		(apt-get update && apt-get install -y --no-install-recommends r-base-core r-cran-metafor r-cran-jsonlite)

# regenerate tests/evidence/metafor/*.json from R's metafor (not part of `make test`)
fixtures: r-metafor
	Rscript tests/evidence/metafor/generate.R tests/evidence/metafor

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist src/*.egg-info
