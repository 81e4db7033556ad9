"""End to end through the gateway on loopback: a tenant connects through the OAuth callback; back-office
edits in the sandbox become webhooks, and the worker brings the warehouse to what the sandbox holds; a
crash mid-batch loses nothing and duplicates nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import duckdb
import pytest
import requests

from pipelines.drain import drain
from pipelines.runtime.connector import Connector
from pipelines.store.webhook_queue import EventQueue
from pipelines.sync import run_sync_requests, sync_all
from sandbox.background import free_port, serving
from sandbox.demo.world import DEMO_TENANT, World, world
from service.app import create_app
from tests.service.conftest import KEY_ALL


@dataclass
class Hooked:
    world: World
    connector: Connector
    gateway_url: str

    @property
    def realm_id(self) -> str:
        return self.world.realm_id

    @property
    def queue(self) -> EventQueue:
        return self.connector.store.events

    def mutate(self, **body: Any) -> dict[str, Any]:
        return self.world.mutate(self.realm_id, **body)[body["entity"]]

    def wait_for_events(self, at_least: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.queue.counts().get("pending", 0) < at_least:
            assert time.monotonic() < deadline, f"only {self.queue.counts()} events arrived"
            time.sleep(0.05)

    def truth(self, entity: str) -> dict[str, tuple[str | None, bool]]:
        return self.world.truth(self.realm_id, entity)

    def warehouse(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.connector.settings.warehouse), read_only=True) as db:
            return [tuple(r) for r in db.execute(sql, list(params)).fetchall()]

    def rows(self, table: str) -> dict[str, tuple[str | None, bool]]:
        found = self.warehouse(
            f"SELECT id, sync_token, _deleted FROM raw_qbo.{table} WHERE realm_id = ?", self.realm_id
        )
        return {i: (None if deleted else token, bool(deleted)) for i, token, deleted in found}


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hooked]:
    """One connected company for the module (a full sync costs seconds); the tests run in file order."""
    with world(tmp_path_factory.mktemp("hooked"), "tiny", write=lambda _: None) as w:
        verifier = w.sandbox.config.webhooks.verifier_token
        port = free_port()
        settings = replace(
            w.settings,
            webhook_verifier_token=verifier,
            gateway_api_keys={KEY_ALL: frozenset("*")},
            redirect_uri=f"http://127.0.0.1:{port}/integrations/quickbooks/callback",
        )
        connector = Connector(settings)
        with serving(create_app(connector), port=port) as (url, _server):
            hook = f"{url}/integrations/quickbooks/webhook"
            w.sandbox.configure({"webhooks": {"url": hook, "window_seconds": 0.2, "retry_base_seconds": 0.1}})
            sync_all(connector, echo=lambda _: None)
            yield Hooked(w, connector, url)


def test_edits_deletes_merges_and_voids_reach_the_warehouse_through_webhooks(hooked: Hooked) -> None:
    customers = sorted((i for i, (_, gone) in hooked.truth("Customer").items() if not gone), key=int)
    unpaid = hooked.world.sandbox.store.execute(
        "SELECT id FROM entities WHERE realm_id = ? AND entity = 'Invoice' AND NOT deleted "
        "AND json_extract(doc, '$.Balance') = json_extract(doc, '$.TotalAmt') ORDER BY id",
        (hooked.realm_id,),
    ).fetchall()
    invoices = [str(i) for (i,) in unpaid]
    hooked.mutate(
        entity="Customer", id=customers[0], op="update", changes={"Notes": "changed in the back office"}
    )
    hooked.mutate(entity="Invoice", id=invoices[0], op="delete")
    (receipt,) = (i for i, (_, gone) in hooked.truth("SalesReceipt").items() if not gone)
    hooked.mutate(entity="SalesReceipt", id=receipt, op="void")
    hooked.mutate(entity="Customer", id=customers[2], op="merge", merge_into=customers[1])
    hooked.wait_for_events(4)
    time.sleep(0.5)  # the merge's knock-on changes (invoices moved to the survivor) follow in the same window

    result = drain(hooked.connector, echo=lambda _: None)

    assert result.failed == 0
    assert result.deleted >= 2  # the deleted invoice and the merged-away customer
    for entity, table in (
        ("Customer", "customer"),
        ("Invoice", "invoice"),
        ("SalesReceipt", "sales_receipt"),
    ):
        assert hooked.rows(table) == hooked.truth(entity), entity
    notes, gone = hooked.warehouse("SELECT notes, _deleted FROM raw_qbo.customer WHERE id = ?", customers[0])[
        0
    ]
    assert (notes, gone) == ("changed in the back office", False)
    assert hooked.warehouse(
        "SELECT _deleted, _merged_into FROM raw_qbo.customer WHERE id = ?", customers[2]
    ) == [(True, customers[1])]
    assert hooked.queue.counts().get("pending", 0) == 0
    # a drain with nothing new asks QBO nothing
    idle = drain(hooked.connector, echo=lambda _: None)
    assert (idle.events, idle.requests) == (0, 0)


def test_a_worker_killed_mid_batch_loses_nothing_and_a_replay_duplicates_nothing(hooked: Hooked) -> None:
    customers = sorted((i for i, (_, gone) in hooked.truth("Customer").items() if not gone), key=int)
    for n, customer in enumerate(customers[:3]):
        hooked.mutate(entity="Customer", id=customer, op="update", changes={"Notes": f"edit {n}"})
    hooked.wait_for_events(3)
    token, claimed = hooked.queue.claim(100)  # a worker takes the events ... and dies before finishing
    assert len(claimed) == 3
    assert drain(hooked.connector, echo=lambda _: None).events == 0  # its claim holds until the lease ends

    with hooked.connector.store.engine.begin() as conn:  # the lease runs out
        conn.exec_driver_sql("UPDATE qbo_webhook_events SET claimed_at = '2000-01-01 00:00:00'")
    taken_over = drain(hooked.connector, echo=lambda _: None)
    assert (taken_over.events, taken_over.fetched) == (3, 3)
    hooked.queue.finish(token, [r["id"] for r in claimed], "ignored")  # the dead worker's claim is void
    assert hooked.queue.counts() == {"done": sum(hooked.queue.counts().values())}

    assert hooked.queue.replay(since=claimed[0]["received_at"]) == 3
    replayed = drain(hooked.connector, echo=lambda _: None)
    assert replayed.events == 3
    assert hooked.rows("customer") == hooked.truth("Customer")
    ids = hooked.warehouse("SELECT id FROM raw_qbo.customer WHERE realm_id = ?", hooked.realm_id)
    assert len(ids) == len(set(ids))
    assert hooked.warehouse("SELECT count(*) FROM raw_qbo.customer WHERE notes LIKE 'edit %'") == [(3,)]


def test_events_of_realms_not_connected_are_recorded_and_ignored_and_a_sync_can_be_requested(
    hooked: Hooked,
) -> None:
    from sources.quickbooks.webhook_payloads import parse

    body = (
        b'[{"specversion":"1.0","id":"e-1","type":"qbo.customer.updated.v1","time":"2026-01-01T00:00:00Z",'
        b'"intuitentityid":"1","intuitaccountid":"999000999"}]'
    )
    hooked.queue.put(parse(body))
    answer = requests.post(
        f"{hooked.gateway_url}/integrations/quickbooks/invoices/sync",
        json={"tenant": DEMO_TENANT},
        headers={"x-api-key": KEY_ALL},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["realm_id"] == hooked.realm_id

    result = drain(hooked.connector, echo=lambda _: None)
    syncs = run_sync_requests(hooked.connector, echo=lambda _: None)

    assert (result.ignored, syncs) == (1, 1)
    assert hooked.queue.counts()["ignored"] == 1
    assert hooked.rows("invoice") == hooked.truth("Invoice")


def test_a_tenant_connects_through_the_gateways_callback(hooked: Hooked) -> None:
    created = requests.post(
        f"{hooked.world.server.base_url}/_sandbox/realms",
        json={"realm_id": "4242", "company": "empty"},
        timeout=60,
    )
    assert created.status_code == 201, created.text
    answer = requests.get(
        f"{hooked.gateway_url}/integrations/quickbooks/connect-url",
        params={"tenant": "tenant-two"},
        headers={"x-api-key": KEY_ALL},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    consent = answer.json()["url"]
    assert consent.startswith(hooked.world.server.base_url) and "state=" in consent

    page = requests.get(f"{consent}&realmId=4242", timeout=30)  # the user consents; Intuit redirects back

    assert page.status_code == 200, page.text
    assert "Tenant tenant-two is connected to QuickBooks company 4242" in page.text
    assert [r.realm_id for r in hooked.connector.token_store.list("tenant-two")] == ["4242"]
    replayed = requests.get(page.url, timeout=30)  # the same code twice: Intuit refuses, nothing changes
    assert replayed.status_code == 400
    assert "refused" in replayed.text
