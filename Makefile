# hfswim — two commands on a fresh machine: `make demo`, then `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hfswim-installed
OFFLINE := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1

.PHONY: install demo test quality format benchmarks clean

install: $(STAMP)

# torch==2.13.0 first: its CPU build is what a plain `torch` requirement would otherwise
# replace with several GB of CUDA wheels. A current pip resolves this set in under a minute.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: install
	$(OFFLINE) $(BIN)/hfswim run --output runs/demo

test: install
	$(OFFLINE) $(BIN)/python -m pytest -q -ra

quality: install
	$(BIN)/ruff check hfswim tests benchmarks spaces
	$(BIN)/ruff format --check hfswim tests benchmarks spaces

format: install
	$(BIN)/ruff check --fix hfswim tests benchmarks spaces
	$(BIN)/ruff format hfswim tests benchmarks spaces

benchmarks: install
	$(OFFLINE) $(BIN)/python -m benchmarks.run_all $(BENCH)

clean:
	rm -rf runs .pytest_cache .ruff_cache
