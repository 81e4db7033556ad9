"""Typed errors from every fault envelope, and the client's retry / refresh / redaction rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from sandbox.background import RunningSandbox
from sandbox.settings import OAuthSettings, SandboxConfig
from sources.quickbooks import errors
from sources.quickbooks.client import QboClient, RetryPolicy, StaticTokens
from tests.conftest import SAMPLES, sample


@pytest.mark.parametrize(
    ("name", "status", "cls", "code"),
    [
        ("fault_401_authentication_3200.json", 401, errors.AuthenticationError, "3200"),
        ("fault_403_authorization_3100.json", 403, errors.AuthorizationError, "3100"),
        ("fault_stale_object_5010.json", 400, errors.StaleObjectError, "5010"),
        ("fault_object_not_found_610.json", 400, errors.NotFoundError, "610"),
        ("fault_duplicate_name_6240.json", 400, errors.DuplicateNameError, "6240"),
        ("fault_required_param_2020.json", 400, errors.ValidationError, "2020"),
        ("fault_query_parse_4000.json", 400, errors.QueryError, "4000"),
        ("fault_invalid_query_4001.json", 400, errors.QueryError, "4001"),
    ],
)
def test_every_recorded_json_fault_becomes_its_typed_error(
    name: str, status: int, cls: type, code: str
) -> None:
    error = errors.parse_fault(sample(name), status, "1-abc")
    assert type(error) is cls
    assert error.code == code and error.intuit_tid == "1-abc"
    dto = error.to_dto()
    assert dto["code"] == f"QBO_{code}" and dto["details"][0]["code"] == code


def test_xml_throttle_fault_is_retryable_and_tokens_are_redacted() -> None:
    error = errors.parse_fault((SAMPLES / "fault_429_throttle_3001.xml").read_text(), 429)
    assert isinstance(error, errors.ThrottledError) and error.retryable and error.code == "3001"
    expired = errors.parse_fault(sample("fault_401_authentication_3200.json"), 401)
    assert "AB01601390262kxzxOlnHYdhtEVRXISU7piPqQrCmmbDN35Yjd" not in str(expired)
    assert "[redacted]" in str(expired)
    field_error = sample("fault_required_param_2020.json")
    assert errors.parse_fault(field_error, 400).to_dto()["details"][0]["field"] == "Name"


@dataclass
class CountingTokens:
    """A token manager double: hands out the current token and counts forced refreshes."""

    tokens: list[str]
    refreshes: list[str] = field(default_factory=list)

    def access_token(self, realm_id: str) -> str:
        return self.tokens[0]

    def force_refresh(self, realm_id: str, rejected_access_token: str) -> str:
        self.refreshes.append(rejected_access_token)
        self.tokens.pop(0)
        return self.tokens[0]


def test_401_refreshes_once_then_succeeds(start_sandbox, caplog: pytest.LogCaptureFixture) -> None:
    server: RunningSandbox = start_sandbox(SandboxConfig(oauth=OAuthSettings()))
    server.sandbox.add_realm("8101", "tiny", 1)
    good = server.connect("8101")["access_token"]
    tokens = CountingTokens(["eyJexpired-token-value-0123456789", good])
    client = QboClient("8101", server.base_url, tokens)
    with caplog.at_level(logging.DEBUG):
        rows = client.query("SELECT * FROM Customer").get("Customer")
    assert rows and tokens.refreshes == ["eyJexpired-token-value-0123456789"]
    assert good not in caplog.text and "eyJexpired" not in caplog.text


def test_a_second_401_is_raised_not_looped(server: RunningSandbox) -> None:
    server.sandbox.add_realm("8102", "empty", 1)
    tokens = CountingTokens(["eyJbad-one-0123456789", "eyJbad-two-0123456789"])
    client = QboClient("8102", server.base_url, tokens)
    with pytest.raises(errors.AuthenticationError) as caught:
        client.query("SELECT * FROM Term")
    assert len(tokens.refreshes) == 1
    assert "eyJbad" not in str(caught.value)


def test_transient_faults_are_retried_validation_faults_are_not(server: RunningSandbox) -> None:
    server.sandbox.add_realm("8103", "tiny", 1)
    token = server.connect("8103")["access_token"]
    sleeps: list[float] = []
    client = QboClient(
        "8103",
        server.base_url,
        StaticTokens(token),
        sleep=sleeps.append,
        retry=RetryPolicy(max_attempts=5, base_seconds=0.01),
        seed=3,
    )
    server.sandbox.configure({"faults": {"seed": 1, "rate_503": 0.5, "rate_reset": 0.2}})
    for _ in range(5):
        assert client.query("SELECT * FROM Term").get("Term")
    assert client.stats.retries == len(sleeps) > 0
    server.sandbox.configure({"faults": {"rate_503": 0, "rate_reset": 0}})
    before = client.stats.requests
    with pytest.raises(errors.QueryError):
        client.query("SELECT * FROM Custmoer")
    assert client.stats.requests == before + 1


def test_retries_give_up_after_max_attempts_with_the_typed_error(server: RunningSandbox) -> None:
    server.sandbox.add_realm("8104", "empty", 1)
    token = server.connect("8104")["access_token"]
    client = QboClient(
        "8104", server.base_url, StaticTokens(token), sleep=lambda _: None, retry=RetryPolicy(max_attempts=3)
    )
    server.sandbox.configure({"faults": {"rate_429": 1.0}})
    with pytest.raises(errors.ThrottledError):
        client.query("SELECT * FROM Term")
    assert client.stats.requests == 3


# -- the retry rules, on scripted answers (no server) -----------------------------------------------


def answer(status: int, body: bytes = b'{"QueryResponse": {}}', **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update({"content-type": "application/json", **headers})
    return response


@dataclass
class ScriptedSession:
    """A session double that plays a script of answers (or raises its exceptions), one per request."""

    script: list[requests.Response | Exception]
    sent: list[str] = field(default_factory=list)  # the bearer token of each request

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.sent.append(kwargs["headers"]["Authorization"])
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def scripted_client(
    script: list[requests.Response | Exception], tokens: Any = None, **policy: Any
) -> tuple[QboClient, ScriptedSession, list[float]]:
    session, sleeps = ScriptedSession(script), []
    client = QboClient(
        "8200",
        "http://qbo.invalid",
        tokens or StaticTokens("eyJgood-token-0123456789"),
        session=session,  # type: ignore[arg-type]
        retry=RetryPolicy(**policy),
        sleep=sleeps.append,
        seed=5,
    )
    return client, session, sleeps


THROTTLED = (
    b"<IntuitResponse><Fault><Error code='3001'><Message>throttled</Message></Error></Fault></IntuitResponse>"
)


def test_retry_after_is_honoured_up_to_four_times_the_cap(caplog: pytest.LogCaptureFixture) -> None:
    script: list[requests.Response | Exception] = [
        answer(429, THROTTLED, **{"content-type": "application/xml", "Retry-After": "3"}),
        answer(429, b"", **{"Retry-After": "600"}),
        answer(200),
    ]
    client, _, sleeps = scripted_client(script, max_attempts=3, cap_seconds=2.0)
    with caplog.at_level(logging.WARNING, logger="qbo.client"):
        assert client.query("SELECT * FROM Term") == {}
    assert sleeps == [3.0, 8.0]  # Retry-After as sent; 600 s capped at 4 x cap_seconds
    assert client.stats.requests == 3 and client.stats.retries == 2
    assert "realm 8200: ThrottledError on POST query, retry 1 in 3.0s" in caplog.text


def test_back_off_is_full_jitter_exponential_and_gives_up_after_max_attempts() -> None:
    client, _, sleeps = scripted_client(
        [answer(503, b"") for _ in range(6)], max_attempts=6, base_seconds=1.0, cap_seconds=4.0
    )
    with pytest.raises(errors.ServerError):
        client.query("SELECT * FROM Term")
    assert client.stats.requests == 6 and client.stats.retries == len(sleeps) == 5
    windows = [1.0, 2.0, 4.0, 4.0, 4.0]  # base doubling per attempt, capped; the wait is drawn in [0, window]
    assert all(0 <= wait <= window for wait, window in zip(sleeps, windows, strict=True))
    assert len(set(sleeps)) == 5


def test_transport_errors_truncated_bodies_and_faults_in_200_answers_are_retried() -> None:
    server_fault_in_200 = b'{"Fault": {"Error": [{"code": "10000", "Message": "An application error"}]}}'
    client, session, sleeps = scripted_client(
        [
            requests.ConnectionError("reset by peer"),
            answer(200, b'{"QueryResponse": {"Term": [{"Id"'),  # truncated
            answer(200, server_fault_in_200),
            answer(200, b'{"QueryResponse": {"Term": [{"Id": "1"}]}}'),
        ]
    )
    assert client.query("SELECT * FROM Term") == {"Term": [{"Id": "1"}]}
    assert client.stats.requests == 4 and client.stats.retries == len(sleeps) == 3
    assert session.script == []


def test_a_validation_fault_in_a_200_answer_is_raised_at_once() -> None:
    fault = b'{"Fault": {"Error": [{"code": "2020", "Message": "Required param missing"}]}}'
    client, _, sleeps = scripted_client([answer(200, fault), answer(200)])
    with pytest.raises(errors.ValidationError):
        client.query("SELECT * FROM Term")
    assert client.stats.requests == 1 and sleeps == []


def test_the_token_refresh_is_not_a_back_off_retry() -> None:
    # max_attempts=1: no back-off retry at all, yet the one forced refresh still happens, without a wait
    tokens = CountingTokens(["eyJstale-token-0123456789", "eyJfresh-token-0123456789"])
    client, session, sleeps = scripted_client([answer(401, b""), answer(200)], tokens, max_attempts=1)
    assert client.query("SELECT * FROM Term") == {}
    assert session.sent == ["Bearer eyJstale-token-0123456789", "Bearer eyJfresh-token-0123456789"]
    assert tokens.refreshes == ["eyJstale-token-0123456789"]
    assert client.stats.requests == 2 and client.stats.retries == 0 and sleeps == []
    # the resend after the refresh is an attempt like the others: here, the last one
    tokens = CountingTokens(["eyJstale-token-0123456789", "eyJfresh-token-0123456789"])
    client, session, sleeps = scripted_client(
        [answer(503, b""), answer(401, b""), answer(503, b"")], tokens, max_attempts=2
    )
    with pytest.raises(errors.ServerError):
        client.query("SELECT * FROM Term")
    assert client.stats.requests == 3 and client.stats.retries == len(sleeps) == 1


@dataclass
class FailingTokens:
    """A token manager whose own call to Intuit fails (with a fault that is retryable for QBO calls)."""

    on_refresh: bool
    calls: int = 0

    def access_token(self, realm_id: str) -> str:
        self.calls += 1
        if not self.on_refresh:
            raise errors.TransportError("transport", "could not reach Intuit's OAuth endpoint")
        return "eyJstale-token-0123456789"

    def force_refresh(self, realm_id: str, rejected_access_token: str) -> str:
        self.calls += 1
        raise errors.ServerError("503", "Intuit's OAuth endpoint answered HTTP 503", status=503)


@pytest.mark.parametrize("on_refresh", [False, True])
def test_a_failing_token_manager_is_not_retried_by_the_client(on_refresh: bool) -> None:
    tokens = FailingTokens(on_refresh)
    client, _, sleeps = scripted_client([answer(401, b""), answer(200)], tokens)
    with pytest.raises(errors.ServerError if on_refresh else errors.TransportError):
        client.query("SELECT * FROM Term")
    assert tokens.calls == (2 if on_refresh else 1)  # it retries on its own (OAuthClient.retries)
    assert client.stats.requests == (1 if on_refresh else 0) and sleeps == []
