# Every target works on a fresh clone: the first one that needs Python creates .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) -m orchestra.demo

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) -m bench

lint: install
	$(VENV)/bin/ruff check orchestra graphs tests bench
	$(VENV)/bin/ruff format --check orchestra graphs tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
