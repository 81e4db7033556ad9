"""The outbox POSTed to the platform's callback URL, signed, for a platform that would rather be told.

Optional (`[sources.quickbooks] platform_callback_url`, with `platform_callback_secret` in
secrets.toml): after each delivery, each tenant's changes after its acknowledged cursor are POSTed in
pages, the body of a page being what `GET /integrations/quickbooks/changes` answers plus the tenant:
`{"tenant": T, "changes": [...], "next": CURSOR}`. A 2xx answer acknowledges the page (the cursor
moves, as if the platform had acknowledged it on the feed); anything else is retried with backoff, a
bounded number of times, and then waits for the next delivery, so every change arrives at least once,
under its stable `changeId`.

The signature is qbo-elt's own, not Intuit's: header `X-Qbo-Elt-Signature: t=<unix seconds>,v1=<hex>`
where hex is HMAC-SHA256 with the secret over `<t>.<body>`; a platform checks it, and refuses a `t`
far from its clock (a replayed request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector

log = logging.getLogger("qbo.deliver")

SIGNATURE_HEADER = "X-Qbo-Elt-Signature"
PAGE = 100
ATTEMPTS = 5  # per page; then the tenant waits for the next delivery
TIMEOUT = (5, 30)  # connect, read (seconds)


class CallbackRefused(RuntimeError):
    """The platform answered a page with something other than 2xx."""

    def __init__(self, status: int, retryable: bool) -> None:
        super().__init__(f"the platform callback answered HTTP {status}")
        self.retryable = retryable


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The header value for `body` sent at `timestamp`: the platform recomputes it to trust the POST."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, requests.ConnectionError | requests.Timeout) or (
        isinstance(exc, CallbackRefused) and exc.retryable
    )


@dataclass
class Posted:
    changes: dict[str, int] = field(default_factory=dict)  # tenant -> changes the platform took
    waiting: dict[str, str] = field(default_factory=dict)  # tenant -> why the rest waits

    def summary(self) -> str:
        taken = sum(self.changes.values())
        waits = "; ".join(f"tenant {t} waits: {why}" for t, why in sorted(self.waiting.items()))
        return f"callback: {taken} change(s) taken by the platform" + (f"; {waits}" if waits else "")


class Callback:
    def __init__(
        self,
        url: str,
        secret: str,
        session: requests.Session | None = None,
        wait: Callable[..., float] | None = None,
    ) -> None:
        self.url = url
        self.secret = secret
        self.session = session or requests.Session()
        self.wait = wait or wait_random_exponential(multiplier=0.5, max=30)

    def post(self, tenant_id: str, changes: list[dict], next_cursor: int) -> None:
        body = json.dumps(
            {"tenant": tenant_id, "changes": changes, "next": next_cursor}, separators=(",", ":"), default=str
        ).encode()
        for attempt in Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(ATTEMPTS),
            wait=self.wait,
            reraise=True,
        ):
            with attempt:
                headers = {
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: signature(self.secret, body, int(time.time())),
                }
                answer = self.session.post(self.url, data=body, headers=headers, timeout=TIMEOUT)
                if not 200 <= answer.status_code < 300:
                    status = answer.status_code
                    raise CallbackRefused(status, retryable=status in (408, 425, 429) or status >= 500)


def post_pending(
    connector: Connector, echo: Callable[[str], None] = print, callback: Callback | None = None
) -> Posted:
    """POST every tenant's unacknowledged changes, page by page; a tenant whose platform refuses or
    cannot be reached waits for the next delivery, and the other tenants go on."""
    settings = connector.settings
    if callback is None:
        if not settings.platform_callback_url:
            return Posted()
        settings.require("platform_callback_secret")
        callback = Callback(settings.platform_callback_url, str(settings.platform_callback_secret))
    outbox = connector.store.outbox
    posted = Posted()
    for tenant_id in outbox.tenants():
        while changes := outbox.pending(tenant_id, PAGE):
            cursor = changes[-1]["cursor"]
            try:
                callback.post(tenant_id, changes, cursor)
            except (requests.RequestException, CallbackRefused) as exc:
                reason = str(exc) if isinstance(exc, CallbackRefused) else type(exc).__name__
                log.warning("callback for tenant %s failed: %s", tenant_id, reason)
                posted.waiting[tenant_id] = reason
                break
            outbox.acknowledge(tenant_id, cursor)
            posted.changes[tenant_id] = posted.changes.get(tenant_id, 0) + len(changes)
    echo(posted.summary())
    return posted
