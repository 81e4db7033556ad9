"""`qbo sync` and `qbo backfill`: QBO into the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from pipelines.cli.common import connector, day, entity_names, fail, resolve_realm, say_warehouse
from pipelines.runtime.settings import ConfigError


def sync(
    ctx: typer.Context,
    realm: Annotated[
        list[str] | None, typer.Option(help="realm(s) to sync [default: every connected one]")
    ] = None,
    entities: Annotated[
        list[str] | None, typer.Option(help="entity names, repeated or comma-separated")
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option(help="re-read everything and mark what QBO no longer has")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress on stderr, only the results")
    ] = False,
) -> None:
    """Extract and load QBO into the warehouse, incrementally (CDC), deletes included."""
    from pipelines.sync import SyncFailed, sync_all
    from sources.quickbooks.token_store import TokenStoreError

    selected = entity_names(entities)
    say_warehouse(ctx)
    try:
        from pipelines.runtime.progress import Progress

        with Progress.live(typer.echo, quiet=quiet) as progress:
            sync_all(connector(ctx), realm, selected, full_refresh, echo=progress)
    except (ConfigError, LookupError, TokenStoreError) as exc:
        fail(str(exc), 2)
    except SyncFailed as exc:
        fail(str(exc))


def backfill(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="first day, YYYY-MM-DD (UTC)")],
    realm: Annotated[
        list[str] | None,
        typer.Option(help="realm(s) to backfill; several run in parallel [default: the only connected one]"),
    ] = None,
    until: Annotated[str | None, typer.Option(help="day after the last, YYYY-MM-DD [default: now]")] = None,
    entities: Annotated[
        list[str] | None, typer.Option(help="entity names, repeated or comma-separated")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress on stderr, only the results")
    ] = False,
) -> None:
    """Reload a past period in 30-day windows without moving the live checkpoint; resumable."""
    from pipelines.backfill import backfill_all
    from pipelines.runtime.locks import LockBusy
    from pipelines.runtime.warehouse import LoadFailed, WarehouseBusy
    from sources.quickbooks.errors import QboError
    from sources.quickbooks.token_store import TokenStoreError

    start = day(since, "--since")
    end = day(until, "--until") if until else datetime.now(UTC)
    if end <= start:
        raise typer.BadParameter("--until must be after --since", param_hint="--until")
    selected = entity_names(entities)
    realms = realm or [resolve_realm(ctx, None)]
    say_warehouse(ctx)
    try:
        from pipelines.runtime.progress import Progress

        with Progress.live(typer.echo, quiet=quiet) as progress:
            loaded = backfill_all(connector(ctx), realms, start, end, selected, echo=progress)
    except (ConfigError, LookupError, TokenStoreError) as exc:
        fail(str(exc), 2)  # settings, keys, or a realm not connected: what to change
    except (QboError, LockBusy, WarehouseBusy, LoadFailed) as exc:
        fail(str(exc))
    for realm_id, tables in loaded.items():
        typer.echo(f"realm {realm_id}: backfilled {sum(tables.values()):,} rows")


def register(app: typer.Typer) -> None:
    app.command()(sync)
    app.command()(backfill)
