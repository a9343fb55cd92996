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

# The test tools at the versions the code was last checked with: a new ruff, mypy or
# pytest release must not turn a fresh machine red (raise them in constraints-test.txt).
$(VENV)/.installed-test: pyproject.toml constraints-test.txt $(BIN)/activate
	$(BIN)/pip install -q -c constraints-test.txt -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/syncledger demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	@# mypy resolves `syncledger` through a link, since the repository root is the package.
	@mkdir -p build/typecheck && ln -sfn ../.. build/typecheck/syncledger
	MYPYPATH=build/typecheck $(BIN)/mypy --package syncledger
	@# the layer contracts of pyproject.toml's [tool.importlinter]
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) *.egg-info build
