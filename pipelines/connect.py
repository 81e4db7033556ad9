"""`qbo connect`: the authorization-code flow with a loopback redirect (RFC 8252 style).

The consent URL carries a signed, expiring `state` bound to the tenant; the redirect is taken by a
one-shot HTTP server on the redirect URI's loopback port, the state verified, the code exchanged
and the tokens stored encrypted. A redirect URI that is not on loopback cannot be served here:
finish with `qbo connect --code C --realm R` instead.

What a redirect brings is trusted no further than it is checked (`finish_connection`, which the
gateway's callback uses too): the state is verified and spent once; code and realmId must have the
shape Intuit gives them; a realm bound to another tenant is refused before the code is spent; and
the new tokens must open the claimed realm before they are stored (TokenManager.connect).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlsplit

from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import ConfigError
from sources.quickbooks.oauth import Callback, StateClaims, make_state, parse_callback, read_state
from sources.quickbooks.token_store import TokenRecord
from sources.quickbooks.tokens import ConnectionRefused

LOOPBACK = ("127.0.0.1", "localhost", "::1")
REALM_ID = re.compile(r"[0-9]{1,32}")  # QuickBooks company ids are digits (the token table holds 32)
CODE = re.compile(r"[\x21-\x7e]{1,512}")  # printable ASCII, no spaces: Intuit's codes are ~50 chars
STATE_USED = "this connect link was already used; start again from qbo connect / the connect URL"


def check_configuration(connector: Connector, interactive: bool = True) -> None:
    """What a connection needs, checked before a person is sent to consent (or a code is spent): the
    client id and secret, encryption keys that are Fernet keys (the token store opens with them) and,
    to take the redirect here, a loopback redirect URI. ConfigError names each setting, never a value."""
    connector.settings.require("client_id", "client_secret", "token_encryption_keys")  # all missing, at once
    state_secret(connector)
    connector.tokens  # noqa: B018 - the keys are Fernet keys (else `qbo keygen`) and the store opens
    if interactive:
        redirect_uri = connector.settings.redirect_uri
        parts = urlsplit(redirect_uri)
        if parts.hostname not in LOOPBACK or parts.scheme != "http":
            raise ConfigError(
                f"sources.quickbooks.redirect_uri ({redirect_uri}) is not an http loopback URL, so the "
                "redirect cannot be taken here: set it to http://127.0.0.1:8799/callback (and register it "
                "with the app), or take the code from the redirect and run "
                "`qbo connect --code C --realm R`"
            )


def state_secret(connector: Connector) -> str:
    """The key that signs `state`: its own setting, else the first token-encryption key."""
    settings = connector.settings
    if not settings.state_secret:
        settings.require("token_encryption_keys")
    return settings.state_secret or settings.token_encryption_keys[0]


def spend_state(connector: Connector, state: str) -> StateClaims:
    """The state's claims, its nonce recorded as used: InvalidState if it is malformed, forged or
    expired; ConnectionRefused (field `state`) if it was used before."""
    claims = read_state(state, state_secret(connector))
    if not connector.token_store.spend_state(claims.nonce, claims.tenant_id, claims.expires_at):
        raise ConnectionRefused("state", "state_used", STATE_USED)
    return claims


def check_redirect_values(code: str, realm_id: str) -> None:
    """ConnectionRefused naming `code` or `realmId` when it is not shaped like what Intuit sends."""
    if not REALM_ID.fullmatch(realm_id or ""):
        raise ConnectionRefused(
            "realmId",
            "malformed",
            "realmId must be a QuickBooks company id (1 to 32 digits); this one is not. Nothing was "
            "stored: start again from qbo connect or the connect URL",
        )
    if not CODE.fullmatch(code or ""):
        raise ConnectionRefused(
            "code",
            "malformed",
            "code must be the authorization code Intuit sent (printable ASCII, at most 512 characters); "
            "this one is not. Nothing was stored: start again from qbo connect or the connect URL",
        )


def finish_connection(connector: Connector, tenant_id: str, code: str, realm_id: str) -> TokenRecord:
    """Connect `realm_id` for the tenant with a code, trusting neither: shapes checked, the realm's
    owner checked before the code is spent, the tokens' realm confirmed before they are stored."""
    check_redirect_values(code, realm_id)
    return connector.tokens.connect(tenant_id, code, realm_id, api_base_url=connector.settings.base_url)


class RedirectPortBusy(OSError):
    """The redirect URI's loopback port cannot be served (another process has it)."""


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

    address = (parts.hostname if parts.hostname != "localhost" else "127.0.0.1", parts.port or 80)
    try:
        server = HTTPServer(address, Handler)
    except OSError as exc:
        raise RedirectPortBusy(
            f"cannot take the redirect on {redirect_uri} ({exc.strerror or exc}): another program has "
            "the port, perhaps a `qbo connect` still running; stop it, or set sources.quickbooks."
            "redirect_uri to a free loopback port registered with the app"
        ) from None
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
    realm_id: str | None = None,
) -> TokenRecord:
    """Print the consent URL (and, given `browse`, open it: the demo and tests play the browser).
    With `realm_id` (a reconnect), consent given for another company is refused before the code is
    spent. The configuration is checked first (`check_configuration`): a consent is never spent on
    tokens that could not be stored. The URL is printed on the line after the instruction, in the same
    write, so an echo that drops lines cannot leave the instruction without it."""
    check_configuration(connector)
    url = connector.oauth.authorize_url(make_state(tenant_id, state_secret(connector)))

    def ready() -> None:
        echo(f"Open this URL in a browser and approve the connection:\n{url}")
        if browse is not None:
            browse(url)

    callback = wait_for_redirect(connector.settings.redirect_uri, timeout, ready)
    claims = spend_state(connector, callback.state)
    if claims.tenant_id != tenant_id:
        raise ValueError(f"the OAuth state was issued for tenant {claims.tenant_id!r}, not {tenant_id!r}")
    if realm_id is not None and callback.realm_id != realm_id:
        raise ConnectionRefused(
            "realmId",
            "other_realm",
            f"consent was given for QuickBooks company {callback.realm_id}, not {realm_id}; nothing was "
            f"stored. Run qbo connect --realm {realm_id} again and choose that company",
        )
    return finish_connection(connector, tenant_id, callback.code, callback.realm_id)
