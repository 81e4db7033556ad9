"""`qbo platform load` with hostile files: each bad record is refused alone, at its file and line, with
the field and the reason, and every good record around it lands in the warehouse (issue 15, item 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
from typer.testing import CliRunner

from pipelines.cli.app import app
from pipelines.platform_load import PlatformLoad, load_platform
from pipelines.runtime.warehouse import PLATFORM_DATASET
from sources.platform.readers import MAX_DEPTH, MAX_FIELD_CHARS

NOW = "2026-01-02T03:04:05Z"
INVOICE = {
    "id": "i1",
    "tenantId": "t1",
    "realmId": "r1",
    "customerId": "c1",
    "issueDate": "2026-01-02",
    "status": "open",
    "version": 1,
    "lines": [{"id": "l1", "itemId": "x1", "description": "Seed", "quantity": 2, "unitPrice": 4}],
    "totalAmount": 8,
    "balance": 8,
    "updatedAt": NOW,
}
HEADER = "id,tenantId,displayName,createdAt,updatedAt"


def customer_line(platform_id: str, name: str) -> str:
    return f"{platform_id},t1,{name},{NOW},{NOW}\n"


def load(folder: Path, tmp_path: Path) -> PlatformLoad:
    return load_platform(
        str(folder), warehouse=tmp_path / "w.duckdb", pipelines_dir=tmp_path / "p", realms={"t1": "r1"}
    )


def query(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as db:
        return db.execute(sql.replace("raw.", f"{PLATFORM_DATASET}.")).fetchall()


def refusals(tmp_path: Path) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """source (file:line) -> (code, details)"""
    found = query(tmp_path, "SELECT source, code, errors FROM raw.rejected")
    return {source: (code, json.loads(errors)) for source, code, errors in found}


def test_bad_jsonl_records_are_refused_by_line_and_the_rest_load(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    huge = json.dumps({**INVOICE, "id": "i2"}).replace('"totalAmount": 8', '"totalAmount": 1E+30')
    not_a_number = json.dumps({**INVOICE, "id": "i3"}).replace('"balance": 8', '"balance": NaN')
    deep = json.dumps({**INVOICE, "id": "i4", "memo": "[" * 200 + "]" * 200}).replace(
        f'"{"[" * 200}{"]" * 200}"', "[" * 200 + "]" * 200
    )
    very_deep = "[" * 100_000 + "]" * 100_000  # past Python's recursion limit
    lines = [
        json.dumps(INVOICE).encode(),
        huge.encode(),
        not_a_number.encode(),
        json.dumps({**INVOICE, "id": "i5", "memo": "Caf\u00e9"}).encode().replace(b"\\u00e9", b"\xff\xfe"),
        deep.encode(),
        very_deep.encode(),
        json.dumps({**INVOICE, "id": "i6"}).encode(),
    ]
    (folder / "invoices.jsonl").write_bytes(b"\n".join(lines) + b"\n")

    result = load(folder, tmp_path)

    assert result.loaded == {"Invoice": 2} and result.rejected == {"Invoice": 5}
    assert sorted(query(tmp_path, "SELECT id FROM raw.invoice")) == [("i1",), ("i6",)]
    refused = refusals(tmp_path)
    assert sorted(refused) == [f"invoices.jsonl:{n}" for n in range(2, 7)]
    code, details = refused["invoices.jsonl:2"]
    assert code == "PLATFORM_VALIDATION_FAILED" and details[0]["field"] == "totalAmount"
    code, details = refused["invoices.jsonl:3"]
    assert code == "PLATFORM_VALIDATION_FAILED" and details[0]["field"] == "balance"
    code, details = refused["invoices.jsonl:4"]
    assert (code, details[0]["issue"]) == ("PLATFORM_RECORD_UNREADABLE", "not_utf8")
    assert "UTF-8" in details[0]["message"]
    for line in ("invoices.jsonl:5", "invoices.jsonl:6"):
        code, details = refused[line]
        assert (code, details[0]["issue"]) == ("PLATFORM_RECORD_UNREADABLE", "too_deep")
        assert f"deeper than {MAX_DEPTH}" in details[0]["message"]


def test_bad_csv_rows_are_refused_by_line_and_the_rest_load(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    smuggled = customer_line("c9", "Smuggled")  # inside the oversized quoted cell: never a record
    oversized = f'c3,t1,"{"x" * (MAX_FIELD_CHARS + 1)}\n{smuggled}y",{NOW},{NOW}\n'
    body = (
        (HEADER + ",billingAddress,billingAddress.city\n").encode()
        + f"c1,t1,Amy,{NOW},{NOW},,Bayshore\n".encode()  # line 2: only the dotted column: loads
        + f'c2,t1,Ben,{NOW},{NOW},"{{""city"": ""X""}}",Y\n'.encode()  # line 3: both set billingAddress
        + oversized.encode()  # lines 4-6
        + f"c4,t1,Caf\xe9,{NOW},{NOW},,\n".encode("latin-1")  # line 7: not UTF-8
        + f"c5,t1,Dee,{NOW},{NOW},,,extra\n".encode()  # line 8: more cells than the header
        + f"c6,t1,Eve,{NOW},{NOW},,\n".encode()  # line 9
    )
    (folder / "customers.csv").write_bytes(body)

    result = load(folder, tmp_path)

    assert result.loaded == {"Customer": 2} and result.rejected == {"Customer": 4}
    assert sorted(query(tmp_path, "SELECT id, billing_address__city FROM raw.customer")) == [
        ("c1", "Bayshore"),
        ("c6", None),
    ]
    refused = refusals(tmp_path)
    assert sorted(refused) == ["customers.csv:3", "customers.csv:4", "customers.csv:7", "customers.csv:8"]
    clash = refused["customers.csv:3"][1][0]
    assert clash["field"] == "billingAddress.city" and clash["issue"] == "ambiguous"
    assert "'billingAddress'" in clash["message"] and "fill only one" in clash["message"]
    assert refused["customers.csv:4"][1][0]["issue"] == "too_long"
    assert "1 MiB" in refused["customers.csv:4"][1][0]["message"]
    assert refused["customers.csv:7"][1][0] | {"message": ""} == {
        "field": "displayName",
        "issue": "not_utf8",
        "message": "",
    }
    assert refused["customers.csv:8"][1][0]["issue"] == "extra_cells"


def test_the_command_prints_counts_and_where_refusals_are_and_exits_by_what_was_read(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    rows = [
        customer_line("c1", "Amy"),
        customer_line("c 2", "Ben"),
    ]  # an id with a space  # the CLI knows no tenant: realmId
    (folder / "customers.csv").write_text(
        HEADER + ",realmId\n" + "".join(r.replace("\n", ",r1\n") for r in rows), encoding="utf-8"
    )
    runner = CliRunner()
    base = ["--warehouse", str(tmp_path / "w.duckdb"), "--store", f"sqlite:///{tmp_path / 's.sqlite'}"]
    ran = runner.invoke(app, [*base, "platform", "load", "--source", str(folder)])
    assert ran.exit_code == 0, ran.output
    assert "1 record(s) loaded, 1 refused" in ran.output
    assert "refused Customer at customers.csv:3: PLATFORM_VALIDATION_FAILED (id: " in ran.output
    assert "raw_platform.rejected" in ran.output

    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "customers.jsonl").write_bytes(b"\xff\xfe not json\n{oops\n")
    ran = runner.invoke(app, [*base, "platform", "load", "--source", str(garbage)])
    assert ran.exit_code == 1
    assert "0 record(s) loaded, 2 refused" in ran.output and "could be read" in ran.output
