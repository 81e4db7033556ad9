"""Webhook intake: Intuit's signature vectors pass, anything tampered is refused, every event is kept once."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from sources.quickbooks.webhook_payloads import WebhookPayloadError, parse, signature, verify
from tests.conftest import sample, sample_bytes
from tests.service.conftest import VERIFIER

URL = "/integrations/quickbooks/webhook"
VECTORS = [
    (v["payload_file"], v["intuit_signature"], v["verifier_token"])
    for v in (sample("webhook_signature_vector_dotnet.json"), sample("webhook_signature_vector_java.json"))
] + [
    (x["payload_file"], x["intuit_signature"], VERIFIER)
    for x in sample("webhook_signature_vector_cloudevents_DERIVED.json")["vectors"]
]


@pytest.mark.parametrize(("payload", "sig", "token"), VECTORS)
def test_intuits_signature_vectors_verify_and_tampering_does_not(payload: str, sig: str, token: str) -> None:
    body = sample_bytes(payload)
    assert verify(body, sig, token)
    assert not verify(body.replace(b'"', b"'", 1), sig, token)
    assert not verify(body, "1234", token)  # the Java SDK's negative case
    assert not verify(body, sig, token + "x")
    assert not verify(body, None, token)


def post(gateway: TestClient, body: bytes, sig: str | None, content_type: str = "application/json"):
    headers = {"content-type": content_type}
    if sig is not None:
        headers["intuit-signature"] = sig
    return gateway.post(URL, content=body, headers=headers)


def stored(gateway: TestClient) -> list[tuple[str, str, str, str]]:
    queue = gateway.app.state.connector.store.events
    with queue.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.exec_driver_sql(
                "SELECT realm_id, entity, entity_id, operation FROM qbo_webhook_events ORDER BY id"
            )
        ]


def test_the_endpoint_takes_signed_deliveries_in_both_formats_and_stores_each_event_once(
    gateway: TestClient,
) -> None:
    dotnet = sample("webhook_signature_vector_dotnet.json")
    legacy = sample_bytes(dotnet["payload_file"])
    answer = post(gateway, legacy, dotnet["intuit_signature"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": 2, "stored": 2}

    cloud = sample_bytes("webhook_cloudevents.json")
    answer = post(gateway, cloud, signature(cloud, VERIFIER), "application/cloudevents+json")
    assert answer.json() == {"received": 1, "stored": 1}

    # Intuit retries a delivery it thinks failed: the same events are not stored again
    assert post(gateway, legacy, dotnet["intuit_signature"]).json() == {"received": 2, "stored": 0}
    assert stored(gateway) == [
        ("1269959970", "Vendor", "40", "Update"),
        ("1269959970", "Customer", "43", "Create"),
        ("310687", "Account", "1234", "Create"),
    ]


def test_bad_signatures_are_401_and_malformed_bodies_400_and_nothing_is_stored(gateway: TestClient) -> None:
    body = sample_bytes("webhook_cloudevents.json")
    good = signature(body, VERIFIER)
    assert post(gateway, body, None).status_code == 401
    assert post(gateway, body, "1234").status_code == 401
    assert post(gateway, body.replace(b"1234", b"1235"), good).status_code == 401  # tampered after signing
    refused = post(gateway, body, signature(body, "another-apps-token"))
    assert refused.status_code == 401
    assert refused.json()["code"] == "BAD_SIGNATURE"

    for bad in (b"not json", b"[]", b'{"hello": 1}', json.dumps([{"specversion": "1.0"}]).encode()):
        answer = post(gateway, bad, signature(bad, VERIFIER))
        assert answer.status_code == 400, bad
        assert answer.json()["code"] == "MALFORMED_NOTIFICATION"
    assert post(gateway, body, good, "text/plain").status_code == 415
    assert stored(gateway) == []


def test_a_malformed_event_names_its_field_and_the_whole_delivery_is_refused() -> None:
    events = json.loads(sample_bytes("webhook_cloudevents.json"))
    broken = [*events, {**events[0], "id": "second", "intuitentityid": ""}]
    with pytest.raises(WebhookPayloadError, match=r"event \[1\]: intuitentityid"):
        parse(json.dumps(broken).encode())
    legacy = json.loads(sample_bytes("webhook_legacy.json"))
    legacy["eventNotifications"][0]["dataChangeEvent"]["entities"][1]["operation"] = "Explode"
    with pytest.raises(WebhookPayloadError, match=r"entities\.1\.operation"):
        parse(json.dumps(legacy).encode())


def test_both_formats_mean_the_same_change() -> None:
    merged = parse(sample_bytes("webhook_cloudevents_customer_merged.json"))[0]
    assert (merged.entity, merged.entity_id, merged.operation, merged.deleted_id) == (
        "Customer",
        "123",
        "Merge",
        "27",
    )
    (java,) = parse(sample_bytes("webhook_legacy_java_sdk.json"))
    assert java.occurred_at.isoformat() == "2015-10-05T21:42:19+00:00"  # -0700, as UTC
    no_data = parse(sample_bytes("webhook_cloudevents_salesreceipt_updated.json"))[0]
    assert (no_data.entity, no_data.operation) == ("SalesReceipt", "Update")


def test_every_endpoint_but_webhook_and_callback_wants_a_key_bound_to_the_tenant(gateway: TestClient) -> None:
    from tests.service.conftest import KEY_A, KEY_ALL

    assert gateway.get("/health").status_code == 401
    assert gateway.get("/health", headers={"x-api-key": "wrong-key-0123456789"}).status_code == 401
    assert gateway.get("/health", headers={"authorization": f"Bearer {KEY_A}"}).json()["status"] == "ok"
    body = {"tenant": "tenant-b"}
    refused = gateway.post("/integrations/quickbooks/invoices/sync", json=body, headers={"x-api-key": KEY_A})
    assert refused.status_code == 403
    assert refused.json()["code"] == "FORBIDDEN"
    missing = gateway.post(
        "/integrations/quickbooks/invoices/sync", json=body, headers={"x-api-key": KEY_ALL}
    )
    assert missing.status_code == 404  # allowed, but tenant-b has no connection
    assert "not connected" in missing.json()["message"]
    answer = gateway.get("/integrations/quickbooks/callback", params={"state": "forged.state", "code": "c"})
    assert answer.status_code == 400
    assert "Start again" in answer.text


def test_on_postgresql_a_redelivery_is_stored_once_too(postgres_url: str) -> None:
    from pipelines.store.integration_store import IntegrationStore

    queue = IntegrationStore(postgres_url).events
    events = parse(sample_bytes("webhook_legacy.json"))
    assert queue.put(events) == 2
    assert queue.put(events) == 0
    token, claimed = queue.claim(10)
    assert [r["entity_id"] for r in claimed] == ["40", "43"]
    assert queue.claim(10)[1] == []  # claimed once, by one worker
    queue.finish(token, [r["id"] for r in claimed], "done")
    assert queue.counts() == {"done": 2}
