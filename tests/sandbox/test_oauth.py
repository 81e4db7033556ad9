"""OAuth 2.0 on the sandbox: discovery, consent, exchange, rotation with a grace period, expiry, revoke."""

from __future__ import annotations

import time

import requests

from sandbox.background import RunningSandbox
from sandbox.settings import OAuthSettings, SandboxConfig
from tests.conftest import sample
from tests.qbo_http import QboHttp, fault_code


def refresh(server: RunningSandbox, token: str, basic: bool = True, **headers: str) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token}
    if basic:
        return requests.post(
            f"{server.base_url}/oauth2/v1/tokens/bearer",
            data=data,
            auth=(server.client_id, server.client_secret),
            headers=headers,
            timeout=10,
        )
    data |= {"client_id": server.client_id, "client_secret": server.client_secret}
    return requests.post(f"{server.base_url}/oauth2/v1/tokens/bearer", data=data, headers=headers, timeout=10)


def test_discovery_names_every_endpoint_on_the_sandbox_host(server: RunningSandbox) -> None:
    doc = requests.get(server.discovery_url, timeout=10).json()
    real = sample("oidc_discovery_document.json")
    assert set(doc) == set(real)
    for key in (
        "authorization_endpoint",
        "token_endpoint",
        "revocation_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ):
        assert doc[key].startswith(server.base_url)


def test_token_response_shape_and_hard_expiry_header(tiny: QboHttp, server: RunningSandbox) -> None:
    real = sample("token_response.json")
    assert set(real) - set(tiny.tokens) == {"id_token"}  # id_token only with openid scope, not asked here
    assert tiny.tokens["expires_in"] == 3600 and tiny.tokens["x_refresh_token_expires_in"] == 8726400
    hard = refresh(
        server, tiny.tokens["refresh_token"], **{"x-include-refresh-token-hard-expires-in": "true"}
    )
    assert set(hard.json()) == set(sample("token_response_hard_expiry.json"))
    assert 0 < hard.json()["x_refresh_token_hard_expires_in"] <= 5 * 365 * 86400


def test_authorize_redirect_carries_code_state_and_realm(tiny: QboHttp, server: RunningSandbox) -> None:
    response = requests.get(
        f"{server.base_url}/connect/oauth2",
        params={
            "client_id": server.client_id,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": "https://app.example/cb",
            "state": "s-123",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("https://app.example/cb?") and "state=s-123" in location
    assert f"realmId={tiny.realm_id}" in location
    bad = requests.get(f"{server.base_url}/connect/oauth2", params={"client_id": "someone-else"}, timeout=10)
    assert bad.status_code == 400


def test_refresh_rotates_and_the_old_token_dies_after_the_grace_period(start_sandbox) -> None:
    server = start_sandbox(SandboxConfig(oauth=OAuthSettings(refresh_grace=0.3)))
    client = QboHttp.create(server, "empty", realm_id="3003")
    old = client.tokens["refresh_token"]
    rotated = refresh(server, old, basic=False)  # client credentials in the form body also work
    assert rotated.status_code == 200
    new = rotated.json()["refresh_token"]
    assert new != old
    assert refresh(server, old).status_code == 200  # within the grace period
    time.sleep(0.4)
    late = refresh(server, old)
    assert late.status_code == 400
    assert late.json() == sample("token_error_invalid_grant.json")
    assert "intuit_tid" in late.headers
    assert refresh(server, new).status_code == 200


def test_access_tokens_expire_and_revoke_kills_the_whole_grant(start_sandbox) -> None:
    server = start_sandbox(SandboxConfig(oauth=OAuthSettings(access_token_ttl=1)))
    client = QboHttp.create(server, "empty", realm_id="4004")
    assert client.get("preferences").status_code == 200
    time.sleep(1.2)
    expired = client.get("preferences")
    assert expired.status_code == 401 and fault_code(expired) == "3200"
    fresh = refresh(server, client.tokens["refresh_token"]).json()
    client.tokens = fresh
    assert client.get("preferences").status_code == 200
    revoked = requests.post(
        f"{server.base_url}/v2/oauth2/tokens/revoke",
        json={"token": fresh["refresh_token"]},
        auth=(server.client_id, server.client_secret),
        timeout=10,
    )
    assert revoked.status_code == 200
    assert client.get("preferences").status_code == 401
    assert refresh(server, fresh["refresh_token"]).status_code == 400


def test_wrong_client_secret_is_invalid_client(server: RunningSandbox) -> None:
    response = requests.post(
        f"{server.base_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=(server.client_id, "wrong"),
        timeout=10,
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
