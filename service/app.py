"""The integration gateway: OAuth connect and callback, webhook intake, real-time pushes, sync triggers,
and the changes feed (what QBO changed, as platform DTOs, from the outbox the deliver job fills).

It writes only the integration store (tokens, webhook events, sync requests, push results, the changes
a platform acknowledged), never the warehouse: DuckDB has one writer, and that is the worker or a flow
(DESIGN decision 10). Every answer that is not a success is the seed's error DTO (`code`, `message`,
`details[]`).
"""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipelines.connect import finish_connection, spend_state, state_secret
from pipelines.push.realtime import RealtimePush
from pipelines.runtime.connector import Connector, TenantRealmError
from pipelines.runtime.policy_config import mastering_policy
from pipelines.runtime.settings import ConfigError
from pipelines.store.outbox import MAX_PAGE
from service.auth import ApiKeys, Caller
from service.intake import FastPath, GroupWriter
from service.review import mount as mount_review
from sources.platform.dto import MODELS
from sources.platform.errors import detail, error_dto, field_path, issue_of
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.errors import QboError
from sources.quickbooks.oauth import InvalidState, OAuthError, make_state
from sources.quickbooks.token_store import TokenStoreError
from sources.quickbooks.tokens import ConnectionRefused
from sources.quickbooks.webhook_payloads import Delivery, WebhookPayloadError, verify
from sources.quickbooks.webhook_payloads import read as read_delivery

log = logging.getLogger("qbo.service")
PREFIX = "/integrations/quickbooks"
JSON_TYPES = ("application/json", "application/cloudevents+json")
CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT"}
PLURAL_OF = {name: name.lower() + ("es" if name.endswith("s") else "s") for name in ENTITIES}
PLURALS = {plural: name for name, plural in PLURAL_OF.items()}


def error(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse(error_dto(code, message, details or []), status_code=status)


class AckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant: str = Field(min_length=1, max_length=64)
    cursor: int = Field(ge=0, le=2**62)


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant: str = Field(min_length=1, max_length=64)
    realm_id: str | None = Field(None, min_length=1, max_length=64)


def current_caller(request: Request) -> Caller:
    keys: ApiKeys = request.app.state.keys
    return keys.caller(request)


Authorized = Annotated[Caller, Depends(current_caller)]


MAX_WEBHOOK_BODY = 1 << 20  # 1 MiB: Intuit batches stay far below; past it, the body is not read on


async def webhook_body(request: Request) -> bytes | JSONResponse:
    """The body, read no further than MAX_WEBHOOK_BODY (Content-Length first, then the stream itself,
    for a chunked body or a lying header); a 413 or 400 error DTO when it cannot be taken."""
    declared = request.headers.get("content-length")
    if declared is not None and not declared.strip().isdigit():
        return error(400, "BAD_REQUEST", f"content-length {declared[:40]!r} is not a number of bytes")
    if declared is not None and int(declared) > MAX_WEBHOOK_BODY:
        return _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_WEBHOOK_BODY:
            return _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> JSONResponse:
    """Built when a body is refused, not for every delivery: rendered and thrown away per request,
    it was ~0.05 ms of the ~0.35 ms the endpoint spent on a delivery (profiled)."""
    return error(
        413,
        "PAYLOAD_TOO_LARGE",
        f"the body is over {MAX_WEBHOOK_BODY} bytes; send the notification in smaller deliveries",
        [detail("body", "too_long", f"at most {MAX_WEBHOOK_BODY} bytes")],
    )


def webhook_answer(delivery: Delivery, stored: int) -> JSONResponse:
    """200 even when events were refused for ids QBO cannot have: the signature is good, so a non-2xx
    would only make Intuit redeliver what can never be taken. The refused events are counted, and
    `details` names each bad field, for whoever reads the delivery log."""
    received = len(delivery.events) + delivery.refused_events
    answer: dict[str, Any] = {"received": received, "stored": stored}
    if delivery.refused_events:
        log.warning(
            "webhook: %d of %d events refused: %s",
            delivery.refused_events,
            received,
            "; ".join(d["field"] for d in delivery.refused[:10]),
        )
        answer |= {"refused": delivery.refused_events, "details": delivery.refused}
    return JSONResponse(answer)


def create_app(connector: Connector) -> FastAPI:
    settings = connector.settings
    keys = ApiKeys(settings.gateway_api_keys)
    queue = connector.store.events
    outbox = connector.store.outbox

    @cache
    def realtime() -> RealtimePush:  # the mastering policy is read once, at the first push
        return RealtimePush(connector, mastering_policy())

    intake = GroupWriter(queue)  # concurrent deliveries share one commit (service/intake.py)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        intake.close()

    app = FastAPI(title="qbo-elt gateway", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.connector = connector
    app.state.keys = keys

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error(exc.status_code, CODES.get(exc.status_code, "ERROR"), str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(ConfigError)
    async def _unconfigured(_request: Request, exc: ConfigError) -> JSONResponse:
        return error(503, "NOT_CONFIGURED", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            detail(field_path(e["loc"][1:]) or "body", issue_of(e["type"]), e["msg"]) for e in exc.errors()
        ]
        return error(422, "VALIDATION_FAILED", "the request is not valid; see details", details)

    @app.get("/health")
    def health(_caller: Authorized) -> dict[str, Any]:
        return {"status": "ok", "webhook_events": queue.counts()}

    @app.get(f"{PREFIX}/connect-url")
    def connect_url(tenant: str, who: Authorized) -> dict[str, Any]:
        who.require(tenant)
        ttl = 600
        url = connector.oauth.authorize_url(make_state(tenant, state_secret(connector), ttl=ttl))
        return {"tenant": tenant, "url": url, "state_expires_in": ttl}

    @app.get(f"{PREFIX}/callback", response_class=HTMLResponse)
    def callback(state: str = "", code: str = "", realmId: str = "", error: str = "") -> HTMLResponse:
        """Intuit's redirect. Nothing in it is trusted: the state is verified and spent once, code and
        realmId checked, the realm's owner checked before the code is spent, and the tokens' realm
        confirmed before they are stored (pipelines/connect.py). Every refusal names the parameter."""
        failed = "The connection was refused"
        try:
            tenant = spend_state(connector, state).tenant_id
        except InvalidState as exc:
            return _page(400, failed, f"state: {exc}. Start again from qbo connect / the connect URL.")
        except ConnectionRefused as exc:
            return _page(400, failed, f"{exc.field}: {exc}.")
        except TokenStoreError as exc:
            log.error("callback: the token store cannot be used: %s", exc)
            return _page(503, failed, "The token store is not usable; an operator must run qbo status.")
        if error:
            return _page(
                400,
                "The connection was not made",
                f"error: QuickBooks answered {error[:100]!r}. Nothing was stored; start again from "
                "qbo connect / the connect URL.",
            )
        if not code or not realmId:
            missing = " and ".join(
                name for name, value in (("code", code), ("realmId", realmId)) if not value
            )
            return _page(
                400,
                failed,
                f"{missing}: missing from the redirect. Start again from qbo connect / the connect URL.",
            )
        try:
            record = finish_connection(connector, tenant, code, realmId)
        except ConnectionRefused as exc:
            log.warning("callback for tenant %s refused: %s (%s)", tenant, exc.reason, exc.field)
            return _page(400, failed, f"{exc.field}: {exc}.")
        except (OAuthError, QboError) as exc:
            log.warning("callback for tenant %s failed: %s", tenant, type(exc).__name__)
            return _page(400, failed, f"code: QuickBooks refused the code ({exc}). Start again.")
        except TokenStoreError as exc:
            log.error("callback for tenant %s: the tokens could not be stored: %s", tenant, exc)
            return _page(503, failed, "The tokens could not be stored; an operator must run qbo status.")
        return _page(
            200,
            "Connected",
            f"Tenant {record.tenant_id} is connected to QuickBooks company {record.realm_id}. "
            "You can close this window.",
        )

    async def webhook(request: Request) -> JSONResponse:
        """Intuit's notifications: size capped, then signed, then parsed (see `webhook_answer`)."""
        body = await webhook_body(request)
        if isinstance(body, JSONResponse):
            return body
        if not verify(body, request.headers.get("intuit-signature"), settings.webhook_verifier_token or ""):
            return error(401, "BAD_SIGNATURE", "intuit-signature is missing or does not match the body")
        content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if content_type not in JSON_TYPES:
            return error(
                415, "UNSUPPORTED_MEDIA_TYPE", f"expected {' or '.join(JSON_TYPES)}, got {content_type}"
            )
        try:
            delivery = read_delivery(body)
        except WebhookPayloadError as exc:
            return error(400, "MALFORMED_NOTIFICATION", str(exc))
        stored = await intake.put(delivery.events)
        return webhook_answer(delivery, stored)

    app.post(f"{PREFIX}/webhook")(webhook)
    # the same endpoint ahead of the routing layers, which cost as much CPU as the intake itself
    app.add_middleware(FastPath, method="POST", path=f"{PREFIX}/webhook", endpoint=webhook)

    @app.post(f"{PREFIX}/{{entity}}/sync", status_code=202)
    def sync(entity: str, body: SyncRequest, who: Authorized) -> dict[str, Any]:
        name = entity if entity in ENTITIES else PLURALS.get(entity.lower())
        if name is None:
            raise HTTPException(404, f"no QBO entity {entity!r}; use a name like invoices or Invoice")
        who.require(body.tenant)
        try:
            realm_id = connector.realm_of(body.tenant, body.realm_id)
        except TenantRealmError as exc:
            status, hint = (400, " in realm_id") if exc.ambiguous else (404, "")
            raise HTTPException(status, f"{exc}{hint}") from None
        request_id = queue.request_sync(body.tenant, realm_id, [name])
        return {"request_id": request_id, "realm_id": realm_id, "entities": [name], "status": "queued"}

    @app.get(f"{PREFIX}/changes")
    def changes(
        tenant: Annotated[str, Query(min_length=1, max_length=64)],
        who: Authorized,
        after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> dict[str, Any]:
        """What the platform is to take from QBO (pipelines/deliver/), oldest first, after a cursor
        (default: the tenant's acknowledged one); `next` is the cursor to ask after next time."""
        who.require(tenant)
        start = outbox.acknowledged(tenant) if after is None else after
        page = outbox.page(tenant, start, limit)
        return {"changes": page, "next": page[-1]["cursor"] if page else start}

    @app.post(f"{PREFIX}/changes/ack")
    def acknowledge(body: AckRequest, who: Authorized) -> dict[str, Any]:
        """The platform applied every change up to `cursor`: later reads start after it."""
        who.require(body.tenant)
        return {"tenant": body.tenant, "cursor": outbox.acknowledge(body.tenant, body.cursor)}

    def outbound(entity: str) -> None:
        @app.post(f"{PREFIX}/{PLURAL_OF[entity]}", name=f"push_{entity.lower()}")
        def push_record(payload: Annotated[dict[str, Any], Body()], who: Authorized) -> JSONResponse:
            """One platform record, pushed now. A record that names no tenant is for the key's tenant
            when the key is bound to one; one without `updatedAt` changed when it was received."""
            received_at = datetime.now(UTC)
            record, named = with_tenant(payload, who)
            answer = realtime().push(entity, record, who.may_act_for, received_at)
            if not named and answer.status == 422:
                answer.body["details"] = [_tenant_hint(d) for d in answer.body.get("details", [])]
            return JSONResponse(answer.body, status_code=answer.status)

    for entity in MODELS:
        outbound(entity)

    mount_review(app, connector)  # the finance review console, under /review/

    if settings.webhook_verifier_token is None:
        log.warning("no webhook_verifier_token: every webhook will be refused with 401")
    return app


TENANT_FIELDS = ("tenantId", "tenant_id")
TENANT_HINT = (
    "the record names no tenant and this API key acts for several tenants (or all): name the "
    "record's tenant in tenantId, or push with a key bound to that one tenant, which fills it in"
)


def with_tenant(payload: dict[str, Any], who: Caller) -> tuple[dict[str, Any], bool]:
    """(the record, whether it names its tenant). The SPEC's DTOs carry no tenant: a record without
    one is for the tenant of a key bound to exactly one; for a key of several it stays without, and
    the contract refuses it."""
    if any(payload.get(name) is not None for name in TENANT_FIELDS):
        return payload, True
    record = {k: v for k, v in payload.items() if k not in TENANT_FIELDS}
    if who.sole_tenant is not None:
        record["tenantId"] = who.sole_tenant
    return record, False


def _tenant_hint(d: dict[str, Any]) -> dict[str, Any]:
    """The contract's `tenantId: required`, saying what to do about it."""
    if d.get("field") == "tenantId" and d.get("issue") == "required":
        return {**d, "message": TENANT_HINT}
    return d


def _page(status: int, title: str, text: str) -> HTMLResponse:
    page = (
        f"<!doctype html><meta charset=utf-8><title>qbo-elt: {html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    )
    return HTMLResponse(page, status_code=status)
