# The negotiation tracker. `make demo` to try it, `make test` to run the whole suite.
# Without DATABASE_URL both run on PostgreSQL embedded in .pgdata/ (exomars_site/database.py),
# started on demand and left running: `make db-status`, `make db-stop`.

PYTHON_VERSION := $(shell cat .python-version)
PYTHON_MINOR := $(word 1,$(subst ., ,$(PYTHON_VERSION))).$(word 2,$(subst ., ,$(PYTHON_VERSION)))
# The interpreter named in .python-version: pyenv's build of it, else one on the PATH.
BASE_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/$(PYTHON_VERSION)/bin/python) \
	$(shell command -v python$(PYTHON_MINOR) 2>/dev/null) python$(PYTHON_MINOR))
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

# Tests run with DEBUG off, as production does; this key exists only for them.
TEST_ENV := DEBUG=0 SECRET_KEY=test-only-key-not-secret STATIC_MANIFEST=0 \
	ALLOWED_HOSTS=localhost,127.0.0.1,testserver
# The ExoMars case is replayed as of the week its record ends (agreements/clock.py).
DEMO_ENV := DEBUG=1 TRACKER_AS_OF=$(or $(TRACKER_AS_OF),2012-11-26)

WORKERS ?= 3

.PHONY: install demo serve test test-fast lint format migrations-check messages screenshots clean \
	db-status db-stop

$(VENV)/.installed: pyproject.toml .python-version
	@$(BASE_PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; \
		sys.exit(0 if v == "$(PYTHON_MINOR)" else f"Python $(PYTHON_MINOR) is needed (.python-version), found {v}")'
	$(BASE_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(DEMO_ENV) $(MANAGE) migrate --no-input
	$(DEMO_ENV) $(MANAGE) compilemessages --ignore=.venv -v0 || true
	$(DEMO_ENV) $(MANAGE) load_demo
	@echo
	@echo "Serving http://$(HOST):$(PORT)/ (Ctrl-C to stop). Log in with the accounts above."
	$(DEMO_ENV) $(MANAGE) runserver $(HOST):$(PORT)

# Production: gunicorn behind a proxy that terminates HTTPS. Needs SECRET_KEY, ALLOWED_HOSTS,
# DATABASE_URL, SITE_URL and the EMAIL_* variables in the environment (README, "Running in
# production"). With MIGRATE_DATABASE_URL (the tables' owner), migrations run as the owner,
# which then grants DATABASE_URL's role its privileges; the app serves as that role.
# (The URLs are expanded by the shell, not make, so that no password is echoed.)
RUNTIME_ROLE := $(PY) -c 'import os, dj_database_url; print(dj_database_url.parse(os.environ["DATABASE_URL"])["USER"])'
serve: install
	DJANGO_ENV=production $(MANAGE) check --deploy --fail-level WARNING
	DJANGO_ENV=production $(MANAGE) collectstatic --no-input -v0
	DJANGO_ENV=production DATABASE_URL="$${MIGRATE_DATABASE_URL:-$$DATABASE_URL}" $(MANAGE) migrate --no-input
	if [ -n "$$MIGRATE_DATABASE_URL" ]; then \
		DJANGO_ENV=production DATABASE_URL="$$MIGRATE_DATABASE_URL" \
			$(MANAGE) grant_runtime_privileges "$$($(RUNTIME_ROLE))"; fi
	DJANGO_ENV=production $(VENV)/bin/gunicorn exomars_site.wsgi --workers $(WORKERS) \
		--bind $(HOST):$(PORT) --access-logfile - --logger-class exomars_site.access_log.RedactingLogger \
		--max-requests 2000 --max-requests-jitter 200

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(TEST_ENV) $(MANAGE) check --fail-level WARNING
	$(TEST_ENV) $(MANAGE) makemigrations --check --dry-run
	# Hashed static names must build: a missing file referenced from CSS fails here.
	$(TEST_ENV) STATIC_MANIFEST=1 $(MANAGE) collectstatic --no-input --clear -v0

migrations-check: install
	$(TEST_ENV) $(MANAGE) makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The whole suite, browser tests included. DATABASE_URL selects the server (CI: the
# machine's PostgreSQL 15); without it, the embedded one (PostgreSQL 18).
test: lint
	$(TEST_ENV) $(VENV)/bin/pytest

# Everything but the browser tests, for a quick loop while editing.
test-fast: install
	$(TEST_ENV) $(VENV)/bin/pytest -m "not browser" -x -q

messages: install
	$(DEMO_ENV) $(MANAGE) makemessages -l fr -l ru --ignore=.venv --ignore=tests
	$(DEMO_ENV) $(MANAGE) compilemessages --ignore=.venv

# The README's screenshots (docs/screenshots/*.png) of the demo data, taken in Chromium.
screenshots: install
	SCREENSHOTS=1 $(TEST_ENV) $(VENV)/bin/pytest -q tests/browser/test_screenshots.py

# Load test at 100x the demo size on PostgreSQL (DATABASE_URL names the server; the bench
# creates and drops a database of its own). Needs wrk. Report: bench/results/latest.md.
# BENCH_ARGS passes options, e.g. BENCH_ARGS='--profile "/agreements/{agreement}/"'.
.PHONY: bench bench-quick
bench: install
	$(PY) -m bench $(BENCH_ARGS)

bench-quick: install
	$(PY) -m bench --quick $(BENCH_ARGS)

# Soak: readers, an editor and the digest sender together for SOAK_ARGS='--minutes 10'.
# Report: bench/results/soak.md.
.PHONY: soak
soak: install
	$(PY) -m bench.soak $(SOAK_ARGS)

# The embedded PostgreSQL (used when DATABASE_URL is unset): is it running, stop it.
db-status: install
	$(PY) -m exomars_site.database status

db-stop: install
	$(PY) -m exomars_site.database stop

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
