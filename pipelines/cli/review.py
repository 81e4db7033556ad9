"""`qbo review list|show|resolve|confirm|reject|approve|acknowledge|withdraw`: the review console's
decisions, for scripts. Entries are what the last `qbo transform` left for a person (store/review.py);
each decision names the entry by its number in `qbo review list` and the reviewer (`--by`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer

from pipelines.cli.common import connector, entity_names, fail, group

QUEUE_HELP = "conflict, drift, candidate, approval or issue (default: all)"
By = Annotated[str, typer.Option("--by", help="who decides (recorded with the decision)")]
Reason = Annotated[str | None, typer.Option(help="why (recorded with the decision)")]


def _money(amount: Any, currency: str | None) -> str:
    if amount is None:
        return ""
    sign = "$" if (currency or "USD") == "USD" else f"{currency} "
    return f"{sign}{Decimal(amount):,.2f}"


def _entry(ctx: typer.Context, number: int) -> dict[str, Any]:
    entry = connector(ctx).store.review.by_id(number)
    if entry is None:
        fail(f"no review entry #{number}: `qbo review list` shows the current ones", 2)
    return entry


def review_list(
    ctx: typer.Context,
    queue: Annotated[str | None, typer.Option(help=QUEUE_HELP)] = None,
    entities: Annotated[
        list[str] | None,
        typer.Option("--entities", help="only these entities (Invoice, customers, ...), comma-separated"),
    ] = None,
    search: Annotated[str | None, typer.Option(help="a name, document number or id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """List what waits for a decision, newest change first."""
    from pipelines.store.review import QUEUES

    if queue is not None and queue not in QUEUES:
        fail(f"--queue must be one of {', '.join(QUEUES)}", 2)
    review = connector(ctx).store.review
    chosen: list[str | None] = list(entity_names(entities) or [None])
    rows: list[dict[str, Any]] = []
    total = 0
    for entity in chosen:
        some, count = review.entries(None, queue, entity=entity, search=search, page_size=limit)
        rows, total = rows + some, total + count
    if len(chosen) > 1:  # newest change first across the entities too
        rows = sorted(rows, key=lambda r: str(r["changed_at"]), reverse=True)[:limit]
    for r in rows:
        what = f"{r['field']}: platform {r['platform_value']!r}, QBO {r['qbo_value']!r}" if r["field"] else ""
        party = f" ({r['party']})" if r["party"] else ""
        typer.echo(
            f"#{r['id']:<6} {r['queue']:<9} {r['action'] or '':<10} {r['label']}{party} "
            f"{_money(r['amount'], r['currency'])}  {what}".rstrip()
        )
    typer.echo(f"{len(rows)} of {total} entries; `qbo review show N` shows one")


def review_show(ctx: typer.Context, number: Annotated[int, typer.Argument(help="the entry's #")]) -> None:
    """One entry: the record on both sides, its open entries and its decisions."""
    entry = _entry(ctx, number)
    store = connector(ctx).store
    typer.echo(
        f"#{entry['id']} {entry['queue']}: {entry['label']} ({entry['entity']}, tenant {entry['tenant_id']})"
    )
    typer.echo(f"  platform id {entry['platform_id']}, QBO Id {entry['qbo_id']}, realm {entry['realm_id']}")
    if entry["field"]:
        typer.echo(f"  {entry['field']}: platform {entry['platform_value']!r}, QBO {entry['qbo_value']!r}")
    if (entry["data"] or {}).get("what_to_do"):
        typer.echo(f"  what to do: {entry['data']['what_to_do']}")
    page = None
    if entry["platform_id"] and entry["qbo_id"]:
        page = store.review.record(entry["tenant_id"], entry["entity"], entry["platform_id"], entry["qbo_id"])
    for f in (page or {}).get("detail", {}).get("fields", []):
        mark = "*" if f["differs"] else " "
        typer.echo(f"  {mark} {f['field']:<22} platform {f['platform']!r:<30} QBO {f['qbo']!r}")
    for d in store.review.decisions(None, entity=entry["entity"], platform_id=entry["platform_id"]):
        state = "pushed" if d["pushed_at"] else ("withdrawn" if d["revoked_at"] else "standing")
        typer.echo(
            f"  decision #{d['id']} {d['kind']} {d['field'] or ''} {d['choice'] or ''} by {d['reviewer']} "
            f"at {d['decided_at']:%Y-%m-%d %H:%M} ({state})"
        )


def _decide(
    ctx: typer.Context,
    number: int,
    kind: str,
    by: str,
    reason: str | None,
    choice: str | None = None,
    value: str | None = None,
) -> None:
    from pipelines.store.review import DecisionError, Target

    entry = _entry(ctx, number)
    try:
        decision = connector(ctx).store.review.decide(
            Target.of(entry),
            kind,
            by,
            seen_version=entry["version"],
            choice=choice,
            value=value,
            reason=reason,
        )
    except DecisionError as exc:
        fail(str(exc), 2)
    typer.echo(
        f"decision #{decision}: {kind} {entry['label']} {entry['field'] or ''} by {by}; "
        "`qbo transform` applies it, `qbo push` sends it"
    )


def review_resolve(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(help="the entry's #")],
    by: By,
    keep: Annotated[str | None, typer.Option(help="whose value is right: platform or qbo")] = None,
    value: Annotated[
        str | None, typer.Option(help="the right value, typed (QBO gets it, then the platform)")
    ] = None,
    reason: Reason = None,
) -> None:
    """Resolve a conflict or drifted field: keep the platform's value (pushed to QBO) or QBO's (taken by
    the platform), or enter the value both should hold."""
    if (keep is None) == (value is None):
        fail("give --keep platform|qbo or --value V (one of them)", 2)
    _decide(ctx, number, "resolve", by, reason, choice=keep or "value", value=value)


def review_confirm(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(help="the entry's #")],
    by: By,
    reason: Reason = None,
) -> None:
    """Confirm a candidate match: the two records are linked from the next transform on."""
    _decide(ctx, number, "confirm", by, reason)


def review_reject(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(help="the entry's #")],
    by: By,
    reason: Reason = None,
) -> None:
    """Reject a candidate match (not proposed again) or a void or deactivation (not sent)."""
    entry = _entry(ctx, number)
    _decide(ctx, number, "reject_match" if entry["queue"] == "candidate" else "reject", by, reason)


def review_approve(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(help="the entry's #")],
    by: By,
    reason: Reason = None,
) -> None:
    """Approve a void or deactivation: the next `qbo push` sends it."""
    _decide(ctx, number, "approve", by, reason)


def review_acknowledge(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(help="the entry's #")],
    by: By,
    reason: Reason = None,
) -> None:
    """Acknowledge a sync issue: hidden until it changes."""
    _decide(ctx, number, "acknowledge", by, reason)


def review_withdraw(
    ctx: typer.Context,
    decision: Annotated[int, typer.Argument(help="the decision's # (qbo review show)")],
    by: By,
) -> None:
    """Withdraw a decision that no push has sent yet; its record stays in the history."""
    from pipelines.store.review import DecisionError

    try:
        connector(ctx).store.review.revoke(decision, by)
    except DecisionError as exc:
        fail(str(exc), 2)
    typer.echo(f"decision #{decision} withdrawn by {by}")


def register(app: typer.Typer) -> None:
    review_app = group(
        app, "review", "What waits for a person: conflicts, drift, matches, approvals, issues."
    )
    for name, command in (
        ("list", review_list),
        ("show", review_show),
        ("resolve", review_resolve),
        ("confirm", review_confirm),
        ("reject", review_reject),
        ("approve", review_approve),
        ("acknowledge", review_acknowledge),
        ("withdraw", review_withdraw),
    ):
        review_app.command(name)(command)
