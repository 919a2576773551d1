# The two set-up commands are `make demo` and `make test`; everything else here serves them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

.PHONY: install test lint typecheck contracts docs-check docs pytest demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=25.1"
	$(BIN)/python -m pip install -q -c constraints.txt hatchling editables
	$(BIN)/python -m pip install -q -c constraints.txt --no-build-isolation -e . --group test
	@rm -f $(VENV)/.installed-*
	@touch $@

test: install lint typecheck contracts docs-check pytest

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy --strict seeder

contracts: install
	$(BIN)/lint-imports

docs-check: install
	$(BIN)/python docs/cli_reference.py --check

docs: install
	$(BIN)/python docs/cli_reference.py --write

pytest: install
	$(BIN)/python -m pytest -q

demo: install
	$(BIN)/seeder demo

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
