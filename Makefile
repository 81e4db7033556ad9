# qbo-elt: the two commands that matter are `make demo` and `make test`; both bootstrap from nothing.
SHELL := /bin/bash
# resolved by the shell at run time, after `setup` may have installed it
UV := $$(command -v uv 2>/dev/null || echo "python3 -m uv")
export UV_LINK_MODE ?= copy
# a user's install has bytecode: without it every `qbo` run recompiles ~1,400 modules (setup compiles the
# project's own too: uv installs it editable, and PYTHONDONTWRITEBYTECODE=1 would leave it uncompiled)
export UV_COMPILE_BYTECODE ?= 1
export RUNTIME__DLTHUB_TELEMETRY ?= false
export DO_NOT_TRACK ?= 1
export DBT_SEND_ANONYMOUS_USAGE_STATS ?= false
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: setup demo test lint format sandbox flows bench docs clean

setup: ## install uv if missing, then the locked environment (idempotent, seconds when up to date)
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet
	@$(UV) run --frozen --quiet python -m compileall -q -j 0 pipelines sources sandbox service flows >/dev/null

demo: setup ## the whole product against an embedded sandbox, no credentials
	$(UV) run --frozen qbo demo

test: setup ## the test suite (offline: sandbox on loopback, temp dirs); a worker per core, the longest files first
	$(UV) run --frozen pytest -n 2 --dist loadfile --durations=25

lint: setup ## ruff, lint and format check
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format: setup
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

sandbox: setup ## serve the local QBO sandbox on 127.0.0.1:8765 with the demo company
	$(UV) run --frozen qbo sandbox --host 127.0.0.1 --port 8765 --company demo

flows: setup ## serve the Prefect deployments of prefect.yaml (PREFECT_API_URL: a `prefect server start` server)
	$(UV) run --frozen qbo schedule

bench: setup ## performance figures in one table beside issue 19's goals (BENCH=full: the heavy set)
	$(UV) run --frozen python bench/table.py --set $(or $(BENCH),quick)

docs: setup ## dbt's documentation of the demo warehouse (after `make demo`), one page: dbt_project/target/static_index.html
	@test -f var/demo/warehouse.duckdb || { echo "no demo warehouse at var/demo/warehouse.duckdb: run \`make demo\` first" >&2; exit 2; }
	cd dbt_project && QBO_WAREHOUSE=$(CURDIR)/var/demo/warehouse.duckdb $(UV) run --frozen dbt docs generate --static --profiles-dir . --quiet
	@echo "docs: dbt_project/target/static_index.html (open it in a browser; or serve them: cd dbt_project && uv run --frozen dbt docs serve --profiles-dir .)"

clean:
	rm -rf var/ .pytest_cache .ruff_cache
