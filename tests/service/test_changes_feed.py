"""QBO -> platform delivery end to end: back-office edits, deletes, voids and merges in the sandbox become
webhooks, the drain and the transform bring them into the warehouse, the deliver job puts them in the
outbox as platform DTOs, and the platform reads them through the gateway's changes feed, once each."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from pipelines.deliver.enqueue import deliver
from pipelines.drain import drain
from pipelines.platform_load import load_platform
from pipelines.runtime.connector import Connector
from pipelines.sync import sync_all
from pipelines.transform.dbt_build import run_dbt
from sandbox.background import free_port, serving
from sandbox.demo.platform_records import generate
from sandbox.demo.tour import DEMO_POLICY
from sandbox.demo.world import DEMO_TENANT, World, world
from service.app import create_app
from tests.service.conftest import KEY_A, KEY_ALL

FEED = "/integrations/quickbooks/changes"
ALL = {"X-API-Key": KEY_ALL}


@dataclass
class Delivering:
    world: World
    connector: Connector
    api: TestClient

    @property
    def realm_id(self) -> str:
        return self.world.realm_id

    def warehouse(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.connector.settings.warehouse), read_only=True) as db:
            return [tuple(r) for r in db.execute(sql, list(params)).fetchall()]

    def transform(self) -> None:
        result = run_dbt(self.connector.settings.warehouse, policy=DEMO_POLICY, as_of=None, command="run")
        assert result.success, result.summary()

    def feed(self, **params: Any) -> dict[str, Any]:
        answer = self.api.get(FEED, params={"tenant": DEMO_TENANT, **params}, headers=ALL)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def everything(self, after: int = 0) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while page := self.feed(after=after, limit=500)["changes"]:
            out += page
            after = page[-1]["cursor"]
        return out

    def settle(self, timeout: float = 30) -> None:
        """Drain the webhooks until the warehouse holds what the sandbox does (knock-on events included)."""
        deadline = time.monotonic() + timeout
        while True:
            assert drain(self.connector, echo=lambda _: None).failed == 0
            entities = ("Customer", "Invoice", "Payment")
            truth = [self.world.truth(self.realm_id, e) for e in entities]
            if truth == [self.world.warehouse_rows(self.realm_id, e) for e in entities]:
                return
            assert time.monotonic() < deadline, "the webhooks did not bring the warehouse up to date"
            time.sleep(0.2)

    def ack(self, cursor: int) -> None:
        answer = self.api.post(f"{FEED}/ack", json={"tenant": DEMO_TENANT, "cursor": cursor}, headers=ALL)
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def delivering(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivering]:
    """A tiny company, synced, with the demo's platform records loaded and transformed."""
    workdir = tmp_path_factory.mktemp("delivering")
    with world(workdir, "tiny", write=lambda _: None) as w:
        verifier = w.sandbox.config.webhooks.verifier_token
        port = free_port()
        settings = replace(
            w.settings,
            webhook_verifier_token=verifier,
            gateway_api_keys={KEY_ALL: frozenset("*"), KEY_A: frozenset({"tenant-a"})},
        )
        connector = Connector(settings)
        app = create_app(connector)
        with serving(app, port=port) as (url, _server), TestClient(app) as api:
            w.sandbox.configure(
                {"webhooks": {"url": f"{url}/integrations/quickbooks/webhook", "window_seconds": 0.2}}
            )
            sync_all(connector, echo=lambda _: None)
            generate(
                w.sandbox.store, w.realm_id, workdir / "platform", tenant_id=DEMO_TENANT, policy=DEMO_POLICY
            )
            load_platform(
                str(workdir / "platform"),
                warehouse=settings.warehouse,
                pipelines_dir=settings.pipelines_path,
                realms=connector.tenant_realms(),
            )
            ready = Delivering(w, connector, api)
            ready.transform()
            yield ready


def quiet_linked(d: Delivering, entity: str) -> list[str]:
    """QBO ids of linked records with no drift at all: an edit of theirs is the only change they show."""
    rows = d.warehouse(
        "SELECT qbo_id FROM sync.sync_mappings m WHERE entity = ? AND status = 'linked' AND NOT EXISTS "
        "(SELECT 1 FROM sync.sync_drift d WHERE d.entity = m.entity AND d.platform_id = m.platform_id) "
        "ORDER BY qbo_id",
        entity,
    )
    return [str(qbo_id) for (qbo_id,) in rows]


def test_edits_deletes_voids_and_merges_reach_the_changes_feed_once_each(delivering: Delivering) -> None:
    d = delivering
    # what QBO has that the platform does not, and the planted pulls, come first
    first = deliver(d.connector, echo=lambda _: None)
    assert first.failed == 0
    baseline = d.everything()
    assert baseline and all(c["record"]["qboId"] == c["qboId"] for c in baseline)
    assert len({c["changeId"] for c in baseline}) == len(baseline)
    d.ack(baseline[-1]["cursor"])
    assert d.feed()["changes"] == []  # after an ack, the feed starts after the acknowledged cursor

    customers = sorted(quiet_linked(d, "Customer"), key=int)
    linked = d.warehouse("SELECT entity, qbo_id FROM sync.sync_mappings WHERE status = 'linked'")
    payments = sorted((str(i) for e, i in linked if e == "Payment"), key=int)
    live = d.warehouse(  # invoices the platform has not voided itself
        "SELECT m.qbo_id FROM sync.sync_mappings m JOIN staging.stg_platform__invoices p "
        "ON p.tenant_id = m.tenant_id AND p.platform_id = m.platform_id "
        "WHERE m.entity = 'Invoice' AND m.status = 'linked' AND NOT p.voided ORDER BY m.qbo_id DESC"
    )
    invoices = [str(i) for (i,) in live]
    assert len(customers) >= 3 and invoices and payments
    edited, kept, merged = customers[0], customers[1], customers[2]
    doc = d.world.sandbox.store.get(d.realm_id, "Customer", int(edited)).doc
    d.world.mutate(
        d.realm_id, entity="Customer", id=edited, op="update", changes={"Taxable": not doc.get("Taxable")}
    )
    d.world.mutate(d.realm_id, entity="Payment", id=payments[0], op="delete")
    d.world.mutate(d.realm_id, entity="Invoice", id=invoices[0], op="void")
    d.world.mutate(d.realm_id, entity="Customer", id=merged, op="merge", merge_into=kept)
    d.settle()
    d.transform()

    second = deliver(d.connector, echo=lambda _: None)
    assert second.failed == 0
    news = d.feed()["changes"]
    assert news and news[0]["cursor"] > baseline[-1]["cursor"]
    assert len({c["changeId"] for c in news}) == len(news)

    def of(entity: str, qbo_id: str, operation: str) -> list[dict[str, Any]]:
        return [c for c in news if (c["entity"], c["qboId"], c["operation"]) == (entity, qbo_id, operation)]

    (edit,) = of("Customer", edited, "upsert")
    assert edit["platformId"] and edit["record"]["id"] == edit["platformId"]
    assert edit["record"]["defaultTaxable"] is not bool(doc.get("Taxable"))  # QBO's Taxable, as flipped
    assert edit["record"]["qboSyncToken"] and edit["record"]["displayName"]
    (gone,) = of("Payment", payments[0], "delete")
    assert gone["record"]["deleted"] is True and gone["platformId"]
    (void,) = of("Invoice", invoices[0], "void")
    assert void["record"]["status"] == "voided"  # SPEC §5.2's status; `voided` is read from it
    assert void["record"]["totalAmount"] == "0.00" and void["platformId"]
    (merge,) = of("Customer", merged, "merge")
    assert merge["record"]["mergedIntoQboId"] == kept and merge["record"]["mergedIntoId"]

    # nothing new: a second delivery adds nothing
    again = deliver(d.connector, echo=lambda _: None)
    assert (again.enqueued, again.failed) == ({}, 0)
    assert d.feed()["changes"] == news
    # acknowledged: never seen again
    d.ack(news[-1]["cursor"])
    assert d.feed()["changes"] == []
    assert d.feed(after=baseline[-1]["cursor"])["changes"] == news  # still there for a replay


def test_the_feed_is_bound_to_the_tenant_and_bounded(delivering: Delivering) -> None:
    d = delivering
    deliver(d.connector, echo=lambda _: None)  # adds nothing when an earlier test delivered
    other = d.api.get(FEED, params={"tenant": DEMO_TENANT}, headers={"X-API-Key": KEY_A})
    assert other.status_code == 403 and set(other.json()) == {"code", "message", "details"}
    too_many = d.api.get(FEED, params={"tenant": DEMO_TENANT, "limit": 501}, headers=ALL)
    assert too_many.status_code == 422 and too_many.json()["code"] == "VALIDATION_FAILED"
    backwards = d.api.post(f"{FEED}/ack", json={"tenant": DEMO_TENANT, "cursor": -1}, headers=ALL)
    assert backwards.status_code == 422
    page = d.feed(after=0, limit=2)
    assert len(page["changes"]) <= 2 and page["next"] == page["changes"][-1]["cursor"]


def test_qbo_platform_changes_prints_the_feed(delivering: Delivering) -> None:
    from typer.testing import CliRunner

    from pipelines.cli.app import app

    d = delivering
    deliver(d.connector, echo=lambda _: None)
    d.ack(d.everything()[-1]["cursor"])
    env = {"SOURCES__QUICKBOOKS__STORE_URL": d.connector.settings.store_url}
    shown = CliRunner().invoke(
        app, ["platform", "changes", "--tenant", DEMO_TENANT, "--after", "0", "--limit", "3"], env=env
    )
    assert shown.exit_code == 0, shown.output
    lines = [json.loads(line) for line in shown.stdout.splitlines()]
    assert lines == d.feed(after=0, limit=3)["changes"]
    assert "next: " in shown.stderr
    pending = CliRunner().invoke(app, ["platform", "changes", "--tenant", DEMO_TENANT], env=env)
    assert pending.exit_code == 0 and pending.stdout == ""  # everything was acknowledged
