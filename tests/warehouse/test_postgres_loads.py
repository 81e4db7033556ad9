"""Issue 16, the loading half: sync, drain and platform load into a PostgreSQL warehouse, no lock file.

Each test that loads gets a PostgreSQL database of its own (the warehouse needs several schemas),
dropped after; the sandbox companies are the demo world's, connected through OAuth codes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from typer.testing import CliRunner

from pipelines.cli.app import app
from pipelines.drain import drain
from pipelines.platform_load import load_platform
from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import ConfigError, Settings
from pipelines.runtime.warehouse import QBO_DATASET, WarehouseUnreachable, root_cause
from pipelines.status import status_lines
from pipelines.sync import sync_all, sync_connected_realm, sync_realm
from sandbox.demo.platform_records import generate
from sandbox.demo.world import World, world
from sources.quickbooks import table_name
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.webhook_payloads import ChangeEvent

REALMS = ("9101", "9102")
QUIET = {"echo": lambda _: None}


@pytest.fixture
def pg_warehouse(postgres_base: str) -> Iterator[str]:
    """A PostgreSQL database of its own (`qbo_wh_<hex>`), dropped after the test."""
    name = f"qbo_wh_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(urlsplit(postgres_base)._replace(path=f"/{name}"))
    with psycopg.connect(postgres_base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_world(tmp_path: Path, pg_warehouse: str) -> Iterator[World]:
    """Two tiny companies, connected, whose connector loads into the PostgreSQL database."""
    companies = {realm_id: ("tiny", seed) for seed, realm_id in enumerate(REALMS, start=1)}
    with world(tmp_path, write=lambda _: None, companies=companies, connect=False) as w:
        w.connector = Connector(replace(w.settings, warehouse_url=pg_warehouse))
        for realm_id in REALMS:
            w.connect_with_code(realm_id)
        yield w


def pg_rows(url: str, realm_id: str, entity: str) -> dict[str, tuple[str | None, bool]]:
    """Id -> (SyncToken, deleted) as the PostgreSQL warehouse holds them (comparable with `truth`)."""
    with psycopg.connect(url) as conn:
        exists = conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (QBO_DATASET, table_name(entity)),
        ).fetchone()
        if not exists:
            return {}
        rows = conn.execute(
            f"SELECT id, sync_token, _deleted FROM {QBO_DATASET}.{table_name(entity)} WHERE realm_id = %s",
            (realm_id,),
        ).fetchall()
    return {i: (None if deleted else token, bool(deleted)) for i, token, deleted in rows}


def assert_equals_sandbox(w: World, url: str, realm_id: str) -> None:
    for entity in ENTITIES:
        assert pg_rows(url, realm_id, entity) == w.truth(realm_id, entity), entity


def unpaid_invoice(w: World, realm_id: str) -> str:
    """An invoice QBO lets one delete (no payment applied)."""
    company = w.sandbox.store.realm(realm_id)
    docs = (
        w.sandbox.rules.read(company, "Invoice", i) for i in sorted(w.truth(realm_id, "Invoice"), key=int)
    )
    return next(str(d["Id"]) for d in docs if d["Balance"] == d["TotalAmt"] > 0)


def duckdb_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".duckdb" in p.name]


def test_a_sync_into_postgres_holds_the_sandbox_and_an_edit_merges_without_duplicates(
    pg_world: World, pg_warehouse: str, tmp_path: Path
) -> None:
    realm = REALMS[0]
    (first,) = sync_all(pg_world.connector, [realm], **QUIET)
    assert sum(first.rows.values()) > 0
    assert_equals_sandbox(pg_world, pg_warehouse, realm)

    customers = sorted(pg_world.truth(realm, "Customer"), key=int)
    pg_world.mutate(realm, entity="Customer", id=customers[0], op="update", changes={"Notes": "on postgres"})
    invoice = unpaid_invoice(pg_world, realm)
    pg_world.mutate(realm, entity="Invoice", id=invoice, op="delete")
    sync_all(pg_world.connector, [realm], **QUIET)

    assert_equals_sandbox(pg_world, pg_warehouse, realm)
    assert pg_rows(pg_warehouse, realm, "Invoice")[invoice] == (None, True)
    with psycopg.connect(pg_warehouse) as conn:
        total, distinct = conn.execute(
            f"SELECT count(*), count(DISTINCT (realm_id, id)) FROM {QBO_DATASET}.customer"
        ).fetchone() or (0, 0)
    assert total == distinct == len(customers)
    assert duckdb_files(tmp_path) == []  # no DuckDB file, no warehouse lock file


def test_two_realms_sync_in_parallel_threads_with_no_warehouse_lock_file(
    pg_world: World, pg_warehouse: str, tmp_path: Path
) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(sync_connected_realm, pg_world.connector, r, **QUIET) for r in REALMS]
        results = [f.result() for f in futures]
    assert [r.realm_id for r in results] == list(REALMS)
    for realm in REALMS:
        assert_equals_sandbox(pg_world, pg_warehouse, realm)
    assert duckdb_files(tmp_path) == []
    assert all(run.realm_id in REALMS for run in [pg_world.connector.store.runs.last_ok(r) for r in REALMS])


def test_a_webhook_drain_loads_into_postgres(pg_world: World, pg_warehouse: str) -> None:
    realm = REALMS[0]
    sync_all(pg_world.connector, [realm], **QUIET)
    customer = sorted(pg_world.truth(realm, "Customer"), key=int)[1]
    pg_world.mutate(
        realm, entity="Customer", id=customer, op="update", changes={"Notes": "told by a webhook"}
    )
    gone = unpaid_invoice(pg_world, realm)
    pg_world.mutate(realm, entity="Invoice", id=gone, op="delete")
    when = datetime.now(UTC)
    events = [
        ChangeEvent("pg-1", "cloudevents", realm, "Customer", customer, "Update", when),
        ChangeEvent("pg-2", "cloudevents", realm, "Invoice", gone, "Delete", when),
    ]
    assert pg_world.connector.store.events.put(events) == 2

    result = drain(pg_world.connector, **QUIET)

    assert (result.events, result.failed) == (2, 0)
    assert pg_rows(pg_warehouse, realm, "Customer")[customer] == pg_world.truth(realm, "Customer")[customer]
    assert pg_rows(pg_warehouse, realm, "Invoice")[gone] == (None, True)
    assert_equals_sandbox(pg_world, pg_warehouse, realm)  # merged in place: nothing else moved
    assert pg_world.connector.store.events.counts() == {"done": 2}


def test_a_platform_load_lands_raw_platform_in_postgres(
    pg_world: World, pg_warehouse: str, tmp_path: Path
) -> None:
    folder = tmp_path / "platform"
    generate(pg_world.sandbox.store, REALMS[0], folder, tenant_id=pg_world.tenant)
    settings = pg_world.settings
    loaded = load_platform(
        str(folder),
        warehouse=settings.warehouse_target,
        pipelines_dir=settings.pipelines_path,
        realms={pg_world.tenant: REALMS[0]},
    )
    assert loaded.loaded["Customer"] > 0 and loaded.rejected  # the demo plants refusals among them
    with psycopg.connect(pg_warehouse) as conn:
        for entity, table in (("Customer", "customer"), ("Invoice", "invoice"), ("Payment", "payment")):
            got = conn.execute(f"SELECT count(*) FROM raw_platform.{table}").fetchone()
            assert got == (loaded.loaded[entity],), table
        refused = conn.execute("SELECT count(*) FROM raw_platform.rejected").fetchone()
    assert refused == (sum(loaded.rejected.values()),)  # each refusal kept, with the others loaded
    assert duckdb_files(tmp_path) == []


def test_an_unreachable_postgres_warehouse_is_named_by_host_and_database_never_the_password(
    pg_world: World, postgres_base: str
) -> None:
    parts = urlsplit(postgres_base)
    user = parts.username or "postgres"
    url = f"postgresql://{user}:s3cr3t-pw@{parts.hostname}:{parts.port or 5432}/qbo_wh_missing"
    try:
        sync_realm(
            pg_world.connector.client(REALMS[0]),
            warehouse=url,
            pipelines_dir=pg_world.workdir / "other-pipelines",
        )
    except Exception as exc:  # dlt's step failure, or ours: what it comes down to is asserted
        cause = root_cause(exc)
    else:
        pytest.fail("a sync into a database that does not exist loaded")
    assert isinstance(cause, WarehouseUnreachable)
    assert "qbo_wh_missing" in str(cause) and str(parts.hostname) in str(cause)
    assert "s3cr3t-pw" not in str(cause) and "s3cr3t-pw" not in str(cause.to_dto())
    assert cause.to_dto()["details"][0]["field"] == "warehouse"


# --- the setting: a path or a PostgreSQL URL; nothing else, and never a password printed ------------


def test_postgresql_and_postgres_urls_are_the_warehouse_and_a_path_stays_a_path() -> None:
    pg = Settings.resolve(warehouse="postgresql://qbo:pw@db.internal:5433/wh")
    assert pg.warehouse_url == "postgresql://qbo:pw@db.internal:5433/wh"
    assert pg.warehouse_target == pg.warehouse_url
    short = Settings.resolve(warehouse="postgres://qbo@db.internal/wh")
    assert short.warehouse_url == "postgresql://qbo@db.internal/wh"
    typo = Settings.resolve(warehouse="var/warehuose.duckdb")
    assert (typo.warehouse, typo.warehouse_url) == (Path("var/warehuose.duckdb"), None)
    # dlt's state is one warehouse's: keyed by the URL without its password, apart from DuckDB's
    other_password = Settings.resolve(warehouse="postgresql://qbo:other@db.internal:5433/wh")
    assert pg.pipelines_path == other_password.pipelines_path != typo.pipelines_path
    assert "pw" not in str(pg.pipelines_path) and "pw" not in repr(pg)


@pytest.mark.parametrize("url", ["mysql://u:hunter22@h/db", "s3://bucket/wh", "http://h/wh"])
def test_an_unknown_scheme_is_refused_naming_the_option_and_the_accepted_forms(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.resolve(warehouse=url)
    message = str(refused.value)
    assert "--warehouse" in message and "postgresql://" in message and "DuckDB file" in message
    assert "hunter22" not in message


def test_the_warehouse_url_comes_from_the_environment_and_the_option_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAREHOUSE__URL", "postgres://qbo:pw@db.internal/wh")
    assert Settings.resolve().warehouse_url == "postgresql://qbo:pw@db.internal/wh"
    assert Settings.resolve(warehouse="var/local.duckdb").warehouse_url is None
    monkeypatch.setenv("WAREHOUSE__URL", "mysql://db.internal/wh")
    with pytest.raises(ConfigError, match=r"warehouse.url \(env WAREHOUSE__URL\)"):
        Settings.resolve()


def test_the_cli_takes_a_url_without_making_a_directory_and_status_hides_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCES__QUICKBOOKS__STORE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    monkeypatch.setenv("SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    runner = CliRunner()
    url = "postgresql://qbo:hunter22@127.0.0.1:5432/wh"
    shown = runner.invoke(app, ["--warehouse", url, "status"])
    assert shown.exit_code == 0, shown.output
    assert "warehouse: postgresql://qbo:***@127.0.0.1:5432/wh (PostgreSQL" in shown.output
    assert "hunter22" not in shown.output
    assert not (tmp_path / "postgresql:").exists()  # issue 20 item 2: no directory named after the scheme

    refused = runner.invoke(app, ["--warehouse", "mysql://qbo:hunter22@h/db", "status"])
    assert refused.exit_code == 2
    assert "--warehouse" in refused.output and "hunter22" not in refused.output


def test_status_names_the_postgres_warehouse_without_its_password(pg_world: World) -> None:
    with_password = replace(pg_world.settings, warehouse_url="postgresql://qbo:hunter22@db.internal/wh")
    lines: list[Any] = status_lines(Connector(with_password))
    assert any("postgresql://qbo:***@db.internal/wh" in line for line in lines)
    assert not any("hunter22" in line for line in lines)


@pytest.mark.parametrize(
    "command",
    [
        ["transform"],
        ["report", "drift", "--out", "{tmp}/r"],
        ["push", "--dry-run"],
        ["approve"],
        ["ask", "how many customers"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_postgresql_warehouse_that_is_down_is_one_line_for_every_command(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command that reads the warehouse works on PostgreSQL now; when the server cannot be reached
    each ends in one line naming host and database, never the password or a traceback."""
    from cryptography.fernet import Fernet

    from pipelines.cli.app import run

    monkeypatch.setenv("SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("SOURCES__QUICKBOOKS__CLIENT_ID", "client")
    monkeypatch.setenv("SOURCES__QUICKBOOKS__CLIENT_SECRET", "secret")
    down = "postgresql://qbo:hunter22@127.0.0.1:1/wh"
    argv = ["qbo", "--warehouse", down, "--store", f"sqlite:///{tmp_path / 's.sqlite'}"]
    monkeypatch.setattr("sys.argv", argv + [part.format(tmp=tmp_path) for part in command])
    with pytest.raises(SystemExit) as ended:
        run()
    said = capsys.readouterr().err
    assert ended.value.code in (1, 2), said
    assert "127.0.0.1:1" in said and "wh" in said, said
    assert "hunter22" not in said and "Traceback" not in said
    assert len([line for line in said.splitlines() if line.strip()]) == 1, said
