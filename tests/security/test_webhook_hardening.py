"""Issue 15, webhooks: hostile deliveries are refused clearly at intake, and an event QBO refuses no
longer blocks its realm's queue in the drain.

Intake: bodies over 1 MiB are 413 (declared or streamed), deep nesting and impossible times are 400
naming the field, a bad signature is 401 whatever the body, and events whose ids QBO cannot have are
refused one by one (named in a 200 answer, so Intuit does not redeliver them) while the rest are stored;
on PostgreSQL too, where an id longer than its column used to answer 500. Drain: a poisoned event stored
by an older version is tried MAX_ATTEMPTS times, then marked failed with QBO's answer, while every
other event of its realm, and of its own group, is applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipelines.drain import MAX_ATTEMPTS, drain
from pipelines.runtime.connector import Connector
from pipelines.status import status_lines
from sandbox.demo.world import world
from service.app import MAX_WEBHOOK_BODY, PREFIX, create_app
from sources.quickbooks.webhook_payloads import ChangeEvent, signature
from tests.service.conftest import VERIFIER, gateway_settings

URL = f"{PREFIX}/webhook"
POISON = ("1\u200b", "1' OR '1'='1")  # ids QBO refuses: the drain used to retry them forever
BAD_IDS = [*POISON, "9" * 21, "-1", "\u0661\u0662", "1 2", "x" * 5000]


def signed(gateway: TestClient, body: bytes, content_type: str = "application/json") -> Any:
    headers = {"intuit-signature": signature(body, VERIFIER), "content-type": content_type}
    return gateway.post(URL, content=body, headers=headers)


def stored(gateway: TestClient) -> list[tuple[str, str, str]]:
    queue = gateway.app.state.connector.store.events
    with queue.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT realm_id, entity, entity_id FROM qbo_webhook_events ORDER BY id")
        return [tuple(r) for r in rows]


def legacy(*entities: dict[str, Any], realm: str = "1269959970") -> dict[str, Any]:
    return {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": list(entities)}}]}


def entity(id_: str, when: str = "2026-11-30T10:00:00.000Z", **more: Any) -> dict[str, Any]:
    return {"name": "Customer", "id": id_, "operation": "Update", "lastUpdated": when, **more}


def cloud(
    n: int, entity_id: str, realm: str = "310687", when: str = "2026-11-30T10:00:00Z"
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"hardening-{n}",
        "type": "qbo.customer.updated.v1",
        "time": when,
        "intuitentityid": entity_id,
        "intuitaccountid": realm,
    }


def test_a_body_over_1_mib_is_413_whether_its_length_is_declared_or_streamed(gateway: TestClient) -> None:
    events = [cloud(n, str(n)) for n in range(2 * MAX_WEBHOOK_BODY // 150)]
    body = json.dumps(events).encode()
    assert len(body) >= 2 * 2**20  # 2 MiB and more, signed: only its size is wrong
    headers = {"intuit-signature": signature(body, VERIFIER), "content-type": "application/json"}

    declared = gateway.post(URL, content=body, headers=headers)
    streamed = gateway.post(
        URL, content=iter([body[i : i + 65536] for i in range(0, len(body), 65536)]), headers=headers
    )

    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text[:300]
        assert answer.json()["code"] == "PAYLOAD_TOO_LARGE"
        assert answer.json()["details"][0]["field"] == "body"
    assert "content-length" not in streamed.request.headers  # the stream was read with the cap, not trusted
    assert stored(gateway) == []
    lying = gateway.post(URL, content=b"[]", headers={**headers, "content-length": "lots"})
    assert lying.status_code == 400


def test_a_bad_signature_is_401_even_when_the_body_is_garbage(gateway: TestClient) -> None:
    for garbage in (b"\xff\xfe\x00garbage", b"[" * 200_000, b'{"eventNotifications": 1e999999}'):
        for sig in (None, "1234", signature(garbage, "another-apps-token")):
            headers = {"content-type": "application/json"} | ({"intuit-signature": sig} if sig else {})
            answer = gateway.post(URL, content=garbage, headers=headers)
            assert answer.status_code == 401, (garbage[:20], sig)
            assert answer.json()["code"] == "BAD_SIGNATURE"
    assert stored(gateway) == []


def test_deep_nesting_is_400_not_a_crash(gateway: TestClient) -> None:
    nested: Any = {"deletedid": "1"}
    for _ in range(60):
        nested = {"x": nested}
    bodies = [
        b"[" * 200_000 + b"]" * 200_000,  # past the JSON parser's own recursion
        json.dumps([{**cloud(1, "1"), "data": nested}]).encode(),  # valid JSON, nested past the bound
    ]
    for body in bodies:
        answer = signed(gateway, body)
        assert answer.status_code == 400, answer.text[:300]
        assert answer.json()["code"] == "MALFORMED_NOTIFICATION"
        assert "nests deeper" in answer.json()["message"]
    assert stored(gateway) == []


@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        "2026-02-30T10:00:00Z",
        "1900-01-01T00:00:00Z",
        "soon",
    ],
)
def test_an_impossible_time_is_400_naming_its_field_in_both_formats(gateway: TestClient, when: str) -> None:
    old = legacy(entity("1"), entity("2", when))
    answer = signed(gateway, json.dumps(old).encode())
    assert answer.status_code == 400, answer.text
    assert "eventNotifications[0].dataChangeEvent.entities[1].lastUpdated" in answer.json()["message"]

    new = [cloud(1, "1"), cloud(2, "2", when=when)]
    answer = signed(gateway, json.dumps(new).encode(), "application/cloudevents+json")
    assert answer.status_code == 400, answer.text
    assert "event [1].time" in answer.json()["message"]
    assert stored(gateway) == []  # refused whole: Intuit retries it rather than losing part of it


@pytest.mark.parametrize(
    "bad", BAD_IDS, ids=["zero-width", "quote", "21-digits", "negative", "arabic", "space", "5000"]
)
def test_ids_qbo_cannot_have_are_refused_by_name_and_the_good_events_stored(
    gateway: TestClient, bad: str
) -> None:
    old = legacy(entity("40"), entity("41"), entity(bad), entity("42", deletedId=bad, operation="Merge"))
    answer = signed(gateway, json.dumps(old).encode())
    assert answer.status_code == 200, answer.text  # signed by Intuit's token: a 4xx would be redelivered
    body = answer.json()
    assert (body["received"], body["stored"], body["refused"]) == (4, 2, 2)
    fields = [d["field"] for d in body["details"]]
    assert fields == [
        "eventNotifications[0].dataChangeEvent.entities[2].id",
        "eventNotifications[0].dataChangeEvent.entities[3].deletedId",
    ]
    assert "is not a QBO id" in body["details"][0]["message"]

    realm = signed(gateway, json.dumps(legacy(entity("43"), realm=bad)).encode()).json()
    assert (realm["stored"], realm["details"][0]["field"]) == (0, "eventNotifications[0].realmId")

    new = [cloud(1, "50"), cloud(2, bad), cloud(3, "51", realm=bad)]
    answer = signed(gateway, json.dumps(new).encode(), "application/cloudevents+json").json()
    assert (answer["received"], answer["stored"], answer["refused"]) == (3, 1, 2)
    assert [d["field"] for d in answer["details"]] == ["[1].intuitentityid", "[2].intuitaccountid"]
    assert stored(gateway) == [
        ("1269959970", "Customer", "40"),
        ("1269959970", "Customer", "41"),
        ("310687", "Customer", "50"),
    ]


def test_on_postgresql_no_id_or_name_of_any_length_answers_500(tmp_path: Path, postgres_url: str) -> None:
    settings = replace(gateway_settings(tmp_path), store_url=postgres_url)
    with TestClient(create_app(Connector(settings)), raise_server_exceptions=False) as gateway:
        long_ids = [cloud(1, "7" * 500), cloud(2, "8", realm="9" * 65), cloud(3, "9" * 20, realm="9" * 20)]
        answer = signed(gateway, json.dumps(long_ids).encode())
        assert answer.status_code == 200, answer.text
        assert (answer.json()["stored"], answer.json()["refused"]) == (1, 2)
        too_long = [
            json.dumps(legacy({**entity("1"), "name": "C" * 65})),
            json.dumps([{**cloud(4, "1"), "id": "k" * 201}]),
            json.dumps([{**cloud(5, "1"), "type": f"qbo.{'c' * 65}.updated.v1"}]),
        ]
        for body in too_long:
            answer = signed(gateway, body.encode())
            assert answer.status_code == 400, answer.text
            assert answer.json()["code"] == "MALFORMED_NOTIFICATION"
        assert gateway.app.state.connector.store.events.counts() == {"pending": 1}


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(
        create_app(Connector(gateway_settings(tmp_path))), raise_server_exceptions=False
    ) as client:
        yield client


@pytest.fixture
def tiny_world(tmp_path: Path) -> Iterator[Any]:
    with world(tmp_path, "tiny", write=lambda _: None) as w:
        yield w


def test_a_poisoned_event_is_failed_after_its_tries_and_the_realms_other_events_are_applied(
    tiny_world: Any,
) -> None:
    realm = tiny_world.realm_id
    live = sorted((i for i, (_, gone) in tiny_world.truth(realm, "Customer").items() if not gone), key=int)
    first, second = live[0], live[1]
    invoice = sorted(tiny_world.truth(realm, "Invoice"), key=int)[0]
    tiny_world.mutate(realm, entity="Customer", id=first, op="update", changes={"Notes": "after the poison"})
    when = datetime(2026, 11, 30, 10, tzinfo=UTC)

    def event(n: int, entity_name: str, entity_id: str) -> ChangeEvent:
        return ChangeEvent(f"old-{n}", "cloudevents", realm, entity_name, entity_id, "Update", when)

    queue = tiny_world.connector.store.events  # stored directly, as versions before the intake checks did
    assert (
        queue.put(
            [
                event(1, "Customer", POISON[0]),
                event(2, "Customer", first),
                event(3, "Customer", POISON[1]),
                event(4, "Customer", second),
                event(5, "Invoice", invoice),
            ]
        )
        == 5
    )

    tries = [drain(tiny_world.connector, echo=lambda _: None) for _ in range(MAX_ATTEMPTS)]

    assert (tries[0].events, tries[0].fetched, tries[0].failed) == (5, 3, 2)  # the group split around them
    for entity_name in ("Customer", "Invoice"):
        rows = tiny_world.warehouse_rows(realm, entity_name)
        truth = tiny_world.truth(realm, entity_name)
        assert rows == {i: truth[i] for i in rows} and rows, entity_name
    assert set(tiny_world.warehouse_rows(realm, "Customer")) == {first, second}
    assert [(t.events, t.failed, t.given_up) for t in tries[1:]] == [(2, 2, 0), (2, 0, 2)]
    assert queue.counts() == {"done": 3, "failed": 2}
    with queue.engine.connect() as conn:
        failed = conn.exec_driver_sql(
            "SELECT entity_id, attempts, note FROM qbo_webhook_events WHERE status = 'failed' ORDER BY id"
        ).all()
    assert [(entity_id, attempts) for entity_id, attempts, _ in failed] == [(POISON[0], 3), (POISON[1], 3)]
    assert all("QBO refused Customer" in note and "failed after 3 tries" in note for _, _, note in failed)
    assert "Invalid ID" in failed[0][2]  # QBO's own answer, for whoever reads `qbo status`
    assert any("webhook events: 3 done, 2 failed" in line for line in status_lines(tiny_world.connector))

    later = drain(tiny_world.connector, echo=lambda _: None)
    assert (later.events, later.requests) == (0, 0)  # nothing holds the queue any more
