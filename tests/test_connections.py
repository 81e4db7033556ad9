"""Issue 18, items 1, 2 and 4: a connection remembers the QBO it was made against, a placeholder key is
refused before anyone consents, a transport error names the URL and the realm, and the invalid_grant
advice is a command that runs. Each step is `qbo` as a person runs it (a process of its own)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import update
from typer.testing import CliRunner

from pipelines.cli.app import app
from sandbox.background import RunningSandbox, free_port
from sandbox.demo.world import authorization_code, world
from sources.quickbooks.token_store import TokenStore, tokens_table

ROOT = Path(__file__).resolve().parents[1]
REALM = "4301"
TENANT = "acme"
Qbo = Callable[..., subprocess.CompletedProcess[str]]


def run_qbo(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a fresh work directory: its own .dlt/ and var/, nothing from the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__QUICKBOOKS__", "WAREHOUSE__"))}
    env |= {"DLT_PROJECT_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    return env | {f"SOURCES__QUICKBOOKS__{k.upper()}": v for k, v in settings.items()}


@pytest.fixture
def connected(
    server: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Qbo, dict[str, str]]:
    """A realm connected with --qbo-base-url (the local sandbox) and a code, as the README's manual path
    does it (in-process: quick); the `qbo` that follows runs in the same work directory, with no
    --qbo-base-url, as a process of its own."""
    created = requests.post(
        f"{server.base_url}/_sandbox/realms", json={"realm_id": REALM, "company": "tiny"}, timeout=60
    )
    assert created.status_code == 201, created.text
    env = environment(
        tmp_path,
        client_id=server.client_id,
        client_secret=server.client_secret,
        token_encryption_keys=Fernet.generate_key().decode(),
        redirect_uri=f"http://127.0.0.1:{free_port()}/callback",
    )

    def qbo(*args: str) -> subprocess.CompletedProcess[str]:
        return run_qbo(env, tmp_path, *args)

    with monkeypatch.context() as local:
        for name in set(os.environ) - set(env):
            local.delenv(name)
        for name, value in env.items():
            local.setenv(name, value)
        local.chdir(tmp_path)
        code = authorization_code(server, env["SOURCES__QUICKBOOKS__REDIRECT_URI"], REALM)
        made = CliRunner().invoke(
            app,
            [
                "--qbo-base-url",
                server.base_url,
                "connect",
                "--tenant",
                TENANT,
                "--code",
                code,
                "--realm",
                REALM,
            ],
        )
    assert made.exit_code == 0, made.output
    assert f"connected realm {REALM} for tenant {TENANT} (local sandbox {server.base_url})" in made.stdout
    return qbo, env


def token_store(tmp_path: Path, env: dict[str, str]) -> TokenStore:
    keys = [env["SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS"]]
    return TokenStore(f"sqlite:///{tmp_path / 'var' / 'integration.sqlite'}", keys=keys)


def expire_access_token(store: TokenStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(tokens_table)
            .where(tokens_table.c.realm_id == REALM)
            .values(access_token_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def test_a_connection_made_against_the_sandbox_is_used_without_qbo_base_url(
    server: RunningSandbox, connected: tuple[Qbo, dict[str, str]], tmp_path: Path
) -> None:
    qbo, env = connected
    status = qbo("status")
    assert status.returncode == 0, status.stderr
    assert (
        f"realm {REALM} (tenant {TENANT}): connected\n  QBO: local sandbox {server.base_url}\n"
        in status.stdout
    )

    store = token_store(tmp_path, env)
    try:
        expire_access_token(store)  # the sync refreshes too: at the sandbox's OAuth endpoints, not Intuit's
    finally:
        store.dispose()
    synced = qbo("sync", "--entities", "Customer")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert re.search(rf"realm {REALM}: [1-9][\d,]* rows in", synced.stdout), synced.stdout


def test_a_transport_error_names_the_url_and_the_realm_in_one_line(
    server: RunningSandbox, connected: tuple[Qbo, dict[str, str]]
) -> None:
    qbo, _ = connected
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    failed = qbo("--qbo-base-url", nowhere, "sync", "--entities", "Customer")
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1 and "Traceback" not in output, output
    said = [line for line in output.splitlines() if nowhere in line and f"realm {REALM}" in line]
    assert any("connection refused" in line for line in said), output
    # the explicit URL wins, and the line says it is not where the realm was connected
    assert f"using --qbo-base-url {nowhere}, not local sandbox {server.base_url}" in output


def test_the_invalid_grant_advice_is_a_command_that_reconnects(
    server: RunningSandbox, connected: tuple[Qbo, dict[str, str]], tmp_path: Path
) -> None:
    qbo, env = connected
    store = token_store(tmp_path, env)
    try:
        with store.locked(REALM) as row:
            refresh_token = row.refresh_token()
        revoked = requests.post(
            f"{server.base_url}/v2/oauth2/tokens/revoke",
            json={"token": refresh_token},
            auth=(server.client_id, server.client_secret),
            timeout=10,
        )
        assert revoked.status_code == 200, revoked.text
        expire_access_token(store)
    finally:
        store.dispose()
    failed = qbo("sync")
    assert failed.returncode == 1 and "invalid_grant" in failed.stdout, failed.stdout + failed.stderr
    advice = re.findall(r"qbo connect[\w\- ]*", failed.stdout)
    assert advice == [f"qbo connect --realm {REALM}"], failed.stdout

    # run it as written (no --qbo-base-url: the reconnect goes where the realm was connected)
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *advice[0].split()[1:]],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    instruction = process.stdout.readline()
    assert instruction.startswith("Open this URL in a browser and approve the connection:"), instruction
    url = process.stdout.readline().strip()
    assert url.startswith(f"{server.base_url}/connect/oauth2?"), url
    browser = threading.Thread(target=lambda: requests.get(f"{url}&realmId={REALM}", timeout=30))
    browser.start()
    out, err = process.communicate(timeout=60)
    browser.join()
    assert process.returncode == 0, err
    assert f"connected realm {REALM} for tenant {TENANT} (local sandbox {server.base_url})" in out
    assert qbo("sync", "--entities", "Customer").returncode == 0


def test_the_example_secrets_are_refused_before_the_consent_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process (typer's CliRunner): nothing here needs a process of its own, and it is quick."""
    (tmp_path / ".dlt").mkdir()
    shutil.copy(ROOT / ".dlt" / "secrets.toml.example", tmp_path / ".dlt" / "secrets.toml")
    placeholder = "paste-the-output-of-qbo-keygen-here"
    assert placeholder in (tmp_path / ".dlt" / "secrets.toml").read_text()
    for name in [n for n in os.environ if n.startswith(("SOURCES__QUICKBOOKS__", "WAREHOUSE__"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DLT_PROJECT_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for command in (["connect"], ["status"], ["sync"]):
        refused = runner.invoke(app, command)
        assert refused.exit_code == 2, (command, refused.output)
        assert "Open this URL" not in refused.stdout and refused.stdout == "", command
        errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in refused.output, refused.output
        line = errors[0]
        assert "sources.quickbooks.token_encryption_keys" in line and "`qbo keygen`" in line, line
        assert "placeholder" in line and placeholder not in refused.output, line

    # the other settings a consent needs are named too, before any URL (a redirect it cannot take)
    monkeypatch.setenv("SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("SOURCES__QUICKBOOKS__REDIRECT_URI", "https://example.com/callback")
    redirect = runner.invoke(app, ["connect"])
    assert redirect.exit_code == 2 and redirect.stdout == "", redirect.output
    assert "sources.quickbooks.redirect_uri" in redirect.stderr and "qbo connect --code" in redirect.stderr
    monkeypatch.delenv("SOURCES__QUICKBOOKS__REDIRECT_URI")
    (tmp_path / ".dlt" / "secrets.toml").write_text("[sources.quickbooks]\n")
    missing = runner.invoke(app, ["connect"])
    assert missing.exit_code == 2 and missing.stdout == "", missing.output
    assert "SOURCES__QUICKBOOKS__CLIENT_ID" in missing.stderr and "CLIENT_SECRET" in missing.stderr


def test_the_demo_prints_the_consent_url_under_its_instruction(tmp_path: Path) -> None:
    """Issue 18 item 12: `make demo` said "Open this URL ..." with no URL after it."""
    said: list[str] = []
    with world(tmp_path, company="tiny", write=said.append) as demo:
        base_url = demo.server.base_url
    lines = "\n".join(said).splitlines()
    at = lines.index("Open this URL in a browser and approve the connection:")
    assert lines[at + 1].startswith(f"{base_url}/connect/oauth2?client_id="), lines[at : at + 2]
