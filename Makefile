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

# Stoplight Prism serves a validating mock of Twilio's API from Twilio's own OpenAPI description: the SMS
# tests check every request the relay makes against it (tests/test_sms_twilio_spec.py).
PRISM = @stoplight/prism-cli@5.14.2

$(VENV)/.dev: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	npm install --silent --no-audit --no-fund --prefix $(VENV)/prism $(PRISM)
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
