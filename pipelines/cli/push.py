"""`qbo push` and `qbo approve`: platform-mastered records to QBO, and what waits for a person."""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.cli.common import connector, entity_names, fail
from pipelines.runtime.progress import Progress
from pipelines.runtime.settings import ConfigError


def push(
    ctx: typer.Context,
    realm: Annotated[
        list[str] | None, typer.Option(help="realm(s) to push to [default: every connected one]")
    ] = None,
    entities: Annotated[
        list[str] | None, typer.Option(help="entity names, repeated or comma-separated")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="print the plan and call nothing")] = False,
) -> None:
    """Push platform-mastered records to QBO (run `qbo transform` first): creates, sparse updates, approved
    voids and deactivations, through the batch endpoint, with idempotent requestids."""
    from pipelines.mapping.order import ORDER
    from pipelines.push import batch

    selected = entity_names(entities, allowed=ORDER)
    the_connector = connector(ctx)
    try:
        if dry_run:
            for line in batch.plan(the_connector, the_connector.realms(realm), selected).summary():
                typer.echo(line)
            return
        with Progress.live(typer.echo) as progress:
            results = batch.push_all(the_connector, realm, selected, echo=progress)
    except (ConfigError, LookupError) as exc:
        fail(str(exc), 2)
    except FileNotFoundError as exc:
        fail(f"{exc}; run `qbo sync` and `qbo transform` first", 2)
    if any(r.stopped for r in results):
        raise typer.Exit(1)


def approve(
    ctx: typer.Context,
    entity: Annotated[
        str | None, typer.Option(help="Customer, Vendor, Item, Invoice, Bill or Payment")
    ] = None,
    record: Annotated[str | None, typer.Option("--id", help="the platform id of the record")] = None,
    operation: Annotated[
        str | None, typer.Option(help="void | deactivate [default: what is pending]")
    ] = None,
    tenant: Annotated[
        str | None, typer.Option(help="the record's tenant [default: the configured one]")
    ] = None,
    by: Annotated[str, typer.Option(help="who approves (kept with the approval)")] = "cli",
    draft: Annotated[
        int | None, typer.Option(help="a write `qbo ask` or `qbo mcp` drafted: push it now")
    ] = None,
) -> None:
    """Approve a pending void or deactivation, or a drafted write (without --id or --draft: list them)."""
    from pipelines.ask.draft_view import of_row
    from pipelines.ask.draft_view import text as draft_text
    from pipelines.push import batch
    from pipelines.push.drafts import approve_draft

    the_connector = connector(ctx)
    if draft is not None:
        try:
            status, body = approve_draft(the_connector, draft, by)
        except (LookupError, ConfigError) as exc:
            fail(str(exc), 2)
        if status not in (200, 201):
            fail(f"draft #{draft} was not pushed: {body.get('code')}: {body.get('message')}")
        typer.echo(
            f"approved draft #{draft}: QBO {body['entity']} {body['qboId']} (SyncToken {body['syncToken']})"
        )
        return
    try:
        pending = batch.plan(the_connector).by_status("approval")
    except (ConfigError, LookupError) as exc:
        fail(str(exc), 2)
    except FileNotFoundError as exc:
        fail(f"{exc}; run `qbo sync` and `qbo transform` first", 2)
    if record is None:
        for op in pending:
            typer.echo(
                f"  {op.entity} {op.row['platform_id']} (tenant {op.row['tenant_id']}): {op.operation}"
            )
        typer.echo(f"{len(pending)} operation(s) await approval; approve with --entity E --id ID")
        drafts = the_connector.store.intents.pending_writes()
        for row in drafts:
            typer.echo(
                f"  draft #{row['id']}: {row['entity']} by {row['caller']} at {row['at']:%Y-%m-%d %H:%M}"
            )
            for line in draft_text(of_row(the_connector, row)):  # the draft in full: whom, lines, total
                typer.echo(f"    {line}")
        if drafts:
            typer.echo(f"{len(drafts)} drafted write(s) await approval; approve with --draft N")
        return
    matches = [
        op
        for op in pending
        if op.row["platform_id"] == record
        and (entity is None or op.entity == entity)
        and (tenant is None or op.row["tenant_id"] == tenant)
        and (operation is None or op.operation == operation)
    ]
    if len(matches) != 1:
        fail(f"no single pending operation matches {entity or '*'} {record}; `qbo approve` lists them", 2)
    op = matches[0]
    the_connector.store.approvals.approve(op.row["tenant_id"], op.entity, record, op.operation, by)
    typer.echo(f"approved: {op.operation} of {op.entity} {record}; the next `qbo push` sends it")


def register(app: typer.Typer) -> None:
    app.command()(push)
    app.command()(approve)
