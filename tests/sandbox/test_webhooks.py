"""Webhooks the sandbox sends: grouped, signed like Intuit's, in both formats, retried on failure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import sample
from tests.qbo_http import QboHttp


class Receiver:
    """A loopback endpoint that records what it receives and answers with the statuses it is given."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 10) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.httpd.shutdown()


def verify(headers: dict[str, str], body: bytes, token: str) -> bool:
    """Intuit's published algorithm, written independently of the sandbox's `sign`."""
    expected = base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers["intuit-signature"])


def test_cloudevents_grouped_signed_and_shaped_like_intuits(tiny: QboHttp, receiver: Receiver) -> None:
    tiny.admin(
        "POST",
        "config",
        json={"webhooks": {"url": receiver.url, "format": "cloudevents", "window_seconds": 0.5}},
    )
    first = tiny.ok("customer", {"DisplayName": "Hooked One"})
    second = tiny.ok("customer", {"DisplayName": "Hooked Two"})
    tiny.ok("customer", {"Id": first["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    headers, body = receiver.wait(1)[0]
    assert headers["content-type"] == "application/cloudevents+json"
    assert verify(headers, body, "qbo-sandbox-verifier")
    events = json.loads(body)
    real = sample("webhook_cloudevents.json")[0]
    assert all(set(e) == set(real) for e in events)
    assert [(e["type"], e["intuitentityid"]) for e in events] == [
        ("qbo.customer.created.v1", first["Id"]),
        ("qbo.customer.created.v1", second["Id"]),
        ("qbo.customer.deleted.v1", first["Id"]),
    ]  # deactivating a name list is its "delete"
    assert {e["intuitaccountid"] for e in events} == {tiny.realm_id}


def test_legacy_format_and_retry_after_a_failed_delivery(tiny: QboHttp) -> None:
    receiver = Receiver(statuses=[500])
    try:
        tiny.admin(
            "POST",
            "config",
            json={
                "webhooks": {
                    "url": receiver.url,
                    "format": "legacy",
                    "window_seconds": 0.1,
                    "retry_base_seconds": 0.2,
                }
            },
        )
        invoice = tiny.rows("SELECT * FROM Invoice MAXRESULTS 1")[0]
        tiny.ok(
            "invoice",
            {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "PrivateNote": "edited"},
        )
        deliveries = receiver.wait(2)
        assert len(deliveries) == 2 and deliveries[0][1] == deliveries[1][1]  # the same payload, again
        headers, body = deliveries[1]
        assert headers["content-type"] == "application/json" and verify(headers, body, "qbo-sandbox-verifier")
        payload = json.loads(body)
        real = sample("webhook_legacy.json")
        assert set(payload) == set(real)
        note = payload["eventNotifications"][0]
        assert set(note) == set(real["eventNotifications"][0]) and note["realmId"] == tiny.realm_id
        entity = note["dataChangeEvent"]["entities"][0]
        assert set(entity) == set(real["eventNotifications"][0]["dataChangeEvent"]["entities"][0])
        assert (entity["name"], entity["id"], entity["operation"]) == ("Invoice", invoice["Id"], "Update")
        # the receiver records a delivery before it answers; the sandbox logs it once the answer is back
        deadline = time.monotonic() + 10
        while len(statuses := [d["status"] for d in tiny.admin("GET", "webhooks").json()["deliveries"]]) < 2:
            assert time.monotonic() < deadline, f"the sandbox logged only {statuses}"
            time.sleep(0.02)
        assert statuses[-2:] == [500, 200]
    finally:
        receiver.httpd.shutdown()


def test_back_office_merge_sends_merge_with_deleted_id(tiny: QboHttp, receiver: Receiver) -> None:
    tiny.admin("POST", "config", json={"webhooks": {"url": receiver.url, "window_seconds": 0.1}})
    keep = tiny.ok("vendor", {"DisplayName": "Keeper"})
    gone = tiny.ok("vendor", {"DisplayName": "Goner"})
    receiver.wait(1)
    receiver.received.clear()
    merged = tiny.admin(
        "POST",
        f"realms/{tiny.realm_id}/mutate",
        json={"entity": "Vendor", "id": gone["Id"], "op": "merge", "merge_into": keep["Id"]},
    )
    assert merged.status_code == 200
    events = json.loads(receiver.wait(1)[0][1])
    merge = [e for e in events if e["type"] == "qbo.vendor.merged.v1"]
    real = sample("webhook_cloudevents_customer_merged.json")[0]
    assert merge and merge[0]["intuitentityid"] == keep["Id"]
    assert merge[0]["data"] == {"deletedid": gone["Id"]} and set(merge[0]["data"]) == set(real["data"])
