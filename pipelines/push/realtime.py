"""One platform record pushed to QBO now (seed §10.2): what the gateway's POST /<entities> endpoints do.

The same path as `qbo push`, for one record: the DTO contract validates it, the mapping spec turns it
into the outbound row dbt would have made (QBO columns, links and lookups resolved, the realm's
defaults), pre-flight checks it, and the /batch sink sends it with a deterministic requestid at the
last known SyncToken, inside the realm's request budget. The outcome is recorded in the push log like
any push. What the warehouse would tell dbt (links, SyncTokens, list names) comes from the references
the last transform published to the integration store: the web service never opens the warehouse.
Destructive changes (void, deactivate) are not made here; they wait for approval in the batch push.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dlt.common.destination.exceptions import DestinationTerminalException
from pydantic import ValidationError

from pipelines.connector import Connector, TenantRealmError
from pipelines.mapping import LINES_FIELD, rendered
from pipelines.mapping.policy import MasteringPolicy
from pipelines.mapping.values import get_path
from pipelines.push.destination import Sink
from pipelines.push.payloads import preflight, pushable
from pipelines.push.plan import Operation
from pipelines.push.references import References
from sources.platform.dto import MODELS, PlatformRecord, error_dto
from sources.quickbooks.errors import QboError


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        details = [{"code": code, "field": field, "message": message}] if field else []
        self.answer = Answer(status, {"code": code, "message": message, "details": details})


def _split_name(value: str | None) -> tuple[str | None, str | None]:
    """GivenName + FamilyName as the outbound models split them: the last word is the family name."""
    if value is None:
        return None, None
    words = value.split()
    return (" ".join(words[:-1]), words[-1]) if len(words) > 1 else (value.strip(), None)


class RealtimePush:
    def __init__(self, connector: Connector, policy: MasteringPolicy) -> None:
        self.connector = connector
        self.policy = policy
        self.refs = References(connector.store)

    def push(self, entity: str, payload: Any, may_act_for: Any = lambda _tenant: True) -> Answer:
        try:
            dto = MODELS[entity].model_validate(payload)
        except ValidationError as exc:
            return Answer(422, error_dto(entity, exc))
        if not may_act_for(dto.tenant_id):
            return Refused(403, "FORBIDDEN", f"this API key may not act for tenant {dto.tenant_id!r}").answer
        try:
            return self._push(entity, dto)
        except Refused as refused:
            return refused.answer

    def _push(self, entity: str, dto: PlatformRecord) -> Answer:
        tenant = dto.tenant_id
        try:
            realm_id = self.connector.realm_of(tenant, dto.realm_id)
        except TenantRealmError as exc:
            status, code, hint = (
                (400, "REALM_REQUIRED", " in realmId") if exc.ambiguous else (404, "NOT_CONNECTED", "")
            )
            raise Refused(status, code, f"{exc}{hint}", "realmId") from None
        linked = self.refs.link(realm_id, entity, tenant, dto.id)
        if linked is None and dto.qbo_id:
            linked = (dto.qbo_id, dto.qbo_sync_token)
        operation = "update" if linked else "create"
        names = [f["name"] for f in pushable(entity)]
        if rendered()[entity]["lines"] is not None:
            names.append(LINES_FIELD)
        mastered = [n for n in names if self.policy.master(tenant, entity, n) == "platform"]
        if operation == "create" and self.policy.master(tenant, entity, "*") != "platform":
            raise Refused(
                409, "QBO_MASTERED", f"QBO masters {entity} records of tenant {tenant}: create it in QBO"
            )
        if not mastered:
            raise Refused(409, "QBO_MASTERED", f"QBO masters every field of {entity} for tenant {tenant}")
        status = "void" if getattr(dto, "voided", False) else getattr(dto, "status", None)
        if operation == "create" and status in ("draft", "void"):
            raise Refused(409, "NOT_PUSHABLE", f"a {status} invoice is not created in QBO", "status")
        row, lines = self.outbound_row(entity, dto, realm_id, operation, mastered)
        if linked:
            row["qbo_id"], row["sync_token"] = linked
        said = self.connector.store.pushed().get((entity, tenant, dto.id, row["payload_hash"]))
        if said == "ok" and linked:  # this very record was pushed already: nothing to send
            return Answer(
                200, self._done(entity, dto.id, operation, linked[0], linked[1], None, unchanged=True)
            )
        problem = preflight(entity, row)
        if problem:
            return Answer(422, problem)
        op = Operation(entity, row, lines)
        item = {
            "entity": entity,
            "tenant_id": tenant,
            "platform_id": dto.id,
            "qbo_id": row["qbo_id"],
            "operation": operation,
            "payload_hash": row["payload_hash"],
            "body": json.dumps(op.body({}), sort_keys=True, default=str),
            "synced": "{}",
        }
        sink = Sink(
            self.connector.client(realm_id),
            self.connector.store,
            lambda table, qbo_id: self.refs.name_of(realm_id, table, qbo_id),
            datetime.now(UTC).date(),
        )
        try:
            sink.send([item])
        except (QboError, DestinationTerminalException) as exc:
            code = getattr(exc, "code", None) or "QBO_UNAVAILABLE"
            return Answer(503, {"code": code, "message": f"QBO did not take the push: {exc}", "details": []})
        outcome = sink.results[dto.id]
        if outcome["outcome"] != "ok":
            status = 422 if outcome["outcome"] == "invalid" else 409
            return Answer(
                status, outcome["error"] or {"code": "FAILED", "message": "no answer", "details": []}
            )
        doc = outcome["doc"]
        self.refs.moved(realm_id, entity, tenant, dto.id, doc)
        return Answer(
            201 if operation == "create" else 200,
            self._done(entity, dto.id, operation, doc["Id"], doc.get("SyncToken"), doc.get("MetaData")),
        )

    @staticmethod
    def _done(
        entity: str,
        platform_id: str,
        operation: str,
        qbo_id: str,
        token: str | None,
        meta: Any,
        unchanged: bool = False,
    ) -> dict[str, Any]:
        return {
            "entity": entity,
            "platformId": platform_id,
            "operation": "unchanged" if unchanged else operation,
            "qboId": qbo_id,
            "syncToken": token,
            "lastUpdatedTime": (meta or {}).get("LastUpdatedTime"),
        }

    def outbound_row(
        self, entity: str, dto: PlatformRecord, realm_id: str, operation: str, fields: list[str]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The row and lines the outbound models (macros/outbound.sql) would make of this record."""
        tenant = dto.tenant_id
        data = dto.model_dump(by_alias=True, mode="python")
        row: dict[str, Any] = {
            "entity": entity,
            "tenant_id": tenant,
            "realm_id": realm_id,
            "platform_id": dto.id,
            "qbo_id": None,
            "sync_token": None,
            "operation": operation,
            "needs_approval": False,
            "payload_fields": ", ".join(fields),
        }
        for f in pushable(entity):
            if f["name"] not in fields:
                continue
            value = get_path(data, f["platform_path"])
            columns = f["qbo_columns"]
            if f["qbo_derived"]:
                row[f["name"]] = value
            elif len(columns) > 1:
                row[columns[0]], row[columns[1]] = _split_name(value)
            elif f["lookup_table"]:
                found = self.refs.lookup(realm_id, f["lookup_table"], value) if value else None
                if value and found is None:
                    raise Refused(
                        422,
                        "NOT_IN_QBO",
                        f"QBO has no {f['lookup_table']} named {value!r}",
                        f["platform_path"],
                    )
                row[columns[0]] = found
            elif f["link"]:
                row[columns[0]] = self._linked(realm_id, f["link"], tenant, value, f["platform_path"])
                row[f"{f['name']}__platform_id"] = value
            elif f["enum"]:
                row[columns[0]] = None if value is None else f["enum"]["true" if value else "false"]
            elif f["negate"]:
                row[columns[0]] = None if value is None else not value
            elif f["create_default"] and value is None and operation == "create":
                row[columns[0]] = self.refs.default(realm_id, entity, f["name"])
            else:
                row[columns[0]] = value
        lines = self._lines(entity, dto, realm_id) if LINES_FIELD in fields else []
        content = {k: v for k, v in row.items() if k not in ("qbo_id", "sync_token", "operation")}
        digest = json.dumps([content, lines], sort_keys=True, default=str)
        row["payload_hash"] = hashlib.sha256(digest.encode()).hexdigest()[:32]
        return row, lines

    def _lines(self, entity: str, dto: PlatformRecord, realm_id: str) -> list[dict[str, Any]]:
        spec = rendered()[entity]["lines"]
        key = spec["key"]
        out = []
        for n, line in enumerate(getattr(dto, spec["platform_table"].split("__", 1)[1])):
            values = line.model_dump(mode="python", by_alias=False)
            key_value = values[key["platform_column"]]
            where = f"lines[{n}].{key['platform_column']}"
            if key["link"]:
                key_value = self._linked(realm_id, key["link"], dto.tenant_id, key_value, where)
            out_line: dict[str, Any] = {key["qbo_column"]: key_value}
            for f in spec["fields"]:
                value = values.get(f["platform_column"])
                if f["link"]:
                    value = self._linked(
                        realm_id, f["link"], dto.tenant_id, value, f"lines[{n}].{f['platform_path']}"
                    )
                elif f["enum"] and value is not None:
                    value = f["enum"]["true" if value else "false"]
                out_line[f["qbo_columns"][0]] = value
            out.append(out_line)
        return out

    def _linked(self, realm_id: str, entity: str, tenant: str, platform_id: Any, where: str) -> str | None:
        if platform_id is None:
            return None
        found = self.refs.link(realm_id, entity, tenant, str(platform_id))
        if found is None:
            raise Refused(
                409,
                "REFERENCE_NOT_IN_QBO",
                f"{entity} {platform_id} is not in QBO yet (or not linked): push it first",
                where,
            )
        return found[0]
