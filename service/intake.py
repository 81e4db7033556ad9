"""Webhook intake at load: concurrent deliveries' events written in one transaction, and the webhook
POST answered before FastAPI's routing.

One commit per delivery made the store's commit (an fsync each, one writer at a time on SQLite) the
gateway's ceiling: deliveries queued behind one another and the tail passed half a second at 64
connections. `GroupWriter` has one thread take every delivery waiting, store them with one statement
and one commit (`EventQueue.put_many`), and only then answer each: a 200 still means the delivery's
events are durably stored. While it writes, the next deliveries gather, so the group grows with the
load and a lone delivery is written at once.

`FastPath` answers the webhook POST before the router: the routing, dependency and exception layers
cost about as much CPU per delivery as reading, verifying and parsing it, on the one core the event
loop has. The endpoint itself is the same function the router would call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from pipelines.store.webhook_queue import EventQueue
from sources.quickbooks.webhook_payloads import ChangeEvent

log = logging.getLogger("qbo.service")
MAX_GROUP_EVENTS = 2000  # events per transaction: keeps one commit short when a burst piles up

_Waiting = tuple[Sequence[ChangeEvent], asyncio.AbstractEventLoop, "asyncio.Future[int]"]
_Outcome = tuple["asyncio.Future[int]", int | BaseException]


class GroupWriter:
    """Stores deliveries for the gateway: `await put(events)` returns once they are committed."""

    def __init__(self, events: EventQueue, max_events: int = MAX_GROUP_EVENTS) -> None:
        self.events = events
        self.max_events = max_events
        self._waiting: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self._connection: Connection | None = None  # the writer thread's own, kept between groups

    async def put(self, events: Sequence[ChangeEvent]) -> int:
        """How many of the delivery's events were new, once they are stored; the store's error if the
        write failed (the delivery is then answered 500 and Intuit redelivers it)."""
        if not events:
            return 0
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        self._start()
        self._waiting.put((events, loop, done))
        return await done

    def close(self) -> None:
        """Write what is waiting, then stop the writer thread."""
        with self._starting:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._waiting.put(None)
            thread.join(timeout=30)

    def _start(self) -> None:
        if self._thread is None:
            with self._starting:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="webhook-writer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        try:
            stopping = False
            while not stopping:
                first = self._waiting.get()
                if first is None:
                    return
                group, size = [first], len(first[0])
                while size < self.max_events:
                    try:
                        item = self._waiting.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stopping = True
                        break
                    group.append(item)
                    size += len(item[0])
                self._answer(group, self._write([events for events, _, _ in group]))
        finally:
            if self._connection is not None:
                self._connection.close()

    def _write(self, deliveries: list[Sequence[ChangeEvent]]) -> list[int | BaseException]:
        """The group in one transaction; if that fails, each delivery alone, so that one delivery the
        store refuses fails by itself and not its neighbours."""
        try:
            return list(self._put(deliveries))
        except Exception as exc:
            if len(deliveries) == 1:
                return [exc]
            log.warning(
                "webhook: a group of %d deliveries failed (%s); storing each alone",
                len(deliveries),
                type(exc).__name__,
            )
        outcomes: list[int | BaseException] = []
        for events in deliveries:
            try:
                outcomes.extend(self._put([events]))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    def _put(self, deliveries: list[Sequence[ChangeEvent]]) -> list[int]:
        if self._connection is None:
            self._connection = self.events.engine.connect()
        try:
            return self.events.put_many(deliveries, self._connection)
        except Exception:
            self._connection.invalidate()  # a broken connection is not reused; the next group opens one
            self._connection.close()
            self._connection = None
            raise

    @staticmethod
    def _answer(group: list[_Waiting], outcomes: list[int | BaseException]) -> None:
        """Each delivery's outcome handed to its event loop, one wake-up per loop for the group."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for (_, loop, done), outcome in zip(group, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((done, outcome))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop closed: its requests are gone
                loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[_Outcome]) -> None:
    for done, outcome in settled:
        if done.done():  # the client went away and the request was cancelled
            continue
        if isinstance(outcome, BaseException):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)


class FastPath:
    """ASGI middleware: `method path` goes straight to `endpoint`; everything else to the app."""

    def __init__(
        self, app: ASGIApp, method: str, path: str, endpoint: Callable[[Request], Awaitable[Response]]
    ) -> None:
        self.app, self.method, self.path, self.endpoint = app, method, path, endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == self.method:
            response = await self.endpoint(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
