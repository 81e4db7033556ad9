"""Typed errors from every fault envelope, and the client's retry / refresh / redaction rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

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
