"""OAuth client and token store against the sandbox on loopback: the flow, rotation, keys, state,
secrecy, reconnect, the 5-year expiry, and one refresher per realm across 8 processes (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if multiprocessing.parent_process() is not None and "sources.quickbooks" not in sys.modules:
    # A spawned token worker (below) needs only the OAuth and token modules. Importing the package's
    # __init__ would load dlt and the whole source: ~1.5 s of CPU per worker, times 8, for nothing.
    import types

    import sources

    _package = types.ModuleType("sources.quickbooks")
    _package.__path__ = [str(Path(sources.__file__).parent / "quickbooks")]
    sys.modules["sources.quickbooks"] = _package

import pytest
import requests
from sqlalchemy import select, update

from sources.quickbooks.errors import ReconnectRequired, ServerError, TransportError
from sources.quickbooks.oauth import (
    ACCOUNTING_SCOPE,
    Endpoints,
    InvalidState,
    OAuthClient,
    OAuthConfigError,
    TokenSet,
    make_state,
    parse_callback,
    verify_state,
)
from sources.quickbooks.token_store import (
    RECONNECT_REQUIRED,
    NotConnected,
    TokenStore,
    TokenStoreError,
    generate_key,
    tokens_table,
)
from sources.quickbooks.tokens import TokenManager

if TYPE_CHECKING:
    from sandbox.background import RunningSandbox

SAMPLES = Path(__file__).parent.parent / "fixtures" / "qbo"
REDIRECT_URI = "http://127.0.0.1:9/callback"
STATE_KEY = "state-signing-key-for-tests-0123456789"
TENANT = "tenant-a"
REALM = "4620816365"


def sample(name: str) -> Any:
    # not tests.conftest.sample: the spawned workers import this module, and conftest pulls in the sandbox
    return json.loads((SAMPLES / name).read_text(encoding="utf-8-sig"))


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def keys() -> list[str]:
    return [generate_key()]


@pytest.fixture
def store(db_url: str, keys: list[str]) -> Iterator[TokenStore]:
    s = TokenStore(db_url, keys=keys)
    yield s
    s.dispose()


def add_realm(server: RunningSandbox, realm_id: str = REALM) -> str:
    created = requests.post(
        f"{server.base_url}/_sandbox/realms", json={"realm_id": realm_id, "company": "empty"}, timeout=60
    )
    assert created.status_code == 201, created.text
    return realm_id


def configure(server: RunningSandbox, **oauth: Any) -> None:
    response = requests.post(f"{server.base_url}/_sandbox/config", json={"oauth": oauth}, timeout=10)
    assert response.status_code == 200, response.text


def refreshes_issued(server: RunningSandbox, realm_id: str) -> int:
    """Refresh tokens the sandbox issued for the realm, minus the code exchange's."""
    row = server.sandbox.store.execute(
        "SELECT COUNT(*) FROM oauth_tokens WHERE kind = 'refresh' AND realm_id = ?", (realm_id,)
    ).fetchone()
    return int(row[0]) - 1


class RecordingSession(requests.Session):
    """A real session that keeps what it sent, to check the wire format."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        return super().send(request, **kwargs)


def client_for(server: RunningSandbox, **kwargs: Any) -> OAuthClient:
    return OAuthClient(
        kwargs.pop("client_id", server.client_id),
        kwargs.pop("client_secret", server.client_secret),
        REDIRECT_URI,
        discovery_url=server.discovery_url,
        **kwargs,
    )


def authorize(server: RunningSandbox, client: OAuthClient, tenant_id: str = TENANT) -> tuple[str, str, str]:
    """Send the person to Intuit (the sandbox consents at once); the callback's code, realm and tenant."""
    url = client.authorize_url(make_state(tenant_id, STATE_KEY))
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    callback = parse_callback(answer.headers["location"])
    assert answer.headers["location"].startswith(REDIRECT_URI + "?")
    return callback.code, callback.realm_id, verify_state(callback.state, STATE_KEY)


def connect(server: RunningSandbox, manager: TokenManager) -> str:
    code, realm_id, tenant_id = authorize(server, manager.oauth)
    manager.connect(tenant_id, code, realm_id)
    return realm_id


def api_status(server: RunningSandbox, realm_id: str, token: str) -> int:
    response = requests.get(
        f"{server.api_url(realm_id)}/companyinfo/{realm_id}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=10,
    )
    return response.status_code


def expire_access_token(store: TokenStore, realm_id: str) -> None:
    """Fake the clock running out on the stored access token."""
    with store.engine.begin() as conn:
        conn.execute(
            update(tokens_table)
            .where(tokens_table.c.realm_id == realm_id)
            .values(access_token_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def stored_refresh_token(store: TokenStore, realm_id: str) -> str:
    with store.locked(realm_id) as row:
        return row.refresh_token()


# -- the flow -------------------------------------------------------------------------------------


def test_authorization_code_flow_stores_encrypted_tokens(server: RunningSandbox, store: TokenStore) -> None:
    add_realm(server)
    session = RecordingSession()
    manager = TokenManager(store, client_for(server, session=session))

    authorize_url = manager.oauth.authorize_url("s1")
    parts = urlsplit(authorize_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{server.base_url}/connect/oauth2"
    assert parse_qs(parts.query) == {
        "client_id": [server.client_id],
        "response_type": ["code"],
        "scope": [ACCOUNTING_SCOPE],
        "redirect_uri": [REDIRECT_URI],
        "state": ["s1"],
    }

    code, realm_id, tenant_id = authorize(server, manager.oauth)
    assert (realm_id, tenant_id) == (REALM, TENANT)
    before = datetime.now(UTC)
    record = manager.connect(tenant_id, code, realm_id)
    after = datetime.now(UTC)

    exchange = session.sent[-1]
    assert exchange.headers["Authorization"].startswith("Basic ")
    assert exchange.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert exchange.headers["x-include-refresh-token-hard-expires-in"] == "true"
    assert parse_qs(exchange.body) == {
        "grant_type": ["authorization_code"],
        "code": [code],
        "redirect_uri": [REDIRECT_URI],
    }

    assert record.tenant_id == TENANT and record.realm_id == REALM and not record.needs_reconnect
    assert record.scopes == (ACCOUNTING_SCOPE,)
    # lifetimes count from when the request left: never later than Intuit's own clock
    assert before + timedelta(hours=1) <= record.access_token_expires_at <= after + timedelta(hours=1)
    assert before + timedelta(days=100) < record.refresh_token_expires_at <= after + timedelta(days=101)
    assert record.refresh_token_hard_expires_at is not None
    assert record.refresh_token_hard_expires_at - before > timedelta(days=5 * 365 - 1)

    token = manager.access_token(REALM)
    assert api_status(server, REALM, token) == 200
    assert refreshes_issued(server, REALM) == 0  # a fresh token is not refreshed

    with store.engine.connect() as conn:  # encrypted at rest
        row = conn.execute(select(tokens_table)).mappings().one()
    assert token not in str(dict(row)) and stored_refresh_token(store, REALM) not in str(dict(row))

    # a code is single use: a replayed callback is refused and says how to recover
    with pytest.raises(ReconnectRequired, match=f"qbo connect --realm {REALM}"):
        manager.oauth.exchange_code(code, realm_id)

    # one realm, one tenant: another tenant cannot take over a connected realm
    with pytest.raises(TokenStoreError, match="connected for tenant 'tenant-a'"):
        manager.save("tenant-b", REALM, TokenSet("eyJ-other", "RT1-other", after, after))
    assert [r.realm_id for r in manager.list()] == [REALM]
    assert manager.delete(REALM) and manager.list() == []
    with pytest.raises(NotConnected, match=f"qbo connect --realm {REALM}"):
        manager.access_token(REALM)


def test_explicit_endpoints_and_intuit_token_answer() -> None:
    endpoints = Endpoints.from_document(sample("oidc_discovery_document.json"))
    client = OAuthClient("app-id", "app-secret", "https://example.invalid/cb", endpoints=endpoints)
    url = client.authorize_url("st", scopes=(ACCOUNTING_SCOPE, "openid"))
    assert url.startswith("https://appcenter.intuit.com/connect/oauth2?client_id=app-id&response_type=code")
    assert parse_qs(urlsplit(url).query)["scope"] == [f"{ACCOUNTING_SCOPE} openid"]
    assert endpoints.token_endpoint == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"

    issued = datetime(2026, 1, 1, tzinfo=UTC)
    tokens = TokenSet.from_response(sample("token_response_hard_expiry.json"), issued_at=issued, realm_id="1")
    assert tokens.access_token_expires_at == issued + timedelta(seconds=3600)
    assert tokens.refresh_token_expires_at == issued + timedelta(seconds=8726400)
    assert tokens.refresh_token_hard_expires_at == issued + timedelta(seconds=156032154)
    assert "RT1-39" not in repr(tokens) and "eyJ" not in str(tokens)
    assert TokenSet.from_response(sample("token_response.json")).refresh_token_hard_expires_at is None


# -- refresh --------------------------------------------------------------------------------------


def test_refresh_rotates_and_persists_the_new_refresh_token(
    server: RunningSandbox, store: TokenStore, db_url: str, keys: list[str]
) -> None:
    add_realm(server)
    configure(server, refresh_grace=0)  # a used refresh token dies at once
    session = RecordingSession()
    manager = TokenManager(store, client_for(server, session=session))
    connect(server, manager)
    first_access, first_refresh = manager.access_token(REALM), stored_refresh_token(store, REALM)

    expire_access_token(store, REALM)
    manager._cache.clear()  # the process-local cache would still hold the (fake-expired) token
    second_access = manager.access_token(REALM)

    assert second_access != first_access and api_status(server, REALM, second_access) == 200
    refresh = session.sent[-1]
    assert parse_qs(refresh.body) == {"grant_type": ["refresh_token"], "refresh_token": [first_refresh]}
    assert refresh.headers["x-include-refresh-token-hard-expires-in"] == "true"
    assert refresh.headers["Authorization"].startswith("Basic ")
    assert refresh.headers["Content-Type"] == "application/x-www-form-urlencoded"

    # another process (its own engine) finds the rotated refresh token, and Intuit accepts it
    other = TokenStore(db_url, keys=keys)
    try:
        rotated = stored_refresh_token(other, REALM)
        assert rotated != first_refresh
        assert other.get(REALM).refresh_token_hard_expires_at is not None
        assert client_for(server).refresh(rotated, realm_id=REALM).access_token
    finally:
        other.dispose()
    assert refreshes_issued(server, REALM) == 2


def test_force_refresh_only_when_the_rejected_token_is_still_stored(
    server: RunningSandbox, store: TokenStore
) -> None:
    add_realm(server)
    manager = TokenManager(store, client_for(server))
    connect(server, manager)
    rejected = manager.access_token(REALM)

    renewed = manager.force_refresh(REALM, rejected)
    assert renewed != rejected and refreshes_issued(server, REALM) == 1
    # a second worker that saw the same 401 gets the renewed token without another refresh
    other = TokenManager(store, client_for(server))
    assert other.force_refresh(REALM, rejected) == renewed
    assert manager.access_token(REALM) == renewed
    assert refreshes_issued(server, REALM) == 1


# -- keys -----------------------------------------------------------------------------------------


def test_key_rotation_re_encrypts_every_row(server: RunningSandbox, db_url: str) -> None:
    add_realm(server)
    add_realm(server, "777")
    old, new = generate_key(), generate_key()
    with_old = TokenStore(db_url, keys=[old])
    manager = TokenManager(with_old, client_for(server))
    connect(server, manager)
    # the sandbox consents for its first realm unless told otherwise: connect 777 explicitly
    params = {
        "client_id": server.client_id,
        "response_type": "code",
        "scope": ACCOUNTING_SCOPE,
        "redirect_uri": REDIRECT_URI,
        "state": "x",
        "realmId": "777",
    }
    answer = requests.get(
        f"{server.base_url}/connect/oauth2", params=params, allow_redirects=False, timeout=10
    )
    manager.connect("tenant-b", parse_callback(answer.headers["location"]).code, "777")
    tokens_before = {realm: manager.access_token(realm) for realm in (REALM, "777")}

    rotating = TokenStore(db_url, keys=[new, old])  # the new key first: it encrypts, both decrypt
    assert rotating.rotate_keys() == 2
    only_new = TokenStore(db_url, keys=f"{new}")  # a comma/space separated string works too
    only_old = TokenStore(db_url, keys=[old])
    try:
        for realm, token in tokens_before.items():
            assert only_new.current(realm)[1] == token
            with pytest.raises(TokenStoreError, match="cannot be decrypted") as caught:
                only_old.current(realm)
            assert token not in str(caught.value)
        assert TokenManager(only_new, client_for(server)).access_token("777") == tokens_before["777"]

        # a ciphertext copied onto another realm's row is refused (nothing of realm A for realm B)
        with only_new.engine.begin() as conn:
            theirs = conn.execute(
                select(tokens_table.c.access_token_encrypted).where(tokens_table.c.realm_id == "777")
            ).scalar_one()
            conn.execute(
                update(tokens_table)
                .where(tokens_table.c.realm_id == REALM)
                .values(access_token_encrypted=theirs)
            )
        with pytest.raises(TokenStoreError, match="belongs to another realm"):
            only_new.current(REALM)
    finally:
        for s in (with_old, rotating, only_new, only_old):
            s.dispose()

    with pytest.raises(TokenStoreError, match="not a Fernet key"):
        TokenStore(db_url, keys=["not-a-key"])
    with pytest.raises(TokenStoreError, match="no token encryption key"):
        TokenStore(db_url, keys=[])


# -- state ----------------------------------------------------------------------------------------


def test_state_valid_forged_expired() -> None:
    now = time.time()
    state = make_state("tenant-42", STATE_KEY, ttl=600, now=now)
    assert verify_state(state, STATE_KEY, now=now + 599) == "tenant-42"
    assert make_state("tenant-42", STATE_KEY, now=now) != state  # a nonce: every state is different
    assert all(c.isalnum() or c in "-_." for c in state)  # URL-safe as is

    with pytest.raises(InvalidState, match="expired") as expired:
        verify_state(state, STATE_KEY, now=now + 601)
    assert expired.value.reason == "expired"

    payload, _, signature = state.partition(".")
    other_payload = make_state("tenant-666", STATE_KEY, now=now).partition(".")[0]
    forgeries = [
        f"{other_payload}.{signature}",  # another tenant under this signature
        f"{payload}.{signature[:-2]}AA",  # a changed signature
        make_state("tenant-42", "another-key-of-sufficient-length", now=now),  # signed with another key
    ]
    for forged in forgeries:
        with pytest.raises(InvalidState, match="signature does not match") as caught:
            verify_state(forged, STATE_KEY, now=now)
        assert caught.value.reason == "forged"
    for malformed in ("", "no-dot", ".sig", "payload."):
        with pytest.raises(InvalidState) as caught:
            verify_state(malformed, STATE_KEY, now=now)
        assert caught.value.reason == "malformed"
    with pytest.raises(ValueError, match="at least 16 bytes"):
        make_state("t", "short")


# -- secrecy --------------------------------------------------------------------------------------


def test_tokens_and_secret_never_in_errors_reprs_or_logs(
    server: RunningSandbox, store: TokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_realm(server)
    configure(server, refresh_grace=0)
    manager = TokenManager(store, client_for(server))
    connect(server, manager)
    secrets_seen = {server.client_secret, manager.access_token(REALM), stored_refresh_token(store, REALM)}
    stale_refresh = stored_refresh_token(store, REALM)
    secrets_seen.add(manager.force_refresh(REALM, manager.access_token(REALM)))
    secrets_seen.add(stored_refresh_token(store, REALM))
    texts: list[str] = [repr(manager), repr(store), repr(manager.oauth), repr(store.get(REALM))]
    texts += [repr(r) for r in manager.list()]
    with store.locked(REALM) as row:
        texts += [repr(row), str(row.record)]

    # invalid_grant with the token echoed back by the server: the message carries neither
    with pytest.raises(ReconnectRequired) as grant:
        manager.oauth.refresh(stale_refresh, realm_id=REALM)
    texts += [str(grant.value), repr(grant.value), str(grant.value.to_dto())]
    echoing = fake_session(
        400, {"error": "invalid_grant", "error_description": f"Token {stale_refresh} invalid"}
    )
    with pytest.raises(ReconnectRequired) as echoed:
        client_for(server, session=echoing).refresh(stale_refresh, realm_id=REALM)
    texts += [str(echoed.value), repr(echoed.value)]

    wrong_secret = "wrong-secret-9f8e7d6c5b4a"
    secrets_seen.add(wrong_secret)
    with pytest.raises(OAuthConfigError, match="client_id") as config:
        client_for(server, client_secret=wrong_secret).refresh(stale_refresh, realm_id=REALM)
    texts += [str(config.value), repr(config.value)]
    assert server.client_id in str(config.value)

    token_set = client_for(server).refresh(stored_refresh_token(store, REALM), realm_id=REALM)
    secrets_seen |= {token_set.access_token, token_set.refresh_token}
    texts += [repr(token_set), str(token_set)]

    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.args) for record in caplog.records]
    assert any("refreshed tokens of realm" in t for t in texts)  # the logs were captured
    for value in secrets_seen:
        for text_ in texts:
            assert value not in text_


def fake_session(status: int, body: dict[str, Any]) -> requests.Session:
    """A session whose POSTs (the token endpoint) get a canned answer; GETs (discovery) are real."""

    class Fake(requests.Session):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            if request.method != "POST":
                return super().send(request, **kwargs)
            response = requests.Response()
            response.status_code = status
            response._content = requests.models.complexjson.dumps(body).encode()
            response.headers["content-type"] = "application/json"
            response.headers["intuit_tid"] = "tid-1"
            response.request = request
            return response

    return Fake()


# -- reconnect ------------------------------------------------------------------------------------


def test_invalid_grant_marks_the_realm_for_reconnect(server: RunningSandbox, store: TokenStore) -> None:
    add_realm(server)
    configure(server, refresh_grace=0)
    manager = TokenManager(store, client_for(server))
    connect(server, manager)
    old_refresh = stored_refresh_token(store, REALM)
    manager.force_refresh(REALM, manager.access_token(REALM))  # rotates: old_refresh is dead now

    # a restored backup (or a process that lost the rotation) brings the old refresh token back
    record = store.get(REALM)
    store.save(
        TENANT,
        REALM,
        TokenSet(
            "eyJ-stale-access-token-0000",
            old_refresh,
            datetime.now(UTC) - timedelta(seconds=1),
            record.refresh_token_expires_at,
            record.refresh_token_hard_expires_at,
        ),
    )
    manager._cache.clear()
    with pytest.raises(ReconnectRequired) as caught:
        manager.access_token(REALM)
    message = str(caught.value)
    assert f"realm {REALM}" in message and f"qbo connect --realm {REALM}" in message
    assert caught.value.code == "invalid_grant" and caught.value.status == 400

    kept = store.get(REALM)  # kept, marked, and no more calls to Intuit
    assert kept is not None and kept.status == RECONNECT_REQUIRED and kept.needs_reconnect
    assert "invalid_grant" in kept.status_reason
    issued = refreshes_issued(server, REALM)
    with pytest.raises(ReconnectRequired, match=f"qbo connect --realm {REALM}"):
        manager.access_token(REALM)
    with pytest.raises(ReconnectRequired):
        manager.force_refresh(REALM, "eyJ-stale-access-token-0000")
    assert refreshes_issued(server, REALM) == issued

    connect(server, manager)  # the person reconnects: the mark is cleared
    assert not store.get(REALM).needs_reconnect
    assert api_status(server, REALM, manager.access_token(REALM)) == 200


def test_hard_expiry_warning(server: RunningSandbox, store: TokenStore) -> None:
    add_realm(server)
    manager = TokenManager(store, client_for(server))
    connect(server, manager)
    assert manager.hard_expiry_warning(REALM) is None  # five years away

    def fake_hard_expiry(delta: timedelta | None) -> None:
        with store.engine.begin() as conn:
            conn.execute(
                update(tokens_table)
                .where(tokens_table.c.realm_id == REALM)
                .values(refresh_token_hard_expires_at=None if delta is None else datetime.now(UTC) + delta)
            )

    fake_hard_expiry(timedelta(days=20, hours=1))
    notice = manager.hard_expiry_warning(REALM)
    assert notice is not None and "in 20 days" in notice and not notice.startswith("URGENT")
    assert f"qbo connect --realm {REALM}" in notice
    fake_hard_expiry(timedelta(days=5, hours=1))
    urgent = manager.hard_expiry_warning(REALM)
    assert urgent is not None and urgent.startswith("URGENT") and "in 5 days" in urgent
    assert manager.hard_expiry_warnings() == {REALM: urgent}
    fake_hard_expiry(timedelta(days=31))
    assert manager.hard_expiry_warning(REALM) is None
    fake_hard_expiry(None)
    assert manager.hard_expiry_warning(REALM) is None

    fake_hard_expiry(timedelta(seconds=-5))  # past the limit: reconnect, without asking Intuit
    assert "no longer works" in manager.hard_expiry_warning(REALM)
    expire_access_token(store, REALM)
    manager._cache.clear()
    with pytest.raises(ReconnectRequired, match="5-year limit"):
        manager.access_token(REALM)
    assert refreshes_issued(server, REALM) == 0
    assert store.get(REALM).needs_reconnect


# -- one refresher per realm across processes ---------------------------------------------------------

PROCESSES = 8
RUN_SECONDS = 4.0
ACCESS_TTL = 2
MARGIN = 0.5


def _hammer(job: dict[str, Any], barrier: Any) -> dict[str, Any]:
    """One worker's run: an access token, used on the API, in a loop across several expiries."""
    outcome: dict[str, Any] = {"pid": os.getpid(), "calls": 0, "errors": [], "tokens": set(), "force": 0}
    store = manager = None
    t0 = time.monotonic()
    try:
        store = TokenStore(job["db_url"], keys=job["keys"], create=False)
        oauth = OAuthClient(
            job["client_id"],
            job["client_secret"],
            REDIRECT_URI,
            discovery_url=f"{job['base_url']}/.well-known/openid_configuration",
        )
        manager = TokenManager(store, oauth, refresh_margin=MARGIN)
    except Exception as exc:  # reported to the test
        outcome["errors"].append(f"set-up failed: {type(exc).__name__}: {exc}")
    t1 = time.monotonic()
    barrier.wait(timeout=120)  # everybody starts together, set up or not (the others would wait forever)
    t2 = time.monotonic()
    realm_id, session = job["realm_id"], requests.Session()
    url = f"{job['base_url']}/v3/company/{realm_id}/companyinfo/{realm_id}"
    deadline = time.monotonic() + RUN_SECONDS
    while manager is not None and time.monotonic() < deadline:
        try:
            token = manager.access_token(realm_id)
            outcome["tokens"].add(token[-12:])
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            status = session.get(url, headers=headers, timeout=10).status_code
            if status == 401:  # the 401 path: refresh once (unless somebody just did), retry once
                outcome["force"] += 1
                headers["Authorization"] = f"Bearer {manager.force_refresh(realm_id, token)}"
                status = session.get(url, headers=headers, timeout=10).status_code
            if status != 200:
                outcome["errors"].append(f"HTTP {status}")
            outcome["calls"] += 1
        except Exception as exc:
            outcome["errors"].append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.1)
    if store is not None:
        store.dispose()
    outcome["tokens"] = len(outcome["tokens"])
    outcome["timing"] = (round(t1 - t0, 2), round(t2 - t1, 2), round(time.monotonic() - t2, 2))
    return outcome


def _worker_main(jobs: Any, barrier: Any, results: Any) -> None:
    while (job := jobs.get()) is not None:
        results.put(_hammer(job, barrier))
    # every result was read by the test already; skip the interpreter's slow tear-down of 8 processes
    results.close()
    results.join_thread()
    os._exit(0)


class Workers:
    """PROCESSES spawned processes (nothing inherited but their arguments), reused by both back ends."""

    def __init__(self, count: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.barrier, self.results = ctx.Barrier(count), ctx.Queue()
        self.jobs = [ctx.Queue() for _ in range(count)]
        self.processes = [
            ctx.Process(target=_worker_main, args=(jobs, self.barrier, self.results), daemon=True)
            for jobs in self.jobs
        ]
        for process in self.processes:
            process.start()

    def run(self, job: dict[str, Any]) -> list[dict[str, Any]]:
        for jobs in self.jobs:
            jobs.put(job)
        outcomes = []
        try:
            for _ in self.jobs:
                outcomes.append(self.results.get(timeout=180))
        except queue.Empty:
            pytest.fail(f"only {len(outcomes)} of {len(self.jobs)} workers reported")
        return outcomes

    def close(self) -> None:
        for jobs in self.jobs:
            jobs.put(None)
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()


@pytest.fixture(scope="module")
def workers() -> Iterator[Workers]:
    pool = Workers(PROCESSES)
    yield pool
    pool.close()


@pytest.fixture(scope="module", autouse=True)
def _start_workers_early(request: pytest.FixtureRequest) -> None:
    """Start the workers with the module when the process test is selected: they import while the
    other tests run, instead of afterwards."""
    if any(
        getattr(item, "originalname", "") == test_one_refresher_per_realm_across_processes.__name__
        for item in request.session.items
    ):
        request.getfixturevalue("workers")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_refresher_per_realm_across_processes(
    backend: str,
    workers: Workers,
    start_sandbox: Callable[..., RunningSandbox],
    tmp_path: Any,
    request: pytest.FixtureRequest,
) -> None:
    if backend == "sqlite":
        db_url = f"sqlite:///{tmp_path}/integration.sqlite"
    else:
        db_url = request.getfixturevalue("postgres_url")
    server = start_sandbox()
    add_realm(server)
    configure(server, access_token_ttl=ACCESS_TTL, refresh_grace=0)  # any reuse of a rotated token fails
    keys = [generate_key()]
    store = TokenStore(db_url, keys=keys)
    started = time.monotonic()
    connect(server, TokenManager(store, client_for(server)))

    outcomes = workers.run(
        {
            "db_url": db_url,
            "keys": keys,
            "base_url": server.base_url,
            "client_id": server.client_id,
            "client_secret": server.client_secret,
            "realm_id": REALM,
        }
    )
    elapsed = time.monotonic() - started

    errors = [e for o in outcomes for e in o["errors"]]
    assert errors == [], errors[:10]
    assert len({o["pid"] for o in outcomes}) == PROCESSES
    assert all(o["calls"] > 10 for o in outcomes), outcomes
    assert all(o["tokens"] >= 2 for o in outcomes), outcomes  # every worker crossed an expiry
    refreshes = refreshes_issued(server, REALM)
    # a refreshed token lives ACCESS_TTL - MARGIN before the next refresh is due: one refresh per
    # period for everybody, not one per process
    bound = elapsed / (ACCESS_TTL - MARGIN) + 1
    assert 2 <= refreshes <= bound, (refreshes, bound, outcomes)
    assert refreshes < PROCESSES
    assert not store.get(REALM).needs_reconnect
    assert api_status(server, REALM, TokenManager(store, client_for(server)).access_token(REALM)) == 200
    store.dispose()


# -- retries at the token endpoint ------------------------------------------------------------------


class ScriptedPost:
    """A session double for the token endpoint: plays a script of answers (or raises its exceptions)."""

    def __init__(self, *script: requests.Response | Exception) -> None:
        self.script = list(script)
        self.posts = 0

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        self.posts += 1
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]  # the last one repeats
        if isinstance(step, Exception):
            raise step
        return step


def token_answer(status: int, body: Any = None, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body if body is not None else {"error": "busy"}).encode()
    response.headers.update({"content-type": "application/json", **headers})
    return response


def scripted_oauth(session: ScriptedPost, sleeps: list[float], retries: int = 2) -> OAuthClient:
    endpoints = Endpoints.from_document(sample("oidc_discovery_document.json"))
    return OAuthClient(
        "app-id",
        "app-secret",
        REDIRECT_URI,
        endpoints=endpoints,
        session=session,  # type: ignore[arg-type]
        retries=retries,
        sleep=sleeps.append,
    )


def test_refresh_rides_out_transport_errors_and_5xx_with_back_off() -> None:
    sleeps: list[float] = []
    session = ScriptedPost(
        requests.ConnectionError("reset"), token_answer(503), token_answer(200, sample("token_response.json"))
    )
    tokens = scripted_oauth(session, sleeps).refresh("RT1-old-refresh-token-0123", realm_id=REALM)
    assert tokens.access_token == "sample_access_token" and session.posts == 3
    # 0.5 s then 1 s, each plus up to 0.25 s of jitter
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 0.75 and 1.0 <= sleeps[1] <= 1.25


def test_token_endpoint_honours_retry_after_up_to_30_s() -> None:
    sleeps: list[float] = []
    session = ScriptedPost(
        token_answer(429, **{"Retry-After": "4"}),
        token_answer(503, **{"Retry-After": "900"}),
        token_answer(200, sample("token_response.json")),
    )
    scripted_oauth(session, sleeps).refresh("RT1-old-refresh-token-0123", realm_id=REALM)
    assert len(sleeps) == 2 and 4.0 <= sleeps[0] <= 4.25 and 30.0 <= sleeps[1] <= 30.25


@pytest.mark.parametrize(
    ("failure", "raised"),
    [(token_answer(503), ServerError), (requests.Timeout("slow"), TransportError)],
)
def test_token_endpoint_gives_up_after_its_retries_with_the_typed_error(
    failure: requests.Response | Exception, raised: type[Exception]
) -> None:
    sleeps: list[float] = []
    session = ScriptedPost(failure)
    with pytest.raises(raised):
        scripted_oauth(session, sleeps, retries=2).refresh("RT1-old-refresh-token-0123", realm_id=REALM)
    assert session.posts == 3 and len(sleeps) == 2


@pytest.mark.parametrize("failure", [token_answer(503), requests.ConnectionError("reset")])
def test_the_authorization_code_exchange_is_never_retried(failure: requests.Response | Exception) -> None:
    sleeps: list[float] = []
    session = ScriptedPost(failure, token_answer(200, sample("token_response.json")))
    with pytest.raises((ServerError, TransportError)):
        scripted_oauth(session, sleeps, retries=5).exchange_code("single-use-code", REALM)
    assert session.posts == 1 and sleeps == []
