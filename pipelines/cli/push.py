"""`qbo push` and `qbo approve`: platform-mastered records to QBO, and what waits for a person."""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.cli.common import connector, entity_names, fail, reading_warehouse
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
    refused: Annotated[
        bool,
        typer.Option(
            "--refused", help="list every record not sent (refused or waiting) with its error; call nothing"
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress on stderr, only the results")
    ] = False,
) -> None:
    """Push platform-mastered records to QBO (run `qbo transform` first): creates, sparse updates, approved
    voids and deactivations, through the batch endpoint, with idempotent requestids."""
    from pipelines.mapping.order import ORDER
    from pipelines.push import batch
    from pipelines.push.plan import LOOK, SHOWN

    selected = entity_names(entities, allowed=ORDER)
    reading_warehouse(ctx)
    the_connector = connector(ctx)
    try:
        chosen = the_connector.realms(realm)
        if not chosen and not (dry_run or refused):
            fail("no realm to push to: none is connected, or each needs reconnecting (`qbo status`)", 2)
        if dry_run or refused:  # they call nothing: the warehouse's realms plan without a connection
            the_plan = batch.plan(the_connector, chosen or list(realm or []), selected)
            lines = [] if refused else the_plan.summary()
            for realm_id in the_plan.realms():
                listed = the_plan.not_sent(realm_id, limit=None if refused else SHOWN)
                if listed:
                    lines += [f"realm {realm_id}: not sent, and why:", *listed]
            if refused and not lines:
                lines = ["no record refused or waiting"]
            for line in lines:
                typer.echo(line)
            if dry_run:
                typer.echo("dry run: nothing was sent; `qbo push` sends the plan")
            if any(op.status in ("invalid", "refused") for op in the_plan.operations):
                typer.echo(f"where to look: {LOOK}")
            return
        from pipelines.runtime.progress import Progress

        with Progress.live(typer.echo, quiet=quiet) as progress:
            results = batch.push_all(the_connector, chosen, selected, echo=progress)
    except (ConfigError, LookupError) as exc:
        fail(str(exc), 2)
    except FileNotFoundError as exc:
        fail(f"{exc}; run `qbo sync` and `qbo transform` first", 2)
    if any(r.stopped for r in results):
        raise typer.Exit(1)


def approve(
    ctx: typer.Context,
    entities: Annotated[
        list[str] | None,
        typer.Option(help="the record's entity: Customer, Vendor, Item, Invoice, Bill or Payment"),
    ] = None,
    record: Annotated[str | None, typer.Option("--id", help="the platform id of the record")] = None,
    operation: Annotated[
        str | None, typer.Option(help="void | deactivate [default: what is pending]")
    ] = None,
    tenant: Annotated[
        str | None, typer.Option(help="the record's tenant [default: the configured one]")
    ] = None,
    realm: Annotated[
        list[str] | None,
        typer.Option(help="realm(s) whose pending operations count [default: every connected one]"),
    ] = None,
    by: Annotated[str, typer.Option(help="who approves (kept with the approval)")] = "cli",
    draft: Annotated[
        int | None, typer.Option(help="a write `qbo ask` or `qbo mcp` drafted: push it now")
    ] = None,
    entity: Annotated[list[str] | None, typer.Option("--entity", hidden=True)] = None,  # the old name
) -> None:
    """Approve a pending void or deactivation, or a drafted write (without --id or --draft: list them)."""
    from pipelines.ask.draft_view import of_row
    from pipelines.ask.draft_view import text as draft_text
    from pipelines.mapping.order import ORDER
    from pipelines.push import batch
    from pipelines.push.drafts import approve_draft

    wanted = entity_names([*(entities or []), *(entity or [])], allowed=ORDER)
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
        pending = batch.plan(the_connector, the_connector.realms(realm) or None).by_status("approval")
    except (ConfigError, LookupError) as exc:
        fail(str(exc), 2)
    except FileNotFoundError as exc:
        fail(f"{exc}; run `qbo sync` and `qbo transform` first", 2)
    if record is None:
        for op in pending:
            typer.echo(
                f"  {op.entity} {op.row['platform_id']} (tenant {op.row['tenant_id']}, realm {op.realm_id}): "
                f"{op.operation}: `qbo approve --entities {op.entity} --id {op.row['platform_id']}`"
            )
        typer.echo(f"{len(pending)} operation(s) await approval; approve one with --entities E --id ID")
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
        and (wanted is None or op.entity in wanted)
        and (tenant is None or op.row["tenant_id"] == tenant)
        and (operation is None or op.operation == operation)
    ]
    if len(matches) != 1:
        which = ",".join(wanted or ["*"])
        many = f"{len(matches)} pending operations match" if matches else "no pending operation matches"
        fail(f"{many} {which} {record}; `qbo approve` lists them", 2)
    op = matches[0]
    the_connector.store.approvals.approve(op.row["tenant_id"], op.entity, record, op.operation, by)
    typer.echo(f"approved: {op.operation} of {op.entity} {record}; the next `qbo push` sends it")


def register(app: typer.Typer) -> None:
    app.command()(push)
    app.command()(approve)
