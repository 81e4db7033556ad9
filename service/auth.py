"""Gateway API keys: each key is bound to the tenants it may act for, and compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import HTTPException, Request

ALL_TENANTS = "*"


@dataclass(frozen=True)
class Caller:
    label: str  # the key's first characters: enough to tell callers apart in logs, useless to an attacker
    tenants: frozenset[str]

    def may_act_for(self, tenant_id: str) -> bool:
        return ALL_TENANTS in self.tenants or tenant_id in self.tenants

    @property
    def sole_tenant(self) -> str | None:
        """The tenant of a key bound to exactly one: what a record that names none is for. None for a
        key of several tenants or of all of them, which must be told."""
        if len(self.tenants) == 1 and ALL_TENANTS not in self.tenants:
            return next(iter(self.tenants))
        return None

    def require(self, tenant_id: str) -> None:
        if not self.may_act_for(tenant_id):
            raise HTTPException(403, f"this API key may not act for tenant {tenant_id!r}")


class ApiKeys:
    def __init__(self, keys: Mapping[str, frozenset[str]]) -> None:
        self._keys = [(key.encode(), tenants) for key, tenants in keys.items()]

    def caller(self, request: Request) -> Caller:
        """The caller a request's key belongs to: `X-API-Key: K` or `Authorization: Bearer K`."""
        presented = request.headers.get("x-api-key")
        if presented is None:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            presented = value.strip() if scheme.lower() == "bearer" else None
        if not presented:
            raise HTTPException(
                401, "an API key is required: send it as X-API-Key", {"WWW-Authenticate": "Bearer"}
            )
        candidate = presented.encode("utf-8", "replace")
        found = None
        for key, tenants in self._keys:  # every key is compared: the time taken says nothing of which matched
            if hmac.compare_digest(key, candidate):
                found = Caller(presented[:4] + "…", tenants)
        if found is None:
            raise HTTPException(401, "the API key is not valid", {"WWW-Authenticate": "Bearer"})
        return found
