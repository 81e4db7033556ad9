"""The `qbo` app: the global options, the command groups of pipelines/, and the registered plugins.

Commands of the layers above `pipelines/` (the gateway's `qbo serve`, Prefect's `qbo schedule`, the
sandbox's `qbo sandbox`, `qbo demo` and `qbo platform generate`) are not imported from here: their
packages register them through the `qbo.commands` entry points (pyproject.toml), so imports point down.
"""

from __future__ import annotations

from dataclasses import replace
from importlib.metadata import entry_points
from typing import Annotated

import typer

from pipelines.cli import admin, ask, platform, push, retention, review, sync, transform, webhooks
from pipelines.cli.common import fail
from pipelines.runtime.memory import fewer_malloc_arenas
from pipelines.runtime.settings import ConfigError, Settings

app = typer.Typer(
    name="qbo",
    help="qbo-elt: QuickBooks Online <-> platform ELT (dlt in, dbt in the middle, reverse ETL out).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help and errors: typer's rich ones import rich's markdown, syntax and traceback
    # modules first, 0.2 s of a 0.44 s `qbo --help` (bench/startup_bench.py)
    rich_markup_mode=None,
)


@app.callback()
def main(
    ctx: typer.Context,
    warehouse: Annotated[
        str | None,
        typer.Option(
            help="the warehouse: a DuckDB file [default: var/warehouse.duckdb], or a PostgreSQL URL "
            "(postgresql://user@host:5432/db; sync, backfill, webhooks drain and platform load so far)"
        ),
    ] = None,
    store: Annotated[
        str | None, typer.Option(help="integration store URL (sqlite:///... or postgresql://...)")
    ] = None,
    qbo_base_url: Annotated[
        str | None,
        typer.Option(help="QBO API base URL [default: production]; the sandbox's URL for local runs"),
    ] = None,
) -> None:
    """Global options; each also comes from .dlt/config.toml, .dlt/secrets.toml or the environment."""
    try:
        settings = Settings.resolve(warehouse=warehouse, store_url=store)
        if qbo_base_url:
            settings = replace(settings.with_sandbox(qbo_base_url.rstrip("/")), base_url_given=True)
    except ConfigError as exc:
        fail(str(exc), 2)
    ctx.obj = settings


for group in (admin, sync, platform, transform, push, review, webhooks, ask, retention):
    group.register(app)
for plugin in sorted(entry_points(group="qbo.commands"), key=lambda e: e.name):
    plugin.load()(app)


def run() -> None:
    """The `qbo` command. A warehouse another process has open, a lock another run holds, or a PostgreSQL
    warehouse that cannot be reached ends any command with one line naming the holder or the server
    (exit 1), never a traceback or a hint at credentials."""
    fewer_malloc_arenas()  # before any thread allocates: later is too late
    try:
        app()
    except Exception as exc:
        from pipelines.runtime.locks import LockBusy
        from pipelines.runtime.warehouse import warehouse_busy, warehouse_unreachable

        busy = exc if isinstance(exc, LockBusy) else warehouse_busy(exc) or warehouse_unreachable(exc)
        if busy is None:
            raise
        typer.echo(f"error: {busy}", err=True)
        raise SystemExit(1) from None
