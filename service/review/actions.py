"""What a reviewer does: sign in and out, decide an entry, decide a filtered queue at once, withdraw.

Every POST carries the session's CSRF token (`posted`), names an entry of one of the reviewer's tenants
(403 otherwise), and is recorded under the reviewer's name. A decision names the version of the entry the
person saw: when the record changed since, it is refused and the page says what changed (409).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from pipelines.store.review import KINDS, QUEUES, DecisionError, StaleDecision, Target
from service.review import queues as q
from service.review.auth import COOKIE_PATH, PRESESSION_COOKIE, SESSION_COOKIE, SESSION_TTL
from service.review.console import (
    Posted,
    Problem,
    console_of,
    digest,
    posted,
    read_form,
    record_url,
    redirect,
    safe_next,
)
from service.review.views import signin_form

router = APIRouter(prefix="/review", include_in_schema=False)
Form = Annotated[Posted, Depends(posted)]


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    console = console_of(request)
    form = await read_form(request)
    next_url = safe_next(form.get("next"))
    if not console.sessions.signin_token_ok(request.cookies.get(PRESESSION_COOKIE), form.get("csrf")):
        raise Problem(
            403,
            "Not accepted",
            "The sign-in form expired or did not come from this console. Open the sign-in page again.",
            back="/review/sign-in",
        )
    session, why = console.sessions.sign_in(form.get("name", ""), form.get("api_key", ""))
    if session is None:
        return signin_form(request, next_url, why or "Not signed in.", 401, form.get("name", "")[:128])
    answer = redirect(next_url)
    answer.set_cookie(
        SESSION_COOKIE,
        console.sessions.cookie(session),
        max_age=SESSION_TTL,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    answer.delete_cookie(PRESESSION_COOKIE, path=COOKIE_PATH)
    return answer


@router.post("/sign-out")
def sign_out(form: Form) -> RedirectResponse:
    answer = redirect("/review/sign-in")
    answer.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return answer


def _target(form: Posted) -> Target:
    queue, tenant, entity = form.get("queue"), form.get("tenant"), form.get("entity")
    if queue not in QUEUES or not entity:
        raise Problem(400, "Not recorded", "The form does not name an entry of a review queue.")
    if not form.session.may(tenant):
        raise Problem(403, "Not yours", f"You may not act for tenant {tenant!r}.", back="/review/")
    return Target(
        queue, tenant, entity, form.optional("platform_id"), form.optional("qbo_id"), form.optional("field")
    )


@router.post("/decide")
def decide(request: Request, form: Form) -> RedirectResponse:
    """One decision on one entry, as the person saw it (`seen_version` and both values)."""
    target = _target(form)
    back = safe_next(form.get("back") or record_url(_entry_key(target)))
    seen = {
        "platform_value": form.form.get("seen_platform_value"),
        "qbo_value": form.form.get("seen_qbo_value"),
    }
    kind = form.get("kind")
    try:
        decision = console_of(request).review.decide(
            target,
            kind,
            form.session.reviewer,
            seen_version=form.get("seen_version"),
            seen=seen,
            choice=form.optional("choice"),
            value=form.optional("value") if form.optional("choice") == "value" else None,
            reason=form.optional("reason"),
        )
    except StaleDecision as stale:
        raise Problem(
            409,
            "Not recorded: the record changed",
            "The record changed since you opened it, so your decision was not recorded. Look at it as it "
            "is now and decide again.",
            stale.changes,
            back=back,
        ) from None
    except DecisionError as refused:
        raise Problem(
            409 if "pushed" in str(refused) else 400, "Not recorded", str(refused), back=back
        ) from None
    return redirect(_with(back, decided=decision))


def _entry_key(target: Target) -> dict[str, Any]:
    return {
        "tenant_id": target.tenant_id,
        "entity": target.entity,
        "platform_id": target.platform_id,
        "qbo_id": target.qbo_id,
    }


def _with(url: str, **params: Any) -> str:
    """The page to go back to, saying what was just done (earlier notices dropped)."""
    return f"{url.partition('?')[0]}?{urlencode(params)}"


@router.post("/queue/{queue}/bulk")
def bulk(request: Request, queue: str, form: Form) -> RedirectResponse:
    """A bulk action confirmed: every entry the filters match now, if they are those the person saw."""
    console = console_of(request)
    kind, choice = form.get("kind"), form.optional("choice")
    if queue not in QUEUES or kind not in KINDS[queue]:
        raise Problem(400, "Not recorded", "Not an action of this queue.", back="/review/")
    filters = q.Filters.parse(form.form)
    back = filters.url(f"/review/queue/{queue}")
    if filters.tenant and not form.session.may(filters.tenant):
        raise Problem(403, "Not yours", f"You may not act for tenant {filters.tenant!r}.", back="/review/")
    entries = q.everything(console.review, form.session, queue, filters, q.BULK_MAX + 1)
    if len(entries) > q.BULK_MAX or digest(entries) != form.get("digest"):
        raise Problem(
            409,
            "Not recorded: the queue changed",
            f"The entries these filters match changed since you confirmed ({len(entries):,} now, "
            f"{form.get('count') or '?'} then). Nothing was recorded: look at the queue again.",
            back=back,
        )
    done, refused = 0, []
    for entry in entries:
        target = Target(
            queue, entry["tenant_id"], entry["entity"], entry["platform_id"], entry["qbo_id"], entry["field"]
        )
        try:
            console.review.decide(
                target,
                kind,
                form.session.reviewer,
                seen_version=entry["version"],
                seen={"platform_value": entry["platform_value"], "qbo_value": entry["qbo_value"]},
                choice=choice,
                reason=form.optional("reason"),
            )
            done += 1
        except DecisionError as exc:
            refused.append(f"{entry.get('label') or entry['platform_id']}: {exc}")
    if refused:
        raise Problem(
            409,
            f"{done:,} recorded, {len(refused):,} not",
            "These entries were not decided:",
            refused,
            back=back,
        )
    return redirect(filters.url(f"/review/queue/{queue}", done=done))


@router.post("/revoke")
def revoke(request: Request, form: Form) -> RedirectResponse:
    """Withdraw a standing decision that no push has sent yet; the history keeps it, marked."""
    back = safe_next(form.get("back"))
    raw = form.get("decision_id")
    if not raw.isdigit():
        raise Problem(400, "Not withdrawn", "The form names no decision.", back=back)
    try:
        console_of(request).review.revoke(int(raw), form.session.reviewer, form.session.scope)
    except DecisionError as refused:
        status = 404 if str(refused).startswith("no decision") else 409
        raise Problem(status, "Not withdrawn", str(refused), back=back) from None
    return redirect(_with(back, withdrawn=raw))
