# The two set-up commands: `make run` and `make test`. Everything else is a helper of theirs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench install migrate seed clean-var

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

.env: | $(STAMP)
	$(BIN)/python -m statuspool.envfile .env

migrate: install .env
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# Dashboard + API on http://127.0.0.1:8000, with a Celery worker and beat beside it.
run: seed
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@bash .ci/serve

# Persistent connections would outlive live_server threads and block test-database teardown.
test: install .env
	DATABASE_CONN_MAX_AGE=0 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install .env
	$(BIN)/python -m bench

clean-var:
	rm -rf var
