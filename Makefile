# newsvigil — the two commands of the quick start are `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test test-fast install services services-down browser bench clean

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

install: $(BIN)/.installed

## Monitor the default feeds on the embedded default (SQLite file + in-process bus).
run: install
	$(BIN)/newsvigil db upgrade
	$(BIN)/newsvigil run

## Start Kafka and PostgreSQL (installing them when missing), then run the whole suite.
test: install services browser
	$(BIN)/python -m pytest

## The inner loop: every test that needs no service (no Kafka, no PostgreSQL, no browser), in under a minute.
test-fast: install
	$(BIN)/python -m pytest -m "not kafka and not postgres and not chaos and not slow"

## Debian's Chromium for the dashboard's end-to-end tests (Playwright never downloads its own).
browser:
	@test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

services:
	services/services.sh up

services-down:
	services/services.sh down

bench: install
	$(BIN)/python bench/detect.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
