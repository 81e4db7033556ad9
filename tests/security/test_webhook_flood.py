"""Issue 20 item 5: a flood of signed webhook events for ids that never existed leaves no rows.

A Delete event (or a change QBO cannot find) for an id the warehouse has never seen is kept as an event,
done, with a note saying why nothing was written; a record the warehouse holds is still marked deleted.
On DuckDB and on PostgreSQL, whose warehouse is asked through the same dlt client.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient

from pipelines.drain import UNKNOWN_NOTE, drain
from pipelines.runtime.connector import Connector
from pipelines.sync import sync_all
from sandbox.demo.world import World, world
from service.app import PREFIX, create_app
from sources.quickbooks.webhook_payloads import signature
from tests.service.conftest import VERIFIER

QUIET = {"echo": lambda _: None}
OPERATIONS = ("Delete", "Delete", "Update", "Create", "Merge")  # mostly deletes, as the flood was


@pytest.fixture(params=["duckdb", "postgresql"])
def synced(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """A tiny company synced into a DuckDB file, or into a PostgreSQL database of its own."""
    url = None
    if request.param == "postgresql":
        import psycopg

        base = request.getfixturevalue("postgres_base")
        name = f"qbo_wh_{secrets.token_hex(6)}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    try:
        with world(tmp_path, "tiny", write=lambda _: None, warehouse_url=url) as w:
            sync_all(w.connector, **QUIET)
            yield w
    finally:
        if url is not None:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def deliver(w: World, entities: list[dict[str, Any]]) -> None:
    """Post the events through the gateway, signed with Intuit's token, 400 to a delivery."""
    settings = replace(w.settings, webhook_verifier_token=VERIFIER)
    with TestClient(create_app(Connector(settings))) as gateway:
        for start in range(0, len(entities), 400):
            body = json.dumps(
                {
                    "eventNotifications": [
                        {
                            "realmId": w.realm_id,
                            "dataChangeEvent": {"entities": entities[start : start + 400]},
                        }
                    ]
                }
            ).encode()
            headers = {"intuit-signature": signature(body, VERIFIER), "content-type": "application/json"}
            answer = gateway.post(f"{PREFIX}/webhook", content=body, headers=headers)
            assert answer.status_code == 200 and not answer.json().get("refused"), answer.text


def event(entity: str, entity_id: str, operation: str, **more: Any) -> dict[str, Any]:
    when = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"name": entity, "id": entity_id, "operation": operation, "lastUpdated": when, **more}


def notes(w: World) -> dict[str, str | None]:
    """entity_id -> the note of its (last) event."""
    queue = w.connector.store.events
    with queue.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT entity_id, note FROM qbo_webhook_events ORDER BY id").all()
    return dict(rows)  # type: ignore[arg-type]


def test_a_flood_of_events_for_ids_never_seen_writes_no_rows_and_real_deletes_still_land(
    synced: World,
) -> None:
    w, realm = synced, synced.realm_id
    customer = sorted((i for i, (_, gone) in w.truth(realm, "Customer").items() if not gone), key=int)[0]
    company = w.sandbox.store.realm(realm)
    invoices = (
        w.sandbox.rules.read(company, "Invoice", i) for i in sorted(w.truth(realm, "Invoice"), key=int)
    )
    unpaid = next(str(d["Id"]) for d in invoices if d["Balance"] == d["TotalAmt"] > 0)
    w.mutate(realm, entity="Customer", id=customer, op="update", changes={"Notes": "real change"})
    w.mutate(realm, entity="Invoice", id=unpaid, op="delete")

    made_up = [str(700_000 + n) for n in range(1_500)]
    flood = [
        event(
            "Invoice" if n % 3 else "Customer",
            entity_id,
            OPERATIONS[n % len(OPERATIONS)],
            **({"deletedId": str(900_000 + n)} if OPERATIONS[n % len(OPERATIONS)] == "Merge" else {}),
        )
        for n, entity_id in enumerate(made_up)
    ]
    deliver(w, [*flood, event("Customer", customer, "Update"), event("Invoice", unpaid, "Delete")])

    result = drain(w.connector, **QUIET)

    assert (result.events, result.failed) == (1_502, 0)
    assert result.deleted == 1  # the invoice the warehouse held
    merged_away = sum(1 for n in range(len(made_up)) if OPERATIONS[n % len(OPERATIONS)] == "Merge")
    assert result.unknown == len(made_up) + merged_away  # each merge names two made-up ids
    for entity in ("Customer", "Invoice"):
        assert w.warehouse_rows(realm, entity) == w.truth(realm, entity), entity  # not one made-up row
    assert w.warehouse_rows(realm, "Invoice")[unpaid] == (None, True)
    assert w.connector.store.events.counts() == {"done": 1_502}
    said = notes(w)
    assert all(
        said[i] == UNKNOWN_NOTE.format(entity="Invoice" if n % 3 else "Customer")
        for n, i in enumerate(made_up)
    )
    assert said[customer] is None and said[unpaid] is None

    deliver(w, [event("Invoice", i, "Delete") for i in made_up[:50]])  # told again: still nothing written
    again = drain(w.connector, **QUIET)
    assert (again.deleted, again.unknown) == (0, 50)
    assert w.warehouse_rows(realm, "Invoice") == w.truth(realm, "Invoice")
