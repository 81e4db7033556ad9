"""Deletes reach the transform: a record deleted or merged away in QBO leaves the live models (no drift
on it), stays for audit, and its platform twin becomes a sync issue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import requests

from pipelines.platform_load import load_platform
from pipelines.sync import sync_realm
from pipelines.transform.dbt_build import run_dbt
from sandbox.background import RunningSandbox
from sandbox.demo.platform_records import generate
from sandbox.demo.tour import DEMO_POLICY
from sources.quickbooks.client import QboClient, StaticTokens

REALM = "7007"


def test_deleted_and_merged_records_leave_the_live_models(
    start_sandbox: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    server = start_sandbox()
    created = requests.post(
        f"{server.base_url}/_sandbox/realms",
        json={"realm_id": REALM, "company": "demo", "seed": 1},
        timeout=120,
    )
    assert created.status_code == 201, created.text
    client = QboClient(REALM, server.base_url, StaticTokens(server.connect(REALM)["access_token"]))
    warehouse, pipelines_dir = tmp_path / "w.duckdb", tmp_path / "p"
    sync_realm(client, warehouse=warehouse, pipelines_dir=pipelines_dir)
    planted = generate(server.sandbox.store, REALM, tmp_path / "platform", policy=DEMO_POLICY).planted
    drifting = {(d["entity"], d["qbo_id"]) for d in planted.drift}

    def unpaid(qbo_id: str) -> bool:  # QBO refuses to delete an invoice with payments applied
        found = server.sandbox.store.get(REALM, "Invoice", int(qbo_id))
        return found is not None and 0 < found.doc["TotalAmt"] == found.doc["Balance"]

    invoice_link = next(
        link
        for link in planted.links
        if link[0] == "Invoice" and ("Invoice", link[2]) in drifting and unpaid(link[2])
    )
    customers = [link for link in planted.links if link[0] == "Customer"]
    merged, survivor = customers[-1], customers[-2]

    def mutate(**body: str) -> None:
        answer = requests.post(f"{server.base_url}/_sandbox/realms/{REALM}/mutate", json=body, timeout=60)
        assert answer.status_code == 200, answer.text

    mutate(entity="Invoice", id=invoice_link[2], op="delete")
    mutate(entity="Customer", id=merged[2], op="merge", merge_into=survivor[2])
    sync_realm(client, warehouse=warehouse, pipelines_dir=pipelines_dir)  # CDC brings the deletes
    load_platform(str(tmp_path / "platform"), warehouse=warehouse, pipelines_dir=pipelines_dir)
    result = run_dbt(warehouse, policy=DEMO_POLICY, command="run", target_path=tmp_path / "target")
    assert result.success, result.summary()

    with duckdb.connect(str(warehouse), read_only=True) as db:

        def one(sql: str, *params: str) -> list[tuple]:
            return db.execute(sql, list(params)).fetchall()

        status = "SELECT status FROM sync.sync_mappings WHERE entity = ? AND platform_id = ?"
        assert one(status, "Invoice", invoice_link[1]) == [("linked_qbo_deleted",)]
        assert one(status, "Customer", merged[1]) == [("linked_qbo_deleted",)]
        assert one("SELECT count(*) FROM sync.sync_drift WHERE platform_id = ?", invoice_link[1]) == [(0,)]
        audit = one("SELECT qbo_table, qbo_id, merged_into_qbo_id FROM sync.qbo_deleted_records ORDER BY 1")
        assert ("invoice", invoice_link[2], None) in audit
        # CDC says a merged record is deleted, not where it went (the Merge webhook does: issue 6)
        assert ("customer", merged[2], None) in audit
        issues = one("SELECT entity, platform_id FROM sync.sync_issues WHERE issue = 'linked_qbo_deleted'")
        assert {("Invoice", invoice_link[1]), ("Customer", merged[1])} <= set(issues)
        (still_there,) = one(
            "SELECT count(*) FROM staging.stg_qbo__invoices WHERE qbo_id = ?", invoice_link[2]
        )[0]
        assert still_there == 1  # kept, flagged, for audit
