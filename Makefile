# Two commands do all the set-up (see README.md):
#   make book   build the site into _build/html
#   make test   lint, unit tests, every notebook under nbval, the strict build, site tests
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
export PYTHONHASHSEED := 0

.PHONY: book test lint unit clean

$(READY): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip check
	touch $@

book: $(READY)
	$(BIN)/python tools/cache_key.py
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The site is built: open file://$(CURDIR)/_build/html/index.html"

lint: $(READY)
	$(BIN)/ruff check lib tests tools benchmarks
	$(BIN)/ruff format --check lib tests tools benchmarks

test: lint book
	$(BIN)/python -m pytest

clean:
	rm -rf _build
