"""Group commit of webhook deliveries (service/intake.py): several deliveries in one transaction still
answer each for its own events, and one delivery the store refuses fails alone."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipelines.store.integration_store import IntegrationStore
from pipelines.store.schema import webhook_events
from service.intake import GroupWriter
from sources.quickbooks.webhook_payloads import ChangeEvent


def event(key: str) -> ChangeEvent:
    return ChangeEvent(key, "cloudevents", "9341455000000000", "Invoice", "42", "Update", datetime.now(UTC))


def stored_keys(store: IntegrationStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        query = select(webhook_events.c.event_key, func.count()).group_by(webhook_events.c.event_key)
        return dict(conn.execute(query).all())


def test_one_transaction_for_several_deliveries_credits_a_shared_event_to_the_first(tmp_path: Path) -> None:
    store = IntegrationStore(f"sqlite:///{tmp_path / 'integration.sqlite'}")
    store.events.put([event("old")])
    counts = store.events.put_many(
        [[event("a"), event("b")], [event("b"), event("c"), event("old")], [event("a")], []]
    )
    assert counts == [2, 1, 0, 0]  # b is new once; old was stored before; the empty delivery stores nothing
    assert stored_keys(store) == {"old": 1, "a": 1, "b": 1, "c": 1}


def test_concurrent_deliveries_are_each_answered_and_a_refused_one_fails_alone(tmp_path: Path) -> None:
    store = IntegrationStore(f"sqlite:///{tmp_path / 'integration.sqlite'}")
    writer = GroupWriter(store.events)
    broken = replace(event("broken"), occurred_at=None)  # type: ignore[arg-type]  # NOT NULL: the store refuses it

    async def deliver() -> list[int | BaseException]:
        puts = [writer.put([event(f"e{n}"), event(f"e{n + 1}")]) for n in range(0, 40, 2)]
        puts.insert(7, writer.put([event("x"), broken]))
        puts.append(writer.put([event("e0")]))  # a redelivery
        return await asyncio.gather(*puts, return_exceptions=True)

    try:
        outcomes = asyncio.run(deliver())
    finally:
        writer.close()
    assert isinstance(outcomes.pop(7), Exception)
    assert outcomes == [2] * 20 + [0]
    keys = stored_keys(store)
    assert set(keys) == {f"e{n}" for n in range(40)}  # nothing of the refused delivery, not even "x"
    assert set(keys.values()) == {1}


def test_the_writer_reconnects_after_a_failure_and_stores_the_next_delivery(tmp_path: Path) -> None:
    store = IntegrationStore(f"sqlite:///{tmp_path / 'integration.sqlite'}")
    writer = GroupWriter(store.events)
    broken = replace(event("broken"), occurred_at=None)  # type: ignore[arg-type]

    async def one_then_another() -> int:
        with pytest.raises(Exception, match="NOT NULL"):
            await writer.put([broken])
        return await writer.put([event("after")])

    try:
        assert asyncio.run(one_then_another()) == 1
    finally:
        writer.close()
    assert stored_keys(store) == {"after": 1}
