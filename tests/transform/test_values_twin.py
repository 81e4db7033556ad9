"""The readings of the mapping spec outside dbt agree with dbt's, record for record.

pipelines/mapping/values.py computes, in Python, what dbt's QBO side computes in SQL: the push relies on
it to tell which fields QBO changed. On every record of the demo company, every field, they agree.
pipelines/mapping/outbound.py makes the outbound row of one platform record (a real-time push, a
drafted write) from the same rendered SQL as the outbound models: the same payload, the same hash."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.mapping.order import ORDER
from pipelines.mapping.outbound import Refused, outbound_row
from pipelines.mapping.payloads import listed, payload
from pipelines.mapping.rendering import rendered
from pipelines.mapping.spec import LINES_FIELD
from pipelines.mapping.values import comparable
from pipelines.store.integration_store import IntegrationStore
from pipelines.transform.publish import publish
from sandbox.clock import DEFAULT_TZ
from sandbox.demo.platform_records import qbo_company
from sandbox.launch import FIRST_REALM
from sources.platform.dto import MODELS, Payment
from tests.demo_runs import DemoRun


def test_python_and_dbt_normalise_every_qbo_value_alike(demo_run: DemoRun) -> None:
    realm = str(FIRST_REALM)
    store = qbo_company("demo", 1, realm, DEFAULT_TZ)  # the demo's company: same seed, same day
    lookups = {
        table: {
            d["Id"]: d["Name"]
            for d in (
                json.loads(doc)
                for (doc,) in store.execute(
                    "SELECT doc FROM entities WHERE realm_id = ? AND entity = ?", (realm, entity)
                )
            )
        }
        for table, entity in (("payment_method", "PaymentMethod"),)
    }
    as_of = date.fromisoformat(demo_run.planted["as_of"])
    compared = 0
    for entity, spec in rendered().items():
        fields = [f["name"] for f in spec["fields"]] + ([LINES_FIELD] if spec["lines"] else [])
        columns = ", ".join(f"cast(n__{name} as varchar)" for name in fields)
        in_sql = {
            row[0]: dict(zip(fields, row[1:], strict=True))
            for row in demo_run.rows(
                f"SELECT qbo_id, {columns} FROM intermediate.int_sync__{spec['table']}_qbo"
            )
        }
        docs = store.execute(
            "SELECT doc FROM entities WHERE realm_id = ? AND entity = ? AND deleted = 0", (realm, entity)
        )
        for (doc,) in docs:
            record = json.loads(doc)
            in_python = comparable(spec, record, fields, lambda t, i: lookups[t].get(i), as_of)
            assert in_python == in_sql[record["Id"]], (entity, record["Id"])
            compared += 1
    assert compared > 1000


def _rows(db: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = db.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _platform_records(folder: Path, entity: str) -> dict[tuple[str, str], Any]:
    path = folder / f"{rendered()[entity]['table']}s.jsonl"
    records = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            dto = MODELS[entity].model_validate(json.loads(line))
        except ValueError:
            continue  # refused at load: no outbound row either
        records[(dto.tenant_id, dto.id)] = dto
    return records


@pytest.fixture(scope="module")
def references(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> IntegrationStore:
    """The references the gateway resolves with, published from the demo's warehouse."""
    store = IntegrationStore(f"sqlite:///{tmp_path_factory.mktemp('references') / 'store.sqlite'}")
    assert publish(demo_run.warehouse, store) > 100
    return store


def test_real_time_and_batch_pushes_send_the_same_payload(
    demo_run: DemoRun, references: IntegrationStore
) -> None:
    """Every create and update the outbound models hold, made again from its platform DTO and the
    published references by mapping/outbound.py: the same QBO payload (lines too), the same payload
    hash (what tells a push it sent this very payload already), for every pushable entity. A record
    whose reference is not in QBO yet is refused naming the field, where the batch holds it back."""
    compared: Counter[tuple[str, str]] = Counter()
    refusals = []
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as db:
        for entity in ORDER:
            spec = rendered()[entity]
            records = _platform_records(demo_run.workdir / "platform", entity)
            lines: dict[tuple[str, str], list[dict[str, Any]]] = {}
            if spec["lines"] is not None:
                for line in _rows(db, f"SELECT * FROM sync.outbound_{spec['table']}_lines"):
                    lines.setdefault((line["tenant_id"], line["platform_id"]), []).append(line)
            for row in _rows(
                db,
                f"SELECT * FROM sync.outbound_{spec['table']}s WHERE operation IN ('create', 'update')",
            ):
                key = (row["tenant_id"], row["platform_id"])
                fields = sorted(listed(row["payload_fields"]), key=row["payload_fields"].index)
                assert ", ".join(fields) == row["payload_fields"]
                made = _real_time(entity, records[key], row, fields, references)
                if isinstance(made, Refused):
                    refusals.append((row["missing_references"], made.answer.body))
                    continue
                made_row, made_lines = made
                batch = payload(entity, row, lines.get(key, []))
                assert payload(entity, made_row, made_lines) == batch, (entity, key, row["operation"])
                assert made_row["payload_hash"] == row["payload_hash"], (entity, key, row["operation"])
                compared[(entity, row["operation"])] += 1
    for entity in ORDER:
        assert compared[(entity, "create")] and compared[(entity, "update")], (entity, compared)
    assert sum(compared.values()) > 100
    assert refusals  # the demo plants an invoice of a customer QBO does not have
    for missing, body in refusals:
        assert missing and body["code"] == "REFERENCE_NOT_IN_QBO" and body["details"][0]["field"], body


def _real_time(
    entity: str, dto: Any, row: dict[str, Any], fields: list[str], references: IntegrationStore
) -> tuple[dict[str, Any], list[dict[str, Any]]] | Refused:
    try:
        return outbound_row(
            entity,
            dto,
            row["realm_id"],
            row["operation"],
            fields,
            references.references,
            qbo_id=row["qbo_id"],
            sync_token=row["sync_token"],
        )
    except Refused as refused:
        return refused


def test_a_name_qbo_has_no_record_of_is_refused_naming_the_field(
    demo_run: DemoRun, references: IntegrationStore
) -> None:
    payment = Payment.model_validate(
        {
            "id": "twin-1",
            "tenantId": "demo-tenant",
            "customerId": "twin-customer",
            "date": "2026-12-01",
            "amount": 10,
            "method": "Seashells",
        }
    )
    with pytest.raises(Refused) as refused:
        outbound_row("Payment", payment, "realm", "update", ["payment_method"], references.references)
    body = refused.value.answer.body
    assert (refused.value.answer.status, body["code"]) == (422, "NOT_IN_QBO")
    assert body["details"][0]["field"] == "method"
