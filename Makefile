# analog2digital: `make demo` runs the stack on this machine, `make test` runs every check.
# Both install what they need first: Debian packages (as root) and the .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS := edge,kiosk,bridge,server,train,dev
# mosquitto: tests and demo start their own broker; socat: serial-port tests;
# python3-venv: Debian's python3 needs it for `python3 -m venv`; postgresql: the sync-server tests
# start a throwaway cluster with its initdb/pg_ctl (both backends run the same suite; no service is used).
# espeak-ng: kiosk speech; libzbar0: tests decode the kiosk QR codes; libgl1, libegl1, mesa, libmtdev1: Kivy
# (offscreen rendering in tests); chromium: the kiosk benchmark renders the same home screen in it.
DEBIAN_PACKAGES := python3-venv python3-dev mosquitto mosquitto-clients socat sqlite3 postgresql \
  espeak-ng libzbar0 libgl1 libegl1 libgl1-mesa-dri libmtdev1 chromium

.PHONY: help deps venv test lint demo bench acceptance clean

help:
	@echo "make demo   - run a broker, the edge agent and simulated devices (Ctrl-C stops)"
	@echo "make test   - ruff, import contracts and pytest (starts its own Mosquitto)"
	@echo "make bench  - the benchmarks in bench/ (the forecast evaluation runs on its own: bench/forecast_eval.py)"
	@echo "make venv   - create .venv with every extra"

deps:
	@scripts/debian-packages $(DEBIAN_PACKAGES)

venv: deps $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	@touch $@

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

demo: venv
	$(BIN)/a2d demo

bench: venv
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/sync_catchup.py
	$(BIN)/python bench/button_latency.py
	$(BIN)/python bench/kiosk_start.py

# The acceptance checks live outside the repository: name their folder, e.g.
# `make acceptance ACCEPTANCE=/path/to/acceptance` (nothing in the checkout reads outside it).
ACCEPTANCE ?=
acceptance: venv
	@test -n "$(ACCEPTANCE)" || { echo "make acceptance needs ACCEPTANCE=<folder of the acceptance checks>"; exit 1; }
	$(ACCEPTANCE)/ingest
	$(ACCEPTANCE)/sync
	$(ACCEPTANCE)/bridge
	$(ACCEPTANCE)/kiosk
	$(ACCEPTANCE)/forecast

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build *.egg-info
