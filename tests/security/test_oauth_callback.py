"""Issue 15, item 3: the OAuth callback (gateway and `qbo connect --code`) trusts nothing it is handed.

A state works once; a hostile state is a 400 naming `state`, never a 500; the realmId of a redirect
must be the realm the code's tokens open (QBO answers 403 for a token of another company), else the
tokens are revoked and nothing is stored; a realm bound to another tenant is refused before the code
is spent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fastapi.testclient import TestClient

from pipelines.connect import state_secret
from pipelines.runtime.connector import Connector
from sandbox.background import RunningSandbox
from sandbox.demo.world import authorization_code, sandbox_settings
from service.app import create_app
from sources.quickbooks.oauth import _b64, _key, _sign

ROOT = Path(__file__).resolve().parents[2]
CALLBACK = "/integrations/quickbooks/callback"
KEY = "key-for-every-tenant-0123456789"
MINE, OTHER = "4242", "4343"


@dataclass
class Gateway:
    server: RunningSandbox
    connector: Connector
    http: TestClient

    def consent(self, tenant: str, realm_id: str) -> dict[str, str]:
        """The gateway's connect URL, consented for `realm_id` (the sandbox consents at once): what
        Intuit puts on the redirect (code, state, realmId)."""
        answer = self.http.get(
            "/integrations/quickbooks/connect-url", params={"tenant": tenant}, headers={"x-api-key": KEY}
        )
        assert answer.status_code == 200, answer.text
        redirect = requests.get(
            f"{answer.json()['url']}&realmId={realm_id}", allow_redirects=False, timeout=10
        )
        assert redirect.status_code == 302, redirect.text
        return {k: v[0] for k, v in parse_qs(urlsplit(redirect.headers["location"]).query).items()}

    def callback(self, **params: str) -> tuple[int, str]:
        answer = self.http.get(CALLBACK, params=params)
        return answer.status_code, answer.text

    def grants(self, realm_id: str) -> int:
        """Tokens the sandbox (Intuit) holds for the realm: 0 once a grant is revoked."""
        row = self.server.sandbox.store.execute(
            "SELECT COUNT(*) FROM oauth_tokens WHERE realm_id = ?", (realm_id,)
        ).fetchone()
        return int(row[0])

    def connected(self) -> dict[str, str]:
        return {r.realm_id: r.tenant_id for r in self.connector.token_store.list()}


@pytest.fixture
def gateway(server: RunningSandbox, tmp_path: Path) -> Iterator[Gateway]:
    for realm_id in (MINE, OTHER):
        created = requests.post(
            f"{server.base_url}/_sandbox/realms", json={"realm_id": realm_id, "company": "empty"}, timeout=60
        )
        assert created.status_code == 201, created.text
    settings = replace(
        sandbox_settings(server, tmp_path),
        redirect_uri=f"http://testserver{CALLBACK}",
        gateway_api_keys={KEY: frozenset({"*"})},
    )
    connector = Connector(settings)
    with TestClient(create_app(connector)) as http:
        yield Gateway(server, connector, http)
    connector.token_store.dispose()


def exchange_directly(gateway: Gateway, code: str) -> requests.Response:
    """Spend a code at the token endpoint ourselves: 200 proves nobody spent it before."""
    return requests.post(
        f"{gateway.server.base_url}/oauth2/v1/tokens/bearer",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": gateway.connector.settings.redirect_uri,
        },
        auth=(gateway.server.client_id, gateway.server.client_secret),
        timeout=10,
    )


def test_a_state_works_once(gateway: Gateway) -> None:
    redirect = gateway.consent("tenant-a", MINE)
    assert gateway.callback(**redirect)[0] == 200
    assert gateway.connected() == {MINE: "tenant-a"}

    status, page = gateway.callback(**redirect)  # the same link again
    assert status == 400
    assert "this connect link was already used; start again from qbo connect / the connect URL" in page

    # the used state with a fresh code (a second consent carrying the old state) is refused just the same,
    # before that code is spent
    fresh = gateway.consent("tenant-a", MINE)
    status, page = gateway.callback(code=fresh["code"], realmId=MINE, state=redirect["state"])
    assert status == 400 and "already used" in page and "state" in page
    assert exchange_directly(gateway, fresh["code"]).status_code == 200


@pytest.mark.parametrize(
    "state",
    [
        "\u00e9",
        "%%%",
        "x" * 10_240,
        "",
        "no-dot",
        ".signature",
        "payload.",
        "a.b.c",
        "\u00e9.\u00e9",
        "p\x00.s",
    ],
    ids=[
        "non-ascii",
        "percents",
        "10KB",
        "empty",
        "no-dot",
        "no-payload",
        "no-signature",
        "two-dots",
        "both-non-ascii",
        "nul",
    ],
)
def test_a_malformed_state_is_a_400_naming_state_never_a_500(gateway: Gateway, state: str) -> None:
    status, page = gateway.callback(state=state, code="c0de", realmId=MINE)
    assert status == 400, page
    assert "state:" in page and "start again" in page.lower()
    assert gateway.connected() == {}


def test_raw_percent_signs_in_the_query_are_a_400(gateway: Gateway) -> None:
    answer = gateway.http.get(f"{CALLBACK}?state=%%%&code=%%%&realmId=%%%")
    assert answer.status_code == 400 and "state:" in answer.text


def test_a_signed_state_missing_its_parts_is_malformed(gateway: Gateway) -> None:
    """Signed with the right key but without a nonce, a tenant or an expiry: refused all the same."""
    key = _key(state_secret(gateway.connector))
    for claims in (
        '{"t":"tenant-a","exp":9999999999}',
        '{"n":"abc","exp":9999999999}',
        '{"t":"a","n":"b"}',
        "[]",
    ):
        payload = _b64(claims.encode())
        status, page = gateway.callback(state=f"{payload}.{_sign(key, payload)}", code="c0de", realmId=MINE)
        assert status == 400 and "state:" in page and "malformed" in page, claims


def test_a_crafted_realm_id_is_refused_revoked_and_nothing_stored(gateway: Gateway) -> None:
    redirect = gateway.consent("tenant-a", MINE)  # the person consented for MINE ...
    status, page = gateway.callback(**{**redirect, "realmId": OTHER})  # ... the redirect claims OTHER
    assert status == 400
    assert "realmId:" in page and f"not for company {OTHER}" in page and "nothing was stored" in page
    assert gateway.connected() == {}
    assert gateway.grants(MINE) == 0  # the tokens the code gave were revoked at Intuit

    honest = gateway.consent("tenant-a", MINE)  # the honest redirect still connects
    assert gateway.callback(**honest)[0] == 200
    assert gateway.connected() == {MINE: "tenant-a"}


def test_a_realm_of_another_tenant_is_refused_before_the_code_is_spent(gateway: Gateway) -> None:
    assert gateway.callback(**gateway.consent("tenant-a", MINE))[0] == 200
    theirs = gateway.consent("tenant-b", MINE)
    status, page = gateway.callback(**theirs)
    assert status == 400
    assert "realmId:" in page and f"company {MINE} is already connected for another tenant" in page
    assert "tenant-a" not in page and "qbo disconnect --realm" in page
    assert gateway.connected() == {MINE: "tenant-a"}
    assert exchange_directly(gateway, theirs["code"]).status_code == 200  # never spent


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("realmId", "abc"),
        ("realmId", "1" * 40),
        ("realmId", "\u0664\u0662"),
        ("code", "x" * 600),
        ("code", "a b"),
    ],
)
def test_a_malformed_code_or_realm_id_is_refused_naming_it(gateway: Gateway, field: str, value: str) -> None:
    redirect = gateway.consent("tenant-a", MINE)
    status, page = gateway.callback(**{**redirect, field: value})
    assert status == 400 and f"{field}:" in page and f"{field} must be" in page
    assert gateway.connected() == {}


# -- the same rules for `qbo connect --code C --realm R` ----------------------------------------------


def qbo(gateway: Gateway, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    settings = gateway.connector.settings
    env = {
        **os.environ,
        "SOURCES__QUICKBOOKS__CLIENT_ID": gateway.server.client_id,
        "SOURCES__QUICKBOOKS__CLIENT_SECRET": gateway.server.client_secret,
        "SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS": settings.token_encryption_keys[0],
        "SOURCES__QUICKBOOKS__REDIRECT_URI": settings.redirect_uri,
        "SOURCES__QUICKBOOKS__BUDGET_URL": f"sqlite:///{tmp_path / 'budget.sqlite'}",
    }
    common = ["--qbo-base-url", gateway.server.base_url, "--store", settings.store_url]
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *common, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def code_for(gateway: Gateway, realm_id: str) -> str:
    return authorization_code(gateway.server, gateway.connector.settings.redirect_uri, realm_id)


def test_qbo_connect_with_a_code_applies_the_same_rules(gateway: Gateway, tmp_path: Path) -> None:
    # a code for MINE presented as OTHER's: exit 2, one line, nothing stored, the grant revoked
    crafted = qbo(
        gateway,
        tmp_path,
        "connect",
        "--tenant",
        "tenant-a",
        "--code",
        code_for(gateway, MINE),
        "--realm",
        OTHER,
    )
    assert crafted.returncode == 2, crafted.stderr
    assert crafted.stderr.strip().count("\n") == 0 and f"not for company {OTHER}" in crafted.stderr
    assert "Traceback" not in crafted.stderr and gateway.connected() == {} and gateway.grants(MINE) == 0

    # a realm id that is not one
    malformed = qbo(gateway, tmp_path, "connect", "--code", "c0de", "--realm", "abc")
    assert malformed.returncode == 2 and "realmId must be" in malformed.stderr
    assert malformed.stderr.strip().count("\n") == 0

    # honest: connected; then another tenant's code for that realm is refused before it is spent
    honest = qbo(
        gateway,
        tmp_path,
        "connect",
        "--tenant",
        "tenant-a",
        "--code",
        code_for(gateway, MINE),
        "--realm",
        MINE,
    )
    assert honest.returncode == 0, honest.stderr
    theirs = code_for(gateway, MINE)
    taken = qbo(gateway, tmp_path, "connect", "--tenant", "tenant-b", "--code", theirs, "--realm", MINE)
    assert taken.returncode == 2 and taken.stderr.strip().count("\n") == 0
    assert "already connected for another tenant" in taken.stderr and "tenant-a" not in taken.stderr
    assert exchange_directly(gateway, theirs).status_code == 200
    assert gateway.connected() == {MINE: "tenant-a"}
