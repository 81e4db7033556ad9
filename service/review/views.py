"""The pages a reviewer reads: sign-in, the overview, the queues, a bulk confirmation, a record.

Reads only: nothing here changes the store (actions.py does, behind CSRF). A reviewer sees the entries
of their tenants only; a record of another tenant is "not found", so its existence is not told.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from pipelines.store.review import KINDS, QUEUES, enterable
from service.review import format as fmt
from service.review import queues as q
from service.review import records as rec
from service.review.auth import COOKIE_PATH, PRESESSION_COOKIE, SIGNIN_TTL, Session
from service.review.console import (
    Problem,
    console_of,
    current_session,
    digest,
    draft_tenant,
    record_url,
    safe_next,
    stylesheet,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # what an event without a time sorts as
router = APIRouter(prefix="/review", include_in_schema=False)
Reviewer = Annotated[Session, Depends(current_session)]

router.add_api_route("/static/console.css", stylesheet, methods=["GET"])


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/review/") -> Response:
    return signin_form(request, safe_next(next))


def signin_form(
    request: Request, next_url: str, message: str = "", status: int = 200, name: str = ""
) -> Response:
    console = console_of(request)
    cookie, token = console.sessions.signin_token()
    page = console.render(
        request, "sign_in.html", status, signin_csrf=token, next=next_url, message=message, name=name
    )
    page.set_cookie(
        PRESESSION_COOKIE,
        cookie,
        max_age=SIGNIN_TTL,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return page


@router.get("/")
def overview(request: Request, session: Reviewer) -> HTMLResponse:
    console = console_of(request)
    counts = console.review.counts(session.scope)
    realms: dict[tuple[str, str], dict[str, Any]] = {}
    for row in counts:
        key = (row["tenant_id"], row["realm_id"] or "")
        realm = realms.setdefault(key, {"tenant": key[0], "realm": key[1], "queues": {}, "drift": {}})
        figure = realm["queues"].setdefault(row["queue"], {"entries": 0, "records": 0, "amount": 0})
        figure["entries"] += row["entries"]
        if row["queue"] == "drift":
            by_action = realm["drift"].setdefault(row["entity"], defaultdict(int))
            by_action[row["action"] or "review"] += row["entries"]
    for row in console.review.at_stake(session.scope):  # money per record, not per drifted field
        figure = realms[(row["tenant_id"], row["realm_id"] or "")]["queues"][row["queue"]]
        figure["records"], figure["amount"] = row["records"], fmt.decimal_of(row["amount"]) or 0
    for (tenant, realm_id), realm in realms.items():
        realm["currency"] = _currency(console.review, tenant, realm_id)
        realm["actions"] = sorted({a for by in realm["drift"].values() for a in by})
    totals = {
        queue: sum(r["queues"].get(queue, {}).get("entries", 0) for r in realms.values()) for queue in QUEUES
    }
    _, error_groups = console.connector.store.errors.grouped(console.realms_of(session), page_size=1)
    drafts = [d for d in console.connector.store.intents.pending_writes() if session.may(draft_tenant(d))]
    trend: dict[Any, dict[str, int]] = {}  # publish time -> queue -> entries, the last runs
    for row in console.review.trend(session.scope):
        at = trend.setdefault(row["published_at"], dict.fromkeys(QUEUES, 0))
        at[row["queue"]] += row["entries"]
    return console.render(
        request,
        "overview.html",
        session=session,
        realms=sorted(realms.values(), key=lambda r: (r["tenant"], r["realm"])),
        totals=totals,
        trend=sorted(trend.items())[-6:],
        error_groups=error_groups,
        drafts=len(drafts),
        meanings=fmt.QUEUE_MEANING,
    )


def _currency(review: Any, tenant: str, realm_id: str) -> str | None:
    """The realm's currency, as its entries carry it (the store's counts do not)."""
    rows, _ = review.entries([tenant], None, realm_id=realm_id or None, sort="amount", page_size=20)
    found = [r["currency"] for r in rows if r.get("currency")]
    return max(set(found), key=found.count) if found else None


@router.get("/queue/{queue}")
def queue_page(request: Request, queue: str, session: Reviewer) -> HTMLResponse:
    console = console_of(request)
    if queue not in QUEUES:
        raise Problem(404, "No such queue", f"There is no queue {queue!r}.", back="/review/")
    filters = q.Filters.parse(request.query_params)
    rows, total = q.page_of(console.review, session, queue, filters)
    index = q.standing_index(console.review.decisions(session.scope, standing_only=True, limit=5000))
    entries = [{**row, "decision": q.standing_on(index, row), "data": row.get("data") or {}} for row in rows]
    actions = list(dict.fromkeys(e.get("action") for e in entries))
    advice = []
    for action in actions:
        text = fmt.help_for(queue, action)
        if text is None:  # an action the console has no words for: the transform's own, once
            text = next(
                (
                    e["data"].get("what_to_do")
                    for e in entries
                    if e.get("action") == action and isinstance(e["data"], dict)
                ),
                None,
            )
        if text and text not in [t for _, t in advice]:
            advice.append((fmt.action_label(queue, action), text))
    pages = max(1, -(-total // q.PAGE_SIZE))
    return console.render(
        request,
        "queue.html",
        session=session,
        queue=queue,
        title=fmt.QUEUE_TITLES[queue],
        entries=entries,
        total=total,
        filters=filters,
        pages=pages,
        advice=advice,
        base=f"/review/queue/{queue}",
        options=q.options(console.review.counts(session.scope), queue),
        sorts=["changed", "amount", "label"],
        bulk=q.bulk_actions(queue, filters, total) if 0 < total <= q.BULK_MAX else [],
        bulk_too_many=total > q.BULK_MAX,
        bulk_max=q.BULK_MAX,
        kind_words=q.kind_words,
        done=_number(request.query_params.get("done")),
        meaning=fmt.QUEUE_MEANING[queue],
        columns=q.COLUMNS[queue],
        sortable=q.SORTABLE,
    )


@router.get("/queue/{queue}/bulk")
def bulk_confirm(request: Request, queue: str, session: Reviewer) -> HTMLResponse:
    """The confirmation of a bulk action: what it will do, to how many, before anything is recorded."""
    console = console_of(request)
    kind, choice = request.query_params.get("kind", ""), request.query_params.get("choice") or None
    if (
        queue not in QUEUES
        or kind not in KINDS[queue]
        or (kind == "resolve") != (choice in ("platform", "qbo"))
    ):
        raise Problem(
            400,
            "Not an action of this queue",
            "Go back to the queue and choose an action.",
            back=f"/review/queue/{queue}" if queue in QUEUES else "/review/",
        )
    filters = q.Filters.parse(request.query_params)
    entries = q.everything(console.review, session, queue, filters, q.BULK_MAX + 1)
    if len(entries) > q.BULK_MAX:
        raise Problem(
            400,
            "Too many at once",
            f"A bulk action takes at most {q.BULK_MAX} entries: narrow the filters.",
            back=filters.url(f"/review/queue/{queue}"),
        )
    if not entries:
        raise Problem(
            404,
            "Nothing to act on",
            "No entry matches these filters now.",
            back=filters.url(f"/review/queue/{queue}"),
        )
    noun = fmt.plural(q.NOUNS.get(filters.action, q.QUEUE_NOUNS.get(queue, "entry")), len(entries))
    label = q.BULK_VERBS[(kind, choice)].format(count=f"{len(entries):,}", noun=noun)
    return console.render(
        request,
        "bulk.html",
        session=session,
        queue=queue,
        title=fmt.QUEUE_TITLES[queue],
        kind=kind,
        choice=choice or "",
        entries=entries[:50],
        count=len(entries),
        digest=digest(entries),
        label=label,
        words=q.kind_words(kind, choice),
        filters=filters,
        hidden=filters.params(page=1),
        back=filters.url(f"/review/queue/{queue}"),
        noun=noun,
        values=queue in ("conflict", "drift"),
    )


@router.get("/record/{tenant}/{entity}/{rest:path}")
def record_page(request: Request, tenant: str, entity: str, rest: str, session: Reviewer) -> HTMLResponse:
    """Both sides of one record, its open entries with their decision forms, and its history."""
    console = console_of(request)
    platform_part, _, qbo_part = rest.rpartition("/")  # a platform id may hold a "/"; a QBO Id does not
    platform_id = None if platform_part in ("", "-") else platform_part
    qbo_id = None if qbo_part in ("", "-") else qbo_part
    if not session.may(tenant) or (platform_id is None and qbo_id is None):
        raise Problem(
            404, "Not found", "There is no such record in your tenants' review queues.", back="/review/"
        )
    entries = _entries_of(console.review, tenant, entity, platform_id, qbo_id)
    record = console.review.record(tenant, entity, platform_id or "", qbo_id or "") if qbo_id else None
    decisions = console.review.decisions([tenant], entity=entity, platform_id=platform_id, limit=500)
    history = rec.history_of(decisions, platform_id, qbo_id)
    if not entries and record is None and not history:
        raise Problem(
            404, "Not found", "There is no such record in your tenants' review queues.", back="/review/"
        )
    index = q.standing_index(history)
    for entry in entries:
        entry["decision"] = q.standing_on(index, entry)
        entry["enterable"] = (
            enterable(entity, entry["field"]) if entry["queue"] in ("conflict", "drift") else None
        )
        entry["data"] = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    first = entries[0] if entries else {}
    realm = (record or {}).get("realm_id") or first.get("realm_id")
    detail = record["detail"] if record else None
    fields = rec.fields_of(detail, first.get("currency"))
    return console.render(
        request,
        "record.html",
        session=session,
        tenant=tenant,
        entity=entity,
        platform_id=platform_id,
        qbo_id=qbo_id,
        label=(record or {}).get("label") or first.get("label") or f"{entity} {platform_id or qbo_id}",
        party=first.get("party"),
        amount=first.get("amount"),
        currency=first.get("currency"),
        realm=realm,
        activity=_activity(console, tenant, entity, platform_id, qbo_id, realm),
        fields=fields,
        differing=sum(f.differs for f in fields),
        lines=rec.lines_of(detail),
        entries=entries,
        history=history,
        kind_words=q.kind_words,
        decided=_number(request.query_params.get("decided")),
        advice=list(dict.fromkeys(t for e in entries if (t := fmt.help_for(e["queue"], e.get("action"))))),
        withdrawn=_number(request.query_params.get("withdrawn")),
        self_url=record_url(
            {"tenant_id": tenant, "entity": entity, "platform_id": platform_id, "qbo_id": qbo_id}
        ),
    )


def _number(raw: str | None) -> str:
    """A count or an id carried back in the query string after an action; anything else is dropped."""
    return raw if raw and raw.isdigit() and len(raw) < 12 else ""


def _entries_of(
    review: Any, tenant: str, entity: str, platform_id: str | None, qbo_id: str | None
) -> list[Any]:
    """A record's open entries in every queue (searched by its id, then matched exactly)."""
    found: list[dict[str, Any]] = []
    page = 1
    while page <= 20:
        rows, total = review.entries(
            [tenant],
            None,
            entity=entity,
            search=platform_id or qbo_id,
            sort="label",
            descending=False,
            page=page,
            page_size=200,
        )
        found += [r for r in rows if rec.matches(r, platform_id, qbo_id)]
        if not rows or page * 200 >= total:
            break
        page += 1
    order = {queue: i for i, queue in enumerate(QUEUES)}
    return sorted(found, key=lambda e: (order.get(e["queue"], 9), e.get("field") or ""))


def _activity(
    console: Any, tenant: str, entity: str, platform_id: str | None, qbo_id: str | None, realm: str | None
) -> list[dict[str, Any]]:
    """The record's pushes, QBO's webhooks about it and its company's last syncs, newest first."""
    store = console.connector.store
    rows: list[dict[str, Any]] = []
    if platform_id:
        for p in store.push_log.for_record(entity, tenant, platform_id):
            problem = (p["error"] or {}).get("message") if isinstance(p["error"], dict) else None
            what = f"push: {p['operation']} {p['outcome']}"
            rows.append(
                {"at": p["pushed_at"], "what": what, "detail": problem or f"SyncToken {p['sync_token']}"}
            )
    if realm and qbo_id:
        for w in store.events.for_record(realm, entity, qbo_id):
            what = f"webhook: {w['operation'].lower()} ({w['status']})"
            rows.append({"at": w["occurred_at"], "what": what, "detail": w["note"] or ""})
    if realm:
        for run in store.runs.last(realm, limit=3):
            rows.append({"at": run.started_at, "what": f"sync of the company: {run.status}", "detail": ""})
    for row in rows:  # SQLite gives some times back without their zone: they are UTC
        at = row["at"]
        row["at"] = at.replace(tzinfo=UTC) if isinstance(at, datetime) and at.tzinfo is None else at
    return sorted(rows, key=lambda r: r["at"] or EPOCH, reverse=True)[:30]
