"""`qbo schedule`: the command that serves the deployments, registered into `qbo` through the
`qbo.commands` entry point (pyproject.toml).

Module-level imports stay light: the `qbo` command line imports this module for every command, and
Prefect loads only when the scheduler starts.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from pipelines.runtime.settings import SECTION, Settings

# the settings `qbo`'s global options can set; passed on to the flow runs through the environment
PASSED_ON = ("base_url", "discovery_url", "store_url", "warehouse", "pipelines_dir")


def pass_on(chosen: Settings) -> dict[str, str]:
    """Export the settings the command line changed (--warehouse, --store, --qbo-base-url) so the
    flow runs, subprocesses that resolve their settings anew, use them too. Returns what it set."""
    defaults = Settings.resolve()
    exported = {}
    for key in PASSED_ON:
        value = getattr(chosen, key)
        if value is not None and value != getattr(defaults, key):
            exported[f"{SECTION}.{key}".upper().replace(".", "__")] = str(value)
    os.environ.update(exported)
    return exported


def schedule(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(min=1, help="most flow runs at once [default: no cap]")] = None,
) -> None:
    """Serve the Prefect deployments of prefect.yaml from this process until Ctrl-C: sync hourly,
    webhook drain every minute, reconcile nightly (UTC); push, backfill and transform on demand.

    Needs a Prefect server (it creates the scheduled runs and keeps their logs): start one with
    `prefect server start` (UI on http://127.0.0.1:4200) and export
    PREFECT_API_URL=http://127.0.0.1:4200/api first.
    """
    # Prefect loads only for this command
    from flows.serve import NoPrefectServer, serve_all

    if isinstance(ctx.obj, Settings):
        exported = pass_on(ctx.obj)
        if exported:  # names only: a store URL may carry a password
            typer.echo(f"flow runs get the command line's {', '.join(sorted(exported))}")
    try:
        serve_all(limit=limit)
    except NoPrefectServer as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    app.command()(schedule)
