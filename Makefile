# Guichet — the two commands: `make run` (whole suite) and `make test` (lint, then all tests).
# Also: `make lint` (ruff + mypy), `make venv`, `make migrate`, `make contracts`, `make bench`, `make drill`, `make clean`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PACKAGES := contracts services/common services/accounts services/demarches services/billing \
            services/activities services/notifications services/gateway services/devtools

export GUICHET_DATA_DIR ?= $(CURDIR)/var

.PHONY: run test test-sqlite test-postgresql venv broker migrate contracts bench drill clean lint

$(BIN)/.installed: requirements.txt requirements-devtools.txt requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	./scripts/bootstrap-python.sh $(PYTHON)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=24' 'setuptools<82' wheel
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation $(foreach p,$(PACKAGES),-e $(p))
	touch $@

venv: $(BIN)/.installed

broker:
	./scripts/ensure-broker.sh

migrate: venv
	$(BIN)/guichet migrate

run: venv broker
	$(BIN)/guichet migrate
	$(BIN)/guichet run

# Lint: ruff on every Python file, mypy on the chassis, the contracts and the gateway (files in mypy.ini).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

# Lint, then every test on SQLite then on PostgreSQL (skipped with a warning if no server is reachable).
test: lint broker
	./scripts/ensure-postgresql.sh || true
	GUICHET_TEST_DATABASE=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)
	GUICHET_TEST_DATABASE=postgresql $(BIN)/python -m pytest $(PYTEST_ARGS)

test-sqlite: venv broker
	GUICHET_TEST_DATABASE=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgresql: venv broker
	GUICHET_TEST_DATABASE=postgresql $(BIN)/python -m pytest $(PYTEST_ARGS)

contracts: venv
	$(BIN)/python -m guichet_contracts.generate

bench: venv broker
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench

# The fault drill (bench/drill.py): the suite on a private RabbitMQ node under load, one fault at a time.
drill: venv
	$(BIN)/python -m bench.drill

clean:
	rm -rf $(VENV) var .pytest_cache
