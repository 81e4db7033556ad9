"""Decisions people make in review, end to end: a conflict resolved toward the platform, a candidate
match confirmed and a void approved reach QBO with the next transform and push, exactly those, once;
the queues shrink by exactly those; a decision on a view that changed since is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.store.review import StaleDecision, Target
from pipelines.transform.dbt_build import transform
from sandbox.demo.tour import DEMO_POLICY
from tests.demo_runs import MODELS_ONLY
from tests.push.conftest import Ready, prepare

QBO_PATHS = {"memo": "PrivateNote", "due_date": "DueDate", "doc_number": "DocNumber", "txn_date": "TxnDate"}


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ready]:
    """The demo pushed once and synced back: what is left waits for a person."""
    yield from pushed_and_synced(tmp_path_factory.mktemp("reviewed"))


def build(ready: Ready) -> None:
    result = transform(ready.world.connector, policy=DEMO_POLICY)
    assert result.success, result.summary()


def pushed_and_synced(workdir: Path) -> Iterator[Ready]:
    """The demo company pushed once, synced back and transformed (the queues published). Its dbt builds
    leave out the data tests (tests/transform runs them): what counts here is what the models hold."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in MODELS_ONLY.items():
            env.setenv(name, value)
        for ready in prepare(workdir):
            ready.push()
            ready.sync()
            build(ready)
            yield ready


target = Target.of


def sizes(ready: Ready) -> dict[str, int]:
    review = ready.world.connector.store.review
    return {q: review.entries(None, q, page_size=1)[1] for q in ("conflict", "candidate", "approval")}


def test_decisions_reach_qbo_with_the_next_push_exactly_and_once(reviewed: Ready) -> None:
    review = reviewed.world.connector.store.review
    before = sizes(reviewed)
    conflicts, _ = review.entries(None, "conflict", entity="Invoice", page_size=200)
    conflict = next(e for e in conflicts if e["field"] in QBO_PATHS and e["platform_value"] is not None)
    candidate = review.entries(None, "candidate", entity="Customer", page_size=1)[0][0]
    void = review.entries(None, "approval", action="void", page_size=1)[0][0]

    with pytest.raises(StaleDecision, match="QBO's value is now"):  # decided on what it no longer is
        review.decide(
            target(conflict), "resolve", "ada", seen_version="0" * 16, seen={"qbo_value": "something else"},
            choice="platform",
        )  # fmt: skip
    review.decide(target(conflict), "resolve", "ada", seen_version=conflict["version"], choice="platform",
                  reason="the platform has the customer's corrected memo")  # fmt: skip
    others = [
        e for e in conflicts if e["platform_id"] == conflict["platform_id"] and e["id"] != conflict["id"]
    ]
    if others:  # the record waits until each of its conflicting fields is decided: a push re-baselines it
        build(reviewed)
        held = reviewed.rows(
            "SELECT action FROM sync.sync_drift WHERE entity = 'Invoice' AND platform_id = ? AND field = ?",
            conflict["platform_id"], conflict["field"],
        )  # fmt: skip
        assert held == [("review",)]
        for other in others:
            fresh = review.entry(target(other))
            review.decide(target(other), "resolve", "ada", seen_version=fresh["version"], choice="platform")
    review.decide(target(candidate), "confirm", "ada", seen_version=candidate["version"])
    review.decide(target(void), "approve", "ada", seen_version=void["version"], reason="duplicate invoice")
    pushed_before = len(reviewed.push_results())

    build(reviewed)
    reviewed.push()

    sent = [r for r in reviewed.push_results()[pushed_before:] if r["outcome"] == "ok"]
    by_record = {(r["entity"], r["platform_id"]): r["operation"] for r in sent}
    assert by_record.get(("Invoice", conflict["platform_id"])) in ("update", "void")
    assert by_record.get(("Invoice", void["platform_id"])) == "void"
    decided = {("Invoice", conflict["platform_id"]), ("Invoice", void["platform_id"]),
               ("Customer", candidate["platform_id"])}  # fmt: skip
    assert set(by_record) <= decided, f"sent what nobody decided: {set(by_record) - decided}"
    doc = reviewed.qbo("Invoice", conflict["qbo_id"])
    assert str(doc.get(QBO_PATHS[conflict["field"]])) == conflict["platform_value"]
    assert reviewed.qbo("Invoice", void["qbo_id"])["PrivateNote"].startswith("Voided")
    standing = review.decisions(None, standing_only=True)
    assert all(d["pushed_at"] is not None for d in standing if d["kind"] in ("resolve", "approve")
               and (d["entity"], d["platform_id"]) in by_record)  # fmt: skip

    reviewed.sync()
    build(reviewed)
    after = sizes(reviewed)
    assert after["approval"] == before["approval"] - 1
    assert after["candidate"] < before["candidate"]
    assert after["conflict"] < before["conflict"]
    linked = reviewed.rows(
        "SELECT status, qbo_id FROM sync.sync_mappings WHERE entity = 'Customer' AND platform_id = ?",
        candidate["platform_id"],
    )
    assert linked == [("linked", candidate["qbo_id"])]

    again = len(reviewed.push_results())
    reviewed.push()
    twice = [
        (r["entity"], r["platform_id"], r["operation"])
        for r in reviewed.push_results()[again:]
        if r["outcome"] == "ok"
    ]
    assert twice == [], (twice, by_record, conflict, candidate["platform_id"])  # nothing twice


def test_a_decision_stands_until_withdrawn_and_a_pushed_one_cannot_be(reviewed: Ready) -> None:
    review = reviewed.world.connector.store.review
    entry = review.entries(None, "candidate", page_size=1)[0][0]
    first = review.decide(target(entry), "reject_match", "bob", seen_version=entry["version"])
    second = review.decide(target(entry), "confirm", "carol", seen_version=entry["version"])
    history = {d["id"]: d for d in review.decisions(None, platform_id=entry["platform_id"])}
    assert history[first]["revoked_by"] == f"superseded by #{second}"
    review.revoke(second, "carol")
    assert all(d["revoked_at"] is not None for d in review.decisions(None, platform_id=entry["platform_id"]))
    pushed = next(d for d in review.decisions(None) if d["pushed_at"] is not None)
    with pytest.raises(ValueError, match="pushed to QBO"):
        review.revoke(pushed["id"], "carol")


def test_qbo_review_lists_and_decides_for_scripts(reviewed: Ready, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipelines.cli.app import app

    store = ["--store", reviewed.world.settings.store_url]
    listed = CliRunner().invoke(app, [*store, "review", "list", "--queue", "conflict", "--limit", "3"])
    assert listed.exit_code == 0, listed.output
    number = listed.output.split()[0].lstrip("#")
    shown = CliRunner().invoke(app, [*store, "review", "show", number])
    assert shown.exit_code == 0 and "conflict" in shown.output
    resolved = CliRunner().invoke(app, [*store, "review", "resolve", number, "--keep", "qbo", "--by", "dan"])
    assert resolved.exit_code == 0, resolved.output
    assert "resolve" in resolved.output and "by dan" in resolved.output
    nobody = CliRunner().invoke(app, [*store, "review", "resolve", number, "--keep", "qbo", "--by", " "])
    assert nobody.exit_code == 2 and "reviewer" in nobody.output


def test_a_rejected_approval_leaves_the_queue_and_is_not_sent(reviewed: Ready) -> None:
    review = reviewed.world.connector.store.review
    waiting, count = review.entries(None, "approval", page_size=50)
    assert count >= 1
    entry = waiting[0]
    review.decide(target(entry), "reject", "erin", seen_version=entry["version"], reason="still a customer")
    build(reviewed)
    assert review.entries(None, "approval", page_size=50)[1] == count - 1
    before = len(reviewed.push_results())
    reviewed.push()
    sent = {(r["entity"], r["platform_id"]) for r in reviewed.push_results()[before:]}
    assert (entry["entity"], entry["platform_id"]) not in sent


def test_an_entered_value_reaches_qbo_then_the_platform_is_told(reviewed: Ready) -> None:
    from pipelines.mapping.rendering import rendered
    from pipelines.mapping.values import get_path
    from pipelines.store.review import enterable

    review = reviewed.world.connector.store.review
    conflicts = review.entries(None, "conflict", page_size=200)[0]
    refused = {r["platform_id"] for r in reviewed.push_results() if r["outcome"] != "ok"}  # planted to fail
    drift, _ = review.entries(None, "drift", page_size=200)
    entry = next(
        e
        for e in drift + conflicts
        if enterable(e["entity"], e["field"]) in ("date", "text", "exact")
        and e["platform_id"] not in refused
        and not any(c["platform_id"] == e["platform_id"] and c["id"] != e["id"] for c in conflicts)
    )
    rule = enterable(entry["entity"], entry["field"])
    value = {"date": "2026-12-24", "text": "Agreed on the phone"}.get(rule, "R-2412")
    with pytest.raises(ValueError, match="takes a date" if rule == "date" else "at most"):
        review.decide(target(entry), "resolve", "gus", seen_version=entry["version"], choice="value",
                      value="soon" if rule == "date" else "x" * 5000)  # fmt: skip
    flag = next(e for e in drift if enterable(e["entity"], e["field"]) is None)  # a flag, a status, a balance
    with pytest.raises(ValueError, match="takes no entered value"):
        review.decide(target(flag), "resolve", "gus", seen_version=flag["version"], choice="value", value="1")
    review.decide(target(entry), "resolve", "gus", seen_version=entry["version"], choice="value",
                  value=value, reason="agreed on the phone")  # fmt: skip

    build(reviewed)
    reviewed.push()
    (path,) = next(
        f["qbo_paths"] for f in rendered()[entry["entity"]]["fields"] if f["name"] == entry["field"]
    )
    assert get_path(reviewed.qbo(entry["entity"], entry["qbo_id"]), path) == value
    reviewed.sync()
    build(reviewed)
    told = reviewed.rows(
        "SELECT new_value FROM sync.inbound_changes WHERE entity = ? AND platform_id = ? AND field = ?",
        entry["entity"], entry["platform_id"], entry["field"],
    )  # fmt: skip
    assert told == [(value,)]  # the platform takes it from the changes feed; QBO keeps it meanwhile
    before = len(reviewed.push_results())
    reviewed.push()
    assert entry["platform_id"] not in {r["platform_id"] for r in reviewed.push_results()[before:]}
