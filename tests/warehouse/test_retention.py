"""Retention of the integration store (`qbo retention prune`), on SQLite and PostgreSQL: each family's
old history goes, what is recent stays, and what the connector still needs stays however old."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, func, select, update
from typer.testing import CliRunner

from pipelines.cli.app import app
from pipelines.retention import Retention, prune
from pipelines.store.integration_store import IntegrationStore
from pipelines.store.review import Target
from pipelines.store.schema import (
    integration_errors,
    intent_audit,
    outbox,
    push_results,
    review_snapshots,
    sync_decisions,
    sync_requests,
    webhook_events,
)
from sources.quickbooks.webhook_payloads import ChangeEvent

NOW = datetime.now(UTC)
REALM, OTHER_REALM = "9130350000000001", "9130350000000002"
OLD, RECENT = 500, 10  # days: past every default retention, and within all of them


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IntegrationStore]:
    url = (
        f"sqlite:///{tmp_path / 'integration.sqlite'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    found = IntegrationStore(url)
    yield found
    found.engine.dispose()


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def backdate(store: IntegrationStore, table: Table, column: str, days: float, *ids: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(table).where(table.c.id.in_(ids)).values({column: ago(days)}))


def ids_of(store: IntegrationStore, table: Table) -> set[int]:
    with store.engine.connect() as conn:
        return set(conn.scalars(select(table.c.id)))


def count(store: IntegrationStore, table: Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


@dataclass
class Filled:
    """The ids of the rows planted, by what should become of them."""

    events: dict[str, int] = field(default_factory=dict)
    push: dict[str, int] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)


def event(key: str, status: str) -> ChangeEvent:
    return ChangeEvent(key, "cloudevents", REALM, "Customer", key, "Update", NOW)


def fill_events(store: IntegrationStore, filled: Filled) -> None:
    """Old processed events, old pending and claimed ones, a recent processed one and a new one."""
    plan = [("old-done", "done", OLD), ("old-ignored", "ignored", OLD), ("old-failed", "failed", OLD)]
    plan += [
        ("old-pending", "pending", OLD),
        ("old-claimed", "claimed", OLD),
        ("recent-done", "done", RECENT),
    ]
    waiting: list[int] = []
    for key, status, days in plan:
        store.events.put([event(key, status)])
        with store.engine.connect() as conn:
            event_id = conn.scalar(select(webhook_events.c.id).where(webhook_events.c.event_key == key))
        if status == "pending":
            waiting.append(event_id)
        else:
            token, claimed = store.events.claim(10, exclude=waiting)
            assert [row["id"] for row in claimed] == [event_id]
            if status != "claimed":
                store.events.finish(token, [event_id], status)
        backdate(store, webhook_events, "received_at", days, event_id)
        filled.events[key] = event_id
    store.events.put([event("just-in", "pending")])  # the newest, received now
    for status in ("ok", "pending"):
        request_id = store.events.request_sync("tenant-a", REALM, ["Customer"])
        if status == "ok":
            store.events.finish_sync(request_id, "ok", "synced")
        backdate(store, sync_requests, "requested_at", OLD, request_id)
    store.events.request_sync("tenant-a", REALM, ["Invoice"])  # the newest: recent and pending


def push(store: IntegrationStore, record: str, operation: str, outcome: str, days: float, **kw: Any) -> int:
    request_id = f"req-{record}-{len(store.push_log.results())}"
    store.push_log.record(
        pushed_at=ago(days),
        tenant_id="tenant-a",
        realm_id=REALM,
        entity="Customer",
        platform_id=record,
        qbo_id=kw.get("qbo_id", "58"),
        sync_token="0",
        operation=operation,
        request_id=request_id,
        bid="1",
        payload_hash=kw.get("payload_hash", f"hash-{request_id}"),
        outcome=outcome,
        landed=kw.get("landed", True),
    )
    return max(row["id"] for row in store.push_log.results())


def fill_push_log(store: IntegrationStore, filled: Filled) -> None:
    p = filled.push
    p["a-create"] = push(store, "CUS-A", "create", "ok", OLD)  # the link a push created
    p["a-refused"] = push(store, "CUS-A", "update", "invalid", OLD)
    p["a-update"] = push(store, "CUS-A", "update", "ok", OLD)
    p["a-latest"] = push(store, "CUS-A", "update", "ok", OLD, payload_hash="hash-a-latest")
    p["b-unlanded"] = push(store, "CUS-B", "update", "failed", OLD, landed=False)
    p["b-recent"] = push(store, "CUS-B", "update", "conflict", RECENT)
    p["b-latest"] = push(store, "CUS-B", "update", "ok", RECENT)


def fill_runs(store: IntegrationStore) -> None:
    """Realm 1: a backfill, then syncs ok, failed, ok, failed, all old; realm 2: one old sync."""
    runs = [(REALM, "backfill", "ok"), *[(REALM, "sync", s) for s in ("ok", "failed", "ok", "failed")]]
    for n, (realm, kind, status) in enumerate([*runs, (OTHER_REALM, "sync", "ok")]):
        store.runs.record(realm, kind, ago(OLD - n), status, {"Customer": n}, n, [f"run {n}"])
    store.errors.record_dto({"code": "OLD", "message": "old fault", "details": []}, REALM, "Customer", "push")
    backdate(store, integration_errors, "occurred_at", OLD, *ids_of(store, integration_errors))
    store.errors.record_dto(
        {"code": "RECENT", "message": "new fault", "details": []}, REALM, "Customer", "push"
    )


def change(store: IntegrationStore, tenant: str, qbo_id: str, operation: str, version: int) -> int:
    cursor = store.outbox.append(
        change=f"{tenant}-{qbo_id}-{operation}-{version}",
        tenant_id=tenant,
        realm_id=REALM if tenant == "tenant-a" else OTHER_REALM,
        entity="Customer",
        operation=operation,
        qbo_id=qbo_id,
        platform_id=None,
        dto={"qboId": qbo_id, "version": version},
    )
    assert cursor is not None
    return cursor


def fill_outbox(store: IntegrationStore, filled: Filled) -> None:
    o = filled.outbox
    o["a1-v1"] = change(store, "tenant-a", "1", "upsert", 1)  # acknowledged, superseded: goes when old
    o["a1-v2"] = change(store, "tenant-a", "1", "upsert", 2)  # the record's latest upsert
    o["a2-upsert"] = change(store, "tenant-a", "2", "upsert", 1)
    o["a2-delete"] = change(store, "tenant-a", "2", "delete", 2)  # the platform was told QBO deleted it
    o["b9-v1"] = change(store, "tenant-b", "9", "upsert", 1)  # tenant-b never acknowledged
    o["b9-v2"] = change(store, "tenant-b", "9", "upsert", 2)
    o["a4-v1"] = change(store, "tenant-a", "4", "upsert", 1)  # acknowledged, superseded, but recent
    o["a4-v2"] = change(store, "tenant-a", "4", "upsert", 2)
    store.outbox.acknowledge("tenant-a", o["a4-v2"])
    o["a3-unacknowledged"] = change(store, "tenant-a", "3", "upsert", 1)
    old = [o[k] for k in ("a1-v1", "a1-v2", "a2-upsert", "a2-delete", "b9-v1", "b9-v2")]
    backdate(store, outbox, "created_at", OLD, *old)
    backdate(store, outbox, "created_at", RECENT, o["a4-v1"], o["a4-v2"])
    backdate(store, outbox, "created_at", OLD, o["a3-unacknowledged"])


def entry(queue: str, platform_id: str, qbo_id: str, field: str | None) -> dict[str, Any]:
    return {
        "queue": queue, "tenant_id": "tenant-a", "realm_id": REALM, "entity": "Customer",
        "platform_id": platform_id, "qbo_id": qbo_id, "field": field, "action": "review",
        "label": f"Customer {platform_id}", "party": None, "amount": None, "currency": None,
        "changed_at": ago(1), "platform_value": "Acme", "qbo_value": "ACME", "version": "v1", "data": {},
    }  # fmt: skip


def fill_review(store: IntegrationStore, filled: Filled) -> None:
    """Twelve publishes (the oldest three long ago), then decisions: pushed, withdrawn and standing."""
    items = [entry("drift", f"CUS-{n}", str(n), "display_name") for n in range(1, 5)]
    items.append(entry("candidate", "CUS-5", "5", None))
    for _ in range(12):
        store.review.publish(items, [])
    with store.engine.connect() as conn:
        times = sorted(set(conn.scalars(select(review_snapshots.c.published_at))))
    for n, when in enumerate(times[:3]):
        with store.engine.begin() as conn:
            conn.execute(
                update(review_snapshots)
                .where(review_snapshots.c.published_at == when)
                .values(published_at=ago(OLD + 3 - n))
            )
    d = filled.decisions
    plan = (("pushed", "CUS-1"), ("withdrawn", "CUS-2"), ("pushed-recently", "CUS-4"), ("standing", "CUS-3"))
    for name, platform_id in plan:
        if name == "standing":
            target = Target("candidate", "tenant-a", "Customer", "CUS-5", "5", None)
            d["rejected-match"] = store.review.decide(target, "reject_match", "Ana Lima", seen_version="v1")
        target = Target("drift", "tenant-a", "Customer", platform_id, platform_id[-1], "display_name")
        d[name] = store.review.decide(target, "resolve", "Ana Lima", seen_version="v1", choice="platform")
    store.review.mark_pushed([("Customer", "tenant-a", "CUS-1"), ("Customer", "tenant-a", "CUS-4")])
    store.review.revoke(d["withdrawn"], "Ana Lima")
    backdate(store, sync_decisions, "decided_at", OLD, *d.values())
    backdate(store, sync_decisions, "pushed_at", OLD, d["pushed"])
    backdate(store, sync_decisions, "revoked_at", OLD, d["withdrawn"])
    backdate(store, sync_decisions, "pushed_at", RECENT, d["pushed-recently"])


def fill(store: IntegrationStore) -> Filled:
    filled = Filled()
    fill_events(store, filled)
    fill_push_log(store, filled)
    fill_runs(store)
    fill_outbox(store, filled)
    store.intents.audit(caller="cli", intent={"ask": "old"}, ran_on="warehouse", rows=1)
    backdate(store, intent_audit, "at", OLD, *ids_of(store, intent_audit))
    store.intents.audit(caller="cli", intent={"ask": "new"}, ran_on="warehouse", rows=2)
    fill_review(store, filled)
    return filled


def removed(pruned: list[Any]) -> dict[str, int]:
    return {p.table: p.rows for p in pruned}


def test_each_family_is_pruned_past_its_retention_and_kept_within_it(store: IntegrationStore) -> None:
    filled = fill(store)
    pruned = removed(prune(store, Retention()))  # the defaults: 90 days, 400 for audit and decisions
    assert pruned == {
        "qbo_webhook_events": 3,  # old done, ignored, failed
        "qbo_sync_requests": 1,
        "qbo_push_results": 2,  # the refused and the superseded update of CUS-A
        "qbo_sync_runs": 2,
        "qbo_integration_errors": 1,
        "qbo_outbox": 1,
        "qbo_intent_audit": 1,
        "qbo_sync_decisions": 2,  # pushed and withdrawn, long ago
        "qbo_review_snapshots": 4,  # the two publishes (two queues each) before the trend's last ten
    }
    e = filled.events
    assert {e["old-pending"], e["old-claimed"], e["recent-done"]} < ids_of(store, webhook_events)
    assert store.events.counts() == {"pending": 2, "claimed": 1, "done": 1}
    assert [r["status"] for r in store.events.pending_syncs()] == ["pending", "pending"]
    p = filled.push
    assert ids_of(store, push_results) == {
        p["a-create"],
        p["a-latest"],
        p["b-unlanded"],
        p["b-recent"],
        p["b-latest"],
    }
    assert [r.status for r in store.runs.last(REALM, limit=10)] == ["failed", "ok"]
    assert store.runs.last(REALM, kind="backfill")[0].status == "ok"
    assert [r["code"] for r in store.errors.recent()] == ["RECENT"]
    o = filled.outbox
    assert o["a1-v1"] not in ids_of(store, outbox) and o["a4-v1"] in ids_of(store, outbox)
    with store.engine.connect() as conn:
        assert list(conn.scalars(select(intent_audit.c.intent))) == [{"ask": "new"}]
    d = filled.decisions
    kept = {row["id"] for row in store.review.decisions()}
    assert kept == {d["standing"], d["rejected-match"], d["pushed-recently"]}
    assert len({row["published_at"] for row in store.review.trend(None)}) == 10  # the trend is whole


def test_what_is_still_needed_survives_a_retention_of_one_day(store: IntegrationStore) -> None:
    filled = fill(store)
    pushed_before = store.push_log.pushed()
    links_before = store.push_log.created_links(REALM)
    aggressive = Retention(1, 1, 1, 1, 1, 1, batch=2)  # and two rows per statement
    prune(store, aggressive)

    assert store.events.counts() == {"pending": 2, "claimed": 1}  # the drain still owes them
    assert [r["status"] for r in store.events.pending_syncs()] == ["pending", "pending"]
    o = filled.outbox
    assert [c["cursor"] for c in store.outbox.pending("tenant-a")] == [o["a3-unacknowledged"]]
    assert [c["cursor"] for c in store.outbox.page("tenant-b")] == [o["b9-v1"], o["b9-v2"]]
    # the next delivery still knows what it stored, and that the platform has records 1 and 2
    assert store.outbox.stored(["tenant-a-1-upsert-2", "tenant-a-2-delete-2"]) == {
        "tenant-a-1-upsert-2",
        "tenant-a-2-delete-2",
    }
    assert store.outbox.delivered(REALM, "Customer", ["1", "2", "4"]) == {"1", "2", "4"}
    p = filled.push
    assert ids_of(store, push_results) == {p["a-create"], p["a-latest"], p["b-unlanded"], p["b-latest"]}
    latest = {key: outcome for key, outcome in pushed_before.items() if key[3] in {"hash-a-latest"}}
    assert latest.items() <= store.push_log.pushed().items()  # "already pushed" holds
    assert store.push_log.created_links(REALM) == links_before
    assert [r.status for r in store.runs.last(REALM, limit=10)] == ["failed", "ok"]
    assert store.runs.last_ok(REALM) is not None and store.runs.last_ok(OTHER_REALM) is not None
    d = filled.decisions
    standing = {row["id"] for row in store.review.standing()}
    assert standing == {d["standing"], d["rejected-match"]}
    assert {row["id"] for row in store.review.decisions()} == standing
    assert len({row["published_at"] for row in store.review.trend(None)}) == 10


def test_a_dry_run_counts_what_would_go_and_removes_nothing(store: IntegrationStore) -> None:
    fill(store)
    tables = (webhook_events, push_results, outbox, sync_decisions, review_snapshots, intent_audit)
    before = {table.name: count(store, table) for table in tables}
    would = removed(prune(store, Retention(), dry_run=True))
    assert {table.name: count(store, table) for table in tables} == before
    assert removed(prune(store, Retention())) == would
    assert removed(prune(store, Retention())) == dict.fromkeys(would, 0)  # nothing left to do


def test_zero_days_keeps_a_family_forever(store: IntegrationStore) -> None:
    fill(store)
    pruned = prune(store, Retention(events_days=0, decisions_days=0))
    forever = {p.table for p in pruned if p.days == 0}
    assert forever == {
        "qbo_webhook_events",
        "qbo_sync_requests",
        "qbo_sync_decisions",
        "qbo_review_snapshots",
    }
    assert store.events.counts() == {"pending": 2, "claimed": 1, "done": 2, "ignored": 1, "failed": 1}
    assert len(store.review.decisions()) == 5


def qbo(store: IntegrationStore, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    url = store.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["--store", url, "retention", "prune", *args], env=env)
    return result.exit_code, result.output


def test_qbo_retention_prune_prints_what_it_removed_per_table(store: IntegrationStore) -> None:
    fill(store)
    code, out = qbo(store, "--dry-run", env={"RETENTION__EVENTS_DAYS": "1", "RETENTION__AUDIT_DAYS": "0"})
    assert code == 0, out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("qbo_")}
    assert "would remove        4 rows older than 1 day" in lines["qbo_webhook_events"]
    assert "kept forever (retention.audit_days = 0)" in lines["qbo_intent_audit"]
    assert "would remove        2 rows older than 90 days" in lines["qbo_push_results"]
    assert out.splitlines()[-1] == "17 rows would be removed (dry run)"
    assert store.events.counts()["done"] == 2  # a dry run

    code, out = qbo(store, env={"RETENTION__EVENTS_DAYS": "1"})
    assert code == 0, out
    assert "qbo_webhook_events       removed        4 rows older than 1 day" in out
    assert store.events.counts() == {"pending": 2, "claimed": 1}


def test_a_bad_retention_setting_is_refused_naming_the_key(store: IntegrationStore) -> None:
    code, out = qbo(store, env={"RETENTION__OUTBOX_DAYS": "ninety"})
    assert code == 2
    assert "retention.outbox_days must be a number of days (0 keeps forever), got 'ninety'" in out
    assert "RETENTION__OUTBOX_DAYS" in out
