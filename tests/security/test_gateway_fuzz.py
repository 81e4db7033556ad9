"""The gateway under generated hostile input: whatever arrives at the webhook, the OAuth callback, a push
or the changes feed, the answer is never a 500, and every refusal of the JSON endpoints is the error DTO
(`code`, `message`, `details[]` naming fields), so a caller can always tell what to fix.

Hypothesis draws bounded corpora (a fixed seed and example count: the run is reproducible and takes
seconds); the hand-written cases beside them are the shapes attackers try first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from pipelines.runtime.connector import Connector
from service.app import PLURAL_OF, PREFIX, create_app
from sources.platform.dto import MODELS
from sources.quickbooks.webhook_payloads import signature
from tests.service.conftest import KEY_A, KEY_ALL, VERIFIER, gateway_settings

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1E+30", "1E-30", "1e308", "", " ", "\x00", "=1+1"]),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# the names the webhook payloads and the DTOs really use, so that generated documents get past the
# outer shape and exercise the inner validation
WIRE_KEYS = [
    "eventNotifications", "realmId", "dataChangeEvent", "entities", "name", "id", "operation",
    "lastUpdated", "specversion", "type", "source", "time", "intuitentityid", "intuitaccountid",
    "displayName", "lines", "quantity", "unitPrice", "amount", "qboId", "tenantId", "id",
]  # fmt: skip
wire_documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(WIRE_KEYS), children, max_size=5)
    ),
    max_leaves=25,
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Connector(gateway_settings(tmp_path))), raise_server_exceptions=False) as c:
        yield c


def assert_error_dto(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("code"), str) and body["code"], body
        assert isinstance(body.get("message"), str) and body["message"], body
        assert isinstance(body.get("details"), list), body
        for d in body["details"]:
            assert isinstance(d.get("field"), str), body


def post_webhook(client: TestClient, body: bytes, content_type: str = "application/json") -> Any:
    headers = {"intuit-signature": signature(body, VERIFIER), "content-type": content_type}
    return client.post(f"{PREFIX}/webhook", content=body, headers=headers)


@FUZZ
@seed(15)
@given(document=wire_documents)
def test_signed_webhook_bodies_never_answer_500(client: TestClient, document: Any) -> None:
    """Signed (the verifier is the attacker's): the body reaches the parser, which must refuse cleanly."""
    response = post_webhook(client, json.dumps(document).encode())
    assert_error_dto(response)


@FUZZ
@seed(16)
@given(body=st.binary(max_size=512))
def test_signed_webhook_bytes_never_answer_500(client: TestClient, body: bytes) -> None:
    assert_error_dto(post_webhook(client, body))


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # nesting far past the parser's recursion
        b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [' * 2_000,
        b"NaN",
        b'{"a": 1e999999}',
        "\ud800".encode("utf-8", "surrogatepass"),
        b"\xff\xfe\x00",
    ],
    ids=["deep-arrays", "deep-legacy", "nan", "huge-exponent", "lone-surrogate", "not-utf8"],
)
def test_hostile_webhook_bodies_are_refused_not_crashed(client: TestClient, body: bytes) -> None:
    response = post_webhook(client, body)
    assert_error_dto(response)
    assert response.status_code >= 400


def test_an_unsigned_body_is_refused_before_it_is_read(client: TestClient) -> None:
    response = client.post(f"{PREFIX}/webhook", content=b"[" * 100_000, headers={"intuit-signature": "x"})
    assert response.status_code == 401
    assert_error_dto(response)


@FUZZ
@seed(17)
@given(
    params=st.dictionaries(
        st.sampled_from(["state", "code", "realmId", "error"]),
        st.one_of(st.text(max_size=80), st.sampled_from(["%", "\u00e9", "a.b.c", "..", "x" * 5000])),
    )
)
def test_the_oauth_callback_never_answers_500(client: TestClient, params: dict[str, str]) -> None:
    response = client.get(f"{PREFIX}/callback", params=params)
    assert response.status_code in (200, 400, 409), (response.status_code, response.text[:300])
    assert "Traceback" not in response.text


@FUZZ
@seed(18)
@given(
    entity=st.sampled_from(sorted(MODELS)), record=st.dictionaries(st.sampled_from(WIRE_KEYS), json_values)
)
def test_pushes_of_generated_records_answer_the_error_dto(
    client: TestClient, entity: str, record: dict[str, Any]
) -> None:
    response = client.post(
        f"{PREFIX}/{PLURAL_OF[entity]}", json=record, headers={"Authorization": f"Bearer {KEY_A}"}
    )
    assert_error_dto(response)
    assert response.status_code >= 400  # nothing generated is a whole valid record for a connected realm


@pytest.mark.parametrize(
    "raw",
    [
        b"NaN",
        b"[]",
        b'"x"',
        b'{"displayName": "A", "balance": 1e999999}',
        b'{"displayName": NaN}',
        b"{" * 50_000,
        b'{"id": "\\ud800"}',
    ],
    ids=["nan", "array", "string", "overflowing-number", "nan-field", "deep", "lone-surrogate"],
)
def test_hostile_push_bodies_answer_the_error_dto(client: TestClient, raw: bytes) -> None:
    response = client.post(
        f"{PREFIX}/customers",
        content=raw,
        headers={"Authorization": f"Bearer {KEY_ALL}", "content-type": "application/json"},
    )
    assert_error_dto(response)
    assert 400 <= response.status_code < 500


@FUZZ
@seed(19)
@given(
    tenant=st.text(max_size=100),
    after=st.one_of(st.text(max_size=30), st.integers(min_value=-(10**30), max_value=10**30)),
    limit=st.one_of(st.text(max_size=10), st.integers(min_value=-(10**30), max_value=10**30)),
)
def test_the_changes_feed_bounds_its_parameters(
    client: TestClient, tenant: str, after: Any, limit: Any
) -> None:
    response = client.get(
        f"{PREFIX}/changes",
        params={"tenant": tenant, "after": after, "limit": limit},
        headers={"Authorization": f"Bearer {KEY_ALL}"},
    )
    assert_error_dto(response)
