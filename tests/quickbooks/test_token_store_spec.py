"""The token store's row is SPEC §2.3's token record (id, tenant, realm, encrypted tokens, expiries,
scopes, created/updated), its JSON leaves the tokens out unless asked, and a store of the old layout
is upgraded in place on first open, its connections still refreshing (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.schema import CreateTable

from sources.quickbooks.oauth import ACCOUNTING_SCOPE, TokenSet, parse_callback
from sources.quickbooks.token_store import (
    ACTIVE,
    RECONNECT_REQUIRED,
    QboLocation,
    TokenStore,
    TokenStoreError,
    generate_key,
    tokens_table,
)
from sources.quickbooks.tokens import TokenManager
from tests.quickbooks.test_oauth_tokens import (
    REALM,
    TENANT,
    add_realm,
    api_status,
    authorize,
    client_for,
    expire_access_token,
    refreshes_issued,
    stored_refresh_token,
)

if TYPE_CHECKING:
    from sandbox.background import RunningSandbox

# SPEC §2.3, as written there
SPEC_SCHEMA: dict[str, Any] = {
    "$id": "https://example.com/schemas/QuickBooksToken.json",
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "tenantId": {"type": "string"},
        "realmId": {"type": "string"},
        "accessToken": {"type": "string"},
        "refreshToken": {"type": "string"},
        "accessTokenExpiresAt": {"type": "string", "format": "date-time"},
        "refreshTokenExpiresAt": {"type": "string", "format": "date-time"},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "createdAt": {"type": "string", "format": "date-time"},
        "updatedAt": {"type": "string", "format": "date-time"},
    },
    "required": [
        "id",
        "tenantId",
        "realmId",
        "accessToken",
        "refreshToken",
        "accessTokenExpiresAt",
        "createdAt",
        "updatedAt",
    ],
}
SPEC_FIELDS = list(SPEC_SCHEMA["properties"])
EXTENSIONS = ["refreshTokenHardExpiresAt", "status", "statusReason", "environment", "apiBaseUrl"]

# The layout of the token table before it had an `id` (the code up to this change), as SQLAlchemy
# created it on each back end: copied from its CREATE TABLE, not derived from today's table.
_OLD_COLUMNS = """
    realm_id VARCHAR(32) NOT NULL,
    tenant_id VARCHAR(255) NOT NULL,
    access_token_encrypted TEXT NOT NULL,
    refresh_token_encrypted TEXT NOT NULL,
    access_token_expires_at {ts} NOT NULL,
    refresh_token_expires_at {ts} NOT NULL,
    refresh_token_hard_expires_at {ts},
    scopes TEXT NOT NULL,
    status VARCHAR(32) NOT NULL,
    status_reason TEXT,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    PRIMARY KEY (realm_id)
"""
OLD_LAYOUT = {
    "sqlite": [
        f"CREATE TABLE qbo_tokens ({_OLD_COLUMNS.format(ts='DATETIME')})",
        "CREATE INDEX ix_qbo_tokens_tenant_id ON qbo_tokens (tenant_id)",
    ],
    "postgresql": [
        f"CREATE TABLE qbo_tokens ({_OLD_COLUMNS.format(ts='TIMESTAMP WITH TIME ZONE')})",
        "CREATE INDEX ix_qbo_tokens_tenant_id ON qbo_tokens (tenant_id)",
    ],
}
# an even older shape: only what a token row cannot be without
MINIMAL_LAYOUT = """CREATE TABLE qbo_tokens (
    realm_id VARCHAR(32) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(255) NOT NULL,
    access_token_encrypted TEXT NOT NULL,
    refresh_token_encrypted TEXT NOT NULL,
    access_token_expires_at {ts} NOT NULL,
    refresh_token_expires_at {ts} NOT NULL
)"""


@pytest.fixture
def raw(db_url: str) -> Iterator[Engine]:
    """The database without the store: what the old code left behind is written through this."""
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


def _old_encrypt(key: str, realm_id: str, kind: str, token: str) -> str:
    """Exactly what the old store did: Fernet over `realm \\x1f kind \\x1f token`."""
    return Fernet(key).encrypt(f"{realm_id}\x1f{kind}\x1f{token}".encode()).decode("ascii")


def _old_time(engine: Engine, moment: datetime | None) -> Any:
    """SQLAlchemy's DateTime on SQLite is naive UTC text; PostgreSQL takes the aware instant."""
    if moment is None or engine.dialect.name != "sqlite":
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def write_old_row(
    engine: Engine, key: str, realm_id: str, tenant_id: str, tokens: TokenSet, **extra: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "realm_id": realm_id,
        "tenant_id": tenant_id,
        "access_token_encrypted": _old_encrypt(key, realm_id, "access", tokens.access_token),
        "refresh_token_encrypted": _old_encrypt(key, realm_id, "refresh", tokens.refresh_token),
        "access_token_expires_at": tokens.access_token_expires_at,
        "refresh_token_expires_at": tokens.refresh_token_expires_at,
        **extra,
    }
    stored = {name: _old_time(engine, v) if isinstance(v, datetime) else v for name, v in row.items()}
    with engine.begin() as conn:
        conn.execute(
            text(f"INSERT INTO qbo_tokens ({', '.join(row)}) VALUES ({', '.join(':' + n for n in row)})"),
            stored,
        )
    return row


def old_tokens(server: RunningSandbox) -> TokenSet:
    """Real tokens from the sandbox's consent, as the old code stored them after `qbo connect`."""
    client = client_for(server)
    code, realm_id, _ = authorize(server, client)
    return client.exchange_code(code, realm_id)


def assert_upgraded(engine: Engine) -> None:
    """The upgraded table is today's: every column, as strict, the unique id, the tenant index."""
    inspector = inspect(engine)
    columns = {c["name"]: c for c in inspector.get_columns("qbo_tokens")}
    assert set(columns) == set(tokens_table.columns.keys())
    for column in tokens_table.columns:
        assert columns[column.name]["nullable"] == column.nullable, column.name
    assert inspector.get_pk_constraint("qbo_tokens")["constrained_columns"] == ["realm_id"]
    unique = {u["name"]: u["column_names"] for u in inspector.get_unique_constraints("qbo_tokens")}
    assert unique.get("uq_qbo_tokens_id") == ["id"], unique
    indexes = [i for i in inspector.get_indexes("qbo_tokens") if not i.get("duplicates_constraint")]
    assert [i["column_names"] for i in indexes] == [["tenant_id"]]
    assert not any("old_layout" in name for name in inspector.get_table_names())
    # and upgrading changed nothing of the table a new store creates (AddConstraint would have)
    assert "CONSTRAINT uq_qbo_tokens_id UNIQUE (id)" in str(CreateTable(tokens_table).compile(engine))


def assert_no_token(tokens: set[str], texts: list[str]) -> None:
    assert tokens and all(len(t) > 8 for t in tokens)
    for token in tokens:
        for text_ in texts:
            assert token not in text_


# -- the §2.3 record ------------------------------------------------------------------------------


def test_the_row_is_the_spec_token_record_and_keeps_its_id_and_created_at(
    server: RunningSandbox, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    caplog.set_level(logging.DEBUG)
    add_realm(server)
    store = TokenStore(db_url, keys=[generate_key()])
    manager = TokenManager(store, client_for(server))
    try:
        first = manager.connect(TENANT, *authorize(server, manager.oauth)[:2])
        assert uuid.UUID(first.id).version == 4
        assert first.scopes == (ACCOUNTING_SCOPE,) and first.created_at == first.updated_at
        seen = {manager.access_token(REALM), stored_refresh_token(store, REALM)}

        spec = first.to_spec()  # no tokens unless asked for
        assert list(spec) == [f for f in SPEC_FIELDS if not f.endswith("Token")] + EXTENSIONS
        assert spec["id"] == first.id and spec["tenantId"] == TENANT and spec["realmId"] == REALM
        assert spec["scopes"] == [ACCOUNTING_SCOPE] and spec["status"] == ACTIVE
        assert spec["accessTokenExpiresAt"].endswith("Z")
        assert datetime.fromisoformat(spec["createdAt"]) == first.created_at
        assert store.to_spec(REALM) == spec and store.to_spec("no-such-realm") is None
        full = store.to_spec(REALM, include_tokens=True)
        assert full is not None and (full["accessToken"], full["refreshToken"]) == (
            manager.access_token(REALM),
            stored_refresh_token(store, REALM),
        )
        checker = jsonschema.Draft202012Validator(SPEC_SCHEMA, format_checker=jsonschema.FormatChecker())
        checker.validate(json.loads(json.dumps(full)))
        with pytest.raises(jsonschema.ValidationError, match="accessToken"):
            checker.validate(spec)  # the spec requires the tokens: only an explicit ask gives them

        # a refresh: same id and created_at, updated_at moves, scopes kept
        expire_access_token(store, REALM)
        manager._cache.clear()
        seen.add(manager.access_token(REALM))
        seen.add(stored_refresh_token(store, REALM))
        refreshed = store.get(REALM)
        assert refreshed is not None and refreshes_issued(server, REALM) == 1
        assert (refreshed.id, refreshed.created_at) == (first.id, first.created_at)
        assert refreshed.scopes == first.scopes
        assert refreshed.updated_at > first.updated_at

        # a reconnect of the same realm: the same row, id and created_at
        reconnected = manager.connect(TENANT, *authorize(server, manager.oauth)[:2])
        seen |= {manager.access_token(REALM), stored_refresh_token(store, REALM)}
        assert (reconnected.id, reconnected.created_at) == (first.id, first.created_at)
        assert reconnected.updated_at > refreshed.updated_at

        # a reconnect mark is a write too; the record's repr, str and JSON still carry no token
        with store.locked(REALM) as row:
            row.mark_reconnect("Intuit refused the refresh token (invalid_grant)", datetime.now(UTC))
            marked = row.record
        assert marked is not None and marked.status == RECONNECT_REQUIRED and marked.id == first.id
        assert marked.updated_at > reconnected.updated_at
        texts = [repr(r) for r in (first, refreshed, reconnected, marked)] + [str(marked)]
        texts += [json.dumps(r.to_spec()) for r in (first, refreshed, reconnected, marked)]
        texts += [repr(store), repr(manager)] + [repr(r) for r in store.list()]
        texts += [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
        assert any("stored tokens of realm" in t for t in texts)  # the logs were captured
        assert_no_token(seen, texts)

        # disconnected and connected again: a new row, with a new id
        assert manager.delete(REALM)
        again = manager.connect(TENANT, *authorize(server, manager.oauth)[:2])
        assert again.id != first.id and again.created_at > first.created_at
    finally:
        store.dispose()


def test_scopes_are_the_ones_granted_or_asked_for_and_survive_a_refresh(
    server: RunningSandbox, db_url: str
) -> None:
    add_realm(server)
    store = TokenStore(db_url, keys=[generate_key()])
    manager = TokenManager(store, client_for(server))
    try:
        asked = (ACCOUNTING_SCOPE, "openid")
        answer = requests.get(
            manager.oauth.authorize_url("st", scopes=asked), allow_redirects=False, timeout=10
        )
        callback = parse_callback(answer.headers["location"])
        record = manager.connect(TENANT, callback.code, callback.realm_id, scopes=asked)
        assert record.scopes == asked and record.to_spec()["scopes"] == list(asked)
        manager.force_refresh(REALM, manager.access_token(REALM))
        assert refreshes_issued(server, REALM) == 1
        refreshed = store.get(REALM)
        assert refreshed is not None and refreshed.scopes == asked

        # when Intuit's answer names the scope it granted, that is what is stored
        body = {"access_token": "eyJ-x-0123456789", "refresh_token": "RT1-x-0123456789"}
        body |= {"x_refresh_token_expires_in": 8726400, "scope": f"{ACCOUNTING_SCOPE} openid email"}
        granted = TokenSet.from_response(body, scopes=asked, realm_id=REALM)
        saved = store.save(TENANT, REALM, granted)
        assert saved.scopes == (ACCOUNTING_SCOPE, "openid", "email") and saved.id == record.id
    finally:
        store.dispose()


# -- upgrading a store of the old layout ----------------------------------------------------------


def test_a_token_row_migrated_from_the_old_table_still_refreshes(
    server: RunningSandbox, db_url: str, raw: Engine
) -> None:
    add_realm(server)
    key = generate_key()
    tokens = old_tokens(server)
    dialect = raw.dialect.name
    with raw.begin() as conn:
        for statement in OLD_LAYOUT[dialect]:
            conn.execute(text(statement))
    connected_at = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    refreshed_at = datetime.now(UTC) - timedelta(hours=2)
    expired = TokenSet(  # the access token ran out while nobody was syncing: the next use refreshes
        tokens.access_token,
        tokens.refresh_token,
        datetime.now(UTC) - timedelta(minutes=1),
        tokens.refresh_token_expires_at,
        tokens.refresh_token_hard_expires_at,
    )
    common = {"scopes": ACCOUNTING_SCOPE, "created_at": connected_at}
    write_old_row(
        raw,
        key,
        REALM,
        TENANT,
        expired,
        refresh_token_hard_expires_at=tokens.refresh_token_hard_expires_at,
        status="active",
        status_reason=None,
        updated_at=refreshed_at,
        **common,
    )
    lost = TokenSet("eyJ-old-access-777", "RT1-old-refresh-777", connected_at, connected_at)
    write_old_row(
        raw,
        key,
        "777",
        "tenant-b",
        lost,
        status="reconnect_required",
        status_reason="Intuit refused the refresh token (invalid_grant)",
        updated_at=connected_at,
        **common,
    )

    store = TokenStore(db_url, keys=[key])  # the first open upgrades the table
    try:
        assert_upgraded(raw)
        records = {r.realm_id: r for r in store.list()}
        assert set(records) == {REALM, "777"}
        migrated = records[REALM]
        assert uuid.UUID(migrated.id).version == 4 and records["777"].id != migrated.id
        assert (migrated.tenant_id, migrated.scopes) == (TENANT, (ACCOUNTING_SCOPE,))
        assert (migrated.created_at, migrated.updated_at) == (connected_at, refreshed_at)
        assert migrated.refresh_token_hard_expires_at == tokens.refresh_token_hard_expires_at
        assert not migrated.needs_reconnect
        lost_record = records["777"]  # a realm waiting for its reconnect still waits, with its reason
        assert lost_record.status == RECONNECT_REQUIRED
        assert "invalid_grant" in (lost_record.status_reason or "")
        with store.locked(REALM) as row:  # the old ciphertexts decrypt as they are
            assert (row.access_token(), row.refresh_token()) == (tokens.access_token, tokens.refresh_token)

        # ... and the realm refreshes: Intuit takes the migrated refresh token, the rotation is stored
        manager = TokenManager(store, client_for(server))
        fresh = manager.access_token(REALM)
        assert fresh != tokens.access_token and api_status(server, REALM, fresh) == 200
        assert refreshes_issued(server, REALM) == 1
        after = store.get(REALM)
        assert after is not None and stored_refresh_token(store, REALM) != tokens.refresh_token
        assert (after.id, after.created_at) == (migrated.id, connected_at)
        assert after.updated_at > refreshed_at and after.access_token_expires_at > datetime.now(UTC)

        reopened = TokenStore(db_url, keys=[key])  # another open finds nothing to upgrade
        try:
            assert [r.id for r in reopened.list()] == [migrated.id, records["777"].id]
            assert reopened.current(REALM) == (after, fresh)
        finally:
            reopened.dispose()
    finally:
        store.dispose()


def test_processes_opening_an_old_store_together_upgrade_it_once(db_url: str, raw: Engine) -> None:
    key = generate_key()
    with raw.begin() as conn:
        for statement in OLD_LAYOUT[raw.dialect.name]:
            conn.execute(text(statement))
    now = datetime.now(UTC)
    later = now + timedelta(days=100)
    for n in range(5):
        write_old_row(
            raw,
            key,
            f"90{n}",
            TENANT,
            TokenSet(f"eyJ-access-{n}", f"RT1-refresh-{n}", now, later),
            scopes=ACCOUNTING_SCOPE,
            status="active",
            created_at=now,
            updated_at=now,
        )

    count = 6
    barrier = threading.Barrier(count)
    opened: list[TokenStore] = []
    failures: list[BaseException] = []

    def open_store() -> None:  # each with its own engine and connections, like a process of its own
        try:
            barrier.wait(timeout=30)
            opened.append(TokenStore(db_url, keys=[key], lock_timeout=30))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert failures == [] and len(opened) == count
        assert_upgraded(raw)
        ids = {tuple(r.id for r in store.list()) for store in opened}
        assert len(ids) == 1 and len(set(next(iter(ids)))) == 5  # one upgrade: every store sees the same ids
        for n in range(5):
            assert opened[n].current(f"90{n}")[1] == f"eyJ-access-{n}"
    finally:
        for store in opened:
            store.dispose()


def test_an_older_layout_gets_every_missing_column_from_what_the_row_has(db_url: str, raw: Engine) -> None:
    key = generate_key()
    ts = "DATETIME" if raw.dialect.name == "sqlite" else "TIMESTAMP WITH TIME ZONE"
    with raw.begin() as conn:
        conn.execute(text(MINIMAL_LAYOUT.format(ts=ts)))
    expires = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    write_old_row(raw, key, REALM, TENANT, TokenSet("eyJ-a-0123456789", "RT1-r-0123456789", expires, expires))

    store = TokenStore(db_url, keys=[key])
    try:
        assert_upgraded(raw)
        record = store.get(REALM)
        assert record is not None and uuid.UUID(record.id).version == 4
        issued = expires - timedelta(hours=1)  # the row's last write: when its access token was issued
        assert (record.created_at, record.updated_at) == (issued, issued)
        assert record.scopes == (ACCOUNTING_SCOPE,) and record.status == ACTIVE
        assert record.refresh_token_hard_expires_at is None and record.status_reason is None
        assert store.current(REALM) == (record, "eyJ-a-0123456789")
    finally:
        store.dispose()


def test_a_table_that_is_not_a_token_table_is_left_alone(db_url: str, raw: Engine) -> None:
    with raw.begin() as conn:
        conn.execute(text("CREATE TABLE qbo_tokens (realm_id VARCHAR(32) PRIMARY KEY, tenant_id TEXT)"))
        conn.execute(text("INSERT INTO qbo_tokens VALUES ('1', 't')"))
    with pytest.raises(TokenStoreError, match=r"cannot upgrade.*access_token_encrypted"):
        TokenStore(db_url, keys=[generate_key()])
    with raw.connect() as conn:  # rolled back: nothing changed
        assert conn.execute(text("SELECT realm_id, tenant_id FROM qbo_tokens")).all() == [("1", "t")]
    assert {c["name"] for c in inspect(raw).get_columns("qbo_tokens")} == {"realm_id", "tenant_id"}


def test_where_a_realm_was_connected_is_kept_by_the_refreshes_after_it(db_url: str) -> None:
    """Issue 18 item 1: the QBO a (re)connection was made against is stored with it; a refresh (a
    write without a location) keeps it, and a row of an older layout has none until reconnected."""
    store = TokenStore(db_url, keys=[generate_key()])
    soon = datetime.now(UTC) + timedelta(hours=1)

    def tokens(n: int) -> TokenSet:
        return TokenSet(
            f"eyJ-access-{n}-0123456789", f"RT1-refresh-{n}-0123456789", soon, soon + timedelta(days=100)
        )

    try:
        store.save(TENANT, REALM, tokens(1))
        assert store.location(REALM) is None and store.to_spec(REALM)["environment"] is None  # type: ignore[index]
        local = QboLocation.of(
            "http://127.0.0.1:8765/", "http://127.0.0.1:8765/.well-known/openid_configuration"
        )
        assert (local.environment, local.api_base_url) == ("local_sandbox", "http://127.0.0.1:8765")
        assert local.label == "local sandbox http://127.0.0.1:8765"
        assert store.save(TENANT, REALM, tokens(2), location=local).location == local
        with store.locked(REALM) as row:  # what a refresh writes
            row.write(TENANT, tokens(3), datetime.now(UTC))
        record = store.get(REALM)
        assert record is not None and record.location == local == store.location(REALM)
        assert record.to_spec()["apiBaseUrl"] == "http://127.0.0.1:8765"
        assert (
            QboLocation.of("https://sandbox-quickbooks.api.intuit.com", "d").environment == "intuit_sandbox"
        )
        assert QboLocation.of("https://quickbooks.api.intuit.com", "d").label.startswith("production ")
        assert store.location("no-such-realm") is None
    finally:
        store.dispose()
