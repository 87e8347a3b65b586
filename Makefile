# analog2digital: `make demo` runs the stack on this machine, `make test` runs every check.
# Both install what they need first: Debian packages (as root) and the .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS := edge,kiosk,bridge,server,train,dev
# every package of those extras, pinned with the hashes of its files (x86_64 and aarch64): `make lock`
LOCK := requirements.lock
comma := ,
# mosquitto: tests and demo start their own broker; socat: serial-port tests;
# python3-venv: Debian's python3 needs it for `python3 -m venv`; postgresql: the sync-server tests
# start a throwaway cluster with its initdb/pg_ctl (both backends run the same suite; no service is used).
# espeak-ng: kiosk speech; libzbar0: tests decode the kiosk QR codes; libgl1, libegl1, mesa, libmtdev1: Kivy
# (offscreen rendering in tests); chromium: the kiosk benchmark renders the same home screen in it, and
# tests/console drive the console's pages in it with Playwright (never `playwright install`).
# shellcheck, nftables: the tests check the appliance's scripts and rule sets (images/);
# debootstrap: `make deb` and `make test-system` build and install the package in a Debian 12 root folder.
DEBIAN_PACKAGES := python3-venv python3-dev mosquitto mosquitto-clients socat sqlite3 postgresql \
  espeak-ng libzbar0 libgl1 libegl1 libgl1-mesa-dri libmtdev1 chromium shellcheck nftables debootstrap gpg fdisk

.PHONY: help deps venv lock test test-system deb lint demo bench acceptance clean

help:
	@echo "make demo   - run a broker, the edge agent and simulated devices, then keep the server and console (Ctrl-C stops)"
	@echo "make test   - ruff, import contracts and pytest (starts its own Mosquitto)"
	@echo "make test-system - the Debian package installed, upgraded and purged in a Debian 12 root folder (root)"
	@echo "make deb    - the a2d Debian package in dist/ (root; built with Debian 12's python3)"
	@echo "make bench  - the benchmarks in bench/ (the forecast evaluation runs on its own: bench/forecast_eval.py)"
	@echo "make venv   - create .venv with every extra, exactly as requirements.lock pins them"
	@echo "make lock   - write requirements.lock again from pyproject.toml (LOCK_FLAGS=--upgrade for the newest)"

deps:
	@scripts/debian-packages $(DEBIAN_PACKAGES)

venv: deps $(BIN)/.installed

# The lock's pins and hashes only: a Pi in the field gets exactly what was tested. The project
# itself comes last, built by the locked setuptools in the venv (no build isolation, no other download).
$(BIN)/.installed: pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r $(LOCK)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	@touch $@

# Keeps today's pins where pyproject.toml still admits them; LOCK_FLAGS=--upgrade takes the newest.
LOCK_FLAGS ?=
lock:
	@test -x $(BIN)/uv || { echo "make lock runs $(BIN)/uv (the dev extra): make venv first"; exit 1; }
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	  $(foreach extra,$(subst $(comma), ,$(EXTRAS)),--extra $(extra)) \
	  --custom-compile-command "make lock" --quiet $(LOCK_FLAGS) -o $(LOCK)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# The package, built in a Debian 12 root folder with its python3 (docs/provisioning-appliance.md).
# The root folder and the package are cached under ~/.cache/a2d (A2D_CACHE), keyed by what goes in.
DEB_VERSION ?= $(shell $(PYTHON) -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
deb: venv
	$(BIN)/python -m devtools.debian.build --out dist --version $(DEB_VERSION)

# Slow (the first run makes the root folder and builds the package: about ten minutes; later runs
# take the cached ones), so not part of `make test`; .ci/run runs both.
test-system: venv
	$(BIN)/pytest tests_system

demo: venv
	$(BIN)/a2d demo --stay

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
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build dist *.egg-info
