"""Issue 15: a record QBO holds with extreme numbers is QBO's data, not ours to refuse. It is loaded
(rounded or clamped to what the warehouse holds, flagged with the originals), the realm's next sync
finds nothing pending, and the transform passes, listing the record among the sync issues."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from pipelines.platform_load import load_platform
from pipelines.runtime.warehouse import QBO_DATASET, qbo_pipeline
from pipelines.transform.dbt_build import run_dbt
from sandbox.background import RunningSandbox
from sandbox.demo.platform_records import generate
from sandbox.demo.tour import DEMO_POLICY
from sources.quickbooks.client import QboClient, StaticTokens
from sources.quickbooks.extract import EXTREME, normalise
from tests.quickbooks.conftest import Realm

TINY = "7015"


@pytest.fixture
def realm(server: RunningSandbox, tmp_path: Path) -> Realm:
    """A tiny sandbox company, connected, with its warehouse in tmp_path."""
    created = requests.post(
        f"{server.base_url}/_sandbox/realms",
        json={"realm_id": TINY, "company": "tiny", "seed": 1},
        timeout=120,
    )
    assert created.status_code == 201, created.text
    client = QboClient(TINY, server.base_url, StaticTokens(server.connect(TINY)["access_token"]))
    return Realm(server, TINY, client, tmp_path / "warehouse.duckdb", tmp_path / "pipelines")


def test_numbers_the_warehouse_cannot_hold_are_loaded_as_the_nearest_it_holds_and_flagged() -> None:
    doc = {
        "Id": "9",
        "TotalAmt": Decimal("1E+40"),
        "Balance": Decimal("12.50"),
        "Line": [
            {"LineNum": 1, "Amount": Decimal("3"), "SalesItemLineDetail": {"UnitPrice": Decimal("1E-30")}},
            {"LineNum": 10**30, "Amount": float("nan"), "SalesItemLineDetail": {"Qty": Decimal("Infinity")}},
        ],
    }
    row = normalise("Invoice", doc, "1")
    assert row["TotalAmt"] == Decimal("99999999999999999999999999999.999999999")  # clamped to decimal(38,9)
    assert row["Balance"] == Decimal("12.50")  # what fits is untouched
    first, second = row["Line"]
    assert first["SalesItemLineDetail"]["UnitPrice"] == 0
    assert second["LineNum"] == 2**63 - 1 and "Amount" not in second
    assert "Qty" not in second["SalesItemLineDetail"]
    assert row[EXTREME].split("; ") == [
        "TotalAmt=1E+40",
        "Line[0].SalesItemLineDetail.UnitPrice=1E-30",
        "Line[1].LineNum=1000000000000000000000000000000",
        "Line[1].Amount=NaN",
        "Line[1].SalesItemLineDetail.Qty=Infinity",
    ]
    assert EXTREME not in normalise("Invoice", {"Id": "8", "TotalAmt": Decimal("1E+15")}, "1")


def _plant_extreme_invoices(realm: Realm) -> tuple[str, str]:
    """Two invoices copied from one QBO holds: UnitPrice 1E-30; UnitPrice 1e15 with Amount 1E+20."""
    ids = sorted(realm.truth("Invoice"), key=int)
    docs = (realm.doc("Invoice", i) for i in ids)
    template = next(d for d in docs if any("SalesItemLineDetail" in line for line in d["Line"]))

    def variant(number: str, unit_price: float, amount: float | None) -> dict[str, Any]:
        doc = copy.deepcopy(template)
        for key in ("Id", "SyncToken", "MetaData"):
            doc.pop(key, None)
        doc["DocNumber"] = number
        line = next(ln for ln in doc["Line"] if "SalesItemLineDetail" in ln)
        line["SalesItemLineDetail"]["UnitPrice"] = unit_price
        if amount is not None:
            line["Amount"] = amount
            doc["TotalAmt"] = doc["Balance"] = amount
        return doc

    docs = [variant("TINY-PRICE", 1e-30, None), variant("HUGE-PRICE", 1e15, 1e20)]
    loaded = realm.admin("POST", f"realms/{realm.realm_id}/entities", json={"Invoice": docs})
    assert loaded.status_code == 200, loaded.text
    tiny_id, huge_id = loaded.json()["loaded"]["Invoice"]
    return tiny_id, huge_id


def _one(warehouse: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as db:
        return [tuple(r) for r in db.execute(sql, list(params)).fetchall()]


EDGES: list[Any] = [0, 1, -1, 7, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**40, 12.5, float("nan"), True]
EDGES += [10**29 - 1, 10**29, -(10**29)]  # decimal(38, 9) holds 29 digits before the point, exactly
EDGES += [Decimal("99999999999999999999999999999.999999999"), Decimal("1E+29"), Decimal("NaN")]
EDGES += [Decimal(t) for t in ("35.00", "-0.5", "1.123456789", "1.1234567891", "1.0000000000", "1E+5")]
EDGES += [Decimal(t) for t in ("5E-9", "5E-10", "-Infinity", "-99999999999999999999999999999.9999999995")]


@pytest.mark.parametrize("key", ["Amount", "LineNum", "Qty"])
def test_the_fast_way_types_every_number_as_the_way_that_flags(key: str) -> None:
    """A full sync types millions of numbers without building a flag's path (_plain); whatever it
    gives must be what the flagging way (_typed) gives, and a value that way flags must go that way."""
    from sources.quickbooks.extract import Flagged, _plain, _typed

    for value in EDGES:
        flags: list[str] = []
        expected = _typed(key, value, key, flags)
        if flags:
            with pytest.raises(Flagged):
                _plain(key, value, "1")
        else:
            got = _plain(key, value, "1")
            assert (got, type(got)) == (expected, type(expected)), value
            if isinstance(got, Decimal):
                assert got.as_tuple() == expected.as_tuple(), value  # the same places, not only equal


def test_sync_loads_every_record_flags_the_extreme_one_and_syncs_again(realm: Realm) -> None:
    tiny_id, huge_id = _plant_extreme_invoices(realm)

    first = realm.sync()
    realm.assert_warehouse_equals_sandbox()  # every record loaded, the extreme ones included
    assert any("_extreme_values" in note and "Invoice" in note for note in first.notes), first.notes
    flags = dict(
        _one(realm.warehouse, f"SELECT id, {EXTREME} FROM {QBO_DATASET}.invoice WHERE realm_id = ?", TINY)
    )
    assert "SalesItemLineDetail.UnitPrice=1E-30" in flags[tiny_id]
    assert flags[huge_id] is None  # 1e15 and 1E+20 fit the warehouse exactly: dbt reports them
    amounts = _one(
        realm.warehouse,
        f"SELECT l.amount FROM {QBO_DATASET}.invoice__line AS l JOIN {QBO_DATASET}.invoice AS i "
        "ON l._dlt_parent_id = i._dlt_id WHERE i.id = ?",
        huge_id,
    )
    assert Decimal("1E+20") in {a for (a,) in amounts}

    realm.mutate(entity="Customer", id="1", op="update", changes={"Notes": "synced again"})
    second = realm.sync()  # incremental: nothing left pending by the first
    assert second.rows.get("Customer") == 1
    assert not qbo_pipeline(TINY, realm.warehouse, realm.pipelines_dir).has_pending_data
    realm.assert_warehouse_equals_sandbox()


def test_transform_passes_and_lists_the_out_of_range_values_as_sync_issues(
    realm: Realm, tmp_path: Path
) -> None:
    platform_dir = tmp_path / "platform"
    generate(realm.server.sandbox.store, TINY, platform_dir, policy=DEMO_POLICY)
    tiny_id, huge_id = _plant_extreme_invoices(realm)
    realm.sync()
    load_platform(str(platform_dir), warehouse=realm.warehouse, pipelines_dir=realm.pipelines_dir)

    result = run_dbt(realm.warehouse, policy=DEMO_POLICY, command="build", target_path=tmp_path / "target")
    assert result.success, result.summary()

    issues = _one(
        realm.warehouse,
        "SELECT qbo_id, issue, detail, what_to_do FROM sync.sync_issues "
        "WHERE realm_id = ? AND issue IN ('value_out_of_range', 'value_rounded')",
        TINY,
    )
    by_record = {(qbo_id, issue): (detail, todo) for qbo_id, issue, detail, todo in issues}
    huge, _ = by_record[(huge_id, "value_out_of_range")]
    assert "total_amount = 100000000000000000000" in huge  # the field, and the value QBO holds
    assert "line 1: unit_price = 1000000000000000.0" in huge and "does not fit decimal(18,6)" in huge
    assert "line 1: amount = 100000000000000000000" in huge
    rounded, todo = by_record[(tiny_id, "value_rounded")]
    assert "UnitPrice=1E-30" in rounded and "QuickBooks" in todo
    assert {qbo_id for qbo_id, *_ in issues} == {tiny_id, huge_id}  # no other record of any entity

    count = "SELECT count(*) FROM {} WHERE realm_id = ?"
    staged = _one(realm.warehouse, count.format("staging.stg_qbo__invoices"), TINY)
    compared = _one(realm.warehouse, count.format("intermediate.int_sync__invoice_qbo"), TINY)
    assert staged == compared == [(len(realm.truth("Invoice")),)]  # every invoice reaches the models
    total = _one(
        realm.warehouse, "SELECT total_amount FROM staging.stg_qbo__invoices WHERE qbo_id = ?", huge_id
    )
    assert total == [(None,)]  # shown empty, never a wrong number
