"""Eight processes syncing one realm across access-token expiries: no invalid_grant, no token leaked."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from pipelines.connect import connect_interactively
from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import Settings
from sandbox.background import RunningSandbox, free_port

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 8


def test_eight_processes_sync_one_realm_across_token_expiries(server: RunningSandbox, tmp_path: Path) -> None:
    server.sandbox.add_realm("5501", "tiny", 1)
    # tokens live 303 s against the 300 s refresh margin: each is due for refresh 3 s after it is issued
    server.sandbox.configure({"oauth": {"access_token_ttl": 303, "refresh_grace": 0}})
    key = Fernet.generate_key().decode()
    store_url = f"sqlite:///{tmp_path / 'integration.sqlite'}"
    settings = Settings(
        client_id=server.client_id,
        client_secret=server.client_secret,
        redirect_uri=f"http://127.0.0.1:{free_port()}/callback",
        token_encryption_keys=(key,),
        store_url=store_url,
    ).with_sandbox(server.base_url)
    connect_interactively(
        Connector(settings),
        "acme",
        30,
        echo=lambda _: None,
        browse=lambda url: requests.get(url + "&realmId=5501", timeout=30),
    )
    env = {
        **os.environ,
        "QBO_TEST_CLIENT_ID": server.client_id,
        "QBO_TEST_CLIENT_SECRET": server.client_secret,
        "QBO_TEST_KEY": key,
    }
    started = time.monotonic()
    processes = []
    for n in range(PROCESSES):
        workdir = tmp_path / f"p{n}"
        workdir.mkdir()
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.quickbooks.sync_loop",
                    server.base_url,
                    "5501",
                    store_url,
                    str(workdir),
                    "3",
                    "2",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=600) for p in processes]
    elapsed = time.monotonic() - started
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err[-3000:]
        assert "invalid_grant" not in out + err and "reconnect" not in (out + err).lower()

    issued = server.sandbox.store.execute("SELECT token, kind FROM oauth_tokens").fetchall()
    refreshes = sum(1 for _, kind in issued if kind == "refresh") - 1
    assert refreshes >= 2  # the runs crossed expiries, so tokens were refreshed ...
    assert refreshes <= elapsed / 3 + 2  # ... once per 3-second expiry for everybody, not once per process
    text = "".join(out + err for out, err in outputs)
    leaked = [kind for token, kind in issued if token in text]
    assert leaked == []  # no token in any log line or error text
    assert settings.client_secret and settings.client_secret not in text
