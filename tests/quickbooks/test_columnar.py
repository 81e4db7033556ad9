"""A full scan's pages go to dlt as Arrow tables (sources/quickbooks/columnar.py): the warehouse they
make must be the one dlt makes of the same records as rows, table for table, column for column, value
for value, and the syncs after it must merge into it as into that one."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest
from dlt.common.schema import Schema

from pipelines.runtime.warehouse import QBO_DATASET as DATASET
from pipelines.sync.load import rows_to_normalise
from sources.quickbooks import columnar, source
from sources.quickbooks.columnar import Columnar, Tables
from sources.quickbooks.extract import EXTREME
from tests.conftest import sample
from tests.quickbooks.conftest import Realm, rows_by_place


def columns(path: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as db:
        return db.execute(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = ? ORDER BY 1, 2",
            [DATASET],
        ).fetchall()


@pytest.fixture
def as_rows_and_as_tables(
    make_realm: Callable[..., Realm], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Realm, Realm, list[str]]:
    """One demo company, two warehouses: one synced by dlt's rows only, one by Arrow tables wherever the
    columnar path takes a page (every page: `COLUMNAR_PAGE` 1)."""
    rows = make_realm("demo")
    tables = dataclasses.replace(rows, warehouse=tmp_path / "tables.duckdb", pipelines_dir=tmp_path / "t")
    went_as_tables: list[str] = []
    shape = Columnar.__call__

    def spied(self: Columnar, entity: str, docs: list[dict[str, Any]], realm_id: str) -> Any:
        item, flagged = shape(self, entity, docs, realm_id)
        if isinstance(item, Tables):
            went_as_tables.append(entity)
        return item, flagged

    monkeypatch.setattr(Columnar, "__call__", spied)
    return rows, tables, went_as_tables


def sync_both(rows: Realm, tables: Realm, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(source, "COLUMNAR_PAGE", 10**9)  # never: dlt normalises every row
        rows.sync()
    with monkeypatch.context() as patch:
        patch.setattr(source, "COLUMNAR_PAGE", 1)
        tables.sync()


def assert_same_warehouse(rows: Realm, tables: Realm) -> None:
    assert columns(tables.warehouse) == columns(rows.warehouse)
    expected, got = rows_by_place(rows.warehouse), rows_by_place(tables.warehouse)
    assert {t: sum(c.values()) for t, c in got.items()} == {t: sum(c.values()) for t, c in expected.items()}
    assert got == expected
    tables.assert_warehouse_equals_sandbox()


def test_a_full_sync_as_arrow_tables_makes_the_warehouse_dlt_makes_of_rows(
    as_rows_and_as_tables: tuple[Realm, Realm, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, tables, went_as_tables = as_rows_and_as_tables
    sync_both(rows, tables, monkeypatch)
    assert {"Invoice", "Bill", "Payment", "BillPayment", "Customer", "Item"} <= set(went_as_tables)
    assert len(columns(rows.warehouse)) > 600 and len(rows_by_place(rows.warehouse)) > 40
    assert_same_warehouse(rows, tables)

    # the next sync's changes (a CDC answer) merge into those tables: lines replaced, a delete marked
    invoice = rows.doc("Invoice", "1")
    line = {**invoice["Line"][0], "Description": "changed after the first sync"}
    rows.mutate(entity="Invoice", id="1", op="update", changes={"Line": [line]})
    rows.mutate(entity="Payment", id="1", op="delete")  # its lines go with it
    rows.mutate(entity="Customer", id="3", op="update", changes={"Notes": "after the first sync"})
    went_as_tables.clear()
    sync_both(rows, tables, monkeypatch)
    assert sorted(went_as_tables) == ["Customer", "Invoice", "Payment"]
    assert_same_warehouse(rows, tables)
    with duckdb.connect(str(tables.warehouse), read_only=True) as db:
        (lines,) = db.execute(
            f"SELECT count(*) FROM {DATASET}.invoice__line l JOIN {DATASET}.invoice i "
            "ON l._dlt_root_id = i._dlt_id WHERE i.id = '1'"
        ).fetchone()  # type: ignore[misc]
    assert lines == len(rows.doc("Invoice", "1")["Line"])  # replaced, not kept beside the new ones


def test_a_warehouse_made_of_rows_takes_a_re_scan_as_arrow_tables(
    as_rows_and_as_tables: tuple[Realm, Realm, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warehouse synced before pages went as Arrow tables: a full re-scan's tables merge into the
    tables dlt made of rows (their types, their child tables) as its rows would."""
    rows, tables, went_as_tables = as_rows_and_as_tables
    with monkeypatch.context() as patch:
        patch.setattr(source, "COLUMNAR_PAGE", 10**9)
        rows.sync()
        tables.sync()
    invoice = rows.doc("Invoice", "2")
    rows.mutate(entity="Invoice", id="2", op="update", changes={"Line": invoice["Line"][:1]})
    with monkeypatch.context() as patch:
        patch.setattr(source, "COLUMNAR_PAGE", 10**9)
        rows.sync(full_refresh=True)
    with monkeypatch.context() as patch:
        patch.setattr(source, "COLUMNAR_PAGE", 1)
        tables.sync(full_refresh=True)
    assert {"Invoice", "Bill", "Payment"} <= set(went_as_tables)
    assert_same_warehouse(rows, tables)


def flatten(docs: list[dict[str, Any]]) -> tuple[Any, int]:
    schema = Schema("quickbooks")
    required = frozenset({"realm_id", "id"})
    shape = Columnar(schema, "invoice", source.MAX_NESTING, "1.5", columnar.schema_types(schema), required)
    return shape("Invoice", docs, "7001")


def invoice(n: int, **changes: Any) -> dict[str, Any]:
    return {**sample("invoice_doc_sample_130.json")["Invoice"], "Id": str(n), **changes}


def test_each_table_of_a_page_is_typed_and_keyed_as_dlt_types_and_keys_it() -> None:
    page, flagged = flatten([invoice(1), invoice(2)])
    assert isinstance(page, Tables) and flagged == 0
    found = dict(page)
    assert next(iter(found)) == "invoice"  # parents first
    root, lines = found["invoice"], found["invoice__line"]
    assert root.num_rows == 2 and root.column("realm_id").to_pylist() == ["7001", "7001"]
    assert str(root.schema.field("total_amt").type) == "decimal128(38, 9)"
    assert str(root.schema.field("meta_data__last_updated_time").type) == "timestamp[us, tz=UTC]"
    assert str(root.schema.field("txn_date").type) == "date32[day]"
    assert root.column("_deleted").to_pylist() == [False, False]
    ids = root.column("_dlt_id").to_pylist()
    assert len(set(ids)) == 2 and set(lines.column("_dlt_root_id").to_pylist()) == set(ids)
    assert lines.column("_dlt_parent_id").to_pylist() == lines.column("_dlt_root_id").to_pylist()
    per_record = len(sample("invoice_doc_sample_130.json")["Invoice"]["Line"])
    assert lines.column("_dlt_list_idx").to_pylist() == list(range(per_record)) * 2
    assert set(lines.column("realm_id").to_pylist()) == {"7001"}


def test_a_page_dlt_would_type_otherwise_goes_to_dlt_as_rows() -> None:
    """Nesting deeper than the source keeps (a JSON column), a list of lists, a key holding text in one
    record and a number in another, and a record without its Id are dlt's to decide (or to refuse,
    naming the column): the page goes as rows, none lost."""
    deep = invoice(1, CustomField=[{"A": {"B": {"C": {"D": 1}}}}])
    lists = invoice(2, Tags=[["a", "b"]])
    mixed = [invoice(3, Memo="text"), invoice(4, Memo=Decimal("5"))]
    without_id = [invoice(5), {**invoice(6), "Id": None}]
    for page in ([deep], [lists], mixed, without_id):
        rows, flagged = flatten(page)
        assert not isinstance(rows, Tables)
        assert [row.get("Id") for row in rows] == [doc["Id"] for doc in page] and flagged == 0


def test_a_value_only_the_flagging_way_holds_is_flagged_in_the_arrow_table_too() -> None:
    extreme = invoice(1, TotalAmt=Decimal("1E+40"))
    page, flagged = flatten([extreme, invoice(2)])
    assert isinstance(page, Tables) and flagged == 1
    root = dict(page)["invoice"]
    assert root.column(EXTREME).to_pylist()[0] == "TotalAmt=1E+40"
    assert root.column("total_amt").to_pylist()[0] == Decimal("99999999999999999999999999999.999999999")


def test_a_text_column_dlt_reads_as_a_timestamp_is_one_in_utc() -> None:
    doc = invoice(1, DeliveryInfo={"DeliveryType": "Email", "DeliveryTime": "2026-12-05T16:30:00-08:00"})
    page, _ = flatten([doc])
    assert isinstance(page, Tables)
    moment = dict(page)["invoice"].column("delivery_info__delivery_time").to_pylist()[0]
    assert moment.isoformat() == "2026-12-06T00:30:00+00:00"


def test_only_the_rows_that_went_as_rows_count_towards_normalising_in_parallel() -> None:
    """dlt moves an Arrow page's files as they are: a normalize process per core pays only for rows."""
    counts = {"Invoice": 90_000, "Invoice:as_tables": 90_000, "Customer": 40, "Invoice:extreme": 2}
    assert rows_to_normalise(SimpleNamespace(counts=counts)) == 40  # type: ignore[arg-type]
    assert rows_to_normalise(None) == 0


def test_a_sync_loads_the_arrow_path_only_for_a_page_that_takes_it() -> None:
    """pyarrow takes a quarter of a second to import: `qbo sync` starts without it, and an idle sync
    (no page of 100 records) never loads it."""
    arrow = {"pyarrow", "sources.quickbooks.columnar"}
    probe = f"import sys, pipelines.sync; print(sorted({arrow!r} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout
