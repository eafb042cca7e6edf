# Carebooks: `make run` serves a demo fund, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export CAREBOOKS_INSTANCE ?= $(CURDIR)/instance

.PHONY: run test install bench-books bench clean

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
