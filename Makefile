# Two commands: `make demo` and `make test`. Everything else is detail.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# make bench SIZES=1000,10000,50000 (50,000 takes 30–45 minutes and 18 GB of disk)
SIZES ?= 1000,10000
STAMP := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck clients bench fuzz clean

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

lint: $(TESTSTAMP)
	$(BIN)/ruff check musforms tests scripts benchmarks
	$(BIN)/ruff format --check musforms tests scripts benchmarks
	$(BIN)/mypy

test: $(TESTSTAMP) clients lint
	$(BIN)/pytest

bench: $(TESTSTAMP)
	$(BIN)/python benchmarks/bench.py --sizes $(SIZES)

fuzz: $(TESTSTAMP) clients
	MUSFORMS_FUZZ_SECONDS=600 $(BIN)/pytest -m fuzz -p no:cacheprovider tests/test_fuzz.py

clean:
	rm -rf $(VENV) node_modules demo-out bench-out
