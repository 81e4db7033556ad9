"""`qbo`: the command line. Each command is a thin shell over a plain function."""

from __future__ import annotations

import secrets
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.fernet import Fernet

from flows.cli import schedule
from pipelines.config import ConfigError, Settings
from pipelines.connector import Connector
from pipelines.sync import SyncFailed, backfill_all, sync_all
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.errors import QboError

app = typer.Typer(
    name="qbo",
    help="qbo-elt: QuickBooks Online <-> platform ELT (dlt in, dbt in the middle, reverse ETL out).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMPANIES = ("empty", "tiny", "demo", "medium", "large")


def _company(value: str) -> str:
    if value not in COMPANIES:
        raise typer.BadParameter(f"{value!r} is not a company profile; choose one of {', '.join(COMPANIES)}")
    return value


def _entities(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENTITIES]
    if unknown:
        raise typer.BadParameter(
            f"unknown entities {', '.join(unknown)}; choose from {', '.join(ENTITIES)}",
            param_hint="--entities",
        )
    return names


def _connector(ctx: typer.Context) -> Connector:
    return Connector(ctx.obj)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.callback()
def main(
    ctx: typer.Context,
    warehouse: Annotated[
        Path | None, typer.Option(help="DuckDB warehouse file [default: var/warehouse.duckdb]")
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
            settings = settings.with_sandbox(qbo_base_url.rstrip("/"))
    except ConfigError as exc:
        _fail(str(exc), 2)
    ctx.obj = settings


@app.command()
def sandbox(
    host: Annotated[
        str, typer.Option(help="interface to listen on (keep loopback unless you mean it)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    company: Annotated[
        str, typer.Option(callback=_company, help="empty | tiny | demo | medium | large")
    ] = "demo",
    seed: Annotated[int, typer.Option(help="same seed, same company")] = 1,
    realms: Annotated[int, typer.Option(min=1, max=50, help="how many companies (realms) to serve")] = 1,
    db: Annotated[
        Path | None, typer.Option(help="SQLite file to keep the sandbox in (default: memory)")
    ] = None,
    webhook_url: Annotated[str | None, typer.Option(help="POST change notifications here")] = None,
    webhook_format: Annotated[str, typer.Option(help="cloudevents | legacy")] = "cloudevents",
) -> None:
    """Serve a local QuickBooks Online lookalike: API v3, OAuth 2.0, webhooks, limits and faults."""
    from sandbox.launch import serve_forever  # the web stack loads only for the commands that serve

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
    from pipelines import demo as demo_job

    demo_job.run(company=company, seed=seed, out=sys.stdout)


@app.command()
def connect(
    ctx: typer.Context,
    code: Annotated[str | None, typer.Option(help="an authorization code you already have")] = None,
    realm: Annotated[str | None, typer.Option(help="the realm id that came with --code")] = None,
    tenant: Annotated[str | None, typer.Option(help="the platform tenant this company belongs to")] = None,
    timeout: Annotated[int, typer.Option(help="seconds to wait for the browser's redirect")] = 300,
) -> None:
    """Connect a QuickBooks company: print the consent URL and take the redirect on a loopback port,
    or finish with --code C --realm R."""
    connector = _connector(ctx)
    tenant_id = tenant or connector.settings.tenant_id
    try:
        if code or realm:
            if not (code and realm):
                _fail("--code and --realm go together (both come back on the redirect URL)", 2)
            record = connector.tokens.connect(tenant_id, code, realm)  # type: ignore[arg-type]
        else:
            from pipelines.connect import connect_interactively

            record = connect_interactively(connector, tenant_id, timeout, echo=typer.echo)
    except (ConfigError, QboError, ValueError, TimeoutError) as exc:
        _fail(str(exc))
    typer.echo(
        f"connected realm {record.realm_id} for tenant {record.tenant_id}; refresh token valid until "
        f"{record.refresh_token_expires_at:%Y-%m-%d}"
    )


@app.command()
def disconnect(
    ctx: typer.Context,
    realm: Annotated[str, typer.Option(help="the realm to disconnect")],
) -> None:
    """Revoke the realm's tokens at Intuit and delete them here."""
    try:
        removed = _connector(ctx).tokens.disconnect(realm)
    except (ConfigError, QboError) as exc:
        _fail(str(exc))
    if not removed:
        _fail(f"realm {realm} is not connected", 1)
    typer.echo(f"disconnected realm {realm}: tokens revoked and deleted")


@app.command()
def sync(
    ctx: typer.Context,
    realm: Annotated[
        list[str] | None, typer.Option(help="realm(s) to sync [default: every connected one]")
    ] = None,
    entities: Annotated[
        list[str] | None, typer.Option(help="entity names, repeated or comma-separated")
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option(help="re-read everything and mark what QBO no longer has")
    ] = False,
) -> None:
    """Extract and load QBO into the warehouse, incrementally (CDC), deletes included."""
    selected = _entities(entities)
    try:
        sync_all(_connector(ctx), realm, selected, full_refresh, echo=typer.echo)
    except (ConfigError, LookupError) as exc:
        _fail(str(exc), 2)
    except SyncFailed as exc:
        _fail(str(exc))


def _day(value: str, option: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time(), UTC)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


@app.command()
def backfill(
    ctx: typer.Context,
    realm: Annotated[list[str], typer.Option(help="realm(s) to backfill; several run in parallel")],
    since: Annotated[str, typer.Option(help="first day, YYYY-MM-DD (UTC)")],
    until: Annotated[str | None, typer.Option(help="day after the last, YYYY-MM-DD [default: now]")] = None,
    entities: Annotated[
        list[str] | None, typer.Option(help="entity names, repeated or comma-separated")
    ] = None,
) -> None:
    """Reload a past period in 30-day windows without moving the live checkpoint; resumable."""
    start = _day(since, "--since")
    end = _day(until, "--until") if until else datetime.now(UTC)
    if end <= start:
        raise typer.BadParameter("--until must be after --since", param_hint="--until")
    try:
        loaded = backfill_all(_connector(ctx), realm, start, end, _entities(entities), echo=typer.echo)
    except (ConfigError, LookupError, QboError) as exc:
        _fail(str(exc))
    for realm_id, tables in loaded.items():
        typer.echo(f"realm {realm_id}: backfilled {sum(tables.values()):,} rows")


@app.command()
def status(ctx: typer.Context) -> None:
    """Per realm: connection and token expiry, last successful sync and its rows, last error."""
    from pipelines.status import status_lines

    try:
        for line in status_lines(_connector(ctx)):
            typer.echo(line)
    except ConfigError as exc:
        _fail(str(exc), 2)


platform_app = typer.Typer(
    help="Platform records: the demo dataset, the DTO schemas, loading them.", no_args_is_help=True
)
app.add_typer(platform_app, name="platform")
report_app = typer.Typer(help="Reports for finance.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@platform_app.command("generate")
def platform_generate(
    out: Annotated[Path, typer.Option(help="folder for the JSONL files and planted.json")],
    company: Annotated[str, typer.Option(callback=_company, help="the sandbox company to overlap")] = "demo",
    seed: Annotated[int, typer.Option(help="the sandbox company's seed")] = 1,
    realm: Annotated[str | None, typer.Option(help="its realm id [default: the sandbox's first]")] = None,
    tenant: Annotated[str, typer.Option(help="the platform tenant the records belong to")] = "demo-tenant",
    sandbox_db: Annotated[
        Path | None, typer.Option(help="read the company from a `qbo sandbox --db` file instead of making it")
    ] = None,
) -> None:
    """Write platform records overlapping a sandbox company, and the record of what differs."""
    from pipelines import platform_demo
    from pipelines.mapping.policy import from_config
    from sandbox.clock import DEFAULT_TZ
    from sandbox.launch import FIRST_REALM
    from sandbox.store import Store

    realm_id = realm or str(FIRST_REALM)
    try:
        policy = from_config()
    except ConfigError as exc:
        _fail(str(exc), 2)
    if sandbox_db is not None:
        if not sandbox_db.is_file():
            raise typer.BadParameter(
                f"{sandbox_db} is not a sandbox database file", param_hint="--sandbox-db"
            )
        store = Store(sandbox_db)
        if store.realm(realm_id) is None:
            _fail(f"{sandbox_db} holds no realm {realm_id}; give --realm", 2)
    else:
        store = platform_demo.qbo_company(company, seed, realm_id, DEFAULT_TZ)
    generated = platform_demo.generate(store, realm_id, out, tenant_id=tenant, seed=seed, policy=policy)
    paths, planted = generated.paths, generated.planted
    typer.echo(f"wrote {sum(planted.counts.values()):,} platform records to {out}:")
    for entity, count in planted.counts.items():
        typer.echo(f"  {entity:<10}{count:>8,}  {paths[entity].name}")
    typer.echo(
        f"planted: {len(planted.links):,} linked, {len(planted.candidates)} to match, "
        f"{len(planted.platform_only)} platform-only, {len(planted.qbo_only)} QBO-only, "
        f"{len(planted.drift)} drifting fields, {len(planted.conflicts)} conflicts, "
        f"{len(planted.rejected)} invalid ({paths['planted'].name})"
    )


@platform_app.command("load")
def platform_load(
    ctx: typer.Context,
    source: Annotated[str, typer.Option(help="a folder of entity files, or a database URL")],
    strict: Annotated[bool, typer.Option(help="exit 1 when any record is refused")] = False,
) -> None:
    """Load platform records into the warehouse; refused records are kept aside, with why."""
    from pipelines.platform_load import load_platform
    from sources.platform.readers import SourceError

    connector = _connector(ctx)
    try:
        result = load_platform(
            source,
            warehouse=connector.settings.warehouse,
            pipelines_dir=connector.settings.pipelines_path,
            realms=connector.tenant_realms(),
        )
    except SourceError as exc:
        _fail(str(exc), 2)
    typer.echo(f"platform records from {source} into {connector.settings.warehouse}:")
    for line in result.lines():
        typer.echo(line)
    if result.rejected:
        typer.echo("refused records are in raw_platform.rejected (and the drift report's sync issues)")
        if strict:
            raise typer.Exit(1)


@platform_app.command("schemas")
def platform_schemas(
    out: Annotated[Path, typer.Option(help="folder for <Entity>.schema.json")] = Path(
        "sources/platform/schemas"
    ),
) -> None:
    """Write the JSON schemas of the platform DTOs (the contract the platform sends records in)."""
    from sources.platform.contract import write_schemas

    for path in write_schemas(out):
        typer.echo(f"wrote {path}")


@app.command()
def transform(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option(help="judge overdue and aging on this day [default: today]")
    ] = None,
    select: Annotated[
        str | None, typer.Option(help="dbt node selection, e.g. 'staging sync_drift+' [default: all]")
    ] = None,
) -> None:
    """Build the dbt project over the warehouse: mappings, drift, conflicts, outbound, finance marts."""
    from pipelines.mapping.policy import from_config
    from pipelines.transform import transform as run_transform

    day = _day(as_of, "--as-of").date() if as_of else None
    try:
        policy = from_config()
    except ConfigError as exc:
        _fail(str(exc), 2)
    nodes = select.replace(",", " ").split() if select else None
    result = run_transform(_connector(ctx), policy=policy, as_of=day, select=nodes)
    typer.echo(result.summary())
    if not result.success:
        raise typer.Exit(1)


@report_app.command("drift")
def report_drift(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="folder for the HTML, CSV and XLSX files")] = Path("var/reports"),
) -> None:
    """Write the drift report: HTML for people, CSV and XLSX of the same rows."""
    from pipelines.report import read, write

    try:
        report = read(_connector(ctx).settings.warehouse)
    except FileNotFoundError as exc:
        _fail(str(exc), 2)
    paths = write(report, out)
    for label, count, _ in report.figures:
        typer.echo(f"  {label:<28}{count:>8,}")
    typer.echo(f"drift report: {paths['html']} (and {paths['xlsx'].name}, CSV files beside it)")


PUSHABLE = ("Customer", "Vendor", "Item", "Invoice", "Bill", "Payment")


def _pushable(values: list[str] | None) -> list[str] | None:
    names = _entities(values)
    wrong = [n for n in names or [] if n not in PUSHABLE]
    if wrong:
        raise typer.BadParameter(
            f"{', '.join(wrong)} cannot be pushed; choose from {', '.join(PUSHABLE)}", param_hint="--entities"
        )
    return names


@app.command()
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
    from pipelines import push as push_job

    selected = _pushable(entities)
    connector = _connector(ctx)
    try:
        if dry_run:
            for line in push_job.plan(connector, connector.realms(realm), selected).summary():
                typer.echo(line)
            return
        results = push_job.push_all(connector, realm, selected, echo=typer.echo)
    except (ConfigError, LookupError) as exc:
        _fail(str(exc), 2)
    except FileNotFoundError as exc:
        _fail(f"{exc}; run `qbo sync` and `qbo transform` first", 2)
    if any(r.stopped for r in results):
        raise typer.Exit(1)


@app.command()
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
    from pipelines import push as push_job

    connector = _connector(ctx)
    if draft is not None:
        from pipelines.ask.drafts import approve as approve_draft

        try:
            status, body = approve_draft(connector, draft, by)
        except (LookupError, ConfigError) as exc:
            _fail(str(exc), 2)
        if status not in (200, 201):
            _fail(f"draft #{draft} was not pushed: {body.get('code')}: {body.get('message')}")
        typer.echo(
            f"approved draft #{draft}: QBO {body['entity']} {body['qboId']} (SyncToken {body['syncToken']})"
        )
        return
    try:
        pending = push_job.plan(connector).by_status("approval")
    except (ConfigError, LookupError) as exc:
        _fail(str(exc), 2)
    if record is None:
        for op in pending:
            typer.echo(
                f"  {op.entity} {op.row['platform_id']} (tenant {op.row['tenant_id']}): {op.operation}"
            )
        typer.echo(f"{len(pending)} operation(s) await approval; approve with --entity E --id ID")
        drafts = connector.store.pending_drafts()
        for row in drafts:
            typer.echo(
                f"  draft #{row['id']}: {row['entity']} by {row['caller']} at {row['at']:%Y-%m-%d %H:%M}"
            )
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
        _fail(f"no single pending operation matches {entity or '*'} {record}; `qbo approve` lists them", 2)
    op = matches[0]
    connector.store.approve(op.row["tenant_id"], op.entity, record, op.operation, by)
    typer.echo(f"approved: {op.operation} of {op.entity} {record}; the next `qbo push` sends it")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8780,
) -> None:
    """Serve the integration gateway: OAuth connect/callback, webhook intake, real-time pushes."""
    import uvicorn

    from service.app import create_app

    try:
        gateway = create_app(_connector(ctx))
    except ConfigError as exc:
        _fail(str(exc), 2)
    typer.echo(f"gateway on http://{host}:{port} (webhooks: POST /integrations/quickbooks/webhook)")
    uvicorn.run(gateway, host=host, port=port, log_level="warning", access_log=False)


webhooks_app = typer.Typer(
    help="Webhook events: drain them into the warehouse, replay them.", no_args_is_help=True
)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("drain")
def webhooks_drain(ctx: typer.Context) -> None:
    """Fetch what stored webhook events changed into the warehouse, then run requested syncs."""
    from pipelines.webhooks import drain

    try:
        result = drain(_connector(ctx), echo=typer.echo)
    except ConfigError as exc:
        _fail(str(exc), 2)
    typer.echo(
        f"{result.events} events ({result.duplicates} duplicates, {result.ignored} ignored): "
        f"{result.fetched} records fetched, {result.deleted} marked deleted in {result.requests} requests; "
        f"{result.syncs} requested syncs"
    )
    if result.failed:
        _fail(f"{result.failed} events failed and wait for the next drain: " + "; ".join(result.notes))


@webhooks_app.command("replay")
def webhooks_replay(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="events received from this day (YYYY-MM-DD) or time (ISO 8601)")],
    realm: Annotated[str | None, typer.Option(help="only this realm's events")] = None,
    entity: Annotated[str | None, typer.Option(help="only this entity's events")] = None,
) -> None:
    """Queue processed events again (then `qbo webhooks drain`): their records are fetched anew."""
    from pipelines.webhooks import EventQueue

    moment = _moment(since, "--since")
    if entity is not None:
        _entities([entity])
    count = EventQueue(_connector(ctx).store.engine).replay(moment, realm, entity)
    typer.echo(f"{count} events queued again; run `qbo webhooks drain` to process them")


def _moment(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date or an ISO 8601 time", param_hint=option) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _asker(ctx: typer.Context, realm: str | None, fresh_minutes: int) -> tuple[Any, Any]:
    """The answering side and the words-to-intent side of `qbo ask` and `qbo mcp`."""
    from datetime import timedelta

    from pipelines.ask.parser import NameIndex, RuleParser
    from pipelines.ask.run import Asker

    connector = _connector(ctx)
    if not connector.settings.warehouse.exists():
        _fail(f"no warehouse at {connector.settings.warehouse}; run `qbo sync` and `qbo transform` first", 2)
    names = NameIndex.from_warehouse(connector.settings.warehouse, realm)
    return Asker(connector, caller="cli", fresh=timedelta(minutes=fresh_minutes)), RuleParser(names)


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="e.g. 'unpaid invoices from last month over $1,000'")],
    realm: Annotated[str | None, typer.Option(help="the realm to ask about [default: the only one]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object: intent, queries, rows")] = False,
    fresh_minutes: Annotated[
        int, typer.Option(min=0, help="a warehouse synced within this many minutes answers; else QBO does")
    ] = 120,
) -> None:
    """A finance question in words: the intent it is read as, the query run, and the answer as a table."""
    import json

    from pipelines.ask.parser import ParseError
    from pipelines.ask.translate import Refused

    asker, parser = _asker(ctx, realm, fresh_minutes)
    try:
        intent = parser.parse(question, datetime.now(UTC).date())
        if realm:
            intent = intent.model_copy(update={"realm_id": realm})
        answer = asker.answer(intent, question)
    except (ParseError, Refused) as exc:
        _fail(str(exc), 2)
    if as_json:
        typer.echo(json.dumps(answer.as_json(), default=str, ensure_ascii=False))
        return
    typer.echo(f"intent:   {intent.model_dump_json(exclude_none=True, exclude_defaults=True)}")
    typer.echo(f"QBO:      {answer.qbo_query or '-'}")
    typer.echo(f"SQL:      {answer.sql or '-'}")
    typer.echo(f"ran on:   {answer.ran_on}")
    for note in answer.notes:
        typer.echo(f"note:     {note}")
    if answer.columns:
        widths = [
            max(len(str(c)), *(len(str(r[i])) for r in answer.rows)) for i, c in enumerate(answer.columns)
        ]
        typer.echo("  ".join(str(c).ljust(w) for c, w in zip(answer.columns, widths, strict=True)))
        for row in answer.rows:
            typer.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
        typer.echo(f"({len(answer.rows)} row{'s' if len(answer.rows) != 1 else ''})")


@app.command()
def mcp(
    ctx: typer.Context,
    realm: Annotated[
        str | None, typer.Option(help="the realm to answer about [default: the only one]")
    ] = None,
    fresh_minutes: Annotated[int, typer.Option(min=0)] = 120,
) -> None:
    """Serve the intents as tools over the Model Context Protocol on stdio (for agent orchestrators)."""
    from pipelines.ask.mcp import McpServer

    asker, parser = _asker(ctx, realm, fresh_minutes)
    asker.caller = "mcp"
    McpServer(
        asker.answer,
        lambda text: parser.parse(text, datetime.now(UTC).date()),
    ).serve(sys.stdin, sys.stdout)


app.command("schedule")(schedule)


@app.command("rotate-keys")
def rotate_keys(ctx: typer.Context) -> None:
    """Re-encrypt every stored token with the first key of token_encryption_keys (then drop the old key)."""
    try:
        count = _connector(ctx).token_store.rotate_keys()
    except ConfigError as exc:
        _fail(str(exc), 2)
    typer.echo(f"re-encrypted the tokens of {count} realm(s) with the first key; the other keys can now go")


@app.command()
def keygen(
    api_key: Annotated[bool, typer.Option(help="a gateway API key instead of an encryption key")] = False,
) -> None:
    """Print a new token-encryption key (put it first in token_encryption_keys to rotate)."""
    typer.echo(secrets.token_urlsafe(32) if api_key else Fernet.generate_key().decode())


if __name__ == "__main__":  # pragma: no cover
    app()
