"""The one dbt project on PostgreSQL (issue 16, item 1): the tiny company and its platform records, loaded
by dlt's postgres destination, build with dbt-postgres (models, data tests, unit tests) and the marts
agree with the DuckDB build of the same data. Dialect differences live in adapter.dispatch macros."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dlt
import duckdb
import psycopg
import pytest

from pipelines.mapping.policy import MasteringPolicy
from pipelines.platform_load import load_platform
from pipelines.runtime.warehouse import PLATFORM_DATASET, QBO_DATASET
from pipelines.sync import sync_realm
from pipelines.transform.dbt_build import TransformResult, postgres_profile, run_dbt
from sandbox.background import RunningSandbox, running
from sandbox.demo import platform_records
from sandbox.state import Sandbox
from sources.platform import Tally, platform
from sources.quickbooks import quickbooks
from sources.quickbooks.client import QboClient, RetryPolicy, StaticTokens
from tests.qbo_http import QboHttp

TENANT = "demo-tenant"
REALM = "1001"


def database_url(base: str, name: str) -> str:
    """`base` (a postgresql:// URL) pointing at database `name` instead."""
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture(scope="module")
def postgres_warehouse(postgres_base: str) -> Iterator[str]:
    """A database of its own (a warehouse has many schemas), dropped after the tests."""
    name = f"qbo_wh_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield database_url(postgres_base, name)
    with psycopg.connect(postgres_base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def dlt_credentials(url: str) -> str:
    """dlt's postgres credentials require a password: trust auth (the test server's) ignores this one."""
    parts = urlsplit(url)
    if parts.password:
        return url
    netloc = f"{parts.username or 'postgres'}:trust@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def load_postgres(url: str, client: QboClient, platform_dir: Path, pipelines_dir: Path) -> None:
    """The realm and the platform records into PostgreSQL through dlt, with the sources the DuckDB
    sync and platform load use (same datasets, merge keys and delete marks)."""
    destination = dlt.destinations.postgres(credentials=dlt_credentials(url))
    qbo = dlt.pipeline(
        pipeline_name=f"pg_qbo_{client.realm_id}",
        destination=destination,
        dataset_name=QBO_DATASET,
        pipelines_dir=str(pipelines_dir),
    )
    qbo.run(quickbooks(client.realm_id, client)).raise_on_failed_jobs()
    records = dlt.pipeline(
        pipeline_name="pg_platform",
        destination=destination,
        dataset_name=PLATFORM_DATASET,
        pipelines_dir=str(pipelines_dir),
    )
    records.run(platform(str(platform_dir), {TENANT: client.realm_id}, Tally())).raise_on_failed_jobs()


# a QBO amount beyond decimal(18,2), the same on both: PostgreSQL has no try_cast (macros/dialect.sql)
PLANT_TOO_LARGE = (
    f"update {QBO_DATASET}.invoice set total_amt = cast('100000000000000000000' as decimal(38, 9)) "
    f"where id = (select min(id) from {QBO_DATASET}.invoice)"
)


@dataclass
class Built:
    duckdb_path: Path
    postgres_url: str
    duckdb_result: TransformResult
    postgres_result: TransformResult

    def duck(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as db:
            return [tuple(r) for r in db.execute(sql).fetchall()]

    def pg(self, sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.postgres_url) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]


@pytest.fixture(scope="module")
def built(postgres_warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The tiny company and its platform records, built by dbt on DuckDB and on PostgreSQL (once: the
    tests read the two warehouses)."""
    with running(Sandbox()) as server:
        yield build_both(server, postgres_warehouse, tmp_path_factory.mktemp("dbt_on_postgres"))


def build_both(server: RunningSandbox, postgres_warehouse: str, tmp_path: Path) -> Built:
    http = QboHttp.create(server, "tiny", realm_id=REALM)
    client = QboClient(
        REALM,
        server.base_url,
        StaticTokens(http.tokens["access_token"]),
        retry=RetryPolicy(max_attempts=12, base_seconds=0.01, cap_seconds=0.05),
    )
    platform_dir = tmp_path / "platform"
    generated = platform_records.generate(server.sandbox.store, REALM, platform_dir, tenant_id=TENANT)
    as_of = date.fromisoformat(generated.planted.as_of)
    warehouse = tmp_path / "warehouse.duckdb"
    sync_realm(client, warehouse=warehouse, pipelines_dir=tmp_path / "pipelines")
    load_platform(
        str(platform_dir), warehouse=warehouse, pipelines_dir=tmp_path / "pipelines", realms={TENANT: REALM}
    )
    load_postgres(postgres_warehouse, client, platform_dir, tmp_path / "pg_pipelines")
    with duckdb.connect(str(warehouse)) as db:
        db.execute(PLANT_TOO_LARGE)
    with psycopg.connect(postgres_warehouse, autocommit=True) as conn:
        conn.execute(PLANT_TOO_LARGE)
    policy = MasteringPolicy()
    on_duckdb = run_dbt(warehouse, policy=policy, as_of=as_of, target_path=tmp_path / "target_duckdb")
    on_postgres = run_dbt(
        postgres_warehouse, policy=policy, as_of=as_of, target_path=tmp_path / "target_postgres"
    )
    return Built(warehouse, postgres_warehouse, on_duckdb, on_postgres)


def test_the_profile_of_a_postgres_url_names_its_server_and_database() -> None:
    profile = postgres_profile("postgresql://qbo:s%40cret@db.example:6543/warehouse?sslmode=require")
    assert profile == {
        "QBO_PG_HOST": "db.example",
        "QBO_PG_PORT": "6543",
        "QBO_PG_USER": "qbo",
        "DBT_ENV_SECRET_QBO_PG_PASSWORD": "s@cret",
        "QBO_PG_DBNAME": "warehouse",
        "QBO_PG_SSLMODE": "require",
    }


def test_a_postgres_url_without_a_database_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="database"):
        postgres_profile("postgresql://qbo@db.example:5432/")


# the marts people and the push read, and the columns that must agree (money as text: 0.00 is not 0)
SAME_ON_BOTH = {
    "sync.sync_drift": "entity, platform_id, field, platform_value, qbo_value, action, version",
    "sync.sync_issues": "entity, platform_id, qbo_id, issue, detail, version",
    "sync.sync_conflicts": "entity, platform_id, fields, status",
    "sync.outbound_invoices": "platform_id, operation, payload_fields, payload_hash",
    "finance.finance_open_invoices": "invoice_qbo_id, balance, days_past_due, aging_bucket",
    "finance.finance_ar_aging": "customer_qbo_id, current_amount, days_1_30, total_open, open_invoices",
    "finance.finance_customer_balances": "customer_qbo_id, qbo_balance, recomputed_balance, agrees",
    "sync.sync_reconciliation_monthly": "entity, month, platform_amount, qbo_amount",
    "review.review_queue": "queue, entity, platform_id, field, action, version",
}


def test_the_project_builds_on_postgres_and_agrees_with_duckdb(built: Built) -> None:
    assert built.duckdb_result.success, built.duckdb_result.summary()
    assert built.postgres_result.success, built.postgres_result.summary()
    # every model, data test and unit test ran on both, and passed
    assert built.postgres_result.statuses == built.duckdb_result.statuses
    assert built.pg("select count(*) from sync.sync_drift")[0][0] > 0  # the planted drift is found
    mappings = "select entity, status, count(*) from sync.sync_mappings group by 1, 2"
    assert sorted(map(_text, built.pg(mappings))) == sorted(map(_text, built.duck(mappings)))
    for table, columns in SAME_ON_BOTH.items():
        sql = f"select {columns} from {table}"
        assert sorted(map(_text, built.pg(sql))) == sorted(map(_text, built.duck(sql))), table


def test_a_qbo_amount_too_large_is_named_on_postgres_not_a_failed_build(built: Built) -> None:
    assert built.postgres_result.success, built.postgres_result.summary()
    (detail,) = built.pg("select detail from sync.sync_issues where issue = 'value_out_of_range'")[0]
    assert "total_amount = 100000000000000000000" in detail and "decimal(18,2)" in detail
    invoices = "select total_amount from staging.stg_qbo__invoices"
    (total,) = built.pg(f"{invoices} where out_of_range is not null")[0]
    assert total is None  # shown empty
    assert built.pg(f"{invoices} where total_amount is not null")  # the other invoices keep theirs


def _text(row: tuple[Any, ...]) -> tuple[str | None, ...]:
    """A row as text, so a DuckDB and a PostgreSQL value of the same type compare equal."""
    return tuple(None if value is None else str(value) for value in row)
