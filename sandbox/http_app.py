"""The sandbox application: state in one object, the FastAPI app around it, the gate around that."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from sandbox import admin_api, faults, generator, oauth, qbo_api
from sandbox.clock import DEFAULT_TZ
from sandbox.limits_and_chaos import Chaos, Gate, RateLimiter, Stats
from sandbox.rules import Books, Change
from sandbox.settings import SandboxConfig
from sandbox.store import Realm, Store
from sandbox.webhook_sender import WebhookEmitter


class Sandbox:
    """Everything the sandbox knows; the HTTP layers are views of it."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        store: Store | None = None,
        populate: Callable[..., dict[str, int]] | None = None,
    ) -> None:
        self._config = config or SandboxConfig()
        self._config_lock = threading.Lock()
        self.store = store or Store()
        self.webhooks = WebhookEmitter(lambda: self._config)
        self.books = Books(self.store, on_change=self._changed)
        self.tokens = oauth.TokenService(self.store, lambda: self._config)
        self.stats = Stats()
        self.limiter = RateLimiter()
        self.chaos = Chaos(self._config.faults)
        self._populate = populate

    @property
    def config(self) -> SandboxConfig:
        return self._config

    def configure(self, patch: dict[str, Any]) -> SandboxConfig:
        with self._config_lock:
            new = self._config.merged(patch)
            if "faults" in patch:  # setting faults (again) restarts the seeded sequence: reproducible runs
                self.chaos.reseed(new.faults)
            self._config = new
        return new

    def add_realm(self, realm_id: str, company: str, seed: int, tz: str = DEFAULT_TZ) -> dict[str, int]:
        populate = self._populate or _default_populate
        realm = Realm(realm_id, company, seed, tz)
        self.store.add_realm(realm, time.time())
        try:
            return populate(self.store, realm, company, seed)
        except BaseException:
            self.store.drop_realm(realm_id)
            raise

    def reset(self) -> None:
        self.store.reset()
        self.stats.reset()
        self.limiter.reset()

    def realm_ids(self) -> list[str]:
        return [r.realm_id for r in self.store.realms()]

    def client_of(self, token: str) -> str | None:
        grant, _ = self.tokens.access(token)
        return grant.client_id if grant else None

    def _changed(self, changes: list[Change]) -> None:
        self.webhooks.submit(changes)


def _default_populate(store: Store, realm: Realm, company: str, seed: int) -> dict[str, int]:
    return generator.populate(store, realm, company, seed)


def create_app(sandbox: Sandbox | None = None) -> Any:
    """The ASGI app: FastAPI routes wrapped in the gate (limits, chaos, intuit_tid)."""
    sb = sandbox or Sandbox()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sb.webhooks.start()
        yield
        sb.webhooks.stop()

    app = FastAPI(
        title="qbo-elt QBO sandbox",
        lifespan=lifespan,
        docs_url="/_sandbox/docs",
        openapi_url="/_sandbox/openapi.json",
        redoc_url=None,
    )
    app.state.sandbox = sb

    @app.exception_handler(faults.QboFault)
    async def qbo_fault(_: Request, fault: faults.QboFault) -> Response:
        body, content_type = fault.body(DEFAULT_TZ)
        return Response(body, status_code=fault.status, media_type=content_type, headers=fault.headers)

    app.include_router(oauth.router(sb.tokens, sb.realm_ids, lambda: sb.config))
    app.include_router(admin_api.router(sb))
    app.include_router(qbo_api.router(sb))
    gated = Gate(app, lambda: sb.config, sb.client_of, sb.stats, sb.limiter, sb.chaos)
    gated.sandbox = sb  # type: ignore[attr-defined]
    return gated
