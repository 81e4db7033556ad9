"""The source against the sandbox: full, incremental, deletes, ties, faults, cost in HTTP requests."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.runtime.landing import fetch_records
from pipelines.runtime.warehouse import root_cause
from pipelines.store.integration_store import IntegrationStore
from sources.quickbooks import errors, extract, settings
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.client import RetryPolicy
from sources.quickbooks.extract import EntityState, Extraction
from tests.quickbooks.conftest import Realm


def test_full_sync_loads_every_entity_inactive_included_at_page_cost(
    make_realm: Callable[..., Realm],
) -> None:
    realm = make_realm("demo")
    result = realm.sync()
    realm.assert_warehouse_equals_sandbox()
    inactive = [i for i, (_, deleted) in realm.truth("Customer").items() if not deleted]
    assert len(realm.warehouse_rows("Customer")) == len(inactive)
    stats = realm.admin("GET", f"realms/{realm.realm_id}/stats").json()
    assert stats["entities"]["Customer"]["inactive"] > 0
    bound = sum(
        math.ceil(n / settings.MAX_RESULTS) or 1
        for n in (sum(c.values()) for c in stats["entities"].values())
    ) + len(ENTITIES)
    assert result.requests <= bound
    assert sum(result.rows.values()) == sum(c["active"] + c["inactive"] for c in stats["entities"].values())


def test_incremental_after_back_office_edits_deletes_voids_and_merges(
    make_realm: Callable[..., Realm],
) -> None:
    realm = make_realm("demo")
    realm.sync()
    realm.mutate(entity="Customer", id="3", op="update", changes={"Notes": "called twice"})
    realm.mutate(entity="Customer", id="4", op="deactivate")
    realm.mutate(entity="Vendor", id="2", op="merge", merge_into="3")
    invoices = (realm.doc("Invoice", i) for i in sorted(realm.truth("Invoice"), key=int))
    unpaid = [d["Id"] for d in invoices if d["Balance"] == d["TotalAmt"] > 0]
    realm.mutate(entity="Invoice", id=unpaid[0], op="delete")
    realm.mutate(entity="Invoice", id=unpaid[1], op="void")
    result = realm.sync()
    realm.assert_warehouse_equals_sandbox()
    assert result.requests <= 4, result.requests  # one CDC, one batch (+ nothing else for a few changes)
    idle = realm.sync()
    assert idle.requests == 2
    realm.assert_warehouse_equals_sandbox()


def test_same_second_ties_across_page_boundaries_are_not_lost(make_realm: Callable[..., Realm]) -> None:
    realm = make_realm("empty")
    stamp = "2024-05-01T10:00:00-07:00"
    docs = [
        {"DisplayName": f"Tie {n:04d}", "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp}}
        for n in range(2300)
    ]
    loaded = realm.admin("POST", f"realms/{realm.realm_id}/entities", json={"Customer": docs})
    assert loaded.status_code == 200
    result = realm.sync(entities=["Customer"])
    assert len(realm.warehouse_rows("Customer")) == 2300
    assert result.requests <= math.ceil(2300 / 1000) + 1


def test_faults_on_one_request_in_five_change_nothing_in_the_result(
    make_realm: Callable[..., Realm], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_RESULTS", 100)  # enough requests for one in five to fail
    realm = make_realm("demo")
    realm.admin(
        "POST",
        "config",
        json={
            "faults": {
                "seed": 11,
                "rate_429": 0.05,
                "rate_500": 0.04,
                "rate_503": 0.04,
                "rate_reset": 0.04,
                "rate_truncated": 0.03,
            }
        },
    )
    result = realm.sync()
    assert result.retries > 0
    realm.admin(
        "POST",
        "config",
        json={"faults": {"rate_429": 0, "rate_500": 0, "rate_503": 0, "rate_reset": 0, "rate_truncated": 0}},
    )
    realm.assert_warehouse_equals_sandbox()


def test_cdc_answers_over_the_cap_are_narrowed_without_losing_deletes(
    make_realm: Callable[..., Realm], monkeypatch: pytest.MonkeyPatch
) -> None:
    realm = make_realm("tiny")
    realm.sync()
    monkeypatch.setattr("sandbox.qbo_api.MAX_CDC_OBJECTS", 4)
    monkeypatch.setattr(settings, "CDC_MAX_OBJECTS", 4)
    sandbox_realm = realm.server.sandbox.store.realm(realm.realm_id)
    books = realm.server.sandbox.rules
    victim = books.create(
        sandbox_realm,
        "Invoice",
        {
            "CustomerRef": {"value": "1"},
            "Line": [
                {
                    "Amount": 5,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
        },
    )
    books.delete_by_id(sandbox_realm, "Invoice", victim["Id"])
    for n in range(9):
        if n % 3 == 0:
            time.sleep(1.05)  # three changes a second: fewer than the cap, so windows can advance
        books.create(sandbox_realm, "Customer", {"DisplayName": f"Window {n}"})
    result = realm.sync()
    assert result.requests > 2  # the first CDC answer was capped and had to be narrowed
    realm.assert_warehouse_equals_sandbox()
    assert realm.warehouse_rows("Invoice")[victim["Id"]] == (None, True)


def test_a_full_refresh_of_a_warehouse_never_synced_is_a_first_sync(
    make_realm: Callable[..., Realm],
) -> None:
    realm = make_realm("tiny")
    first = realm.sync(full_refresh=True)  # no pipeline, no schema, no tables yet
    realm.assert_warehouse_equals_sandbox()
    assert sum(first.rows.values()) > 0
    realm.mutate(entity="Customer", id="3", op="update", changes={"Notes": "refreshed"})
    realm.sync(full_refresh=True)  # and the next one re-scans what the first loaded
    realm.assert_warehouse_equals_sandbox()


def test_a_realm_not_swept_for_30_days_is_rescanned_and_deletions_found(
    make_realm: Callable[..., Realm],
) -> None:
    realm = make_realm("tiny")
    now = datetime.now(UTC)
    stale = {e: EntityState(now - timedelta(days=40)) for e in ("Customer",)}
    warehouse_ids = {"1", "2", "999"}  # 999 is gone from QBO
    run = Extraction(realm.client, realm.realm_id, ["Customer"], stale, existing_ids=lambda _: warehouse_ids)
    rows = list(run.rows("Customer"))
    assert run.mode("Customer") == "rescan"
    assert any("re-scanning" in note for note in run.notes)
    deleted = [r for r in rows if r[extract.DELETED]]
    assert [r["Id"] for r in deleted] == ["999"]
    assert {r["Id"] for r in rows if not r[extract.DELETED]} >= {"1", "2"}


def test_targeted_fetch_returns_exactly_the_ids_and_names_the_missing(
    make_realm: Callable[..., Realm],
) -> None:
    realm = make_realm("tiny")
    found, missing = extract.fetch_ids(realm.client, ENTITIES["Customer"], ["1", "2", "424242"])
    assert sorted(d["Id"] for d in found) == ["1", "2"]
    assert missing == {"424242"}
    assert realm.client.stats.requests == 1


def test_targeted_fetch_loads_the_records_and_marks_vanished_ones_deleted(
    make_realm: Callable[..., Realm],
) -> None:
    realm = make_realm("tiny")
    realm.sync()
    realm.mutate(entity="Customer", id="2", op="update", changes={"Notes": "seen through a webhook"})
    realm.admin(
        "POST",
        f"realms/{realm.realm_id}/mutate",
        json={"entity": "Customer", "id": "3", "op": "merge", "merge_into": "1"},
    )
    before = realm.client.stats.requests
    fetch_records(
        realm.client, "Customer", ["2", "3"], warehouse=realm.warehouse, pipelines_dir=realm.pipelines_dir
    )
    assert realm.client.stats.requests - before == 1
    rows = realm.warehouse_rows("Customer")
    truth = realm.truth("Customer")
    assert rows["2"] == truth["2"] and rows["3"] == (None, True)


def test_every_row_carries_its_realm_child_tables_included(make_realm: Callable[..., Realm]) -> None:
    realm = make_realm("tiny")
    realm.sync(entities=["Invoice"])
    with duckdb.connect(str(realm.warehouse), read_only=True) as db:
        lines = db.execute("SELECT realm_id, COUNT(*) FROM raw_qbo.invoice__line GROUP BY 1").fetchall()
        links = db.execute(
            "SELECT COUNT(*) FROM raw_qbo.invoice__line l JOIN raw_qbo.invoice i "
            "ON l._dlt_parent_id = i._dlt_id AND l.realm_id = i.realm_id"
        ).fetchone()[0]
    assert lines == [(realm.realm_id, links)]


def test_a_failed_sync_leaves_a_typed_error_row_without_tokens(
    make_realm: Callable[..., Realm], tmp_path: Path
) -> None:
    realm = make_realm("tiny")
    realm.client.retry = RetryPolicy(max_attempts=2, base_seconds=0.01)
    realm.admin("POST", "config", json={"faults": {"rate_500": 1.0}})
    with pytest.raises(PipelineStepFailed) as caught:
        realm.sync(entities=["Customer"])
    cause = root_cause(caught.value)
    assert isinstance(cause, errors.ServerError) and cause.entity == "Customer"
    store = IntegrationStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.errors.record(cause, realm.realm_id, cause.entity, operation="sync")
    row = store.errors.recent(realm.realm_id)[0]
    assert (row["realm_id"], row["entity"], row["code"]) == (realm.realm_id, "Customer", "10000")
    assert row["intuit_tid"] and row["intuit_tid"].startswith("1-")
    token = realm.client.tokens.access_token(realm.realm_id)
    assert token not in str(row)
