# The two commands a newcomer runs on a fresh machine; each sets up .venv itself first.
#   make demo   recon end to end against the bundled Starship sandbox
#   make test   lint, then the whole test suite (what CI runs)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.DEFAULT_GOAL := test
.PHONY: demo test lint format fixtures clean help browser

help:
	@echo "make demo      set up, then run recon end to end against the bundled sandbox"
	@echo "make test      set up, then lint and run every test (CI runs this)"
	@echo "make format    apply ruff's formatting and import order"
	@echo "make fixtures  regenerate data/fixtures from the scenario generator"
	@echo "make clean     remove the virtual environment and caches"

$(READY): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "recon needs Python 3.11 or newer as $(PYTHON)"; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c 'import ensurepip' 2>/dev/null \
		|| { echo "$(PYTHON) cannot make virtual environments: install python3-venv"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

demo: $(READY)
	$(BIN)/recon demo

lint: $(READY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint browser
	$(BIN)/pytest

# The report is tested in a real headless browser: Debian's chromium, installed here when it is
# missing (the tests look for it on PATH or in $$RECON_CHROMIUM).
browser:
	@command -v chromium >/dev/null 2>&1 || [ -n "$$RECON_CHROMIUM" ] \
		|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
			&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
		|| { echo "the report tests need chromium: apt-get install chromium (as root)"; exit 1; }

format: $(READY)
	$(BIN)/ruff check --fix --select I .
	$(BIN)/ruff format .

fixtures: $(READY)
	$(BIN)/recon sandbox scenario --out data/fixtures

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis dist build
