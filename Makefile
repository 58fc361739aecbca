# Set-up for a fresh machine: `make demo` or `make test` creates .venv and installs everything.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-under-load proto bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m mezon_nb.quickstart

test: $(STAMP)
	bash scripts/install_browser.sh
	bash scripts/install_test_services.sh
	$(PY) -m ruff check --no-cache .
	$(PY) -m pytest

# The whole suite RUNS times in a row (default 3) while one core is kept busy (stress-ng or a
# Python busy loop); prints each run's duration and result. E.g. `make test-under-load RUNS=1`,
# or another Python: `make test-under-load PYTHON=python3.13 VENV=.venv-3.13`.
RUNS ?= 3
test-under-load: $(STAMP)
	TEST_CMD='$(MAKE) --no-print-directory test PYTHON=$(PYTHON) VENV=$(VENV)' \
	PY_VERSION="$$($(PY) --version)" bash scripts/test_under_load.sh $(RUNS)

# Regenerate mezon_nb/protocol/*_pb2.py(i) from our .proto subset.
proto: $(STAMP)
	$(PY) scripts/gen_proto.py

bench: $(STAMP)
	bash scripts/install_browser.sh
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist .pytest_cache
