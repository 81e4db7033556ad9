"""`qbo status` says the last error only while it is the realm's latest outcome; `qbo backfill`'s total is
the sum of the rows its windows said they loaded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.backfill import backfill_all
from pipelines.status import status_lines
from pipelines.sync import sync_all
from sandbox.demo.world import World, world
from sources.quickbooks.extract import parse_time


@pytest.fixture
def tiny_world(tmp_path: Path) -> Iterator[World]:
    with world(tmp_path, company="tiny", write=lambda _: None) as w:
        yield w


def last_error(w: World) -> list[str]:
    return [line for line in status_lines(w.connector) if "last error" in line]


def test_an_old_error_leaves_status_once_a_run_succeeds_and_backfill_totals_its_windows(
    tiny_world: World,
) -> None:
    w, realm = tiny_world, tiny_world.realm_id
    w.connector.store.errors.record(ConnectionError("QBO unreachable"), realm, None, operation="sync")
    assert "CONNECTOR ConnectionError: QBO unreachable" in " ".join(last_error(w))  # the latest outcome

    sync_all(w.connector, None, ["Customer"], echo=lambda _: None)
    assert last_error(w) == []  # a successful sync since: the old error is not news

    w.connector.store.errors.record(ConnectionError("QBO unreachable again"), realm, None, operation="sync")
    assert "unreachable again" in " ".join(last_error(w))  # a newer error is shown again

    said: list[str] = []
    stamps = sorted(
        parse_time(stamp).astimezone(UTC)
        for (stamp,) in w.sandbox.store.execute(
            "SELECT json_extract(doc, '$.MetaData.LastUpdatedTime') FROM entities "
            "WHERE realm_id = ? AND entity = 'Customer'",
            (realm,),
        )
    )
    since = datetime.combine(stamps[len(stamps) // 2].date(), datetime.min.time(), UTC)  # two windows
    loaded = backfill_all(
        w.connector, [realm], since, since + timedelta(days=60), ["Customer"], echo=said.append
    )
    windows = [
        int(m.group(1).replace(",", ""))
        for line in said
        if (m := re.search(r"window .* loaded, ([\d,]+) rows", line))
    ]
    assert len(windows) > 1 and sum(windows) > 0
    assert sum(loaded[realm].values()) == sum(windows)  # the total is the windows' sum
    assert last_error(w) == []  # the backfill succeeded after the error: it is the latest outcome
    (run,) = w.connector.store.runs.last(realm, kind="backfill")
    assert run.status == "ok" and run.rows == loaded[realm]


def test_a_push_that_succeeded_since_keeps_the_last_good_sync_on_record(tmp_path: Path) -> None:
    """Push runs share the runs table: pruning keeps each kind's last good run, what `qbo status` shows."""
    from pipelines.store.integration_store import IntegrationStore

    store = IntegrationStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    old = datetime.now(UTC) - timedelta(days=400)
    store.runs.record("1", "sync", old, "ok", {"Customer": 3}, 2, [])
    store.runs.record("1", "sync", old, "failed", {}, None, ["ConnectionError"])
    store.runs.record("1", "push", old, "ok", {"create": 1}, 1, ["created 1"])
    store.runs.prune(datetime.now(UTC))
    last = store.runs.last_ok("1")
    assert last is not None and last.kind == "sync" and last.rows == {"Customer": 3}
    assert store.runs.last_ok("1", kind=None).kind == "push"  # type: ignore[union-attr]
