# The two commands a newcomer needs: `make demo` and `make test`.  Each creates .venv first,
# installing the exact versions pinned in constraints.txt (refresh them with `make lock`).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_ORDERS ?= 3000

.PHONY: demo test lint typecheck bench lock clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/qtrace demo --orders $(DEMO_ORDERS)

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_core.py

# Re-resolve the dependencies from pyproject.toml in a scratch venv and pin every version.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	( echo "# Exact versions for make demo, make test and CI; refresh with: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^qtrace' ) > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) var .pytest_cache
