# Carebooks: `make run` serves a demo fund, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export CAREBOOKS_INSTANCE ?= $(CURDIR)/instance

.PHONY: run test install bench-books bench clean translations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/carebooks demo --if-missing
	$(VENV)/bin/carebooks serve --port 5000

test: $(STAMP)
	$(PY) -m pytest -q

bench-books: $(STAMP)
	$(PY) bench/books.py

clean:
	rm -rf $(VENV) .pytest_cache test-output

# Languages: extract every message, merge it into each catalog, compile (see docs/i18n.md).
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output -o app/translations/messages.pot .
	$(VENV)/bin/pybabel update -i app/translations/messages.pot -d app/translations --no-location --ignore-obsolete
	$(VENV)/bin/pybabel compile -d app/translations
