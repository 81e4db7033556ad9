"""Issue 15, item 10: corrupted token state gives one readable line, never a traceback.

A malformed encryption key, a token row with a time that does not parse, and a tampered ciphertext
each come out of `qbo status`, `qbo sync` and `qbo connect` as ONE line naming the realm, what is
wrong and a command that fixes it (and that command exists); the other realm is not poisoned.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from pipelines.runtime.connector import Connector
from sandbox.background import RunningSandbox
from sandbox.demo.world import authorization_code, sandbox_settings

ROOT = Path(__file__).resolve().parents[2]
DAMAGED, HEALTHY = "4501", "4502"
TENANT = "tenant-a"


@dataclass
class Store:
    server: RunningSandbox
    connector: Connector
    tmp_path: Path
    key: str

    @property
    def path(self) -> Path:
        return self.tmp_path / "integration.sqlite"

    def code_for(self, realm_id: str) -> str:
        return authorization_code(self.server, self.connector.settings.redirect_uri, realm_id)

    def damage(self, statements: list[str]) -> None:
        with sqlite3.connect(self.path) as db:
            for sql in statements:
                assert db.execute(sql, (DAMAGED,)).rowcount == 1

    def qbo(self, *args: str) -> subprocess.CompletedProcess[str]:
        settings = self.connector.settings
        env = {
            **os.environ,
            "SOURCES__QUICKBOOKS__CLIENT_ID": self.server.client_id,
            "SOURCES__QUICKBOOKS__CLIENT_SECRET": self.server.client_secret,
            "SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS": self.key,
            "SOURCES__QUICKBOOKS__REDIRECT_URI": settings.redirect_uri,
            "SOURCES__QUICKBOOKS__BUDGET_URL": f"sqlite:///{self.tmp_path / 'budget.sqlite'}",
        }
        common = ["--qbo-base-url", self.server.base_url, "--store", settings.store_url]
        common += ["--warehouse", str(settings.warehouse)]
        return subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *common, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture
def store(server: RunningSandbox, tmp_path: Path) -> Store:
    """Two realms connected for one tenant, in a SQLite store under tmp_path."""
    settings = sandbox_settings(server, tmp_path)
    connector = Connector(settings)
    made = Store(server, connector, tmp_path, settings.token_encryption_keys[0])
    for realm_id in (DAMAGED, HEALTHY):
        created = requests.post(
            f"{server.base_url}/_sandbox/realms", json={"realm_id": realm_id, "company": "empty"}, timeout=60
        )
        assert created.status_code == 201, created.text
        connector.tokens.connect(TENANT, made.code_for(realm_id), realm_id, api_base_url=settings.base_url)
    connector.token_store.dispose()
    return made


def tamper(ciphertext_column: str) -> str:
    """SQL that flips one character in the middle of a Fernet token (the HMAC no longer matches)."""
    c = ciphertext_column
    return (
        f"UPDATE qbo_tokens SET {c} = substr({c}, 1, 40) || "
        f"CASE substr({c}, 41, 1) WHEN 'A' THEN 'B' ELSE 'A' END || substr({c}, 42) WHERE realm_id = ?"
    )


DAMAGE = {
    "bad-timestamp": ["UPDATE qbo_tokens SET access_token_expires_at = 'not-a-time' WHERE realm_id = ?"],
    "tampered-ciphertext": [tamper("access_token_encrypted"), tamper("refresh_token_encrypted")],
}
PROBLEM = {
    "bad-timestamp": "access_token_expires_at ('not-a-time') is not a time",
    "tampered-ciphertext": "cannot be decrypted",
}


def lines_naming(output: str, *needles: str) -> list[str]:
    return [line for line in output.splitlines() if all(n in line for n in needles)]


def assert_command_exists(*command: str) -> None:
    helped = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert helped.returncode == 0, helped.stderr


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_row_is_one_line_at_status_sync_and_connect_fixes_it(store: Store, kind: str) -> None:
    store.damage(DAMAGE[kind])
    fix = f"qbo connect --realm {DAMAGED}"

    status = store.qbo("status")
    output = status.stdout + status.stderr
    assert status.returncode == 0 and "Traceback" not in output, output
    assert len(lines_naming(output, DAMAGED, PROBLEM[kind], fix)) == 1, output
    assert f"realm {HEALTHY} (tenant {TENANT}): connected" in output  # the other realm is not poisoned

    sync = store.qbo("sync", "--realm", DAMAGED, "--realm", HEALTHY)
    output = sync.stdout + sync.stderr
    assert sync.returncode == 1 and "Traceback" not in output, output
    assert len(lines_naming(output, DAMAGED, PROBLEM[kind], fix)) == 1, output
    assert lines_naming(sync.stdout, f"realm {HEALTHY}:", "rows in"), output  # it still synced

    assert_command_exists("connect")
    reconnect = store.qbo(
        "connect", "--tenant", TENANT, "--code", store.code_for(DAMAGED), "--realm", DAMAGED
    )
    assert reconnect.returncode == 0, reconnect.stderr
    assert f"connected realm {DAMAGED} for tenant {TENANT}" in reconnect.stdout
    healed = store.qbo("status")
    assert (
        "NEEDS RECONNECT" not in healed.stdout
        and f"realm {DAMAGED} (tenant {TENANT}): connected" in healed.stdout
    )


def test_a_malformed_key_is_one_line_naming_the_realms_and_qbo_keygen(store: Store) -> None:
    store.key = "not-a-fernet-key"

    status = store.qbo("status")
    assert status.returncode == 2 and "Traceback" not in status.stderr, status.stderr
    assert status.stderr.strip().count("\n") == 0, status.stderr
    line = status.stderr.strip()
    assert "not a Fernet key" in line and "qbo keygen" in line and DAMAGED in line and HEALTHY in line
    assert "SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS" in line

    code = store.code_for(DAMAGED)
    connect = store.qbo("connect", "--tenant", TENANT, "--code", code, "--realm", DAMAGED)
    assert connect.returncode == 2 and connect.stderr.strip().count("\n") == 0, connect.stderr
    assert "not a Fernet key" in connect.stderr and "qbo keygen" in connect.stderr
    assert_command_exists("keygen")
    keygen = store.qbo("keygen")
    assert keygen.returncode == 0 and len(keygen.stdout.strip()) == 44  # a Fernet key, ready to set
