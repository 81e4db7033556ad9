"""Runs that meet (issue 15, items 2 and 9): two syncs of one realm, a warehouse another process has
open, a load package the warehouse refuses. Each ends well or says what holds it; nothing wedges a realm."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from dlt.destinations.impl.duckdb import duck

from pipelines.runtime.connector import Connector
from pipelines.runtime.locks import LockBusy, realm_lock_path
from pipelines.runtime.settings import Settings
from pipelines.runtime.warehouse import LoadFailed, WarehouseBusy, qbo_pipeline, qbo_pipeline_name
from pipelines.sync import sync_connected_realm
from sources.quickbooks import quickbooks
from tests.quickbooks.conftest import Realm, make_realm, sync_process  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]
WAIT_ENV = "SOURCES__QUICKBOOKS__LOCK_WAIT_SECONDS"


def connector_on(realm: Realm, tmp_path: Path) -> Connector:
    """A connector whose store records runs and errors, its client the realm's sandbox client."""
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'store.sqlite'}",
        warehouse=realm.warehouse,
        pipelines_dir=realm.pipelines_dir,
    ).with_sandbox(realm.server.base_url)
    connector = Connector(settings)
    connector.client = lambda realm_id: realm.client  # type: ignore[method-assign]
    return connector


@contextmanager
def holder(code: str) -> Iterator[subprocess.Popen[str]]:
    """Another process that takes something (`code` prints `held` once it has it), until the test ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "held", (process.stderr.read() if process.stderr else "") + line
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=30)


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WAIT_ENV, "0.5")


def test_two_processes_syncing_one_realm_into_one_warehouse_both_end_well(
    make_realm: Callable[..., Realm],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    realm = make_realm("tiny")
    realm.admin("POST", "config", json={"latency": {"min_ms": 5, "max_ms": 20}})  # the runs overlap
    monkeypatch.setenv(WAIT_ENV, "300")
    first, second = sync_process(realm), sync_process(realm)
    outputs = [p.communicate(timeout=400) for p in (first, second)]
    for process, (out, err) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, err[-3000:]
        assert "synced" in out
        assert "No such file" not in err and "credentials" not in err
    realm.assert_warehouse_equals_sandbox()


def test_a_run_that_waits_too_long_for_the_realm_names_the_run_holding_it(
    make_realm: Callable[..., Realm],  # noqa: F811
    tmp_path: Path,
    short_wait: None,
) -> None:
    realm = make_realm("tiny")
    connector = connector_on(realm, tmp_path)
    lock = realm_lock_path(realm.pipelines_dir, qbo_pipeline_name(realm.realm_id))
    code = (
        "import time; from pathlib import Path; from pipelines.runtime.locks import hold\n"
        f"with hold(Path({str(lock)!r}), 'pipeline qbo_{realm.realm_id}'):\n"
        "    print('held', flush=True); time.sleep(600)"
    )
    lines: list[str] = []
    with holder(code) as process:
        with pytest.raises(LockBusy) as caught:
            sync_connected_realm(connector, realm.realm_id, echo=lines.append)
        message = str(caught.value)
        assert f"pipeline qbo_{realm.realm_id} is busy" in message
        assert f"pid {process.pid}" in message and "since 20" in message  # who, and since when
        assert WAIT_ENV in message  # what to do: let it finish, or wait longer
    assert any("FAILED" in line and f"pid {process.pid}" in line for line in lines)
    error = connector.store.errors.recent(realm.realm_id)[0]
    assert error["code"] == "RUN_BUSY" and f"pid {process.pid}" in error["message"]
    assert connector.store.runs.last(realm.realm_id)[0].status == "failed"
    # the holder is gone: the next run syncs
    sync_connected_realm(connector, realm.realm_id, echo=lines.append)
    realm.assert_warehouse_equals_sandbox()


def test_a_warehouse_another_process_has_open_is_busy_not_a_credentials_problem(
    make_realm: Callable[..., Realm],  # noqa: F811
    tmp_path: Path,
    short_wait: None,
) -> None:
    realm = make_realm("tiny")
    realm.sync(entities=["Customer"])  # the warehouse exists, with a dataset in it
    connector = connector_on(realm, tmp_path)
    code = (
        f"import duckdb, time; db = duckdb.connect({str(realm.warehouse)!r})\n"
        "print('held', flush=True); time.sleep(600)"
    )
    with holder(code) as process:
        with pytest.raises(WarehouseBusy) as caught:
            sync_connected_realm(connector, realm.realm_id, echo=lambda _: None)
        message = str(caught.value)
        assert "busy" in message and f"pid {process.pid}" in message and str(realm.warehouse) in message
        assert "credentials" not in message
    error = connector.store.errors.recent(realm.realm_id)[0]
    assert error["code"] == "WAREHOUSE_BUSY" and "credentials" not in error["message"]
    # the process let go: the next run loads what waited, and everything else
    sync_connected_realm(connector, realm.realm_id, echo=lambda _: None)
    realm.assert_warehouse_equals_sandbox()


def refuse_table(monkeypatch: pytest.MonkeyPatch, table: str, packages: set[str] | None = None) -> None:
    """DuckDB refuses the load of `table`'s files (of these packages only): a real conversion error,
    raised by DuckDB itself."""
    original = duck.DuckDbCopyJob.run

    def run(self: Any) -> None:
        path = Path(self._file_path)
        ours = packages is None or any(load_id in path.parts for load_id in packages)
        if ours and path.name.startswith(f"{table}."):
            self._job_client.sql_client.execute_sql("SELECT CAST('12,50 EUR' AS DECIMAL(18, 2))")
        original(self)

    monkeypatch.setattr(duck.DuckDbCopyJob, "run", run)


def test_a_package_the_warehouse_refuses_is_reported_and_the_next_sync_reads_it_again(
    make_realm: Callable[..., Realm],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    realm = make_realm("tiny")
    connector = connector_on(realm, tmp_path)
    sync_connected_realm(connector, realm.realm_id, echo=lambda _: None)
    invoice = next(iter(realm.truth("Invoice")))
    realm.mutate(entity="Invoice", id=invoice, op="update", changes={"PrivateNote": "changed meanwhile"})
    with monkeypatch.context() as patch:
        refuse_table(patch, "invoice")
        with pytest.raises(LoadFailed) as caught:
            sync_connected_realm(connector, realm.realm_id, echo=lambda _: None)
    message = str(caught.value)
    assert "table invoice" in message and "12,50 EUR" in message  # which table, which value
    assert "set aside" in message
    error = connector.store.errors.recent(realm.realm_id)[0]
    assert (error["code"], error["entity"], error["element"]) == ("LOAD_FAILED", "Invoice", "invoice")
    assert connector.store.runs.last(realm.realm_id)[0].status == "failed"
    # not wedged, and the checkpoint did not move past the refused invoice: the next sync reads it again
    result = sync_connected_realm(connector, realm.realm_id, echo=lambda _: None)
    assert result.rows.get("Invoice", 0) >= 1
    realm.assert_warehouse_equals_sandbox()
    assert connector.store.runs.last(realm.realm_id)[0].status == "ok"


def test_a_refused_package_an_earlier_run_left_pending_is_set_aside_and_reported(
    make_realm: Callable[..., Realm],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    realm = make_realm("tiny")
    connector = connector_on(realm, tmp_path)
    # a run of an older version left a package the warehouse refuses pending (it refuses it for good)
    pipeline = qbo_pipeline(realm.realm_id, realm.warehouse, realm.pipelines_dir)
    pipeline.extract(quickbooks(realm.realm_id, realm.client, None, False), loader_file_format="parquet")
    refuse_table(monkeypatch, "customer", set(pipeline.list_extracted_load_packages()))
    pipeline.normalize()
    with pytest.raises(Exception, match="12,50 EUR"):
        pipeline.load()
    assert pipeline.has_pending_data
    result = sync_connected_realm(connector, realm.realm_id, echo=lambda _: None)
    assert [f.table for f in result.set_aside] == ["customer"]
    assert any("set aside" in note and "12,50 EUR" in note for note in result.notes)
    error = connector.store.errors.recent(realm.realm_id)[0]
    assert (error["code"], error["entity"]) == ("LOAD_FAILED", "Customer")
    assert connector.store.runs.last(realm.realm_id)[0].status == "ok"
    realm.assert_warehouse_equals_sandbox()  # the customers the refused package held are loaded now
    # and the run after is clean
    assert sync_connected_realm(connector, realm.realm_id, echo=lambda _: None).set_aside == []


@pytest.mark.parametrize("command", [["transform"], ["report", "drift", "--out", "report"]])
def test_every_command_says_in_one_line_that_the_warehouse_is_busy(
    tmp_path: Path, short_wait: None, command: list[str]
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    code = (
        f"import duckdb, time; db = duckdb.connect({str(warehouse)!r})\n"
        "print('held', flush=True); time.sleep(600)"
    )
    with holder(code) as process:
        ran = subprocess.run(
            ["qbo", "--warehouse", str(warehouse), "--store", f"sqlite:///{tmp_path / 's.sqlite'}", *command],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert ran.returncode == 1, ran.stderr
    assert ran.stderr.strip().splitlines() == [ran.stderr.strip()], ran.stderr  # one line, no traceback
    assert f"is busy: pid {process.pid}" in ran.stderr and "credentials" not in ran.stderr
