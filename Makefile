# Two entry points for a fresh machine with Python 3.11 and make: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-clock lint bench dist clean messages

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or run: make PYTHON=python3 ...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

# The test environment adds the test extras and the third-party example adapter that the
# EDMS conformance suite must find through the entry-point group.
$(VENV)/.installed-test: $(VENV)/.installed tests/thirdparty/pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]' -e tests/thirdparty
	touch $@

demo: $(VENV)/.installed
	$(BIN)/connector demo

test: $(VENV)/.installed-test
	$(BIN)/python tests/system_deps.py
	$(BIN)/python -m pytest -n 2 -q
	$(BIN)/python tests/faketime_run.py

# The date-sensitive tests under libfaketime at 31 Dec 22:30 UTC and 28 Feb 21:30 UTC (next day in Moscow).
test-clock: $(VENV)/.installed-test
	$(BIN)/python tests/system_deps.py
	$(BIN)/python tests/faketime_run.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check connector tests bench packaging

bench: $(VENV)/.installed
	$(BIN)/python bench/pipeline.py

# The Russian catalog: extract the strings, update connector/locale/ru/…/connector.po, compile the .mo.
messages: $(VENV)/.installed-test
	$(BIN)/python packaging/i18n_catalog.py

# The wheel, the offline bundle (every dependency as a wheel, install.sh), a .deb and an .rpm.
dist: $(VENV)/.installed
	$(BIN)/python tests/system_deps.py --only rpm
	$(BIN)/python packaging/build_dist.py --out dist

clean:
	rm -rf $(VENV) var .pytest_cache dist
