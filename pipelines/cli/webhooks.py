"""`qbo webhooks drain|replay`: stored webhook events into the warehouse, and again."""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.cli.common import connector, entity_names, fail, group, moment
from pipelines.runtime.settings import ConfigError


def webhooks_drain(ctx: typer.Context) -> None:
    """Fetch what stored webhook events changed into the warehouse, then run requested syncs."""
    from pipelines.drain import MAX_ATTEMPTS, drain
    from pipelines.runtime.landing import land_push_results
    from pipelines.sync import run_sync_requests

    try:
        the_connector = connector(ctx)
        result = drain(the_connector, echo=typer.echo)
        syncs = run_sync_requests(the_connector, echo=typer.echo)
        land_push_results(the_connector)  # the gateway's real-time pushes, into the push log and raw_qbo
    except ConfigError as exc:
        fail(str(exc), 2)
    typer.echo(
        f"{result.events} events ({result.duplicates} duplicates, {result.ignored} ignored): "
        f"{result.fetched} records fetched, {result.deleted} marked deleted in {result.requests} requests; "
        f"{syncs} requested syncs"
    )
    if result.unknown:
        typer.echo(
            f"{result.unknown} records the events name gone were never in the warehouse: "
            "kept as events (their note says so), no row written"
        )
    if result.given_up:
        given_up = "; ".join(n for n in result.notes if "marked failed" in n)
        typer.echo(
            f"{result.given_up} events QBO refused {MAX_ATTEMPTS} times were marked failed (they show in "
            f"`qbo status`; `qbo webhooks replay --since DAY` queues them again once fixed): {given_up}"
        )
    if result.failed:
        fail(f"{result.failed} events failed and wait for the next drain: " + "; ".join(result.notes))


def webhooks_replay(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="events received from this day (YYYY-MM-DD) or time (ISO 8601)")],
    realm: Annotated[str | None, typer.Option(help="only this realm's events")] = None,
    entities: Annotated[
        list[str] | None, typer.Option(help="only these entities' events, repeated or comma-separated")
    ] = None,
) -> None:
    """Queue processed events again (then `qbo webhooks drain`): their records are fetched anew."""
    start = moment(since, "--since")
    events = connector(ctx).store.events
    count = sum(events.replay(start, realm, entity) for entity in entity_names(entities) or [None])
    typer.echo(f"{count} events queued again; run `qbo webhooks drain` to process them")


def register(app: typer.Typer) -> None:
    webhooks_app = group(app, "webhooks", "Webhook events: drain them into the warehouse, replay them.")
    webhooks_app.command("drain")(webhooks_drain)
    webhooks_app.command("replay")(webhooks_replay)
