# Carebooks: `make run` serves a demo fund, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export CAREBOOKS_INSTANCE ?= $(CURDIR)/instance

.PHONY: run test install bench-books bench-report bench-http bench clean translations system-tools audit-deps soak

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# What the end-to-end and report tests need beyond Python: Debian's Chromium (a test tool's
# own browser download does not work here), pdftoppm, and axe-core from npm.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $(AXE)

system-tools:
	@command -v chromium >/dev/null && command -v pdftoppm >/dev/null || { \
	  echo "installing chromium and poppler-utils (Debian packages)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium poppler-utils >/dev/null; }

run: $(STAMP)
	$(VENV)/bin/carebooks demo --if-missing
	$(VENV)/bin/carebooks serve --port 5000

# The suite in parallel (pytest-xdist): one worker per core unless PYTEST_WORKERS says
# otherwise; --dist loadfile keeps each test file on one worker, so a file's module-scoped
# fixtures (the fuzzed site, the report PDFs) are built once, not once per worker.
# With CI set, a skipped test fails the run (tests/conftest.py).
PYTEST_WORKERS ?= auto
test: $(STAMP) $(AXE) system-tools
	$(VENV)/bin/bandit -r app ledger reports -lll -q
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

# Known vulnerabilities in the installed dependencies. It needs PyPI's per-version JSON
# (or OSV), which this workplace's network does not offer, so it is not part of `make test`
# (see docs/security.md).
audit-deps: $(STAMP)
	$(VENV)/bin/pip-audit --strict --progress-spinner off

bench-books: $(STAMP)
	$(PY) bench/books.py

# Crash injection at length: 1,000 SIGKILLs per database (SQLite, then PostgreSQL at
# CAREBOOKS_TEST_DATABASE_URL or the local server), check after each; prints the counts.
# Then the same over HTTP: gunicorn and `carebooks serve` killed 1,000 times per database
# while clients retry with their Idempotency-Keys (tests/fault/http_crashes.py).
soak: $(STAMP)
	$(PY) -m tests.fault.crashes --kills 1000
	$(PY) -m tests.fault.http_crashes --kills 1000

bench-report: $(STAMP)
	$(PY) bench/report.py --keep

# The app under gunicorn (2 workers) with a mixed HTTP load on 127.0.0.1, then `check`
# (docs/performance.md). The local PostgreSQL (its Unix socket, else 127.0.0.1:5432): it
# creates and drops carebooks_bench.
bench-http: $(STAMP)
	$(PY) bench/http_load.py

clean:
	rm -rf $(VENV) .pytest_cache test-output

# Languages: extract every message, merge it into each catalog, compile (see docs/i18n.md).
# Both catalogs, the app's and the reports' (read at run time, so not compiled here).
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output -o app/translations/messages.pot .
	$(VENV)/bin/pybabel update -i app/translations/messages.pot -d app/translations --ignore-obsolete --no-fuzzy-matching
	sed -i '1,20{/^#, fuzzy$$/d}' app/translations/*/LC_MESSAGES/messages.po  # the header, not messages
	$(VENV)/bin/pybabel compile -d app/translations
	$(VENV)/bin/pybabel -q extract -F reports/babel.cfg --no-location --sort-output --project=Carebooks -o reports/translations/messages.pot .
	$(VENV)/bin/pybabel -q update -i reports/translations/messages.pot -d reports/translations --no-fuzzy-matching --width=100
