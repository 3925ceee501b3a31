# Two commands: `make demo` and `make test`. Everything else is detail.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# make bench SIZES=1000,10000,50000 (50,000 takes 30–45 minutes and 18 GB of disk)
SIZES ?= 1000,10000
STAMP := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck clients bench fuzz soak clean translations

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(TESTSTAMP): $(STAMP) pyproject.toml package.json
	$(BIN)/pip install -q -e '.[test]'
	npm install --no-audit --no-fund --silent
	touch $@

demo: $(STAMP)
	bash scripts/demo.sh

clients:
	bash scripts/install-clients.sh

# The message catalogues: extract every message into musforms/locale/musforms.pot, update the
# Danish and English musforms.po, compile the .mo files. Lists each Danish text still missing.
translations: $(TESTSTAMP)
	$(BIN)/python scripts/translations.py

lint: $(TESTSTAMP)
	$(BIN)/ruff check musforms tests scripts benchmarks
	$(BIN)/ruff format --check musforms tests scripts benchmarks
	$(BIN)/mypy

# The whole suite with the hand-written fast paths, then every real-client test again with
# them off (MUSFORMS_FAST_PATHS=0, see musforms/fastpath.py), so each real-client test also
# checks the libraries' own way of writing forms and minutes. pytest exits 5 when a marker
# selects no test; make stops on that as on any failure.
test: $(TESTSTAMP) clients lint
	MUSFORMS_FAST_PATHS=1 $(BIN)/pytest
	MUSFORMS_FAST_PATHS=0 $(BIN)/pytest -m realclient

bench: $(TESTSTAMP)
	$(BIN)/python benchmarks/bench.py --sizes $(SIZES)

# Fault injection, the long run: at least FAULTS random faults (kills, two writers, full and
# read-only disks, copies) on a round of 1,000 employees; figures into benchmarks/RESULTS.md.
# Needs root (tmpfs mounts). The short run is tests/test_faults.py, part of `make test`.
FAULTS ?= 200
soak: $(TESTSTAMP)
	$(BIN)/python benchmarks/soak.py --employees 1000 --faults $(FAULTS)

fuzz: $(TESTSTAMP) clients
	MUSFORMS_FUZZ_SECONDS=600 $(BIN)/pytest -m fuzz -p no:cacheprovider tests/test_fuzz.py

clean:
	rm -rf $(VENV) node_modules demo-out bench-out soak-out
