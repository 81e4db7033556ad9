"""One QBO record, one platform record: a record claiming a qboId already linked to another platform
record gets 409 CONFLICT naming `qboId` and the other record, and the QBO record is not touched (issue 15,
item 6). Through the gateway's real-time push, and in the batch push's pre-flight."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from pipelines.push.operation import Operation
from pipelines.push.preflight import check, claimed_twice, qbo_id_conflict
from pipelines.runtime.connector import Connector
from sandbox.demo.world import World, world
from service.app import create_app
from tests.service.conftest import KEY_A, gateway_settings

TENANT = "tenant-a"
NOW = "2026-12-01T10:00:00Z"


@dataclass
class Company:
    world: World
    api: TestClient

    def post(self, body: dict[str, Any]) -> Any:
        return self.api.post("/integrations/quickbooks/customers", json=body, headers={"x-api-key": KEY_A})

    def qbo(self, qbo_id: str) -> dict[str, Any]:
        found = self.world.sandbox.store.get(self.world.realm_id, "Customer", int(qbo_id))
        assert found is not None
        return found.doc


@pytest.fixture
def company(tmp_path: Path) -> Iterator[Company]:
    """An empty sandbox company connected for tenant-a, behind the gateway."""
    with world(tmp_path, "empty", write=lambda _: None, tenant=TENANT) as w:
        keys = gateway_settings(tmp_path).gateway_api_keys
        with TestClient(create_app(Connector(replace(w.settings, gateway_api_keys=keys)))) as api:
            yield Company(w, api)


def customer(platform_id: str, name: str, **more: Any) -> dict[str, Any]:
    return {
        "id": platform_id,
        "tenantId": TENANT,
        "displayName": name,
        "createdAt": NOW,
        "updatedAt": NOW,
        **more,
    }


def test_a_realtime_push_claiming_another_records_qbo_id_is_a_conflict_and_qbo_is_untouched(
    company: Company,
) -> None:
    created = company.post(customer("cust-a", "Alder Farms"))
    assert created.status_code == 201, created.text
    qbo_id = created.json()["qboId"]
    before = company.qbo(qbo_id)

    claim = customer("cust-b", "Birch Hijack", qboId=qbo_id, qboSyncToken=before["SyncToken"])
    refused = company.post(claim)

    assert refused.status_code == 409, refused.text
    error = refused.json()
    assert error["code"] == "CONFLICT"
    assert error["details"][0]["field"] == "qboId" and error["details"][0]["issue"] == "conflict"
    assert "cust-a" in error["message"] and qbo_id in error["message"]
    after = company.qbo(qbo_id)
    assert (after["DisplayName"], after["SyncToken"]) == ("Alder Farms", before["SyncToken"])
    assert not [r for r in company.world.connector.store.push_log.results() if r["platform_id"] == "cust-b"]

    # the record that owns the link still updates it, and a record without the claim is created
    edited = company.post(customer("cust-a", "Alder Farms & Sons"))
    assert (edited.status_code, edited.json()["qboId"]) == (200, qbo_id)
    unclaimed = company.post(customer("cust-b", "Birch Hijack"))
    assert unclaimed.status_code == 201 and unclaimed.json()["qboId"] != qbo_id


def operation(platform_id: str, qbo_id: str, status: str = "send", tenant: str = TENANT) -> Operation:
    row = {"tenant_id": tenant, "realm_id": "r1", "platform_id": platform_id, "qbo_id": qbo_id}
    return Operation("Customer", {**row, "operation": "update", "payload_hash": platform_id}, [], status)


def test_the_batch_preflight_refuses_both_records_writing_one_qbo_record() -> None:
    first, second = operation("cust-a", "58"), operation("cust-b", "58", status="approval")
    alone = operation("cust-c", "59", status="approval")  # not sent, so not pre-flighted further
    check([first, second, alone], set())
    assert (first.status, second.status, alone.status) == ("invalid", "invalid", "approval")
    assert first.error is not None and second.error is not None
    assert first.error["code"] == "CONFLICT" and "Customer cust-b" in first.error["message"]
    assert second.error["details"][0] | {"message": ""} == {
        "field": "qboId",
        "issue": "conflict",
        "message": "",
        "linkedPlatformId": "cust-a",
    }


def test_a_claim_on_a_record_the_warehouse_links_elsewhere_is_refused_without_naming_another_tenant() -> None:
    claimant = operation("cust-b", "58", status="approval")
    check([claimant], set(), {("r1", "Customer", "58"): [("tenant-z", "secret-id"), (TENANT, "cust-b")]})
    assert claimant.status == "invalid" and claimant.error is not None
    assert "another tenant" in claimant.error["message"] and "secret-id" not in str(claimant.error)
    assert qbo_id_conflict("Customer", TENANT, "cust-b", "58", [(TENANT, "cust-b")]) is None


def test_the_warehouse_mappings_name_each_qbo_record_two_platform_records_claim() -> None:
    db = duckdb.connect()
    db.execute("CREATE SCHEMA sync")
    db.execute(
        "CREATE TABLE sync.sync_mappings AS SELECT * FROM (VALUES "
        "('Customer', 't', 'r1', 'a', '58', 'linked'), ('Customer', 't', 'r1', 'b', '58', 'linked'), "
        "('Customer', 't', 'r1', 'c', '59', 'linked'), ('Customer', 't', 'r1', NULL, '60', 'qbo_only'), "
        "('Customer', 't', 'r1', 'd', '60', 'linked')) "
        "AS v(entity, tenant_id, realm_id, platform_id, qbo_id, status)"
    )
    assert claimed_twice(db) == {("r1", "Customer", "58"): [("t", "a"), ("t", "b")]}
