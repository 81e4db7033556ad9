"""`qbo serve`: the integration gateway, registered into `qbo` through the `qbo.commands` entry point."""

from __future__ import annotations

import gc
from typing import Annotated

import typer

from pipelines.cli.common import connector, fail
from pipelines.runtime.settings import ConfigError


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8780,
) -> None:
    """Serve the integration gateway (OAuth connect/callback, webhook intake, real-time pushes, the
    changes feed) and the review console (/review/)."""
    import uvicorn

    from service.app import create_app

    try:
        gateway = create_app(connector(ctx))
    except ConfigError as exc:
        fail(str(exc), 2)
    # what start-up built lives as long as the process: out of the collector's sight, a full collection
    # walks only what requests made (it walked the whole of FastAPI, SQLAlchemy and pydantic mid-burst)
    gc.collect()
    gc.freeze()
    typer.echo(f"gateway on http://{host}:{port} (webhooks: POST /integrations/quickbooks/webhook)")
    typer.echo(f"review console on http://{host}:{port}/review/ (sign in with a gateway API key)")
    uvicorn.run(gateway, host=host, port=port, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    app.command()(serve)
