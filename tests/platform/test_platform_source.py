"""The platform source: records from JSONL, CSV, Parquet or a database land validated; refusals aside."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, text

from pipelines.platform_load import load_platform
from pipelines.runtime.warehouse import PLATFORM_DATASET as DATASET
from sources.platform.readers import SourceError

NOW = "2026-01-02T03:04:05Z"
CUSTOMERS = [
    {
        "id": "c1",
        "tenantId": "t1",
        "realmId": "r1",
        "displayName": "Amy's Bird Sanctuary",
        "email": "amy@example.com",
        "billingAddress": {"line1": "4581 Finch St.", "city": "Bayshore"},
        "createdAt": NOW,
        "updatedAt": NOW,
    },
    {"id": "c2", "tenantId": "t1", "displayName": "Zoë Ångström", "createdAt": NOW, "updatedAt": NOW},
]
INVOICE = {
    "id": "i1",
    "tenantId": "t1",
    "realmId": "r1",
    "customerId": "c1",
    "issueDate": "2026-01-02",
    "status": "open",
    "version": 1,
    "lines": [
        {"id": "l1", "itemId": "x1", "description": "Seed", "quantity": 2, "unitPrice": 4},
        {"id": "l2", "itemId": "x2", "description": "Suet", "quantity": 1, "unitPrice": 2.5, "amount": 2.5},
    ],
    "totalAmount": 10.5,
    "balance": 10.5,
    "updatedAt": NOW,
}


def write_jsonl(path: Path, rows: list[Any]) -> None:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )


def load(source: str | Path, tmp_path: Path, realms: dict[str, str] | None = None) -> Any:
    return load_platform(
        str(source),
        warehouse=tmp_path / "w.duckdb",
        pipelines_dir=tmp_path / "p",
        realms=realms or {"t1": "r1"},
    )


def rows(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as db:
        return db.execute(sql.replace("raw.", f"{DATASET}.")).fetchall()


def test_valid_records_load_and_refusals_are_kept_with_their_field_errors(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    bad_email = {**CUSTOMERS[1], "id": "c3", "displayName": "X", "email": "nope"}
    write_jsonl(folder / "customers.jsonl", [*CUSTOMERS, bad_email, "{not json", ""])
    write_jsonl(folder / "invoices.jsonl", [INVOICE, {**INVOICE, "id": "i2", "totalAmount": 99}])

    result = load(folder, tmp_path)

    assert result.loaded == {"Customer": 2, "Invoice": 1}
    assert result.rejected == {"Customer": 2, "Invoice": 1}
    assert sorted(rows(tmp_path, "SELECT id, realm_id, display_name FROM raw.customer")) == [
        ("c1", "r1", "Amy's Bird Sanctuary"),
        ("c2", "r1", "Zoë Ångström"),  # no realmId: the tenant's connected realm
    ]
    refused = rows(
        tmp_path, "SELECT entity, record_id, source, code, errors FROM raw.rejected ORDER BY source"
    )
    by_source = {r[2]: r for r in refused}
    assert by_source["customers.jsonl:3"][3] == "PLATFORM_VALIDATION_FAILED"
    assert [e["field"] for e in json.loads(by_source["customers.jsonl:3"][4])] == ["email"]
    assert by_source["customers.jsonl:4"][3] == "PLATFORM_RECORD_UNREADABLE"
    assert [e["field"] for e in json.loads(by_source["invoices.jsonl:2"][4])] == ["totalAmount"]
    # the lines are a child table joinable to their invoice, and carry tenant and realm
    lines = rows(
        tmp_path,
        "SELECT i.id, l.line_number, l.amount, l.tenant_id, l.realm_id FROM raw.invoice i "
        "JOIN raw.invoice__lines l ON l._dlt_parent_id = i._dlt_id ORDER BY l.line_number",
    )
    assert [(r[0], r[1], float(r[2]), r[3], r[4]) for r in lines] == [
        ("i1", 1, 8.0, "t1", "r1"),  # numbered by position, priced quantity x unitPrice
        ("i1", 2, 2.5, "t1", "r1"),
    ]


def test_the_specs_shapes_land_and_a_record_without_updated_at_takes_the_load_time(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    customer = {**CUSTOMERS[0], "legalName": "Amy's Birds LLC", "primaryContact": "Amy Finch",
                "serviceAddress": {"line1": "1 Perch Rd", "city": "Bayshore"}, "defaultTaxable": False,
                "paymentTermsId": "3"}  # fmt: skip
    write_jsonl(folder / "customers.jsonl", [customer])
    unstamped = {k: v for k, v in INVOICE.items() if k != "updatedAt"}
    write_jsonl(folder / "invoices.jsonl", [INVOICE, {**unstamped, "id": "i2", "status": "draft"}])
    before = datetime.now(UTC)

    result = load(folder, tmp_path)

    assert result.loaded == {"Customer": 1, "Invoice": 2} and not result.rejected
    assert rows(
        tmp_path,
        "SELECT legal_name, primary_contact, shipping_address__line1, default_taxable, payment_terms_id "
        "FROM raw.customer",
    ) == [("Amy's Birds LLC", "Amy Finch", "1 Perch Rd", False, "3")]
    stamped = dict(rows(tmp_path, "SELECT id, updated_at FROM raw.invoice"))
    assert stamped["i1"] == datetime.fromisoformat(NOW)  # its own time is kept
    assert before <= stamped["i2"] <= datetime.now(UTC)  # none: the load's
    assert rows(tmp_path, "SELECT id, status, voided FROM raw.invoice ORDER BY id") == [
        ("i1", "open", False),
        ("i2", "draft", False),
    ]


def test_a_tenant_without_a_connected_realm_is_refused_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "customers.jsonl", CUSTOMERS)
    result = load(folder, tmp_path, realms={"someone-else": "r9"})
    assert result.loaded == {"Customer": 1} and result.rejected == {"Customer": 1}
    ((code, errors),) = rows(tmp_path, "SELECT code, errors FROM raw.rejected")
    assert code == "PLATFORM_TENANT_NOT_CONNECTED"
    assert "qbo connect" in json.loads(errors)[0]["message"]


def test_csv_with_dotted_columns_and_json_cells_loads_like_jsonl(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    with (folder / "customers.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        head = "id tenantId realmId displayName billingAddress.city defaultTaxable createdAt updatedAt"
        writer.writerow(head.split())
        writer.writerow(["c1", "t1", "r1", "Amy", "Bayshore", "false", NOW, NOW])
    with (folder / "invoices.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "id",
                "tenantId",
                "customerId",
                "issueDate",
                "status",
                "version",
                "lines",
                "totalAmount",
                "balance",
                "updatedAt",
            ]
        )
        writer.writerow(
            ["i1", "t1", "c1", "2026-01-02", "open", "1", json.dumps(INVOICE["lines"]), "10.50", "10.50", NOW]
        )
    result = load(folder, tmp_path)
    assert result.loaded == {"Customer": 1, "Invoice": 1} and not result.rejected
    assert rows(tmp_path, "SELECT billing_address__city, default_taxable FROM raw.customer") == [
        ("Bayshore", False)
    ]
    assert rows(tmp_path, "SELECT count(*) FROM raw.invoice__lines") == [(2,)]


def test_parquet_with_nested_lines_loads(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist([INVOICE]), folder / "invoices.parquet")
    result = load(folder, tmp_path)
    assert result.loaded == {"Invoice": 1}
    assert rows(tmp_path, "SELECT count(*) FROM raw.invoice__lines") == [(2,)]


def test_a_database_table_per_entity_loads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'platform.sqlite'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                'CREATE TABLE customers (id TEXT, "tenantId" TEXT, "displayName" TEXT, '
                '"billingAddress" TEXT, "createdAt" TEXT, "updatedAt" TEXT, email TEXT)'
            )
        )
        conn.execute(
            text("INSERT INTO customers VALUES (:id, 't1', :name, :addr, :at, :at, :email)"),
            [
                {
                    "id": "c1",
                    "name": "Amy",
                    "addr": json.dumps({"city": "Bayshore"}),
                    "at": NOW,
                    "email": None,
                },
                {"id": "c2", "name": "Bob", "addr": None, "at": NOW, "email": "bad"},
            ],
        )
    engine.dispose()
    result = load(url, tmp_path)
    assert result.loaded == {"Customer": 1} and result.rejected == {"Customer": 1}
    assert rows(tmp_path, "SELECT id, billing_address__city FROM raw.customer") == [("c1", "Bayshore")]
    assert rows(tmp_path, "SELECT source FROM raw.rejected") == [("customers:row 2",)]


def test_an_unreadable_source_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is not a folder"):
        load(tmp_path / "missing", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"expected some of: customers\.jsonl"):
        load(tmp_path / "empty", tmp_path)


def test_the_platform_database_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    """The platform's own PostgreSQL: JSON columns for nested fields, one table per entity."""
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                'CREATE TABLE invoices (id text, "tenantId" text, "realmId" text, "customerId" text, '
                '"issueDate" date, status text, version integer, lines jsonb, "totalAmount" numeric, '
                'balance numeric, "updatedAt" timestamptz)'
            )
        )
        conn.execute(
            text(
                "INSERT INTO invoices VALUES ('i1', 't1', 'r1', 'c1', '2026-01-02', 'open', 1, "
                "CAST(:lines AS jsonb), 10.50, 10.50, '2026-01-02T03:04:05Z')"
            ),
            {"lines": json.dumps(INVOICE["lines"])},
        )
    engine.dispose()
    result = load(postgres_url, tmp_path)
    assert result.loaded == {"Invoice": 1} and not result.rejected
    assert rows(tmp_path, "SELECT count(*), sum(amount) FROM raw.invoice__lines")[0][0] == 2
