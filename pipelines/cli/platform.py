"""`qbo platform load` and `qbo platform schemas`: the platform's records and their contract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.common import connector, fail, group

HELP = "Platform records: the demo dataset, the DTO schemas, loading them."


def platform_load(
    ctx: typer.Context,
    source: Annotated[str, typer.Option(help="a folder of entity files, or a database URL")],
    strict: Annotated[bool, typer.Option(help="exit 1 when any record is refused")] = False,
) -> None:
    """Load platform records into the warehouse; refused records are kept aside, with why."""
    from pipelines.platform_load import load_platform
    from sources.platform.readers import SourceError

    the_connector = connector(ctx)
    try:
        result = load_platform(
            source,
            warehouse=the_connector.settings.warehouse,
            pipelines_dir=the_connector.settings.pipelines_path,
            realms=the_connector.tenant_realms(),
        )
    except SourceError as exc:
        fail(str(exc), 2)
    typer.echo(f"platform records from {source} into {the_connector.settings.warehouse}:")
    for line in result.lines():
        typer.echo(line)
    if result.rejected:
        typer.echo("refused records are in raw_platform.rejected (and the drift report's sync issues)")
        if strict:
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


def register(app: typer.Typer) -> None:
    platform_app = group(app, "platform", HELP)
    platform_app.command("load")(platform_load)
    platform_app.command("schemas")(platform_schemas)
