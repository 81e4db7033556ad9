"""The connector's commands as an engineer runs them: connect, sync, status, backfill, disconnect."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import requests
from cryptography.fernet import Fernet

from sandbox.background import RunningSandbox, free_port

ROOT = Path(__file__).resolve().parents[1]


def qbo(env: dict[str, str], *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_connect_sync_status_backfill_disconnect(server: RunningSandbox, tmp_path: Path) -> None:
    for realm_id in ("4101", "4102"):
        created = requests.post(
            f"{server.base_url}/_sandbox/realms", json={"realm_id": realm_id, "company": "tiny"}, timeout=60
        )
        assert created.status_code == 201
    redirect_port = free_port()
    env = {
        **os.environ,
        "SOURCES__QUICKBOOKS__CLIENT_ID": server.client_id,
        "SOURCES__QUICKBOOKS__CLIENT_SECRET": server.client_secret,
        "SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SOURCES__QUICKBOOKS__REDIRECT_URI": f"http://127.0.0.1:{redirect_port}/callback",
        "SOURCES__QUICKBOOKS__BUDGET_URL": f"sqlite:///{tmp_path / 'budget.sqlite'}",
    }
    common = [
        "--qbo-base-url",
        server.base_url,
        "--warehouse",
        str(tmp_path / "w.duckdb"),
        "--store",
        f"sqlite:///{tmp_path / 'store.sqlite'}",
    ]

    # the interactive flow: the command prints the consent URL; a "browser" opens it
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *common, "connect", "--tenant", "acme"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = ""
    while not url.startswith("http"):
        url = process.stdout.readline().strip()
        assert url or process.poll() is None, process.stderr.read() if process.stderr else ""
    browser = threading.Thread(
        target=lambda: requests.get(url.replace("realmId", "x") + "&realmId=4101", timeout=30)
    )
    browser.start()
    out, err = process.communicate(timeout=60)
    browser.join()
    assert process.returncode == 0, err
    assert "connected realm 4101 for tenant acme" in out

    # the non-interactive flow: a code obtained elsewhere
    code_redirect = requests.get(
        f"{server.base_url}/connect/oauth2",
        params={
            "client_id": server.client_id,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": env["SOURCES__QUICKBOOKS__REDIRECT_URI"],
            "realmId": "4102",
        },
        allow_redirects=False,
        timeout=10,
    ).headers["location"]
    code = code_redirect.split("code=")[1].split("&")[0]
    second = qbo(env, *common, "connect", "--code", code, "--realm", "4102")
    assert second.returncode == 0, second.stderr

    synced = qbo(env, *common, "sync")
    assert synced.returncode == 0, synced.stderr
    assert "realm 4101:" in synced.stdout and "realm 4102:" in synced.stdout
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as db:
        realms = db.execute(
            "SELECT realm_id, COUNT(*) FROM raw_qbo.customer GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert [r[0] for r in realms] == ["4101", "4102"], synced.stdout
    assert all(n > 0 for _, n in realms)
    assert "warehouse: " not in synced.stderr  # --warehouse named it: no need to say it again

    status = qbo(env, *common, "status")
    assert status.returncode == 0, status.stderr
    assert "realm 4101 (tenant acme): connected" in status.stdout
    assert "last successful sync:" in status.stdout and "never" not in status.stdout
    assert server.client_secret not in status.stdout + synced.stdout + synced.stderr

    window = ["--since", "2024-01-01", "--until", "2026-12-01", "--entities", "Invoice,Customer"]
    backfill = qbo(env, *common, "backfill", "--realm", "4101", "--realm", "4102", *window)
    assert backfill.returncode == 0, backfill.stderr
    assert "realm 4101: backfilled" in backfill.stdout and "realm 4102: backfilled" in backfill.stdout
    again = qbo(env, *common, "backfill", "--realm", "4101", *window)
    assert again.returncode == 0, again.stderr
    assert "already loaded, skipped" in again.stdout
    assert "backfilled 0 rows" in again.stdout  # resumed: nothing was loaded twice

    bad = qbo(env, *common, "sync", "--realm", "999")
    assert bad.returncode == 2 and "not connected" in bad.stderr
    bad_entity = qbo(env, *common, "sync", "--entities", "Invioces")
    told = " ".join(bad_entity.stderr.replace("│", " ").split())  # the error box wraps lines
    assert bad_entity.returncode == 2 and "did you mean Invoice?" in told
    which = qbo(env, *common, "backfill", "--since", "2024-01-01")  # two realms connected: say which
    assert which.returncode == 2 and "connected to realms 4101, 4102: say which with --realm" in which.stderr

    old_key = env["SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS"]
    env["SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS"] = f"{Fernet.generate_key().decode()},{old_key}"
    rotated = qbo(env, *common, "rotate-keys")
    assert rotated.returncode == 0 and "2 realm(s)" in rotated.stdout, rotated.stderr
    env["SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS"] = env[
        "SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS"
    ].split(",")[0]
    assert qbo(env, *common, "sync", "--realm", "4101").returncode == 0  # the old key is no longer needed

    gone = qbo(env, *common, "disconnect", "--realm", "4102")
    assert gone.returncode == 0, gone.stderr
    after = qbo(env, *common, "status")
    assert "realm 4102" not in after.stdout


def test_missing_credentials_are_named_with_their_variables(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__QUICKBOOKS__")}
    result = qbo(
        env, "--store", f"sqlite:///{tmp_path / 's.sqlite'}", "connect", "--code", "c", "--realm", "1"
    )
    assert result.returncode != 0
    assert "SOURCES__QUICKBOOKS__CLIENT_ID" in result.stderr or "client_id" in result.stderr
