"""An idle sync: two requests and nothing else, while the realm is settled; dlt whenever it may not be."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.runtime import settled
from pipelines.runtime.landing import fetch_records
from pipelines.runtime.locks import pipeline_run
from pipelines.runtime.warehouse import qbo_pipeline, qbo_pipeline_name
from sources.quickbooks import quickbooks_docs
from sources.quickbooks.catalog import ENTITIES
from tests.quickbooks.conftest import Realm, sync_process


def loads(realm: Realm) -> int:
    with duckdb.connect(str(realm.warehouse), read_only=True) as db:
        return db.execute("SELECT COUNT(*) FROM raw_qbo._dlt_loads").fetchone()[0]  # type: ignore[index]


def customer_notes(realm: Realm, customer_id: str) -> str | None:
    with duckdb.connect(str(realm.warehouse), read_only=True) as db:
        row = db.execute(
            "SELECT notes FROM raw_qbo.customer WHERE realm_id = ? AND id = ?", [realm.realm_id, customer_id]
        ).fetchone()
    return row[0] if row else None


def test_an_idle_sync_asks_twice_loads_nothing_and_a_change_is_loaded_from_the_same_answers(
    make_realm: Callable[..., Realm],
) -> None:
    realm = make_realm("tiny")
    realm.sync()
    landed = loads(realm)
    idle = realm.sync()
    assert (idle.requests, idle.rows, idle.load_info) == (2, {}, None)
    assert loads(realm) == landed  # not even a checkpoint: the warehouse is untouched

    realm.mutate(entity="Customer", id="3", op="update", changes={"Notes": "changed after the idle sync"})
    invoices = (realm.doc("Invoice", i) for i in sorted(realm.truth("Invoice"), key=int))
    unpaid = next(d["Id"] for d in invoices if d["Balance"] == d["TotalAmt"] > 0)
    realm.mutate(entity="Invoice", id=unpaid, op="delete")
    changed = realm.sync()
    assert changed.load_info is not None and changed.rows["Customer"] == 1 and changed.rows["Invoice"] >= 1
    assert changed.requests == 2  # the probe's CDC call and batch, handed to dlt: QBO is not asked again
    realm.assert_warehouse_equals_sandbox()
    assert realm.sync().load_info is None


def test_an_unknown_entity_is_named_even_when_the_realm_is_settled(
    make_realm: Callable[..., Realm], caplog: pytest.LogCaptureFixture
) -> None:
    realm = make_realm("tiny")
    realm.sync()
    with caplog.at_level(logging.WARNING, logger="qbo.sync"), pytest.raises(Exception, match="Invioce"):
        realm.sync(entities=["Invioce"])
    assert "ignoring" not in caplog.text  # the settled file is not what is wrong
    realm.sync(entities=["Customer"])  # the refused run had opened the pipeline: through dlt once
    assert realm.sync(entities=["Customer"]).load_info is None  # then a subset is idle too


def test_an_idle_sync_process_never_imports_dlt(make_realm: Callable[..., Realm]) -> None:
    realm = make_realm("tiny")
    realm.sync()
    out, err = sync_process(realm).communicate(timeout=120)
    assert "synced 0 rows in 2 requests" in out, err[-2000:]
    assert out.splitlines()[-1].split(":")[1].split() == []  # no dlt, duckdb, pandas or pyarrow


def test_whatever_opens_the_realms_pipeline_unsettles_it_until_a_sync_lands(
    make_realm: Callable[..., Realm],
) -> None:
    realm = make_realm("tiny")
    realm.sync()
    where = {"warehouse": realm.warehouse, "pipelines_dir": realm.pipelines_dir}
    fetch_records(realm.client, "Customer", ["2"], **where)
    assert not settled.settled_path(realm.pipelines_dir, realm.realm_id).exists()
    assert realm.sync().load_info is not None  # through dlt, which settles it again
    assert realm.sync().load_info is None


def test_a_package_left_unloaded_is_loaded_by_the_next_sync_though_qbo_changed_nothing(
    make_realm: Callable[..., Realm],
) -> None:
    """A run killed between its extract and its load (a push's landing, here) leaves a package: the
    next sync must load it, even when QBO has nothing new to say."""
    realm = make_realm("tiny")
    realm.sync()
    doc = {**realm.doc("Customer", "3"), "Notes": "only in the package left behind"}
    with pipeline_run(realm.pipelines_dir, qbo_pipeline_name(realm.realm_id)):
        pipeline = qbo_pipeline(realm.realm_id, realm.warehouse, realm.pipelines_dir)
        pipeline.extract(quickbooks_docs(realm.realm_id, {"Customer": [doc]}))
    assert pipeline.has_pending_data
    result = realm.sync()
    assert result.requests == 2 and result.load_info is not None
    assert customer_notes(realm, "3") == "only in the package left behind"


def test_checkpoints_a_day_old_go_through_dlt_which_moves_them_forward(
    make_realm: Callable[..., Realm],
) -> None:
    realm = make_realm("tiny")
    realm.sync()
    path = settled.settled_path(realm.pipelines_dir, realm.realm_id)
    body = json.loads(path.read_text())
    old = datetime.now(UTC) - settled.MAX_AGE - timedelta(minutes=1)
    before = body["checkpoints"]
    settled.record(realm.pipelines_dir, realm.realm_id, realm.warehouse, dict.fromkeys(before, old))
    assert realm.sync().load_info is not None
    moved = json.loads(path.read_text())["checkpoints"]
    assert moved.keys() == before.keys() and min(moved.values()) >= max(before.values())


def test_a_probe_from_other_checkpoints_than_dlts_is_not_taken_over(make_realm: Callable[..., Realm]) -> None:
    """The file and dlt's state disagree (an older file): dlt asks QBO again from its own state."""
    realm = make_realm("tiny")
    realm.sync()
    earlier = datetime.now(UTC) - timedelta(hours=2)
    settled.record(realm.pipelines_dir, realm.realm_id, realm.warehouse, dict.fromkeys(ENTITIES, earlier))
    realm.mutate(entity="Customer", id="3", op="update", changes={"Notes": "seen by both"})
    result = realm.sync()
    assert result.requests == 4 and result.rows == {"Customer": 1}  # the probe's two, dlt's own two
    realm.assert_warehouse_equals_sandbox()


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"warehouse": "elsewhere.duckdb", "checkpoints": {}}',
        '{"warehouse": "HERE", "checkpoints": {"Customer": "2026-01-01T00:00:00Z"}, "seen": {}}',  # entities
        '{"warehouse": "HERE", "checkpoints": "Customer", "seen": {}}',
        '{"warehouse": "HERE", "checkpoints": {"Customer": "yesterday"}, "seen": {}}',
        '{"warehouse": "HERE", "checkpoints": ALL}',  # no seen
        '{"warehouse": "HERE", "checkpoints": ALL, "seen": ["Customer"]}',
        "HERE" + " " * settled.MAX_BYTES,
    ],
)
def test_a_settled_file_not_in_our_shape_or_for_another_warehouse_sends_the_sync_through_dlt(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.touch()
    now = datetime.now(UTC)
    settled.record(tmp_path, "7001", warehouse, dict.fromkeys(ENTITIES, now))
    assert settled.read(tmp_path, "7001", warehouse, list(ENTITIES), now) is not None
    path = settled.settled_path(tmp_path, "7001")
    every = json.dumps(json.loads(path.read_text())["checkpoints"])
    path.write_text(content.replace("HERE", str(warehouse.resolve())).replace("ALL", every))
    with caplog.at_level(logging.WARNING, logger="qbo.sync"):
        assert settled.read(tmp_path, "7001", warehouse, list(ENTITIES), now) is None
    if "elsewhere" not in content:
        assert str(path) in caplog.text and "goes through dlt" in caplog.text


def test_checkpoints_from_a_clock_ahead_or_a_removed_warehouse_are_not_trusted(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    now = datetime.now(UTC).replace(microsecond=0)  # QBO's clock, to the second
    settled.record(tmp_path, "7001", warehouse, {"Customer": now})
    assert settled.read(tmp_path, "7001", warehouse, ["Customer"], now) is None  # no warehouse file
    warehouse.touch()
    found = settled.read(tmp_path, "7001", warehouse, ["Customer"], now)
    assert found is not None and found.checkpoints == {"Customer": now}
    settled.record(tmp_path, "7001", warehouse, {"Customer": now + timedelta(hours=1)})
    assert settled.read(tmp_path, "7001", warehouse, ["Customer"], now) is None


def test_an_answer_is_nothing_new_only_if_the_warehouse_holds_each_version(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.touch()
    now = datetime.now(UTC)
    customer = {"Id": "3", "SyncToken": "1", "MetaData": {"LastUpdatedTime": "2026-12-07T10:00:00Z"}}
    loaded = {"Customer": [customer]}
    settled.record(tmp_path, "7001", warehouse, {"Customer": now}, loaded)
    found = settled.read(tmp_path, "7001", warehouse, ["Customer"], now)
    assert found is not None and found.nothing_new(loaded) and found.nothing_new({"Customer": []})
    edited = {**loaded["Customer"][0], "SyncToken": "2"}
    deleted = {"Id": "3", "status": "Deleted", "MetaData": {"LastUpdatedTime": "2026-12-07T10:05:00Z"}}
    assert not found.nothing_new({"Customer": [edited]}) and not found.nothing_new({"Customer": [deleted]})
    assert not found.nothing_new({"Vendor": loaded["Customer"]})  # the same Id in another entity
    many = {"Customer": [{"Id": str(n), "SyncToken": "0"} for n in range(settled.MAX_SEEN + 1)]}
    settled.record(tmp_path, "7001", warehouse, {"Customer": now}, many)
    found = settled.read(tmp_path, "7001", warehouse, ["Customer"], now)
    assert found is not None and not found.nothing_new({"Customer": many["Customer"][:1]})
