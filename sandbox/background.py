"""Serving the sandbox: in the foreground for `qbo sandbox`, or on a thread for tests and the demo."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import uvicorn

from sandbox.http_app import create_app
from sandbox.oauth import ACCOUNTING_SCOPE
from sandbox.state import Sandbox


@dataclass
class RunningSandbox:
    base_url: str
    sandbox: Sandbox
    server: uvicorn.Server

    @property
    def client_id(self) -> str:
        return self.sandbox.config.oauth.client_id

    @property
    def client_secret(self) -> str:
        return self.sandbox.config.oauth.client_secret

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid_configuration"

    def api_url(self, realm_id: str) -> str:
        return f"{self.base_url}/v3/company/{realm_id}"

    def connect(self, realm_id: str, redirect_uri: str = "http://127.0.0.1/callback") -> dict[str, Any]:
        """The whole authorization-code flow over HTTP (the sandbox consents at once): token response."""
        return connect(self.base_url, self.client_id, self.client_secret, realm_id, redirect_uri)


def connect(
    base_url: str,
    client_id: str,
    client_secret: str,
    realm_id: str,
    redirect_uri: str = "http://127.0.0.1/callback",
) -> dict[str, Any]:
    state = secrets.token_urlsafe(16)
    authorize = requests.get(
        f"{base_url}/connect/oauth2",
        params={
            "client_id": client_id,
            "response_type": "code",
            "scope": ACCOUNTING_SCOPE,
            "redirect_uri": redirect_uri,
            "state": state,
            "realmId": realm_id,
        },
        allow_redirects=False,
        timeout=10,
    )
    if authorize.status_code != 302:
        raise RuntimeError(f"sandbox refused to authorize: {authorize.status_code} {authorize.text[:200]}")
    answer = parse_qs(urlsplit(authorize.headers["location"]).query)
    if answer.get("state") != [state]:
        raise RuntimeError("sandbox returned another state than was sent")
    token = requests.post(
        f"{base_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "authorization_code", "code": answer["code"][0], "redirect_uri": redirect_uri},
        auth=(client_id, client_secret),
        headers={"Accept": "application/json"},
        timeout=10,
    )
    token.raise_for_status()
    return {**token.json(), "realm_id": answer["realmId"][0]}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def uvicorn_config(app: Any, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    # h11: the gate's injected resets and truncations act on its transport (see sandbox/limits_and_chaos.py)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        http="h11",
        lifespan="on",
        access_log=False,
        timeout_keep_alive=30,
    )


@contextmanager
def serving(
    app: Any, host: str = "127.0.0.1", port: int | None = None
) -> Iterator[tuple[str, uvicorn.Server]]:
    """An ASGI app served on a background thread until the block ends: its base URL and server."""
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn_config(app, host, port))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"nothing started on {host}:{port}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def running(
    sandbox: Sandbox | None = None, host: str = "127.0.0.1", port: int | None = None
) -> Iterator[RunningSandbox]:
    """A sandbox served on a background thread until the block ends."""
    sb = sandbox or Sandbox()
    with serving(create_app(sb), host, port) as (base_url, server):
        yield RunningSandbox(base_url, sb, server)
