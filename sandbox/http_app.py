"""The sandbox's ASGI app: the QBO, OAuth and admin routes over its state (state.py), in the gate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from sandbox import admin_api, faults, oauth, qbo_api
from sandbox.clock import DEFAULT_TZ
from sandbox.limits_and_chaos import Gate
from sandbox.state import Sandbox


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
