"""`qbo retention prune`: forget the integration store's old history (pipelines/retention.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.cli.common import connector, fail, group
from pipelines.runtime.settings import ConfigError


def retention_prune(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be removed; remove nothing")
    ] = False,
) -> None:
    """Delete the store's rows past their retention ([retention] in .dlt/config.toml), table by table;
    never pending events, unacknowledged changes, standing decisions or a record's last push."""
    from pipelines.retention import Retention, line, prune

    try:
        retention = Retention.resolve()
        pruned = prune(connector(ctx).store, retention, dry_run=dry_run)
    except ConfigError as exc:
        fail(str(exc), 2)
    for result in pruned:
        typer.echo(line(result, dry_run))
    total = sum(result.rows for result in pruned)
    typer.echo(f"{total} rows {'would be removed (dry run)' if dry_run else 'removed'}")


def register(app: typer.Typer) -> None:
    retention_app = group(app, "retention", "The integration store's history: prune it by age.")
    retention_app.command("prune")(retention_prune)
