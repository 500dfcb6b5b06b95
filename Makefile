# Two commands do everything on a fresh machine with Python >= 3.11 and make:
#   make run    install into .venv, run the whole re-analysis, write results/report.html
#   make test   install into .venv, lint, build the docs (warnings as errors), run all tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.bayesblina-installed
export MPLBACKEND := Agg

.PHONY: install run test test-fast lint docs bench bench-full clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "bayesblina needs Python >= 3.11 (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/bayesblina run --out results

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# the notebooks run in this build (their outputs cached in docs/_build/.jupyter_cache)
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# the docs build (warnings as errors) is one of the tests (tests/test_docs.py), on a core of
# its own: pytest-xdist runs the suite on every core (worksteal: the long tests spread out)
test: lint
	$(BIN)/python -m pytest -n auto --dist worksteal

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m unit -x -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	$(BIN)/python benchmarks/bench_analyses.py
	$(BIN)/python benchmarks/bench_stan.py
	$(BIN)/python benchmarks/bench_stan.py --backend nutpie
	$(BIN)/python benchmarks/bench_stan_run.py
	$(BIN)/python benchmarks/bench_refit.py --nutpie
	$(BIN)/python benchmarks/bench_grid_batch.py
	$(BIN)/python benchmarks/bench_reconstruct_design.py

bench-full: $(STAMP)   # bench_analyses with the whole run timed warm and cold (an hour or more today)
	$(BIN)/python benchmarks/bench_analyses.py --full

clean:
	rm -rf $(VENV) results docs/_build docs/notebooks .pytest_cache .ruff_cache
