"""`qbo sync` and `qbo backfill`: QBO into the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from pipelines.cli.common import connector, day, entity_names, fail
from pipelines.runtime.progress import Progress
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
) -> None:
    """Extract and load QBO into the warehouse, incrementally (CDC), deletes included."""
    from pipelines.sync import SyncFailed, sync_all
    from sources.quickbooks.token_store import TokenStoreError

    selected = entity_names(entities)
    try:
        with Progress.live(typer.echo) as progress:
            sync_all(connector(ctx), realm, selected, full_refresh, echo=progress)
    except (ConfigError, LookupError, TokenStoreError) as exc:
        fail(str(exc), 2)
    except SyncFailed as exc:
        fail(str(exc))


def backfill(
    ctx: typer.Context,
    realm: Annotated[list[str], typer.Option(help="realm(s) to backfill; several run in parallel")],
    since: Annotated[str, typer.Option(help="first day, YYYY-MM-DD (UTC)")],
    until: Annotated[str | None, typer.Option(help="day after the last, YYYY-MM-DD [default: now]")] = None,
    entities: Annotated[
        list[str] | None, typer.Option(help="entity names, repeated or comma-separated")
    ] = None,
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
    try:
        with Progress.live(typer.echo) as progress:
            loaded = backfill_all(connector(ctx), realm, start, end, entity_names(entities), echo=progress)
    except (ConfigError, LookupError, QboError, TokenStoreError, LockBusy, WarehouseBusy, LoadFailed) as exc:
        fail(str(exc))
    for realm_id, tables in loaded.items():
        typer.echo(f"realm {realm_id}: backfilled {sum(tables.values()):,} rows")


def register(app: typer.Typer) -> None:
    app.command()(sync)
    app.command()(backfill)
