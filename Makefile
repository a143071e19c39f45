# Two commands do everything: `make run` serves the dashboard, `make test` runs the tests.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: run test venv bench lint clean e2e-setup

venv: $(STAMP)

# Reinstall whenever requirements.txt changes; the stamp records a finished install.
$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 (e.g. apt-get install python3.11 python3.11-venv)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run dashboard/app.py --server.port $(PORT)

test: $(STAMP) e2e-setup
	$(BIN)/python -m pytest

# The browser tests drive Debian's chromium through Playwright (never `playwright
# install`, which downloads a browser build of its own).
CHROMIUM := /usr/bin/chromium
e2e-setup:
	@test -x $(CHROMIUM) || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }
	@test -x $(CHROMIUM) || { echo "error: $(CHROMIUM) still missing; install the chromium package"; exit 1; }

# Benchmarks print their tables and write them into README.md (a few minutes to
# about half an hour: quality.py runs PyOD on every ODDS set).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/rpca.py
	$(BIN)/python bench/quality.py
	$(BIN)/python -m bench.ingest
	$(BIN)/python bench/large.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
