"""`qbo platform load|schemas|deliver|changes`: the platform's records, their contract, what QBO changed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.common import connector, fail, group, reading_warehouse

HELP = "Platform records: the demo dataset, the DTO schemas, loading them."


def platform_load(
    ctx: typer.Context,
    source: Annotated[str, typer.Option(help="a folder of entity files, or a database URL")],
    strict: Annotated[bool, typer.Option(help="exit 1 when any record is refused")] = False,
) -> None:
    """Load platform records into the warehouse; refused records are kept aside, with why.

    Each bad record is refused alone (its file and line, the field and the reason, in
    raw_platform.rejected) and the others load. Bounds: a JSONL line up to 8 MiB, a CSV cell up to
    1 MiB, nesting up to 32 levels, UTF-8 only.

    Exit codes: 0 when the source was read (even with refused records; --strict makes those 1);
    1 when it held records and not one could be read (not UTF-8, not JSON, not CSV); 2 when the source
    cannot be opened (no such folder, no entity files, no entity tables)."""
    from pipelines.platform_load import load_platform
    from sources.platform.readers import SourceError

    the_connector = connector(ctx)
    try:
        result = load_platform(
            source,
            warehouse=the_connector.settings.warehouse_target,
            pipelines_dir=the_connector.settings.pipelines_path,
            realms=the_connector.tenant_realms(),
        )
    except SourceError as exc:
        fail(str(exc), 2)
    typer.echo(f"platform records from {source} into {the_connector.settings.warehouse_label}:")
    for line in result.lines():
        typer.echo(line)
    if result.rejected:
        typer.echo(
            "every refusal, with its file and line, field and reason, is in raw_platform.rejected "
            "(and the drift report's sync issues); fix the records and load again"
        )
    if result.nothing_readable:
        fail(f"not one record of {source} could be read: check the files' format and encoding (UTF-8)", 1)
    if result.rejected and strict:
        raise typer.Exit(1)


def platform_schemas(
    out: Annotated[Path, typer.Option(help="folder for <Entity>.schema.json")] = Path(
        "sources/platform/schemas"
    ),
) -> None:
    """Write the JSON schemas of the platform DTOs (the contract the platform sends records in)."""
    from sources.platform.contract import write_schemas

    for path in write_schemas(out):
        typer.echo(f"wrote {path}")


def platform_deliver(ctx: typer.Context) -> None:
    """Put what QBO changed into the outbox the platform reads, as platform DTOs.

    Edits of QBO-mastered fields, QBO-side creates, deletes, merges and voids; accounts and employees.
    Run it after `qbo sync` or `qbo webhooks drain`, and `qbo transform`. With a platform callback
    configured, the changes are then POSTed to it, signed."""
    import duckdb
    import psycopg

    from pipelines.deliver.callback import post_pending
    from pipelines.deliver.enqueue import NotTransformed, deliver

    reading_warehouse(ctx)
    chosen = connector(ctx)
    try:
        result = deliver(chosen, echo=typer.echo)
    except NotTransformed as exc:
        fail(str(exc), 2)
    except (duckdb.Error, psycopg.DatabaseError) as exc:  # a model the sync marts need is not built
        fail(f"cannot read the warehouse's sync marts ({type(exc).__name__}): run `qbo transform` first", 2)
    posted = post_pending(chosen, echo=typer.echo)
    if result.failed or posted.waiting:
        raise typer.Exit(1)


def platform_changes(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="the tenant (default: the configured one)")] = None,
    after: Annotated[
        int | None, typer.Option(help="a cursor (default: the tenant's acknowledged cursor)", min=0)
    ] = None,
    limit: Annotated[int, typer.Option(help="at most this many (1-500)", min=1, max=500)] = 100,
) -> None:
    """Print the outbox: what the platform is to take from QBO, one JSON change a line."""
    import json

    the_connector = connector(ctx)
    tenant = tenant or the_connector.settings.tenant_id
    if not tenant:
        fail("no tenant: pass --tenant or configure tenant_id", 2)
    outbox = the_connector.store.outbox
    start = outbox.acknowledged(tenant) if after is None else after
    changes = outbox.page(tenant, start, limit)
    for change in changes:
        typer.echo(json.dumps(change, sort_keys=True))
    following = changes[-1]["cursor"] if changes else start
    summary = f"{len(changes)} change(s) for tenant {tenant} after cursor {start}; next: {following}"
    typer.echo(summary, err=True)


def register(app: typer.Typer) -> None:
    platform_app = group(app, "platform", HELP)
    platform_app.command("load")(platform_load)
    platform_app.command("schemas")(platform_schemas)
    platform_app.command("deliver")(platform_deliver)
    platform_app.command("changes")(platform_changes)
