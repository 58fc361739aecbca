# Set-up for a fresh machine: `make demo` or `make test` creates .venv and installs everything.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test proto bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m mezon_nb.quickstart

test: $(STAMP)
	bash scripts/install_browser.sh
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m mypy
	$(PY) -m pytest

# Regenerate mezon_nb/protocol/*_pb2.py(i) from our .proto subset.
proto: $(STAMP)
	$(PY) scripts/gen_proto.py

bench: $(STAMP)
	bash scripts/install_browser.sh
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist .pytest_cache
