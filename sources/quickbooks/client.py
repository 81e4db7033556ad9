"""The HTTP client for one realm: budget, bearer token, retries, typed errors, request counting.

Everything that talks to QBO goes through `QboClient.request`, so the rules hold everywhere:
- every call takes a slot of the realm's shared request budget (DESIGN decision 5);
- 429, 5xx and transport failures (reset, timeout, truncated body) back off with full jitter,
  honouring Retry-After when QBO sends one; an address where nothing answers (refused, unknown
  host) is tried 3 times only, and the error names the URL and the realm; other faults raise at once
  as typed errors;
- a 401 refreshes the token once (through the token manager's cross-process lock), then gives up;
- a fault inside a 200 answer is raised (and retried) like the same fault on an error status;
- no token, secret or body is ever logged or put into an exception.

The retry loop itself (attempts, waits, jitter) is tenacity's `Retrying`; only QBO's rules are here.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)
from tenacity.wait import wait_base

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
    """How hard a client retries 429, 5xx and transport faults: at most `max_attempts` requests, waiting
    a full-jitter exponential back-off (`base_seconds` doubling up to `cap_seconds`) between them, or
    the fault's Retry-After (at most 4 x `cap_seconds`) when QBO sends one."""

    max_attempts: int = 8
    base_seconds: float = 0.5
    cap_seconds: float = 30.0

    def stop(self) -> stop_after_attempt:
        return stop_after_attempt(self.max_attempts)

    def wait(self, rng: random.Random) -> wait_base:
        return _RetryAfterOr(_FullJitter(self.base_seconds, self.cap_seconds, rng), self.cap_seconds * 4)


class _FullJitter(wait_exponential):
    """tenacity's `wait_random_exponential` (uniform in [0, min(cap, base * 2**(attempt-1))]), drawing
    from the client's own random source so a seeded client waits the same every run."""

    def __init__(self, base: float, cap: float, rng: random.Random) -> None:
        super().__init__(multiplier=base, max=cap)
        self.rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        return self.rng.uniform(0, super().__call__(retry_state))


class _RetryAfterOr(wait_base):
    """The failed attempt's Retry-After (a typed error's `retry_after`), capped; else the fallback wait."""

    def __init__(self, fallback: wait_base, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        retry_after = getattr(_failure(retry_state), "retry_after", None)
        return min(retry_after, self.cap) if retry_after is not None else self.fallback(retry_state)


class _TokenRejected(Exception):
    """The first 401 of a request: refresh the token once and send again at once (no back-off)."""


def _failure(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


def _refreshing(state: RetryCallState) -> bool:
    return isinstance(_failure(state), _TokenRejected)


def _worth_retrying(exc: BaseException) -> bool:
    return isinstance(exc, _TokenRejected) or (isinstance(exc, errors.QboError) and exc.retryable)


UNREACHABLE_ATTEMPTS = 3  # nothing answers at the address (a wrong URL, a sandbox not started): say so soon


def _gave_up_on_address(state: RetryCallState) -> bool:
    failure = _failure(state)
    unreachable = isinstance(failure, errors.TransportError) and failure.unreachable
    return unreachable and state.attempt_number >= UNREACHABLE_ATTEMPTS


@dataclass
class RequestStats:
    requests: int = 0  # HTTP requests sent, retries included
    retries: int = 0
    seconds: float = 0.0  # waited on them, summed over threads (with several in flight: above wall time)
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
        self._stats_lock = threading.Lock()

    @property
    def company_url(self) -> str:
        return f"{self.base_url}/v3/company/{self.realm_id}"

    # the API -------------------------------------------------------------------------------
    def query(self, text: str) -> dict[str, Any]:
        """The QueryResponse of one query (POSTed as application/text: no URL length limit)."""
        return self.query_at(text)[0]

    def query_at(self, text: str) -> tuple[dict[str, Any], str | None]:
        """`query`, with the server's `time` of this answer: concurrent readers cannot trust
        `last_server_time`, which the newest answer of any thread set."""
        body = self.request(
            "POST", "query", data=text.encode("utf-8"), content_type="application/text", kind="query"
        )
        return body.get("QueryResponse") or {}, _time_of(body)

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
        return self.batch_at(items, request_id)[0]

    def batch_at(
        self, items: list[dict[str, Any]], request_id: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """`batch`, with the server's `time` of this answer (see `query_at`)."""
        params = {"requestid": request_id} if request_id else None
        body = self.request(
            "POST", "batch", params=params, json_body={"BatchItemRequest": items}, batch=True, kind="batch"
        )
        return list(body.get("BatchItemResponse") or []), _time_of(body)

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
        policy = self.retry
        backoff, cap = policy.wait(self._rng), policy.stop()
        token = ""
        refreshed = False

        def take_token(_: RetryCallState) -> None:
            # a tenacity hook, not part of the attempt: a token manager failure is raised, never retried here
            nonlocal token
            token = self.tokens.access_token(self.realm_id)

        def attempt() -> dict[str, Any]:
            authorised = {**headers, "Authorization": f"Bearer {token}"}
            try:
                return self._parse(self._send(method, url, query, data, authorised, batch, kind))
            except errors.AuthenticationError:
                if refreshed:
                    raise
                raise _TokenRejected from None

        def between(state: RetryCallState) -> None:
            nonlocal refreshed
            if _refreshing(state):  # one forced refresh: not a back-off retry, not counted as one
                refreshed = True
                self.tokens.force_refresh(self.realm_id, token)
                return
            log.warning(
                "realm %s: %s on %s %s, retry %d in %.1fs",
                self.realm_id,
                type(_failure(state)).__name__,
                method,
                path,
                state.attempt_number,
                state.upcoming_sleep,
            )
            with self._stats_lock:
                self.stats.retries += 1

        retrying = Retrying(  # a last-attempt 401 still refreshes; an unreachable address stops early
            retry=retry_if_exception(_worth_retrying),
            stop=lambda state: not _refreshing(state) and (cap(state) or _gave_up_on_address(state)),
            wait=lambda state: 0.0 if _refreshing(state) else backoff(state),
            before=take_token,
            before_sleep=between,
            sleep=self._pause,
            reraise=True,  # the typed error of the last attempt, not tenacity's RetryError
        )
        return retrying(attempt)

    def _pause(self, seconds: float) -> None:
        if seconds > 0:  # the resend after a token refresh waits 0 s: nothing to sleep
            self.sleep(seconds)

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
            with self._stats_lock:  # a realm's scan sends from several threads
                self.stats.requests += 1
                self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
            sent = time.monotonic()
            try:
                response = self.session.request(
                    method, url, params=params, data=data, headers=headers, timeout=self.timeout
                )
                _ = response.content  # read the whole body inside the slot: a truncated one fails here
            except requests.RequestException as exc:
                failure = errors.TransportError(
                    "transport",
                    f"could not reach QBO at {self.base_url} for realm {self.realm_id}: "
                    f"{errors.transport_reason(exc)}",
                    status=None,
                )
                failure.unreachable = errors.unreachable(exc)
                raise failure from None
            finally:
                with self._stats_lock:
                    self.stats.seconds += time.monotonic() - sent
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


def _time_of(body: Any) -> str | None:
    return str(body["time"]) if isinstance(body, dict) and body.get("time") else None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} to QBO")
