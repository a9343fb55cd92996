PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml $(BIN)/activate
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(BIN)/activate
	$(BIN)/pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/syncledger demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	@# mypy resolves `syncledger` through a link, since the repository root is the package.
	@mkdir -p build/typecheck && ln -sfn ../.. build/typecheck/syncledger
	MYPYPATH=build/typecheck $(BIN)/mypy --package syncledger

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) *.egg-info build
