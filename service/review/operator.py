"""The operator's pages: the integration error table grouped (spec §7.2), and the AI-drafted writes.

Errors carry a realm and no tenant: a reviewer sees those of the realms their tenants are connected to
(errors of no realm, the connector's own, only a reviewer of every tenant). A draft is approved through
the same real-time push `qbo approve --draft N` uses, under the reviewer's name.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from pipelines.push.drafts import approve_draft
from pipelines.runtime.settings import ConfigError
from service.review.auth import Session
from service.review.console import (
    Posted,
    Problem,
    console_of,
    current_session,
    draft_tenant,
    posted,
    redirect,
)
from service.review.queues import PAGE_SIZE

router = APIRouter(prefix="/review", include_in_schema=False)
Reviewer = Annotated[Session, Depends(current_session)]
Form = Annotated[Posted, Depends(posted)]
PARTY = {
    "Invoice": ("Customer", "customerId"),
    "Payment": ("Customer", "customerId"),
    "Bill": ("Vendor", "vendorId"),
}
DATE = ("issueDate", "billDate", "date", "txnDate")


@router.get("/errors")
def errors_page(request: Request, session: Reviewer) -> HTMLResponse:
    console = console_of(request)
    params = request.query_params
    realms = console.realms_of(session)
    realm, code, search = params.get("realm", ""), params.get("code", ""), params.get("q", "").strip()[:200]
    if realm and realms is not None and realm not in realms:
        realm = ""
    page = int(params["page"]) if params.get("page", "").isdigit() and 0 < int(params["page"]) < 10**5 else 1
    errors = console.connector.store.errors
    rows, total = errors.grouped(
        [realm] if realm else realms, code=code or None, search=search or None, page=page, page_size=PAGE_SIZE
    )
    for row in rows:
        row["detail_lines"] = _details(row.get("details"))
    return console.render(
        request,
        "errors.html",
        session=session,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        realm=realm,
        code=code,
        q=search,
        realms=realms if realms is not None else sorted({r["realm_id"] for r in rows if r["realm_id"]}),
        codes=errors.codes(realms),
        query=lambda **kw: _query(realm=realm, code=code, q=search, **kw),
    )


def _details(raw: Any) -> list[str]:
    """The error DTO's details as lines: "field: message"."""
    out = []
    for d in raw if isinstance(raw, list) else []:
        if isinstance(d, dict):
            where = d.get("field") or d.get("element") or ""
            text = d.get("message") or d.get("issue") or ""
            out.append(f"{where}: {text}" if where else str(text))
        else:
            out.append(str(d))
    return out


def _query(**params: Any) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "", 1)})


def _mine(request: Request, session: Session, write_id: int) -> dict[str, Any]:
    draft = console_of(request).connector.store.intents.write(write_id)
    if draft is None or not session.may(draft_tenant(draft)):
        raise Problem(
            404, "Not found", f"There is no draft #{write_id} for your tenants.", back="/review/drafts"
        )
    return draft


def _party_name(review: Any, tenant: str | None, entity: str, platform_id: str | None) -> str | None:
    """The customer's or vendor's name as the review queues know it; the draft holds only its id."""
    if not tenant or not platform_id:
        return None
    rows, _ = review.entries([tenant], None, entity=entity, search=platform_id, page_size=20)
    exact = [r for r in rows if r.get("platform_id") == platform_id and r.get("label")]
    return exact[0]["label"] if exact else None


@router.get("/drafts")
def drafts_page(request: Request, session: Reviewer) -> HTMLResponse:
    console = console_of(request)
    drafts = []
    for row in console.connector.store.intents.pending_writes():
        if not session.may(draft_tenant(row)):
            continue
        record = row["record"] if isinstance(row["record"], dict) else {}
        party_entity, party_field = PARTY.get(row["entity"], ("Customer", "customerId"))
        party_id = record.get(party_field)
        lines = record.get("lines") if isinstance(record.get("lines"), list) else []
        drafts.append(
            {
                **row,
                "tenant": draft_tenant(row),
                "party_entity": party_entity,
                "party_id": party_id,
                "party": _party_name(console.review, draft_tenant(row), party_entity, party_id),
                "amount": record.get("totalAmount") or record.get("amount"),
                "currency": record.get("currency") or "USD",
                "date": next((record[k] for k in DATE if record.get(k)), None),
                "what": "; ".join(_line_words(line) for line in lines if isinstance(line, dict)),
                "due": record.get("dueDate"),
            }
        )
    done = {k: v for k in ("approved", "rejected") if (v := request.query_params.get(k, "")).isdigit()}
    return console.render(request, "drafts.html", session=session, drafts=drafts, done=done)


def _line_words(line: dict[str, Any]) -> str:
    """A drafted line as the bookkeeper asked for it: "consulting: 3 x 150 = 450.00"."""
    words = str(line.get("description") or "")
    if line.get("quantity") is not None and line.get("unitPrice") is not None:
        words += f": {line['quantity']} x {line['unitPrice']} = {line.get('amount')}"
    return words


@router.post("/drafts/{write_id}/approve")
def approve(request: Request, write_id: int, form: Form) -> RedirectResponse:
    """Push the draft now (the real-time path: pre-flight, SyncToken, budget); it is kept with the draft."""
    _mine(request, form.session, write_id)
    try:
        status, body = approve_draft(console_of(request).connector, write_id, form.session.reviewer)
    except LookupError as exc:
        raise Problem(409, "Not approved", str(exc), back="/review/drafts") from None
    except ConfigError as exc:
        raise Problem(
            503, "Not approved", f"The connector is not configured to push: {exc}", back="/review/drafts"
        ) from None
    if status not in (200, 201):
        details = [
            f"{d.get('field')}: {d.get('message')}" for d in body.get("details") or [] if isinstance(d, dict)
        ]
        raise Problem(
            422 if status == 422 else 409,
            "Not approved: QuickBooks did not take it",
            f"{body.get('code')}: {body.get('message')}. The draft stays in the list: correct or reject it.",
            details,
            back="/review/drafts",
        )
    return redirect(f"/review/drafts?approved={write_id}")


@router.post("/drafts/{write_id}/reject")
def reject(request: Request, write_id: int, form: Form) -> RedirectResponse:
    _mine(request, form.session, write_id)
    store = console_of(request).connector.store
    if not store.intents.reject_write(write_id, form.session.reviewer, form.optional("reason")):
        waiting = f"draft #{write_id} is not awaiting approval"
        raise Problem(409, "Not rejected", waiting, back="/review/drafts")
    return redirect(f"/review/drafts?rejected={write_id}")
