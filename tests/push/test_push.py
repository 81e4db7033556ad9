"""`qbo push` against the sandbox: the round trip converges, nothing is pushed twice, stale objects are
rebased or become conflicts, one invalid record never stops the others, faults change nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipelines.ask.intent import QboIntent
from pipelines.ask.run import Asker
from pipelines.push import batch
from pipelines.push.batch import RealmPush
from pipelines.push.drafts import approve_draft
from pipelines.runtime.connector import Connector
from pipelines.runtime.landing import land_push_results
from pipelines.transform.publish import publish
from sandbox.demo.world import DEMO_TENANT
from service.app import create_app
from tests.push.conftest import Ready, prepare

ROOT = Path(__file__).resolve().parents[2]


def test_preflight_allows_the_qbo_values_of_the_specs_enums() -> None:
    """Item.Type's allowed values are the QBO side of the spec's enum (service -> Service, ...)."""
    import pandas as pd
    import pandera.pandas as pa

    from pipelines.mapping.rendering import rendered
    from pipelines.push.preflight import frame_schema

    (type_field,) = [f for f in rendered()["Item"]["fields"] if f["name"] == "type"]
    assert type_field["enum"] == {
        "service": "Service",
        "inventory": "Inventory",
        "non_inventory": "NonInventory",
    }
    schema = frame_schema("Item")
    frame = pd.DataFrame(
        [
            {"realm_id": "1", "operation": "create", "unresolved": False, "type": kind}
            for kind in ("Service", "Inventory", "NonInventory", "service", "Group")
        ]
    )
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        schema.validate(frame, lazy=True)
    assert sorted(caught.value.failure_cases["failure_case"]) == ["Group", "service"]


def push_drift(ready: Ready) -> set[tuple[str, str, str]]:
    return set(ready.rows("SELECT entity, platform_id, field FROM sync.sync_drift WHERE action = 'push'"))


def refused(ready: Ready) -> set[tuple[str, str]]:
    """What QBO refused (push log) or pre-flight did, or what waits for an approval."""
    found = {(r["entity"], r["platform_id"]) for r in ready.push_results() if r["outcome"] != "ok"}
    found |= {(e["entity"], e["platform_id"]) for e in ready.planted["pending_approval"]}
    found |= set(ready.rows("SELECT entity, platform_id FROM sync.sync_issues WHERE issue = 'preflight'"))
    return found


@pytest.fixture(scope="module")
def pushed_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Ready, dict[str, int], RealmPush]]:
    """A ready company pushed once, cleanly: its counts before, and what the push did."""
    prepared = prepare(tmp_path_factory.mktemp("pushed"))
    ready = next(prepared)
    before = ready.counts()
    yield ready, before, ready.push()
    prepared.close()


def test_the_round_trip_leaves_only_what_a_person_must_decide(
    pushed_once: tuple[Ready, dict[str, int], RealmPush],
) -> None:
    """Push, sync, transform: drift the platform masters is gone but for what QBO refused and what waits
    for approval; conflicts stay; created records exist once; invalid ones were refused alone; and the
    next push sends nothing."""
    ready, before, first = pushed_once
    assert first.outcomes["ok"] > 80 and first.requests <= 12 and not first.stopped
    sent = {
        (r["entity"], r["platform_id"])
        for r in ready.push_results()
        if not r["request_id"].startswith("preflight:")
    }
    assert sum(first.outcomes.values()) == len(sent)  # the summary counts records, once each
    # an invalid record is refused alone, its fields named; the rest of its batch went through
    errors = ready.world.connector.store.errors.recent(limit=200)
    long_name = next(e for e in errors if e["code"] == "QBO_VALIDATION_FAILED" and e["entity"] == "Customer")
    assert long_name["element"] == "displayName" and "100 characters" in long_name["details"][0]["message"]
    long_id = next(
        e["platform_id"] for e in ready.planted["edge_cases"] if e["case"] == "name_over_100_characters"
    )
    pushed_customers = {
        r["platform_id"] for r in ready.push_results() if r["entity"] == "Customer" and r["outcome"] == "ok"
    }
    others = {p for e, p in map(tuple, ready.planted["platform_only"]) if e == "Customer"} - {long_id}
    assert others <= pushed_customers and long_id not in pushed_customers
    by_qbo = [
        r for r in ready.push_results() if r["outcome"] == "invalid" and r["request_id"][:10] != "preflight:"
    ]
    assert by_qbo and all(r["error"]["details"][0]["field"] for r in by_qbo)  # QBO's own refusals: per record
    # QBO's answers are in the warehouse already, before any sync: the created records are there
    created_ids = [
        r["qbo_id"] for r in ready.push_results() if r["operation"] == "create" and r["outcome"] == "ok"
    ]
    landed = ready.rows("SELECT count(*) FROM raw_qbo.customer WHERE id IN (SELECT unnest(?))", created_ids)
    assert landed[0][0] > 0
    ready.sync()
    ready.transform()
    # drift on platform-mastered fields is gone, but for records QBO refused and approvals pending
    left = {(e, p) for e, p, _ in push_drift(ready)}
    assert left <= refused(ready), left - refused(ready)
    # the conflicts are untouched: still there, still waiting for a person
    conflicts = {(c["entity"], c["platform_id"]) for c in ready.planted["conflicts"]}
    assert conflicts <= set(ready.rows("SELECT entity, platform_id FROM sync.sync_conflicts"))
    # what was created is in QBO, as the platform has it, once
    creates = {p for e, p in map(tuple, ready.planted["platform_only"]) if e == "Customer"}
    created = [r for r in ready.push_results() if r["operation"] == "create" and r["outcome"] == "ok"]
    assert {r["platform_id"] for r in created if r["entity"] == "Customer"} <= creates
    zoe = next(r for r in created if r["entity"] == "Customer" and r["doc"]["DisplayName"].startswith("Zoë"))
    assert ready.qbo("Customer", zoe["qbo_id"])["DisplayName"] == "Zoë Ångström-Nguyễn Design Studio"
    after = ready.counts()
    for entity in ("Customer", "Vendor", "Item", "Invoice", "Bill", "Payment"):
        made = sum(1 for r in created if r["entity"] == entity)
        assert after[entity] == before[entity] + made, entity
    # and the next push sends nothing at all
    second = ready.push()
    assert second.requests == 0 and not second.outcomes


def test_a_push_killed_mid_batch_and_run_again_creates_no_duplicate(ready: Ready) -> None:
    """Killed in the middle of the invoices (three batches): the re-run finishes them, sends the rest,
    creates nothing twice, and its summary counts each record it pushed once."""
    before = ready.counts()
    ready.admin("POST", "config", json={"latency": {"min_ms": 700, "max_ms": 700}})
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.push.push_child", ready.settings_json()],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    deadline = time.monotonic() + 120
    while (
        not any(r["entity"] == "Invoice" for r in ready.push_results())
        and time.monotonic() < deadline
        and child.poll() is None
    ):
        time.sleep(0.05)
    time.sleep(0.3)  # the next batch is on its way: the sandbox may do it, the pusher never hears back
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    partial = len(ready.push_results())
    assert partial >= 1
    ready.admin("POST", "config", json={"latency": {"min_ms": 0, "max_ms": 0}})
    left = {op.key for op in batch.plan(ready.world.connector).by_status("send")}
    rerun = ready.push()
    assert not rerun.stopped
    assert "finishing an interrupted push first" in " ".join(ready.output)
    assert sum(rerun.outcomes.values()) == len(left)  # each record once, those the interrupted push had
    summary = next(line for line in reversed(ready.output) if " batch requests: " in line)
    took = sum(rerun.counts[k] for k in ("create", "update", "void", "deactivate", "conflict", "desynced"))
    by_qbo = sum(1 for r in rerun.refusals if r["outcome"] == "invalid")
    assert took + by_qbo == len(left), summary  # each record once, in the words of the plan
    assert tallied(summary)["created"] == rerun.counts["create"], summary
    results = ready.push_results()
    created = [r for r in results if r["operation"] == "create" and r["outcome"] == "ok"]
    keys = [(r["entity"], r["platform_id"]) for r in created]
    assert len(keys) == len(set(keys))  # each create once in the push log
    after = ready.counts()
    for entity in ("Customer", "Vendor", "Item", "Invoice", "Bill", "Payment"):
        assert after[entity] == before[entity] + sum(1 for e, _ in keys if e == entity), entity


def one_push(ready: Ready, entity: str, field: str) -> tuple[str, str]:
    """A linked record whose planted drift is a push of `field`, billing an active customer (QBO refuses
    edits of an inactive one's invoices): (platform id, QBO Id)."""

    def active_customer(qbo_id: str) -> bool:
        return bool(ready.qbo("Customer", ready.qbo(entity, qbo_id)["CustomerRef"]["value"]).get("Active"))

    return next(
        (d["platform_id"], d["qbo_id"])
        for d in ready.planted["drift"]
        if d["entity"] == entity
        and d["field"] == field
        and d["action"] == "push"
        and active_customer(d["qbo_id"])
    )


def outcome(ready: Ready, platform_id: str) -> dict:
    return [r for r in ready.push_results() if r["platform_id"] == platform_id][-1]


def test_a_stale_update_is_rebased_when_qbo_changed_only_what_it_masters(ready: Ready) -> None:
    """The platform's memo is QBO's PrivateNote (SPEC §4.2.3); the message on the invoice
    (CustomerMemo) is QBO's alone."""
    platform_id, qbo_id = one_push(ready, "Invoice", "memo")
    wanted = next(
        v
        for e, p, f, v in ready.rows(
            "SELECT entity, platform_id, field, platform_value FROM sync.sync_drift WHERE field = 'memo'"
        )
        if p == platform_id
    )
    ready.mutate(
        entity="Invoice",
        id=qbo_id,
        op="update",
        changes={"CustomerMemo": {"value": "Thank you for your business"}},
    )
    ready.push()
    result = outcome(ready, platform_id)
    assert result["outcome"] == "ok"
    doc = ready.qbo("Invoice", qbo_id)
    assert doc["PrivateNote"] == wanted  # the platform's memo went in
    assert doc["CustomerMemo"]["value"] == "Thank you for your business"  # the accountant's message stayed


def test_a_stale_update_is_a_conflict_when_qbo_changed_a_platform_field(ready: Ready) -> None:
    platform_id, qbo_id = one_push(ready, "Invoice", "memo")
    ready.mutate(entity="Invoice", id=qbo_id, op="update", changes={"PrivateNote": "Accountant's memo"})
    ready.push()
    result = outcome(ready, platform_id)
    assert result["outcome"] == "conflict"
    assert result["error"]["code"] == "QBO_CONFLICT" and result["error"]["details"][0]["field"] == "memo"
    assert ready.qbo("Invoice", qbo_id)["PrivateNote"] == "Accountant's memo"  # QBO keeps it
    ready.sync()
    ready.transform()
    assert ("Invoice", platform_id) in set(ready.rows("SELECT entity, platform_id FROM sync.sync_conflicts"))
    second = ready.push()
    assert platform_id not in {
        r["platform_id"]
        for r in ready.push_results()[-second.outcomes.get("ok", 0) - 1 :]
        if r["outcome"] == "ok"
    }


def qbo_state(ready: Ready) -> set[tuple]:
    rows = ready.world.sandbox.store.execute(
        "SELECT entity, id, json_extract(doc, '$.SyncToken'), deleted FROM entities WHERE realm_id = ? "
        "AND entity IN ('Customer', 'Vendor', 'Item', 'Invoice', 'Bill', 'Payment')",
        (ready.world.realm_id,),
    ).fetchall()
    return set(rows)


def test_with_a_fifth_of_requests_failing_the_pushed_end_state_equals_a_clean_run(
    pushed_once: tuple[Ready, dict[str, int], RealmPush], ready: Ready
) -> None:
    clean, faulty = pushed_once[0], ready  # the same company, the same day: only the faults differ
    faulty.admin(
        "POST",
        "config",
        json={
            "faults": {
                "seed": 5,
                "rate_429": 0.05,
                "rate_500": 0.05,
                "rate_503": 0.04,
                "rate_reset": 0.03,
                "rate_truncated": 0.03,
            }
        },
    )
    result = faulty.push()
    assert not result.stopped and result.retries > 0  # the faults happened, and were ridden out
    assert result.outcomes == pushed_once[2].outcomes  # resent batches: each record still counted once
    assert qbo_state(faulty) == qbo_state(clean)


def test_a_dry_run_calls_nothing_an_open_circuit_loses_nothing_and_a_void_waits_for_approval(
    ready: Ready,
) -> None:
    from typer.testing import CliRunner

    from pipelines.cli.app import app

    settings = ready.world.settings
    env = {
        "SOURCES__QUICKBOOKS__CLIENT_ID": settings.client_id or "",
        "SOURCES__QUICKBOOKS__CLIENT_SECRET": settings.client_secret or "",
        "SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS": settings.token_encryption_keys[0],
        "SOURCES__QUICKBOOKS__PIPELINES_DIR": str(settings.pipelines_path),
    }
    base = [
        "--warehouse",
        str(ready.warehouse),
        "--store",
        settings.store_url,
        "--qbo-base-url",
        settings.base_url,
    ]

    def qbo(*args: str) -> str:
        result = CliRunner().invoke(app, [*base, *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    served = ready.admin("GET", f"realms/{ready.world.realm_id}/stats")["requests_total"]
    plan = qbo("push", "--dry-run")
    assert "awaiting approval" in plan and "Invoice" in plan and "dry run: nothing was sent" in plan
    assert (
        ready.admin("GET", f"realms/{ready.world.realm_id}/stats")["requests_total"] == served
    )  # nothing called
    assert ready.push_results() == []
    # what pre-flight refuses is named: the record, its error DTO (code, field, issue), where to look
    long_id = next(
        e["platform_id"] for e in ready.planted["edge_cases"] if e["case"] == "name_over_100_characters"
    )
    assert f"Customer {long_id} (create, refused by pre-flight): QBO_VALIDATION_FAILED" in plan
    assert "displayName too_long" in plan and "`qbo push --refused`" in plan
    assert "`qbo review list --queue issue`" in plan
    would = tallied(plan.splitlines()[0])  # realm R: would create 16, update 100, refuse 1; not sent: ...
    assert would["refuse"] == 1 and would["create"] > 0 and would["update"] > 0

    void = next(p for p in ready.planted["pending_approval"] if p["operation"] == "void")
    listed = qbo("approve")
    assert f"Invoice {void['platform_id']}" in listed  # listed as pending, with the command approving it
    assert f"`qbo approve --entities Invoice --id {void['platform_id']}`" in listed
    first = ready.push()
    # the result in the plan's words and counts: every planned create and update is created, updated or
    # refused by QBO; the refusals are named with their error
    result = next(line for line in ready.output if " batch requests: " in line)
    done = tallied(result)
    by_qbo = [r for r in ready.push_results() if r["outcome"] == "invalid" and r["qbo_id"]]
    assert by_qbo and done["refused"] == 1 + len(by_qbo), result
    assert done["created"] + done["updated"] + len(by_qbo) == would["create"] + would["update"], result
    assert f"({1} by pre-flight, {len(by_qbo)} by QBO)" in result
    assert "2 awaiting approval" in result and first.counts["approval"] == 2
    said = "\n".join(ready.output)
    counted = [(int(n), int(of)) for n, of in re.findall(r"push: (\d+)/(\d+) operations", said)]
    assert counted and all(n <= of for n, of in counted) and counted[-1][0] == counted[-1][1], counted
    told = [line for line in ready.output if "refused by" in line]  # what the push said it refused
    logged = [(r["entity"], r["platform_id"], r["operation"], r["request_id"], r["bid"]) for r in by_qbo]
    for refused in by_qbo:
        named = f"{refused['entity']} {refused['platform_id']} ({refused['operation']}, QBO Id"
        assert named in said, (told, logged)
        assert f"{refused['error']['code']}: " in said
    # the push log lists them all, calling nothing; status repeats the result, and no stale error
    listed = qbo("push", "--refused")
    assert all(f"{r['entity']} {r['platform_id']} " in listed for r in by_qbo) and long_id in listed
    status = qbo("status")
    assert "last push: " in status and result.split(" batch requests: ")[1] in status
    assert "last error" not in status  # the refusals are the push's news, not a failure of the realm

    assert (
        not ready.qbo("Invoice", void["qbo_id"]).get("PrivateNote", "").startswith("Voided")
    )  # not approved yet
    assert "approved: void" in qbo(
        "approve", "--entities", "invoices", "--id", void["platform_id"], "--by", "alice"
    )
    ready.push()
    assert ready.qbo("Invoice", void["qbo_id"])["PrivateNote"].startswith("Voided")


def tallied(line: str) -> dict[str, int]:
    """`realm R: would create 3, update 2, refuse 1; not sent: 2 awaiting approval` -> {create: 3, ...}."""
    said = line.split(": ", 1)[1].split("; not sent", maxsplit=1)[0]
    found = {word: int(n) for word, n in re.findall(r"([a-z]+) (\d+)", said)}
    return {
        k: found.get(k, 0) for k in ("create", "update", "refuse", "created", "updated", "refused")
    } | found


def test_the_gateway_pushes_one_record_in_real_time_through_the_same_path(
    pushed_once: tuple[Ready, dict[str, int], RealmPush],
) -> None:
    """Last in the module: it adds records to the shared company the other tests compare with.

    After a transform the references are published to the integration store; a customer and an
    invoice posted to the gateway are created in QBO, a repeat sends nothing, an edit is a sparse update
    at the new SyncToken, bad records get the error DTO, and every outcome is in the push log."""
    ready, _, _ = pushed_once
    connector = ready.world.connector
    published = publish(ready.warehouse, connector.store)
    linked = ready.rows("SELECT count(*) FROM sync.sync_mappings WHERE status = 'linked'")[0][0]
    assert published >= linked > 0
    key = "realtime-test-key-0123456789"
    settings = replace(connector.settings, gateway_api_keys={key: frozenset({DEMO_TENANT})})
    gateway = TestClient(create_app(Connector(settings)))
    headers = {"x-api-key": key}
    item_platform_id, item_qbo_id = ready.rows(
        "SELECT platform_id, qbo_id FROM sync.sync_mappings WHERE entity = 'Item' AND status = 'linked' "
        "ORDER BY platform_id LIMIT 1"
    )[0]
    now = "2026-12-01T10:00:00Z"
    customer = {
        "id": "rt-cust-1",
        "tenantId": DEMO_TENANT,
        "displayName": "Realtime Rentals",
        "createdAt": now,
        "updatedAt": now,
    }
    before = ready.counts()

    created = gateway.post("/integrations/quickbooks/customers", json=customer, headers=headers)
    assert created.status_code == 201, created.text
    qbo_id = created.json()["qboId"]
    assert ready.qbo("Customer", qbo_id)["DisplayName"] == "Realtime Rentals"
    again = gateway.post("/integrations/quickbooks/customers", json=customer, headers=headers)
    assert again.json()["operation"] == "unchanged"
    assert ready.counts()["Customer"] == before["Customer"] + 1

    edited = {**customer, "email": "ap@realtime.example", "primaryContact": "Ada Quinn Lovelace"}
    updated = gateway.post("/integrations/quickbooks/customers", json=edited, headers=headers)
    assert updated.status_code == 200, updated.text
    assert (updated.json()["operation"], updated.json()["qboId"]) == ("update", qbo_id)
    doc = ready.qbo("Customer", qbo_id)
    assert doc["PrimaryEmailAddr"]["Address"] == "ap@realtime.example"
    assert (doc["GivenName"], doc["FamilyName"]) == ("Ada Quinn", "Lovelace")
    assert doc["SyncToken"] == updated.json()["syncToken"] != created.json()["syncToken"]

    invoice = {
        "id": "rt-inv-1",
        "tenantId": DEMO_TENANT,
        "customerId": "rt-cust-1",
        "issueDate": "2026-11-30",
        "status": "open",
        "version": 1,
        "lines": [
            {
                "id": "rt-l1",
                "itemId": item_platform_id,
                "description": "Rental",
                "quantity": 2,
                "unitPrice": 50,
            }
        ],
        "totalAmount": 100,
        "balance": 100,
        "updatedAt": now,
    }
    answer = gateway.post("/integrations/quickbooks/invoices", json=invoice, headers=headers)
    assert answer.status_code == 201, answer.text
    booked = ready.qbo("Invoice", answer.json()["qboId"])
    assert booked["CustomerRef"]["value"] == qbo_id and booked["TotalAmt"] == 100
    assert booked["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] == item_qbo_id

    invalid = gateway.post(
        "/integrations/quickbooks/invoices",
        json={**invoice, "totalAmount": 99, "balance": 99},
        headers=headers,
    )
    assert invalid.status_code == 422
    assert invalid.json()["details"][0]["field"] == "totalAmount"
    orphan = {**invoice, "id": "rt-inv-2", "customerId": "nobody"}
    refused_ref = gateway.post("/integrations/quickbooks/invoices", json=orphan, headers=headers)
    assert (refused_ref.status_code, refused_ref.json()["code"]) == (409, "REFERENCE_NOT_IN_QBO")
    other = gateway.post(
        "/integrations/quickbooks/customers", json={**customer, "tenantId": "someone-else"}, headers=headers
    )
    assert other.status_code == 403

    realtime = [r for r in connector.store.push_log.results() if r["platform_id"].startswith("rt-")]
    assert [(r["platform_id"], r["operation"], r["outcome"]) for r in realtime] == [
        ("rt-cust-1", "create", "ok"),
        ("rt-cust-1", "update", "ok"),
        ("rt-inv-1", "create", "ok"),
    ]
    land_push_results(connector)
    logged = ready.rows("SELECT platform_id FROM raw_push.push_log WHERE platform_id LIKE 'rt-%'")
    assert sorted(logged) == [("rt-cust-1",), ("rt-cust-1",), ("rt-inv-1",)]

    # a write drafted from words (`qbo ask`) waits for a person, then goes out the same way
    linked_name = ready.rows(
        "SELECT c.display_name FROM sync.sync_mappings m JOIN staging.stg_qbo__customers c "
        "ON c.realm_id = m.realm_id AND c.qbo_id = m.qbo_id WHERE m.entity = 'Customer' "
        "AND m.status = 'linked' ORDER BY c.display_name LIMIT 1"
    )[0][0]
    item_name = ready.rows("SELECT name FROM staging.stg_qbo__items WHERE qbo_id = ?", item_qbo_id)[0][0]
    intent = QboIntent(
        operation="CREATE_INVOICE",
        record={"customerName": linked_name, "amount": "120", "description": item_name},
    )
    queued = Asker(connector, caller="test", fresh=timedelta(days=1)).answer(intent)
    ((draft_id, status),) = queued.rows
    assert status == "pending", queued.notes
    assert [d["id"] for d in connector.store.intents.pending_writes()] == [draft_id]
    before_invoices = ready.counts()["Invoice"]
    code, body = approve_draft(connector, draft_id, "alice")
    assert code == 201, body
    assert ready.qbo("Invoice", body["qboId"])["TotalAmt"] == 120
    assert ready.counts()["Invoice"] == before_invoices + 1 and connector.store.intents.pending_writes() == []
    with pytest.raises(LookupError, match="approved"):
        approve_draft(connector, draft_id, "alice")  # approved once, pushed once

    # QBO lost the linked record (deleted in the back office): the push says desynced and forgets the link
    # (spec §7.1), so the record's next push creates it again instead of updating what is gone
    ready.mutate(entity="Invoice", id=booked["Id"], op="delete")
    moved = {**invoice, "totalAmount": 150, "balance": 150, "lines": [{**invoice["lines"][0], "quantity": 3}]}
    lost = gateway.post("/integrations/quickbooks/invoices", json=moved, headers=headers)
    assert lost.status_code == 409 and lost.json()["details"][0]["issue"] == "not_found", lost.text
    realm_id = ready.world.realm_id
    assert connector.store.references.link(realm_id, "Invoice", DEMO_TENANT, "rt-inv-1") is None
    recreated = gateway.post("/integrations/quickbooks/invoices", json=moved, headers=headers)
    assert recreated.status_code == 201 and recreated.json()["qboId"] != booked["Id"], recreated.text
    assert ready.qbo("Invoice", recreated.json()["qboId"])["TotalAmt"] == 150
