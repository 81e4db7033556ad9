"""The demo run once per test session, on each warehouse: sandbox -> OAuth -> sync -> platform records with
planted differences -> load -> dbt build -> drift report, in a temp dir (round_trip off: nothing pushed).

`demo_run` stands on a DuckDB file, `pg_demo_run` on a PostgreSQL database of its own (dropped at the end
of the session); tests that read a built warehouse use either, and a test that must hold on both takes
`any_demo_run`, parametrised over the two.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import SECTION, Settings
from pipelines.runtime.warehouse import Warehouse
from pipelines.runtime.warehouse_sql import open_warehouse
from sandbox.demo import tour as demo

# dbt builds of the models alone, where the models' data is what a test looks at: tests/transform and
# test_dbt_on_postgres run the data tests (dbt's own flag)
MODELS_ONLY = {"DBT_EXCLUDE_RESOURCE_TYPES": "test unit_test"}


@contextmanager
def pg_database(base: str) -> Iterator[str]:
    """A PostgreSQL database of its own (`qbo_wh_<hex>`: a warehouse has many schemas), dropped after."""
    import psycopg

    name = f"qbo_wh_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class DemoRun:
    workdir: Path
    output: str
    planted: dict[str, Any]
    warehouse_url: str | None = None

    @property
    def warehouse(self) -> Warehouse:
        """The DuckDB file, or the PostgreSQL URL."""
        return self.warehouse_url or self.workdir / "warehouse.duckdb"

    @property
    def settings(self) -> Settings:
        """Settings that read this run's warehouse and integration store (its sandbox is gone)."""
        return Settings(
            warehouse=self.workdir / "warehouse.duckdb",
            warehouse_url=self.warehouse_url,
            store_url=f"sqlite:///{self.workdir / 'integration.sqlite'}",
            budget_url=f"sqlite:///{self.workdir / 'budget.sqlite'}",
            pipelines_dir=self.workdir / "pipelines",
        )

    @property
    def connector(self) -> Connector:
        return Connector(self.settings)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """`sql` with `?` placeholders, on whichever warehouse this run built."""
        with open_warehouse(self.warehouse) as db:
            return db.all(sql, list(params))


def settings_env(settings: Settings, tenant: str) -> dict[str, str]:
    """The settings as the environment `qbo` and the flows resolve them (SOURCES__QUICKBOOKS__*): what a
    Prefect worker or a served flow of the tests is started with."""
    values = {
        "base_url": settings.base_url,
        "discovery_url": settings.discovery_url,
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
        "redirect_uri": settings.redirect_uri,
        "token_encryption_keys": ",".join(settings.token_encryption_keys),
        "store_url": settings.store_url,
        "budget_url": settings.budget_url,
        "warehouse": settings.warehouse_url or str(settings.warehouse),
        "pipelines_dir": str(settings.pipelines_path),
        "tenant_id": tenant,
    }
    return {f"{SECTION}.{k}".upper().replace(".", "__"): str(v) for k, v in values.items() if v}


def run_demo(workdir: Path, warehouse_url: str | None = None) -> DemoRun:
    out = io.StringIO()
    demo.run(out=out, workdir=workdir, round_trip=False, warehouse_url=warehouse_url)
    planted = json.loads((workdir / "platform" / "planted.json").read_text(encoding="utf-8"))
    return DemoRun(workdir, out.getvalue(), planted, warehouse_url)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return run_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def pg_demo_run(tmp_path_factory: pytest.TempPathFactory, postgres_base: str) -> Iterator[DemoRun]:
    with pg_database(postgres_base) as url:
        yield run_demo(tmp_path_factory.mktemp("pg_demo"), url)


@pytest.fixture(params=["duckdb", "postgres"])
def any_demo_run(request: pytest.FixtureRequest) -> DemoRun:
    run: DemoRun = request.getfixturevalue("demo_run" if request.param == "duckdb" else "pg_demo_run")
    return run
