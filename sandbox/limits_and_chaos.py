"""The gate every API request passes: `intuit_tid`, request counts, QBO's limits, and chaos.

Limits are QBO's (reference/QBO_API.md §6): per (client, realm) 500 requests a minute, 10 in
flight, 40 batch calls a minute; over them, a 429 with the XML `ThrottleExceeded` body.
Chaos is seeded and per request: 429, 500, 503, a connection reset before any byte, a slow answer,
or a body cut in half. It sits in raw ASGI because a reset and a truncated body cannot be said in
HTTP: they are done to the socket (uvicorn's h11 transport) directly.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sandbox import faults
from sandbox.clock import DEFAULT_TZ
from sandbox.settings import FaultSettings, SandboxConfig

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Stats:
    """Requests served per realm and endpoint, and the 429s among them; the most ever in flight at once
    and in one window of the per-minute limit (whether limits are enforced or not): what a client that
    keeps to QBO's limits must keep under."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[str, Counter[str]] = defaultdict(Counter)
        self.throttled: Counter[str] = Counter()
        self.injected: dict[str, Counter[str]] = defaultdict(Counter)
        self.in_flight: Counter[str] = Counter()
        self.peak_in_flight: Counter[str] = Counter()
        self.arrivals: dict[str, deque[float]] = defaultdict(deque)
        self.peak_per_window: Counter[str] = Counter()

    def count(self, realm: str, label: str, window: float = 60.0) -> None:
        now = time.monotonic()
        with self._lock:
            self.requests[realm][label] += 1
            self.in_flight[realm] += 1
            self.peak_in_flight[realm] = max(self.peak_in_flight[realm], self.in_flight[realm])
            arrivals = _trim(self.arrivals[realm], now, window)
            arrivals.append(now)
            self.peak_per_window[realm] = max(self.peak_per_window[realm], len(arrivals))

    def done(self, realm: str) -> None:
        with self._lock:
            self.in_flight[realm] -= 1

    def count_throttled(self, realm: str) -> None:
        with self._lock:
            self.throttled[realm] += 1

    def count_injected(self, realm: str, fault: str) -> None:
        with self._lock:
            self.injected[realm][fault] += 1

    def for_realm(self, realm: str) -> dict[str, Any]:
        with self._lock:
            served = dict(sorted(self.requests[realm].items()))
            return {
                "requests": served,
                "requests_total": sum(served.values()),
                "throttled_429": self.throttled[realm],
                "injected_faults": dict(self.injected[realm]),
                "peak_in_flight": self.peak_in_flight[realm],
                "peak_per_window": self.peak_per_window[realm],
            }

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.throttled.clear()
            self.injected.clear()
            self.peak_in_flight.clear()
            self.arrivals.clear()
            self.peak_per_window.clear()


class RateLimiter:
    """Sliding one-minute windows and in-flight counts, per (client, realm)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._batches: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._in_flight: Counter[tuple[str, str]] = Counter()

    def enter(
        self,
        key: tuple[str, str],
        is_batch: bool,
        per_minute: int,
        batch_per_minute: int,
        concurrent: int,
        window: float = 60.0,
    ) -> bool:
        now = time.monotonic()
        with self._lock:
            calls = _trim(self._calls[key], now, window)
            batches = _trim(self._batches[key], now, window)
            if (
                len(calls) >= per_minute
                or self._in_flight[key] >= concurrent
                or (is_batch and len(batches) >= batch_per_minute)
            ):
                return False
            calls.append(now)
            if is_batch:
                batches.append(now)
            self._in_flight[key] += 1
            return True

    def leave(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._in_flight[key] -= 1

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._batches.clear()
            self._in_flight.clear()


def _trim(window: deque[float], now: float, seconds: float) -> deque[float]:
    while window and now - window[0] >= seconds:
        window.popleft()
    return window


class Chaos:
    """Draws the injected fault for a request from one seeded generator."""

    KINDS = ("429", "500", "503", "reset", "slow", "truncated")

    def __init__(self, settings: FaultSettings) -> None:
        self.reseed(settings)

    def reseed(self, settings: FaultSettings) -> None:
        self._rng = random.Random(settings.seed)
        self._lock = threading.Lock()

    def draw(self, settings: FaultSettings) -> str | None:
        rates = [getattr(settings, f"rate_{kind}") for kind in self.KINDS]
        if not any(rates):
            return None
        with self._lock:
            roll = self._rng.random()
        for kind, rate in zip(self.KINDS, rates, strict=True):
            if roll < rate:
                return kind
            roll -= rate
        return None

    def latency(self, config: SandboxConfig) -> float:
        lat = config.latency
        extra = 0.0
        if lat.min_ms is not None and lat.max_ms is not None:
            with self._lock:
                extra = self._rng.uniform(lat.min_ms, lat.max_ms)
        return (lat.fixed_ms + extra) / 1000


def endpoint_label(method: str, path: str, query: str) -> str:
    """`GET query`, `POST invoice?operation=void`, `GET customer/{id}`: what the stats count."""
    parts = path.strip("/").split("/")  # v3 company {realm} segment [id]
    segment = parts[3].lower() if len(parts) > 3 else ""
    label = f"{method} {segment}"
    if len(parts) > 4 and segment not in ("companyinfo",):
        label += "/{id}"
    for param in query.split("&"):
        if param.startswith(("operation=", "include=")) and param != "operation=update":
            label += ("?" if "?" not in label else "&") + param
    return label


class Gate:
    """ASGI middleware around the whole sandbox app."""

    def __init__(
        self,
        app: ASGIApp,
        config: Callable[[], SandboxConfig],
        client_of: Callable[[str], str | None],
        stats: Stats,
        limiter: RateLimiter,
        chaos: Chaos,
    ) -> None:
        self.app = app
        self.config = config
        self.client_of = client_of
        self.stats = stats
        self.limiter = limiter
        self.chaos = chaos

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tid = f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"

        async def send_with_tid(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"intuit_tid", tid.encode()),
                    (b"x-request-id", tid.encode()),
                    (b"qbo-version", b"1988.128"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        path: str = scope["path"]
        if not path.startswith("/v3/company/"):
            await self.app(scope, receive, send_with_tid)
            return

        realm = path.split("/")[3] if path.count("/") >= 3 else ""
        query = scope.get("query_string", b"").decode("latin-1")
        config = self.config()
        self.stats.count(realm, endpoint_label(scope["method"], path, query), config.limits.window_seconds)
        try:
            await self._admit(scope, receive, send, send_with_tid, realm, config)
        finally:
            self.stats.done(realm)

    async def _admit(
        self, scope: Scope, receive: Receive, send: Send, tagged: Send, realm: str, config: SandboxConfig
    ) -> None:
        """QBO's limits, then the chaos drawn for this request, then the API."""
        client = self._client(scope) or "anonymous"
        key = (client, realm)
        is_batch = scope["path"].rstrip("/").endswith("/batch")
        limited = config.limits.enabled
        limits = config.limits
        if limited and not self.limiter.enter(
            key,
            is_batch,
            limits.per_minute,
            limits.batch_per_minute,
            limits.concurrent,
            limits.window_seconds,
        ):
            self.stats.count_throttled(realm)
            await _send_fault(tagged, faults.throttled())
            return
        try:
            delay = self.chaos.latency(config)
            if delay:
                await asyncio.sleep(delay)
            fault = self.chaos.draw(config.faults)
            if fault:
                self.stats.count_injected(realm, fault)
            if fault == "reset":
                _hang_up(send, reset=True)
                return
            if fault in ("429", "500", "503"):
                if fault == "429":
                    self.stats.count_throttled(realm)
                    await _send_fault(tagged, faults.throttled())
                else:
                    await _send_fault(tagged, faults.system_fault(int(fault)))
                return
            if fault == "slow":
                await asyncio.sleep(config.faults.slow_seconds)
            if fault == "truncated":
                await self._truncated(scope, receive, send, tagged)
                return
            await self.app(scope, receive, tagged)
        finally:
            if limited:
                self.limiter.leave(key)

    def _client(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                text = value.decode("latin-1")
                if text[:7].lower() == "bearer ":
                    return self.client_of(text[7:].strip())
        return None

    async def _truncated(self, scope: Scope, receive: Receive, send: Send, send_with_tid: Send) -> None:
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        start = next(m for m in messages if m["type"] == "http.response.start")
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send_with_tid({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        _hang_up(send, reset=False)


async def _send_fault(send: Send, fault: faults.QboFault) -> None:
    body, content_type = fault.body(DEFAULT_TZ)
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
    await send({"type": "http.response.start", "status": fault.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _hang_up(send: Send, reset: bool) -> None:
    """Close the client's connection under uvicorn: with an RST (SO_LINGER 0) or after what was sent."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("injected connection fault needs uvicorn's transport")
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    cycle.disconnected = True  # tells uvicorn not to answer (or complain) any further
