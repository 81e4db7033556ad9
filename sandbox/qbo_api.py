"""The QBO Accounting API v3 on the wire: /v3/company/{realmId}/... (reference/QBO_API.md §0-§5).

Handlers are thin: they authenticate, parse, call `WriteRules` or the store, and shape the envelope.
A `requestid` makes a write idempotent: the first answer is stored and replayed, nothing is
written twice (§4). Batch items run independently, each with its own fault (§3).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from sandbox import faults
from sandbox.clock import format_server_time, parse_instant
from sandbox.query import Query, parse
from sandbox.store import Realm
from sources.quickbooks.catalog import BY_RESOURCE, ENTITIES, Void

if TYPE_CHECKING:
    from sandbox.state import Sandbox

JSON_OK = "application/json;charset=utf-8"
MAX_BATCH_ITEMS = 30
MAX_CDC_OBJECTS = 1000
MAX_REQUEST_ID = 50


def ok(text: str) -> Response:
    return Response(text, media_type=JSON_OK)


def envelope(realm: Realm, key: str, payload: Any) -> str:
    return json.dumps(
        {key: payload, "time": format_server_time(realm.tz)}, separators=(",", ":"), ensure_ascii=False
    )


def query_response_text(entity: str, docs: list[str], count: int | None, start: int) -> str:
    """The QueryResponse member, joined from stored JSON text (no re-serialisation)."""
    if count is not None:
        return f'{{"totalCount":{count}}}'
    if not docs:
        return "{}"
    return f'{{"{entity}":[{",".join(docs)}],"startPosition":{start},"maxResults":{len(docs)}}}'


def router(sb: Sandbox) -> APIRouter:
    api = APIRouter(prefix="/v3/company/{realm_id}")

    def authorize(request: Request, realm_id: str) -> Realm:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise faults.authentication_failed("Authorization header missing or not a bearer token")
        grant, why = sb.tokens.access(header[7:].strip())
        if grant is None:
            raise faults.authentication_failed(why)
        if grant.realm_id != realm_id:
            raise faults.authorization_failed()
        realm = sb.store.realm(realm_id)
        if realm is None:
            raise faults.authorization_failed()
        return realm

    def run_query(realm: Realm, text: str) -> tuple[str, float]:
        q = parse(text)
        started = time.perf_counter()
        docs, count = sb.store.query(realm, q)
        db_ms = (time.perf_counter() - started) * 1000
        return query_response_text(q.entity, docs, count, q.start_position), db_ms

    @api.get("/query")
    @api.post("/query")
    async def query(request: Request, realm_id: str) -> Response:
        realm = authorize(request, realm_id)
        text = request.query_params.get("query")
        if text is None and request.method == "POST":
            text = (await request.body()).decode("utf-8", "replace")
        if not text or not text.strip():
            raise faults.query_parse('Encountered "<EOF>" at line 1, column 1.')
        started = time.perf_counter()
        body, db_ms = await run_in_threadpool(run_query, realm, text)
        response = ok(f'{{"QueryResponse":{body},"time":"{format_server_time(realm.tz)}"}}')
        total_ms = (time.perf_counter() - started) * 1000
        response.headers["Service-Time"] = f"total={total_ms:.0f}, db={db_ms:.0f}"  # as QBO reports it
        return response

    @api.get("/cdc")
    async def cdc(request: Request, realm_id: str) -> Response:
        realm = authorize(request, realm_id)
        params = request.query_params
        payload = await run_in_threadpool(
            change_data_capture, sb, realm, params.get("entities", ""), params.get("changedSince", "")
        )
        return ok(envelope(realm, "CDCResponse", payload))

    @api.post("/batch")
    async def batch(request: Request, realm_id: str) -> Response:
        realm = authorize(request, realm_id)
        raw = await request.body()
        return await run_in_threadpool(idempotent, sb, realm, request, raw, lambda: run_batch(sb, realm, raw))

    @api.get("/companyinfo/{company_id}")
    async def company_info(request: Request, realm_id: str, company_id: str) -> Response:
        realm = authorize(request, realm_id)
        if company_id != realm_id:
            raise faults.object_not_found()
        doc = sb.rules.singleton(realm, "CompanyInfo")
        return ok(envelope(realm, "CompanyInfo", doc))

    @api.get("/preferences")
    async def preferences(request: Request, realm_id: str) -> Response:
        realm = authorize(request, realm_id)
        return ok(envelope(realm, "Preferences", sb.rules.singleton(realm, "Preferences")))

    @api.get("/{resource}/{entity_id}")
    async def read(request: Request, realm_id: str, resource: str, entity_id: str) -> Response:
        realm = authorize(request, realm_id)
        spec = BY_RESOURCE.get(resource)
        if spec is None:
            raise faults.unsupported_operation(f"{resource} is not supported.")
        doc = await run_in_threadpool(sb.rules.read, realm, spec.name, entity_id)
        return ok(envelope(realm, spec.name, doc))

    @api.post("/{resource}")
    async def write(request: Request, realm_id: str, resource: str) -> Response:
        realm = authorize(request, realm_id)
        spec = BY_RESOURCE.get(resource)
        if spec is None:
            raise faults.unsupported_operation(f"{resource} is not supported.")
        raw = await request.body()
        operation = request.query_params.get(
            "operation", "update" if request.query_params.get("include") else ""
        )
        include = request.query_params.get("include")

        def execute() -> tuple[int, str]:
            body = _json_body(raw)
            if operation == "delete":
                doc = sb.rules.delete(realm, spec.name, body)
            elif operation == "void" or (operation == "update" and include == "void"):
                style = Void.OPERATION_VOID if operation == "void" else Void.INCLUDE_VOID
                if spec.void is not style:
                    raise faults.unsupported_operation(
                        f"{spec.name} is voided with ?{spec.void.value}"
                        if spec.void
                        else f"{spec.name} cannot be voided."
                    )
                doc = sb.rules.void(realm, spec.name, body)
            elif operation in ("", "update", "create"):
                if spec.kind.value == "singleton":
                    doc = sb.rules.update(realm, spec.name, body if isinstance(body, dict) else {})
                else:
                    doc = sb.rules.save(realm, spec.name, body)
            else:
                raise faults.unsupported_operation(f"operation={operation} is not supported.")
            return 200, envelope(realm, spec.name, doc)

        return await run_in_threadpool(idempotent, sb, realm, request, raw, execute)

    @api.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unsupported(request: Request, realm_id: str, rest: str) -> Response:
        authorize(request, realm_id)
        raise faults.unsupported_operation(f"{request.method} {rest} is not supported.")

    return api


def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise faults.request_error("Request body is not valid JSON") from None


def idempotent(sb: Sandbox, realm: Realm, request: Request, raw: bytes, execute: Any) -> Response:
    """Run a write once per `requestid`; a repeat gets the first answer and writes nothing."""
    request_id = request.query_params.get("requestid")
    if not request_id:
        return _as_response(realm, execute)
    if len(request_id) > MAX_REQUEST_ID:
        raise faults.validation(
            "2050",
            "String length exceeds limit",
            f"requestid must be at most {MAX_REQUEST_ID} characters",
            "requestid",
        )
    with sb.store.lock:  # one requestid, one execution, even when two copies race
        row = sb.store.execute(
            "SELECT status, content_type, body FROM request_ids WHERE realm_id = ? AND request_id = ?",
            (realm.realm_id, request_id),
        ).fetchone()
        if row is not None:
            return Response(row[2], status_code=row[0], media_type=row[1])
        response = _as_response(realm, execute)
        if response.status_code in (200, 400):  # definitive answers only; 5xx/429 may be retried
            fingerprint = f"{request.method} {request.url.path} {hashlib.sha256(raw).hexdigest()}"
            sb.store.execute(
                "INSERT INTO request_ids VALUES (?, ?, ?, ?, ?, ?)",
                (
                    realm.realm_id,
                    request_id,
                    fingerprint,
                    response.status_code,
                    response.media_type,
                    response.body,
                ),
            )
        return response


def _as_response(realm: Realm, execute: Any) -> Response:
    try:
        status, text = execute()
    except faults.QboFault as fault:
        body, content_type = fault.body(realm.tz)
        return Response(body, status_code=fault.status, media_type=content_type, headers=fault.headers)
    return Response(text, status_code=status, media_type=JSON_OK)


def change_data_capture(sb: Sandbox, realm: Realm, entities: str, changed_since: str) -> list[dict[str, Any]]:
    names = [name.strip() for name in entities.split(",") if name.strip()]
    if not names:
        raise faults.required_param("entities")
    if not changed_since:
        raise faults.required_param("changedSince")
    canonical = {name.lower(): name for name in ENTITIES}
    resolved = []
    for name in names:
        entity = canonical.get(name.lower())
        if entity is None:
            raise faults.invalid_query(f"invalid context declaration: {name}")
        if not ENTITIES[entity].cdc:
            raise faults.validation("4001", "Invalid query", f"CDC is not supported for {entity}", "entities")
        resolved.append(entity)
    try:
        since = parse_instant(changed_since, realm.tz)
    except ValueError:
        raise faults.validation(
            "4001",
            "Invalid query",
            f"changedSince is not a date or dateTime: {changed_since}",
            "changedSince",
        ) from None
    max_age = sb.config.cdc_max_age_days
    if since < time.time() - max_age * 86400:
        # The real API's behaviour here varies (it answered 200 for years-old values in 2020);
        # the sandbox refuses, so connectors are forced to honour the documented 30-day window.
        raise faults.validation(
            "4001",
            "Invalid query",
            f"QueryValidationError: changedSince must be within the last {max_age} days",
            "changedSince",
        )
    budget = MAX_CDC_OBJECTS
    responses: list[dict[str, Any]] = []
    for entity in resolved:
        docs = sb.store.changed_since(realm.realm_id, entity, since, budget) if budget else []
        budget -= len(docs)
        if docs:
            responses.append(
                {entity: [json.loads(d) for d in docs], "startPosition": 1, "maxResults": len(docs)}
            )
        else:
            responses.append({})
    return [{"QueryResponse": responses}]


def run_batch(sb: Sandbox, realm: Realm, raw: bytes) -> tuple[int, str]:
    body = _json_body(raw)
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise faults.required_param("BatchItemRequest")
    if len(items) > MAX_BATCH_ITEMS:
        # QBO_API.md §3: the server's exact fault for >30 items was never recorded; code 1040 is its
        # documented "batch size" error, and the text is the SDKs'.
        raise faults.validation(
            "1040",
            "Batch size exceeds allowed limit",
            f"Number of Items in Batch Request exceeded the permissible limit of {MAX_BATCH_ITEMS} items.",
            "BatchItemRequest",
        )
    seen: set[str] = set()
    answers = []
    for item in items:
        bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
        if not bid or bid in seen:
            raise faults.validation(
                "2020", "Required param missing", "Each BatchItemRequest needs a unique bId", "bId"
            )
        seen.add(bid)
        try:
            key, payload = _batch_item(sb, realm, item)
            answers.append({key: payload, "bId": bid})
        except faults.QboFault as fault:
            answers.append({**fault.as_fault_json(None), "bId": bid})
    return 200, envelope(realm, "BatchItemResponse", answers)


def _batch_item(sb: Sandbox, realm: Realm, item: dict[str, Any]) -> tuple[str, Any]:
    if "Query" in item:
        q: Query = parse(str(item["Query"]))
        docs, count = sb.store.query(realm, q)
        return "QueryResponse", json.loads(query_response_text(q.entity, docs, count, q.start_position))
    if "CDCQuery" in item:
        cdc_query = item["CDCQuery"] or {}
        return "CDCResponse", change_data_capture(
            sb, realm, str(cdc_query.get("Entities", "")), str(cdc_query.get("ChangedSince", ""))
        )
    entities = [key for key in item if key in ENTITIES]
    if len(entities) != 1:
        raise faults.request_error("A BatchItemRequest carries exactly one of an entity, Query or CDCQuery")
    entity = entities[0]
    body = item[entity]
    operation = item.get("operation")
    options = item.get("optionsData")
    if operation == "create":
        return entity, sb.rules.create(realm, entity, body if isinstance(body, dict) else {})
    if operation == "update" and options == "void":
        return entity, sb.rules.void(realm, entity, body)
    if operation == "update":
        return entity, sb.rules.update(realm, entity, body if isinstance(body, dict) else {})
    if operation == "delete":
        return entity, sb.rules.delete(realm, entity, body)
    raise faults.unsupported_operation(f"batch operation {operation!r} is not supported.")
