"""`qbo`: the command line. Each command is a thin shell over a plain function."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipelines import demo as demo_job
from sandbox.serve import serve_forever

app = typer.Typer(
    name="qbo",
    help="qbo-elt: QuickBooks Online <-> platform ELT (dlt in, dbt in the middle, reverse ETL out).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMPANIES = ("empty", "tiny", "demo", "large")


def _company(value: str) -> str:
    if value not in COMPANIES:
        raise typer.BadParameter(f"{value!r} is not a company profile; choose one of {', '.join(COMPANIES)}")
    return value


@app.command()
def sandbox(
    host: Annotated[
        str, typer.Option(help="interface to listen on (keep loopback unless you mean it)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    company: Annotated[str, typer.Option(callback=_company, help="empty | tiny | demo | large")] = "demo",
    seed: Annotated[int, typer.Option(help="same seed, same company")] = 1,
    realms: Annotated[int, typer.Option(min=1, max=50, help="how many companies (realms) to serve")] = 1,
    db: Annotated[
        Path | None, typer.Option(help="SQLite file to keep the sandbox in (default: memory)")
    ] = None,
    webhook_url: Annotated[str | None, typer.Option(help="POST change notifications here")] = None,
    webhook_format: Annotated[str, typer.Option(help="cloudevents | legacy")] = "cloudevents",
) -> None:
    """Serve a local QuickBooks Online lookalike: API v3, OAuth 2.0, webhooks, limits and faults."""
    if webhook_format not in ("cloudevents", "legacy"):
        raise typer.BadParameter(
            "webhook format must be cloudevents or legacy", param_hint="--webhook-format"
        )
    serve_forever(
        host=host,
        port=port,
        company=company,
        seed=seed,
        realms=realms,
        db=db,
        webhook_url=webhook_url,
        webhook_format=webhook_format,
        out=sys.stdout,
    )


@app.command()
def demo(
    company: Annotated[
        str, typer.Option(callback=_company, help="company profile to demonstrate on")
    ] = "demo",
    seed: Annotated[int, typer.Option()] = 1,
) -> None:
    """Run the product end to end against an embedded sandbox, with no credentials."""
    demo_job.run(company=company, seed=seed, out=sys.stdout)


if __name__ == "__main__":  # pragma: no cover
    app()
