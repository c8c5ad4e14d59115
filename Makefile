# Workestra: `make demo` installs and runs the demo; `make test` installs and runs every test.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install demo test browser-deps lint-security bench faults-report

$(PY):
	$(PYTHON) -m venv $(VENV)

install: $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"

demo: install
	$(PY) scripts/demo.py

# Browser tests drive Debian's Chromium; Playwright cannot download a browser here.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Debian's chromium (sudo apt-get install chromium) for the browser tests."; fi; }

# The fault suite writes its tables to var/faults_report.md, so a test run changes no tracked
# file; this target runs it and rewrites the tracked bench/faults_report.md on purpose.
test: install browser-deps
	$(PY) -m pytest $(PYTEST_ARGS)

faults-report: install
	WORKESTRA_FAULTS_REPORT=bench/faults_report.md $(PY) -m pytest -m faults $(PYTEST_ARGS)

lint-security: install
	$(VENV)/bin/bandit -q -c pyproject.toml -r workestra bookings routing notetaker integrations sfdc_emulator

bench: install
	$(PY) bench/push.py
