"""The sandbox's own API under /_sandbox/ (clearly not QBO): what tests and tools drive it with."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox import faults
from sources.quickbooks.catalog import ENTITIES

if TYPE_CHECKING:
    from sandbox.state import Sandbox

REALM_ID = re.compile(r"^[0-9]{1,20}$")


class NewRealm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    realm_id: str | None = Field(None, description="digits, like Intuit's company ids; generated when absent")
    company: Literal["empty", "tiny", "demo", "large"] = "demo"
    seed: int = 1
    tz: str = "America/Los_Angeles"


class Mutation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity: str
    id: str
    op: Literal["update", "delete", "void", "deactivate", "merge"]
    changes: dict[str, Any] = Field(default_factory=dict)
    merge_into: str | None = None


def router(sb: Sandbox) -> APIRouter:
    api = APIRouter(prefix="/_sandbox", tags=["sandbox admin"])

    def realm_or_404(realm_id: str) -> Any:
        realm = sb.store.realm(realm_id)
        if realm is None:
            raise HTTPException(404, f"no realm {realm_id!r}; GET /_sandbox/realms lists them")
        return realm

    @api.get("/realms")
    def list_realms() -> list[dict[str, Any]]:
        return [
            {"realm_id": r.realm_id, "company": r.company, "seed": r.seed, "tz": r.tz}
            for r in sb.store.realms()
        ]

    @api.post("/realms", status_code=201)
    async def create_realm(spec: NewRealm) -> dict[str, Any]:
        realm_id = spec.realm_id or f"9341{secrets.randbelow(10**12):012d}"
        if not REALM_ID.match(realm_id):
            raise HTTPException(422, "realm_id must be 1 to 20 digits")
        if sb.store.realm(realm_id) is not None:
            raise HTTPException(409, f"realm {realm_id} exists; POST /_sandbox/reset or pick another id")
        try:
            counts = await run_in_threadpool(sb.add_realm, realm_id, spec.company, spec.seed, spec.tz)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"realm_id": realm_id, "company": spec.company, "seed": spec.seed, "entities": counts}

    @api.delete("/realms/{realm_id}")
    def drop_realm(realm_id: str) -> dict[str, str]:
        realm_or_404(realm_id)
        sb.store.drop_realm(realm_id)
        return {"dropped": realm_id}

    @api.post("/realms/{realm_id}/entities")
    def load_entities(realm_id: str, document: Annotated[Any, Body()]) -> dict[str, Any]:
        """A QueryResponse envelope, a single-entity envelope, or a list of entities keyed by type."""
        realm = realm_or_404(realm_id)
        loaded: dict[str, list[str]] = {}
        for entity, docs in _entities_in(document):
            loaded.setdefault(entity, []).extend(sb.rules.import_docs(realm, entity, docs))
        if not loaded:
            raise HTTPException(
                422,
                "no entities found: send {'QueryResponse': {...}}, {'Customer': {...}} or "
                "[{'Customer': {...}}, ...]",
            )
        return {"loaded": loaded}

    @api.post("/realms/{realm_id}/mutate")
    def mutate(realm_id: str, mutation: Mutation) -> dict[str, Any]:
        realm = realm_or_404(realm_id)
        if mutation.entity not in ENTITIES:
            raise HTTPException(422, f"unknown entity {mutation.entity!r}")
        rules = sb.rules
        try:
            if mutation.op == "update":
                doc = rules.edit(realm, mutation.entity, mutation.id, mutation.changes)
            elif mutation.op == "delete":
                doc = rules.delete_by_id(realm, mutation.entity, mutation.id)
            elif mutation.op == "void":
                doc = rules.void_by_id(realm, mutation.entity, mutation.id)
            elif mutation.op == "deactivate":
                doc = rules.deactivate(realm, mutation.entity, mutation.id)
            else:
                if not mutation.merge_into:
                    raise HTTPException(422, "merge needs merge_into: the id of the record that survives")
                doc = rules.merge(realm, mutation.entity, mutation.id, mutation.merge_into)
        except faults.QboFault as fault:
            raise HTTPException(
                400,
                {"code": fault.code, "message": fault.errors[0].message, "detail": fault.errors[0].detail},
            ) from None
        return {mutation.entity: doc}

    @api.get("/realms/{realm_id}/stats")
    def stats(realm_id: str) -> dict[str, Any]:
        realm_or_404(realm_id)
        return {
            "realm_id": realm_id,
            "entities": sb.store.entity_counts(realm_id),
            **sb.stats.for_realm(realm_id),
        }

    @api.get("/config")
    def get_config() -> dict[str, Any]:
        return sb.config.public()

    @api.post("/config")
    def set_config(patch: dict[str, Any]) -> dict[str, Any]:
        try:
            sb.configure(patch)
        except ValidationError as exc:
            raise HTTPException(422, exc.errors(include_url=False, include_context=False)) from None
        return sb.config.public()

    @api.get("/webhooks")
    def webhook_log() -> dict[str, Any]:
        return {"pending": sb.webhooks.pending(), "deliveries": sb.webhooks.log[-200:]}

    @api.post("/reset")
    def reset() -> dict[str, str]:
        sb.reset()
        return {"reset": "ok"}

    return api


def _entities_in(document: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    found: list[tuple[str, list[dict[str, Any]]]] = []
    if isinstance(document, list):
        for item in document:
            found.extend(_entities_in(item))
        return found
    if not isinstance(document, dict):
        return found
    if isinstance(document.get("QueryResponse"), dict):
        return _entities_in(document["QueryResponse"])
    for key, value in document.items():
        if key in ENTITIES:
            docs = value if isinstance(value, list) else [value]
            found.append((key, [d for d in docs if isinstance(d, dict)]))
    return found
