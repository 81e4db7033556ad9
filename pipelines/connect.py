"""`qbo connect`: the authorization-code flow with a loopback redirect (RFC 8252 style).

The consent URL carries a signed, expiring `state` bound to the tenant; the redirect is taken by a
one-shot HTTP server on the redirect URI's loopback port, the state verified, the code exchanged
and the tokens stored encrypted. A redirect URI that is not on loopback cannot be served here:
finish with `qbo connect --code C --realm R` instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlsplit

from pipelines.runtime.connector import Connector
from sources.quickbooks.oauth import Callback, make_state, parse_callback, verify_state
from sources.quickbooks.token_store import TokenRecord

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def state_secret(connector: Connector) -> str:
    """The key that signs `state`: its own setting, else the first token-encryption key."""
    settings = connector.settings
    if not settings.state_secret:
        settings.require("token_encryption_keys")
    return settings.state_secret or settings.token_encryption_keys[0]


def wait_for_redirect(redirect_uri: str, timeout: float, on_ready: Callable[[], None]) -> Callback:
    """Serve the redirect URI's path once on loopback; returns what the browser brought back."""
    parts = urlsplit(redirect_uri)
    if parts.hostname not in LOOPBACK or parts.scheme != "http":
        raise ValueError(
            f"redirect_uri {redirect_uri} is not an http loopback URL; open the consent URL, then "
            "finish with `qbo connect --code C --realm R` using the code and realmId it returns"
        )
    received: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if urlsplit(self.path).path != (parts.path or "/"):
                self.send_error(404)
                return
            try:
                received["callback"] = parse_callback(self.path)
                page, status = "Connected. You can close this window and return to the terminal.", 200
            except Exception as exc:
                received["error"] = exc
                page, status = "The connection failed; see the terminal for why.", 400
            body = f"<!doctype html><title>qbo-elt</title><p>{page}</p>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # the query string holds the code: never log it
            pass

    server = HTTPServer(
        (parts.hostname if parts.hostname != "localhost" else "127.0.0.1", parts.port or 80), Handler
    )
    server.timeout = 0.5
    done = threading.Event()

    def serve() -> None:
        while not done.is_set() and "callback" not in received and "error" not in received:
            server.handle_request()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    on_ready()
    thread.join(timeout)
    done.set()
    server.server_close()
    if "error" in received:
        raise received["error"]
    if "callback" not in received:
        raise TimeoutError(f"no redirect to {redirect_uri} within {timeout:.0f} s; run `qbo connect` again")
    return received["callback"]


def connect_interactively(
    connector: Connector,
    tenant_id: str,
    timeout: float,
    echo: Callable[[str], None] = print,
    browse: Callable[[str], object] | None = None,
) -> TokenRecord:
    """Print the consent URL (and, given `browse`, open it: the demo and tests play the browser)."""
    secret = state_secret(connector)
    url = connector.oauth.authorize_url(make_state(tenant_id, secret))

    def ready() -> None:
        echo("Open this URL in a browser and approve the connection:")
        echo(url)
        if browse is not None:
            browse(url)

    callback = wait_for_redirect(connector.settings.redirect_uri, timeout, ready)
    bound_tenant = verify_state(callback.state, secret)
    if bound_tenant != tenant_id:
        raise ValueError(f"the OAuth state was issued for tenant {bound_tenant!r}, not {tenant_id!r}")
    return connector.tokens.connect(tenant_id, callback.code, callback.realm_id)
