# make demo: create .venv, install auditor, run the embedded demo (no AWS account needed).
# make test: create .venv with the test extras and run the whole suite; make test-fast: all but the slow ones.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,iac,demo,distributed]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/auditor demo

# -n auto: one pytest worker per core (pytest-xdist); each worker starts its own moto server, redis-server,
# browser and ports, so the tests share nothing but the machine.
test: install-test
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# Everything but the browser, packaging, Celery and scheduler tests (marked slow): the loop while editing.
test-fast: install-test
	$(BIN)/python -m pytest -n auto -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) reports/* .pytest_cache
