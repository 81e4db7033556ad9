"""`qbo transform` and `qbo report drift`: the dbt build, and what it found for finance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.common import connector, day, fail, group, reading_warehouse
from pipelines.runtime.settings import ConfigError


def transform(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option(help="judge overdue and aging on this day [default: today]")
    ] = None,
    select: Annotated[
        str | None, typer.Option(help="dbt node selection, e.g. 'staging sync_drift+' [default: all]")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress on stderr, only the summary")
    ] = False,
) -> None:
    """Build the dbt project over the warehouse: mappings, drift, conflicts, outbound, finance marts.

    Progress (each model as it starts) goes to stderr; the summary to stdout, or to stderr with the
    failing nodes, their files and their errors when the build fails (exit 1)."""
    from pipelines.runtime.policy_config import mastering_policy
    from pipelines.transform.dbt_build import transform as run_transform

    as_of_day = day(as_of, "--as-of").date() if as_of else None
    try:
        policy = mastering_policy()
    except ConfigError as exc:
        fail(str(exc), 2)
    nodes = select.replace(",", " ").split() if select else None
    reading_warehouse(ctx)
    from pipelines.runtime.progress import Progress

    with Progress.live(typer.echo, quiet=quiet) as progress:
        result = run_transform(connector(ctx), policy=policy, as_of=as_of_day, select=nodes, echo=progress)
    if not result.success:
        typer.echo(f"error: {result.summary()}", err=True)
        raise typer.Exit(1)
    typer.echo(result.summary())


def report_drift(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="folder for the HTML, CSV and XLSX files")] = Path("var/reports"),
) -> None:
    """Write the drift report: HTML for people, CSV and XLSX of the same rows."""
    from pipelines.report.drift import read, write

    settings = reading_warehouse(ctx)
    try:
        report = read(settings.warehouse_target)
    except FileNotFoundError as exc:
        fail(str(exc), 2)
    paths = write(report, out)
    for label, count, _ in report.figures:
        typer.echo(f"  {label:<28}{count:>8,}")
    typer.echo(f"drift report: {paths['html']} (and {paths['xlsx'].name}, CSV files beside it)")


def register(app: typer.Typer) -> None:
    app.command()(transform)
    group(app, "report", "Reports for finance.").command("drift")(report_drift)
