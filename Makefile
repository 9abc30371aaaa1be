# The two set-up commands: `make run` and `make test`. Everything else is a helper of theirs.
PYTHON ?= python3
VENV := .venv
LOCK_FLAGS := --generate-hashes --universal --python-version 3.11 --no-header
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench install lock migrate seed clean-var screenshots vendor-chartjs

# Exactly the versions and files of requirements-dev.lock (hash-checked); the project itself on top.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# After changing dependencies in pyproject.toml: rewrite both locks (the runtime one, which the
# Dockerfile installs, is the dev one's subset at the same versions), then `make install`. Versions
# already locked are kept; UPGRADE="--upgrade-package NAME" (or --upgrade) moves them within the bounds.
lock: install
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev $(LOCK_FLAGS) $(UPGRADE) -o requirements-dev.lock
	$(BIN)/uv pip compile --quiet pyproject.toml -c requirements-dev.lock $(LOCK_FLAGS) -o requirements.lock

.env: | $(STAMP)
	$(BIN)/python -m statuspool.envfile .env

migrate: install .env
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# Dashboard + API on http://127.0.0.1:$(PORT) (make run PORT=8001), with a Celery worker and beat,
# all three supervised (supervisord.conf).
PORT ?= 8000
run: seed
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@PORT=$(PORT) bash .ci/serve

# Persistent connections would outlive live_server threads and block test-database teardown.
test: install .env
	DATABASE_CONN_MAX_AGE=0 $(BIN)/python -m pytest $(PYTEST_ARGS)

# Full-page screenshots of every dashboard page at 1280 px and on a phone, into var/screenshots/
# (the same run checks fit, axe-core and time zones). PAGES=apikeys,audit-log for only some.
screenshots: install .env
	DATABASE_CONN_MAX_AGE=0 PAGES="$(PAGES)" $(BIN)/python -m pytest tests/browser/test_every_page.py -q -k "1280 or phone" -p no:cacheprovider

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/bandit -q -r statuspool apikeys oauthapps audit bench usage

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install .env
	$(BIN)/python -m bench $(BENCH)

clean-var:
	rm -rf var

# The chart library of the usage charts, served from static/ (no CDN): Chart.js's UMD build, its
# source map (the minified file names it, and the production static storage resolves it) and its
# licence, copied from the npm package. To move to another version, change both lines below (the
# checksum is the SHA-256 of the tarball `npm pack chart.js@VERSION` downloads) and run the target.
CHARTJS_VERSION := 4.6.1
CHARTJS_SHA256 := 9345dacdf4bb4c5d40321f4b9aafab6fe676d37a534fc0bc2d17c4c4e29c4f00
CHARTJS_DIR := static/vendor/chartjs
vendor-chartjs:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd "$$tmp" && npm pack --silent chart.js@$(CHARTJS_VERSION) >/dev/null) && \
	echo "$(CHARTJS_SHA256)  $$tmp/chart.js-$(CHARTJS_VERSION).tgz" | sha256sum --check --quiet && \
	tar -xzf "$$tmp/chart.js-$(CHARTJS_VERSION).tgz" -C "$$tmp" && \
	mkdir -p $(CHARTJS_DIR) && \
	cp "$$tmp/package/dist/chart.umd.min.js" "$$tmp/package/dist/chart.umd.min.js.map" $(CHARTJS_DIR)/ && \
	cp "$$tmp/package/LICENSE.md" $(CHARTJS_DIR)/LICENSE.md && \
	sed -i 's/^Version: .*/Version: $(CHARTJS_VERSION)/' $(CHARTJS_DIR)/README.md && \
	echo "Chart.js $(CHARTJS_VERSION) copied into $(CHARTJS_DIR)/"
