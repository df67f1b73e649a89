# frictionflow: every command a user needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FF := $(BIN)/python -m frictionflow

.DEFAULT_GOAL := help

help: ## list every target
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP) ## create the virtual environment and install the pinned requirements

run: $(STAMP) ## start the warehouse, generate the sandbox company, run the nightly DAG for its latest day, summarise
	$(FF) run

test: $(STAMP) lint ## run every test (lint, unit, dbt, end-to-end DAG runs, Airflow services)
	$(BIN)/pytest

lint: $(STAMP) ## ruff (check + format) and sqlfluff (dbt templater) on the whole repo
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(FF) warehouse start  # the dbt templater of sqlfluff compiles against a live warehouse
	eval "$$($(FF) env)" && cd dbt_project && ../$(BIN)/dbt parse --quiet && ../$(BIN)/sqlfluff lint models macros tests

airflow: $(STAMP) ## start Airflow standalone (UI on :8080, scheduler, DAG processor, triggerer) with the project's DAGs
	$(FF) airflow

warehouse: $(STAMP) ## start the embedded warehouse (no-op when WAREHOUSE_DSN points elsewhere)
	$(FF) warehouse start

stop: $(STAMP) ## stop the embedded warehouse cleanly
	$(FF) warehouse stop

sandbox: $(STAMP) ## deliver the sandbox company's sources (SANDBOX_CUSTOMERS, SANDBOX_DAYS, SANDBOX_SEED)
	$(FF) sandbox

dbt-build: $(STAMP) ## plain `dbt build` of every model against the warehouse (outside Airflow)
	eval "$$($(FF) env)" && $(BIN)/dbt build --project-dir dbt_project

bench: $(STAMP) ## after `make run`: dbt stage in the DAG vs plain dbt build, then `bench-load` and `bench-history`; into docs/benchmarks.md
	$(FF) bench --write
	$(FF) bench-load --write
	$(FF) bench-history --write

bench-load: $(STAMP) ## raw loader vs raw COPY and pandas to_sql (rows/s, peak memory at 1x/10x), into docs/benchmarks.md
	$(FF) bench-load --write

bench-history: $(STAMP) ## a night's dbt build at 30 vs 90 days of history (CUSTOMERS=...), into docs/benchmarks.md
	$(FF) bench-history --customers $(or $(CUSTOMERS),1000) --write

bench-identity: $(STAMP) ## identity resolution over 1M synthetic identifier rows (ROWS=...), into docs/benchmarks.md
	$(FF) bench-identity --rows $(or $(ROWS),1000000) --write

env: $(STAMP) ## print the local Airflow/dbt environment (eval "$$(make -s env)" to use it in a shell)
	@$(FF) env

clean: ## stop the warehouse and remove local state (.local/, dbt target)
	-$(FF) warehouse stop
	rm -rf .local dbt_project/target dbt_project/logs

.PHONY: help venv run test lint airflow warehouse stop sandbox dbt-build bench bench-load bench-history bench-identity env clean
