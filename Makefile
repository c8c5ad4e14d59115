# Workestra: `make demo` installs and runs the demo; `make test` installs and runs every test.
# Installs come from the hash-locked requirements/lock.txt (`make lock` upgrades it); the ranges
# in pyproject.toml are for people who install the package itself.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# Every shipped package is linted and formatted; types are checked where the issue asks first.
LINT_PATHS := workestra bookings routing notetaker integrations sfdc_emulator tests bench scripts manage.py
TYPED_PATHS := workestra bookings integrations
COVERAGE_ARGS ?= --cov=integrations --cov-branch --cov-report=term:skip-covered
UV_COMPILE := $(VENV)/bin/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --universal --quiet --custom-compile-command "make lock"

.PHONY: install demo test browser-deps lint lint-security types format lock bench faults-report

$(PY):
	$(PYTHON) -m venv $(VENV)

# A stamp, so `make test` after `make install` does not reinstall; it is redone when the lock changes.
$(VENV)/.installed: requirements/lock.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements/lock.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) scripts/demo.py

# Browser tests drive Debian's Chromium; Playwright cannot download a browser here.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Debian's chromium (sudo apt-get install chromium) for the browser tests."; fi; }

# Lint and types first (seconds), then the suite with branch coverage of integrations/ (no gate).
LINT ?= lint
test: install browser-deps $(LINT)
	$(PY) -m pytest $(COVERAGE_ARGS) $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy $(TYPED_PATHS)

types: install
	$(VENV)/bin/mypy $(TYPED_PATHS)

# The fault suite writes its tables to var/faults_report.md, so a test run changes no tracked
# file; this target runs it and rewrites the tracked bench/faults_report.md on purpose.
faults-report: install
	WORKESTRA_FAULTS_REPORT=bench/faults_report.md $(PY) -m pytest -m faults $(PYTEST_ARGS)

lint-security: install
	$(VENV)/bin/bandit -q -c pyproject.toml -r workestra bookings routing notetaker integrations sfdc_emulator

# Rewrites files: run once on a clean tree and commit the result on its own (scripts/format_tree.sh).
format: install
	$(VENV)/bin/ruff format $(LINT_PATHS)
	$(VENV)/bin/ruff check --fix $(LINT_PATHS)

# Re-resolve the newest versions the pyproject ranges allow and re-hash them; commit the result.
# `make lock UPGRADE=` keeps today's pins where they still fit (only adds what is new).
UPGRADE ?= --upgrade
lock: $(PY)
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet "uv>=0.9,<0.14"
	$(UV_COMPILE) $(UPGRADE) --extra dev -o requirements/lock.txt
	$(UV_COMPILE) -c requirements/lock.txt -o requirements/prod.txt

bench: install
	$(PY) bench/push.py
