"""The HTTP client for one realm: budget, bearer token, retries, typed errors, request counting.

Everything that talks to QBO goes through `QboClient.request`, so the rules hold everywhere:
- every call takes a slot of the realm's shared request budget (DESIGN decision 5);
- 429, 5xx and transport failures (reset, timeout, truncated body) back off with full jitter,
  honouring Retry-After when QBO sends one; other faults raise at once as typed errors;
- a 401 refreshes the token once (through the token manager's cross-process lock), then gives up;
- no token, secret or body is ever logged or put into an exception.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import requests

from sources.quickbooks import errors
from sources.quickbooks.settings import MINOR_VERSION, REQUEST_TIMEOUT

log = logging.getLogger("qbo.client")


class AccessTokens(Protocol):
    """What the client needs from a token manager (sources/quickbooks/tokens.py implements it)."""

    def access_token(self, realm_id: str) -> str: ...

    def force_refresh(self, realm_id: str, rejected_access_token: str) -> str: ...


class Budget(Protocol):
    def slot(self, *, batch: bool = False) -> AbstractContextManager[None]: ...


@dataclass
class StaticTokens:
    """A fixed access token (tests, or a token obtained elsewhere); it cannot refresh."""

    token: str

    def access_token(self, realm_id: str) -> str:
        return self.token

    def force_refresh(self, realm_id: str, rejected_access_token: str) -> str:
        raise errors.AuthenticationError(
            "3200",
            f"access token for realm {realm_id} was rejected and cannot be "
            "refreshed here; reconnect with `qbo connect`",
            status=401,
        )


@dataclass
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 0.5
    cap_seconds: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return min(retry_after, self.cap_seconds * 4)
        return rng.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1)))


@dataclass
class RequestStats:
    requests: int = 0  # HTTP requests sent, retries included
    retries: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def decimal_json(text: str | bytes) -> Any:
    """QBO money is decimal on the wire: never let it become a binary float."""
    return json.loads(text, parse_float=Decimal)


class QboClient:
    def __init__(
        self,
        realm_id: str,
        base_url: str,
        tokens: AccessTokens,
        *,
        budget: Budget | None = None,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = REQUEST_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.realm_id = realm_id
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.budget = budget
        self.session = session or requests.Session()
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.sleep = sleep
        self.stats = RequestStats()
        self.last_intuit_tid: str | None = None
        self.last_server_time: str | None = None  # the `time` member of the last answer: QBO's clock
        self._rng = random.Random(seed)

    @property
    def company_url(self) -> str:
        return f"{self.base_url}/v3/company/{self.realm_id}"

    # the API -------------------------------------------------------------------------------
    def query(self, text: str) -> dict[str, Any]:
        """The QueryResponse of one query (POSTed as application/text: no URL length limit)."""
        body = self.request(
            "POST", "query", data=text.encode("utf-8"), content_type="application/text", kind="query"
        )
        return body.get("QueryResponse") or {}

    def cdc(self, entities: list[str], changed_since: str) -> tuple[dict[str, list[dict[str, Any]]], str]:
        """Changed objects per entity since an ISO instant, and the server's `time` of the answer."""
        body = self.request(
            "GET", "cdc", params={"entities": ",".join(entities), "changedSince": changed_since}, kind="cdc"
        )
        found: dict[str, list[dict[str, Any]]] = {name: [] for name in entities}
        for response in body.get("CDCResponse") or []:
            for part in response.get("QueryResponse") or []:
                for name in entities:  # parse by key, not by position (QBO_API.md §2)
                    found[name].extend(part.get(name) or [])
        return found, str(body.get("time", ""))

    def batch(self, items: list[dict[str, Any]], request_id: str | None = None) -> list[dict[str, Any]]:
        """One /batch call (at most 30 items). With `request_id`, QBO answers a repeat of the same request
        with the first answer instead of doing it again: retries and re-runs create nothing twice."""
        params = {"requestid": request_id} if request_id else None
        body = self.request(
            "POST", "batch", params=params, json_body={"BatchItemRequest": items}, batch=True, kind="batch"
        )
        return list(body.get("BatchItemResponse") or [])

    def read(self, entity: str, entity_id: str) -> dict[str, Any]:
        body = self.request("GET", f"{entity.lower()}/{entity_id}", kind="read")
        return body[entity]

    # transport ----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        batch: bool = False,
        kind: str = "other",
    ) -> dict[str, Any]:
        url = f"{self.company_url}/{path}"
        query = {"minorversion": MINOR_VERSION, **(params or {})}
        headers = {"Accept": "application/json"}
        if json_body is not None:
            data = json.dumps(json_body, default=_json_default).encode("utf-8")
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            token = self.tokens.access_token(self.realm_id)
            try:
                response = self._send(
                    method, url, query, data, {**headers, "Authorization": f"Bearer {token}"}, batch, kind
                )
                return self._parse(response)
            except errors.AuthenticationError:
                if refreshed:
                    raise
                refreshed = True
                self.tokens.force_refresh(self.realm_id, token)
            except errors.QboError as exc:
                if not exc.retryable or attempt >= self.retry.max_attempts:
                    raise
                wait = self.retry.delay(attempt, getattr(exc, "retry_after", None), self._rng)
                log.warning(
                    "realm %s: %s on %s %s, retry %d in %.1fs",
                    self.realm_id,
                    type(exc).__name__,
                    method,
                    path,
                    attempt,
                    wait,
                )
                self.stats.retries += 1
                self.sleep(wait)

    def _send(
        self,
        method: str,
        url: str,
        params: dict[str, Any],
        data: bytes | None,
        headers: dict[str, str],
        batch: bool,
        kind: str,
    ) -> requests.Response:
        slot = self.budget.slot(batch=batch) if self.budget else nullcontext()
        with slot:
            self.stats.requests += 1
            self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
            try:
                response = self.session.request(
                    method, url, params=params, data=data, headers=headers, timeout=self.timeout
                )
                _ = response.content  # read the whole body inside the slot: a truncated one fails here
            except requests.RequestException as exc:
                raise errors.TransportError(
                    "transport", f"{type(exc).__name__} talking to QBO", status=None
                ) from None
        self.last_intuit_tid = response.headers.get("intuit_tid")
        return response

    def _parse(self, response: requests.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise errors.from_response(response)
        try:
            body = decimal_json(response.content)
        except ValueError:
            raise errors.TransportError(
                "transport",
                "unreadable response body (truncated?)",
                status=response.status_code,
                intuit_tid=response.headers.get("intuit_tid"),
            ) from None
        fault = errors.parse_fault(body, response.status_code, response.headers.get("intuit_tid"))
        if fault is not None:
            raise fault
        if isinstance(body, dict) and body.get("time"):
            self.last_server_time = str(body["time"])
        return body


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} to QBO")
