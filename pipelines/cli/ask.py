"""`qbo ask` and `qbo mcp`: finance questions in plain language, on a terminal or as MCP tools.

What is refused (a question not understood, an absurd amount, another realm than `--realm`) is one line
naming what to change, exit code 2, and a row in the audit log, as every answered call is. The warehouse
is the DuckDB file or the PostgreSQL database of `--warehouse`; one that is missing, unbuilt or down is
refused the same way, before a question is read.
"""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from pipelines.cli.common import connector, fail, reading_warehouse

if TYPE_CHECKING:
    from pipelines.ask.names import NameIndex
    from pipelines.ask.parse_error import ParseError
    from pipelines.ask.rule_parser import RuleParser
    from pipelines.ask.run import Answer, Asker
    from pipelines.runtime.settings import Settings


def _realm(value: str | None) -> str | None:
    """--realm: a QBO realm (company) id, which is digits."""
    if value is not None and not re.fullmatch(r"\d{1,20}", value):
        raise typer.BadParameter(f"{value[:40]!r} is not a QBO realm id (1 to 20 digits)", param_hint="realm")
    return value


def _asker(
    ctx: typer.Context, realm: str | None, fresh_minutes: int, caller: str
) -> tuple[Asker, RuleParser]:
    """The answering side and the words-to-intent side of `qbo ask` and `qbo mcp`."""
    from pipelines.ask.rule_parser import RuleParser
    from pipelines.ask.run import Asker
    from pipelines.runtime.warehouse_target import WarehouseUnreachable

    the_connector = connector(ctx)
    try:
        reading_warehouse(ctx)
    except WarehouseUnreachable as exc:
        fail(str(exc), 2)
    names = _names(the_connector.settings, realm)
    asker = Asker(the_connector, caller=caller, fresh=timedelta(minutes=fresh_minutes))
    return asker, RuleParser(names)


def _names(settings: Settings, realm: str | None) -> NameIndex:
    """The known names, from the warehouse of the settings (synced: `reading_warehouse`); exit 2 naming
    the fix when it has none to give: staging models not built, a PostgreSQL that is down."""
    from pipelines.ask.names import NameIndex
    from pipelines.runtime.warehouse_sql import open_warehouse
    from pipelines.runtime.warehouse_target import WarehouseUnreachable

    try:
        with open_warehouse(settings.warehouse_target) as db:
            if "stg_qbo__customers" not in db.tables("staging"):
                where = settings.warehouse_label
                fail(f"no staging models in the warehouse {where}; run `qbo transform` first", 2)
            return NameIndex.from_db(db, realm)
    except WarehouseUnreachable as exc:
        fail(str(exc), 2)


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="e.g. 'unpaid invoices from last month over $1,000'")],
    realm: Annotated[
        str | None,
        typer.Option(help="the realm to ask about [default: the only one]", callback=_realm),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object: intent, queries, rows")] = False,
    fresh_minutes: Annotated[
        int, typer.Option(min=0, help="a warehouse synced within this many minutes answers; else QBO does")
    ] = 120,
) -> None:
    """A finance question in words: the intent it is read as, the query run, and the answer as a table."""
    from pipelines.runtime.warehouse_sql import one_connection

    with one_connection(ctx.obj.warehouse_target):  # one question: one open of the warehouse
        _ask(ctx, question, realm, as_json, fresh_minutes)


def _ask(ctx: typer.Context, question: str, realm: str | None, as_json: bool, fresh_minutes: int) -> None:
    from pipelines.ask.rule_parser import ParseError
    from pipelines.ask.translate import Refused

    asker, parser = _asker(ctx, realm, fresh_minutes, caller="cli")
    intent = None
    try:
        intent = parser.parse(question, datetime.now(UTC).date())
        if realm and intent.realm_id not in (None, realm):
            refusal = (
                f"realm: the question asks about realm {intent.realm_id}, but --realm is {realm}: "
                "ask about one realm at a time"
            )
            raise ParseError(refusal, f'"{question[:60]}" with --realm {intent.realm_id}')
        if realm:
            intent = intent.model_copy(update={"realm_id": realm})
        answer = asker.answer(intent, question)
    except ParseError as exc:  # refused before the answering side saw it (which audits what it refuses)
        asker.connector.store.intents.audit(
            caller="cli",
            question=question[:2000],
            intent=intent.wire() if intent is not None else {},
            realm_id=realm,
            ran_on="refused",
            query=None,
            rows=None,
            note=str(exc)[:2000],
        )
        _refused(exc, as_json)
    except Refused as exc:
        fail(str(exc), 2)
    shown = _queued_draft(asker, answer)
    if as_json:
        out = answer.as_json() | ({"draft": shown} if shown is not None else {})
        typer.echo(json.dumps(out, default=str, ensure_ascii=False))
        return
    typer.echo(f"intent:   {intent.wire_json(exclude_defaults=True)}")
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
    if shown is not None:
        from pipelines.ask.draft_view import text

        typer.echo(f"draft #{shown['id']} ({shown['status']}):")
        for line in text(shown):
            typer.echo(f"  {line}")


def _refused(exc: ParseError, as_json: bool) -> NoReturn:
    """A question refused, exit 2; a name it could be several of (or none known) lists the candidates,
    one a line, and the question asked again with the first; `--json` prints it all as one object."""
    if as_json:
        typer.echo(json.dumps(exc.as_json(), ensure_ascii=False))
        raise typer.Exit(2)
    if exc.candidates:
        typer.echo(f"error: {exc.problem}", err=True)
        typer.echo("candidates:")  # the question back to the person: on stdout, one name a line
        for name in exc.candidates:
            typer.echo(f"  {name}")
        if exc.rephrase:
            typer.echo(f"try:     qbo ask {shlex.quote(exc.rephrase)}")
        raise typer.Exit(2)
    fail(str(exc), 2)


def _queued_draft(asker: Asker, answer: Answer) -> dict[str, Any] | None:
    """The draft an answer queued, in full (customer, lines as quantity x price, total, due date)."""
    if answer.ran_on != "approval_queue" or not answer.rows:
        return None
    from pipelines.ask.draft_view import queued

    return queued(asker.connector, int(answer.rows[0][0]))


def mcp(
    ctx: typer.Context,
    realm: Annotated[
        str | None,
        typer.Option(
            help="the only realm answered about: an intent naming another is refused [default: the only one]",
            callback=_realm,
        ),
    ] = None,
    fresh_minutes: Annotated[int, typer.Option(min=0)] = 120,
) -> None:
    """Serve the intents as tools over the Model Context Protocol on stdio (for agent orchestrators)."""
    from pipelines.ask.draft_view import queued
    from pipelines.ask.mcp_server import serve_stdio

    asker, parser = _asker(ctx, realm, fresh_minutes, caller="mcp")
    serve_stdio(
        asker.answer,
        lambda text: parser.parse(text, datetime.now(UTC).date()),
        realm=realm,
        audit=partial(asker.connector.store.intents.audit, caller="mcp"),
        describe=partial(queued, asker.connector),
    )


def register(app: typer.Typer) -> None:
    app.command()(ask)
    app.command()(mcp)
