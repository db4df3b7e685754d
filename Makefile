# newsvigil — the two commands of the quick start are `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test test-fast lint format install services services-down browser bench clean

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

## Run the whole suite with Kafka and PostgreSQL up (installed when missing). The servers are held for
## the suite only: when it ends, pass or fail, the ones no one else uses are stopped, while those of a
## `make services` or of another checkout stay up. The recipe fails with pytest's status (make: "Error N").
test: install browser
	services/services.sh run -- $(BIN)/python -m pytest

## The inner loop: every test that needs no service (no Kafka, no PostgreSQL, no browser), in under a minute.
test-fast: install
	$(BIN)/python -m pytest -m "not kafka and not postgres and not chaos and not slow"

## Debian's Chromium for the dashboard's end-to-end tests (Playwright never downloads its own).
browser:
	@test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

## Format check, lint, types and the layer contracts (CI runs this before the tests).
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## Rewrite the code the way `make lint` wants it.
format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Start (or reuse) Kafka and PostgreSQL and keep them for this checkout until `make services-down`.
services:
	services/services.sh up

## Let them go; a server stops once no checkout uses it.
services-down:
	services/services.sh down

bench: install
	$(BIN)/python bench/detect.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
