"""The console's shared parts: its state on the app, rendering, the session and form guards, and links.

Pages render server-side with Jinja2 (autoescaped); forms post urlencoded bodies, parsed here so the
console needs no multipart library. A problem is an HTML page with its status, never the gateway's JSON
error: a person reads it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import ConfigError
from pipelines.store.review import QUEUES
from service.review import format as fmt
from service.review.auth import SESSION_COOKIE, Session, Sessions, csrf_ok

HERE = Path(__file__).parent
MAX_FORM = 64 * 1024
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
NAV = [
    ("Overview", "/review/"),
    *[(fmt.QUEUE_TITLES[q], f"/review/queue/{q}") for q in QUEUES],
    ("Integration errors", "/review/errors"),
    ("AI drafts", "/review/drafts"),
]


class Problem(Exception):
    """Something to tell the reviewer on a page of its own, with an HTTP status."""

    def __init__(
        self, status: int, title: str, message: str, items: Iterable[str] = (), back: str = ""
    ) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message
        self.items, self.back = list(items), back


class SignInRequired(Exception):
    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass
class Console:
    connector: Connector
    sessions: Sessions
    env: Environment = field(init=False)
    css: str = field(init=False)

    def __post_init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"], default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            money=fmt.money,
            when=fmt.when,
            day=fmt.day,
            age=fmt.age,
            value=fmt.value_text,
            humanize=fmt.humanize,
            plural=fmt.plural,
            thousands=lambda n: f"{int(n or 0):,}",
            issue=lambda kind: fmt.ISSUES.get(kind or "", (fmt.humanize(kind),))[0],
        )
        self.env.globals.update(nav=NAV, record_url=record_url, queue_titles=fmt.QUEUE_TITLES)
        self.css = (HERE / "console.css").read_text(encoding="utf-8")

    @property
    def review(self) -> Any:
        return self.connector.store.review

    def render(
        self, request: Request, template: str, status: int = 200, session: Session | None = None, **ctx: Any
    ) -> HTMLResponse:
        page = self.env.get_template(template).render(
            session=session, path=request.url.path, csrf=session.csrf if session else "", **ctx
        )
        return HTMLResponse(page, status_code=status, headers=HEADERS)

    def realms_of(self, session: Session) -> list[str] | None:
        """The QBO companies a reviewer's tenants are connected to or have entries in; None: all."""
        if session.scope is None:
            return None
        realms = {r["realm_id"] for r in self.review.counts(session.scope) if r["realm_id"]}
        with suppress(ConfigError):  # no token store configured: the review entries say it all
            realms |= {c.realm_id for c in self.connector.connections() if session.may(c.tenant_id)}
        return sorted(realms)


def console_of(request: Request) -> Console:
    return request.app.state.review_console  # type: ignore[no-any-return]


def current_session(request: Request) -> Session:
    """The reviewer of a page; a browser without a session goes to sign-in and comes back."""
    session = console_of(request).sessions.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return session


@dataclass(frozen=True)
class Posted:
    session: Session
    form: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.form.get(name, default)

    def optional(self, name: str) -> str | None:
        value = self.form.get(name)
        return value if value not in (None, "") else None


async def read_form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":  # not one of the console's forms: no CSRF token either
        return {}
    body = await request.body()
    if len(body) > MAX_FORM:
        raise Problem(413, "Too much", "The form is too large.")
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=500)
    return {name: values[0] for name, values in parsed.items()}


async def posted(request: Request) -> Posted:
    """A signed-in reviewer's form, carrying the session's CSRF token: anything else is refused (403)."""
    console = console_of(request)
    session = console.sessions.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise Problem(
            403,
            "Signed out",
            "Your session ended: sign in again, then repeat the action.",
            back="/review/sign-in",
        )
    form = await read_form(request)
    if not csrf_ok(session.csrf, form.get("csrf")):
        raise Problem(
            403,
            "Not accepted",
            "This form did not come from your open console page (its security token is missing or "
            "stale). Reload the page and try again.",
        )
    return Posted(session, form)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def safe_next(url: str | None) -> str:
    """Only a page of the console itself: never an open redirect."""
    if url and url.startswith("/review/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/review/"


def _segment(value: str | None) -> str:
    return quote(value, safe="") if value else "-"


def record_url(entry: dict[str, Any], **query: Any) -> str:
    """The record page of an entry or decision (a missing id is "-")."""
    path = "/review/record/" + "/".join(
        _segment(entry.get(k) or None) for k in ("tenant_id", "entity", "platform_id", "qbo_id")
    )
    extra = {k: v for k, v in query.items() if v not in (None, "")}
    return path + (f"?{urlencode(extra)}" if extra else "")


def draft_tenant(draft: dict[str, Any]) -> str | None:
    """The tenant of an AI-drafted write: its record names it (the draft row does not)."""
    record = draft.get("record") if isinstance(draft.get("record"), dict) else {}
    return record.get("tenantId") or record.get("tenant_id")


def digest(entries: Iterable[dict[str, Any]]) -> str:
    """What a bulk confirmation saw: the entries' keys and versions, so a changed queue is noticed."""
    keys = sorted(
        "|".join(
            str(e.get(k) or "")
            for k in ("queue", "tenant_id", "entity", "platform_id", "qbo_id", "field", "version")
        )
        for e in entries
    )
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]


def stylesheet(request: Request) -> Response:
    css = console_of(request).css
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=300"})
