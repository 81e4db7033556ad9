"""`qbo connect`, `disconnect`, `status`, `keygen`, `rotate-keys`: companies, tokens and keys."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer

from pipelines.cli.common import connector, fail
from pipelines.runtime.settings import ConfigError


def connect(
    ctx: typer.Context,
    code: Annotated[str | None, typer.Option(help="an authorization code you already have")] = None,
    realm: Annotated[
        str | None, typer.Option(help="the realm id that came with --code; alone: the realm to reconnect")
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option(help="the platform tenant this company belongs to [default: a reconnected realm's own]"),
    ] = None,
    timeout: Annotated[int, typer.Option(help="seconds to wait for the browser's redirect")] = 300,
) -> None:
    """Connect a QuickBooks company: print the consent URL and take the redirect on a loopback port
    (with --realm R: reconnect that company), or finish with --code C --realm R. The QBO it is made
    against (--qbo-base-url, else production) is stored with it: later commands need no --qbo-base-url."""
    from pipelines.connect import (
        RedirectPortBusy,
        check_configuration,
        connect_interactively,
        finish_connection,
    )
    from sources.quickbooks.errors import QboError
    from sources.quickbooks.oauth import InvalidState
    from sources.quickbooks.token_store import TokenStoreError
    from sources.quickbooks.tokens import ConnectionRefused

    if code and not realm:
        fail("--code and --realm go together (both come back on the redirect URL)", 2)
    the_connector = connector(ctx)
    tenant_id = tenant or the_connector.settings.tenant_id
    try:
        check_configuration(the_connector, interactive=not code)  # before a consent or a code is spent
        if realm:  # a reconnect: for the realm's tenant, at the QBO it was connected to (unless told)
            tenant_id = tenant or the_connector.token_store.owner(realm) or tenant_id
            the_connector = the_connector.at_connection_of(realm)
        if code:
            record = finish_connection(the_connector, tenant_id, code, str(realm))
        else:
            record = connect_interactively(the_connector, tenant_id, timeout, echo=typer.echo, realm_id=realm)
    except (ConfigError, ConnectionRefused, InvalidState, TokenStoreError) as exc:
        fail(_one_line(exc), 2)  # refused: nothing was stored, and the line says what to do
    except (QboError, ValueError, TimeoutError, RedirectPortBusy) as exc:
        fail(_one_line(exc))
    where = f" ({record.location.label})" if record.location else ""
    typer.echo(
        f"connected realm {record.realm_id} for tenant {record.tenant_id}{where}; refresh token valid "
        f"until {record.refresh_token_expires_at:%Y-%m-%d}"
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def disconnect(
    ctx: typer.Context,
    realm: Annotated[str, typer.Option(help="the realm to disconnect")],
) -> None:
    """Revoke the realm's tokens at Intuit and delete them here."""
    from sources.quickbooks.errors import QboError

    try:
        removed = connector(ctx).tokens.disconnect(realm)
    except (ConfigError, QboError) as exc:
        fail(str(exc))
    if not removed:
        fail(f"realm {realm} is not connected", 1)
    typer.echo(f"disconnected realm {realm}: tokens revoked and deleted")


def status(ctx: typer.Context) -> None:
    """Per realm: connection and token expiry, last successful sync and its rows, last error."""
    from pipelines.status import status_lines
    from sources.quickbooks.token_store import TokenStoreError

    try:
        for line in status_lines(connector(ctx)):
            typer.echo(line)
    except (ConfigError, TokenStoreError) as exc:
        fail(_one_line(exc), 2)


def rotate_keys(ctx: typer.Context) -> None:
    """Re-encrypt every stored token with the first key of token_encryption_keys (then drop the old key)."""
    try:
        count = connector(ctx).token_store.rotate_keys()
    except ConfigError as exc:
        fail(str(exc), 2)
    typer.echo(f"re-encrypted the tokens of {count} realm(s) with the first key; the other keys can now go")


def keygen(
    api_key: Annotated[bool, typer.Option(help="a gateway API key instead of an encryption key")] = False,
) -> None:
    """Print a new token-encryption key (put it first in token_encryption_keys to rotate)."""
    from cryptography.fernet import Fernet

    typer.echo(secrets.token_urlsafe(32) if api_key else Fernet.generate_key().decode())


def register(app: typer.Typer) -> None:
    app.command()(connect)
    app.command()(disconnect)
    app.command()(status)
    app.command("rotate-keys")(rotate_keys)
    app.command()(keygen)
