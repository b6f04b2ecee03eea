# The two set-up commands: `make demo` and `make test`. Everything is installed into .venv by this file.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test lint bench model clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

demo: $(VENV)/.runtime
	$(BIN)/chaperone demo

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

bench: $(VENV)/.runtime
	bash benchmarks/relay.sh

# The learned content model, rebuilt from corpus/batches (reproducible: same corpus, same bytes).
model: $(VENV)/.dev
	$(BIN)/chaperone policy train

clean:
	rm -rf $(VENV) chaperone-data .pytest_cache .mypy_cache
