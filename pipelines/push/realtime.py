"""One platform record pushed to QBO now (seed §10.2): what the gateway's POST /<entities> endpoints do.

The same path as `qbo push`, for one record: the DTO contract validates it, mapping/outbound.py makes
the outbound row dbt would have made (the same SQL: links and lookups resolved, the realm's defaults,
the same payload hash), pre-flight checks it, and the /batch sink sends it with a deterministic
requestid at the last known SyncToken, inside the realm's request budget. The outcome is recorded in
the push log like any push. What the warehouse would tell dbt (links, SyncTokens, list names) comes
from the references the last transform published to the integration store: the web service never
opens the warehouse.
Destructive changes (void: status voided; deactivate: active false) are not made here; they wait for
approval in the batch push, and the answer lists them (`awaitingApproval`).
Neither is a `draft` or `voided` invoice created: the batch push leaves both out of its creates
(macros/outbound.sql), and so does this path, saying so (409 NOT_PUSHABLE, naming `status`).
A record without `updatedAt` is taken as changed when it was received.
A record whose QBO record (its `qboId`, or its own link) is linked to another platform record of the
realm is a 409 CONFLICT naming `qboId` and the other record (preflight.qbo_id_conflict): one QBO record
is never updated for two platform records.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from dlt.common.destination.exceptions import DestinationTerminalException
from pydantic import ValidationError

from pipelines.mapping.outbound import Answer, Refused, outbound_row
from pipelines.mapping.payloads import preflight, pushable
from pipelines.mapping.policy import MasteringPolicy
from pipelines.mapping.rendering import rendered
from pipelines.mapping.spec import LINES_FIELD
from pipelines.mapping.values import get_path
from pipelines.push.destination import Sink
from pipelines.push.operation import Operation
from pipelines.push.preflight import qbo_id_conflict
from pipelines.runtime.connector import Connector, TenantRealmError
from sources.platform.dto import MODELS, PlatformRecord, contract_error
from sources.platform.errors import error_dto
from sources.quickbooks.errors import QboError

# invoice statuses a push does not create in QBO (macros/outbound.sql leaves them out of the creates too)
NOT_CREATED = {
    "draft": "Invoice {id} is a draft: drafts are not pushed to QBO; send it again with status open "
    "once it is issued",
    "voided": "Invoice {id} is voided and was never in QBO: there is nothing to create or void",
}


def _destructive(entity: str, dto: PlatformRecord) -> list[str]:
    """The destructive operations the record asks for (status voided: void; active false: deactivate),
    which a real-time push does not make."""
    data = dto.model_dump(by_alias=True)  # with the computed fields: `voided` is read from `status`
    wanted = {"void": True, "deactivate": False}
    return [
        f["destructive"]
        for f in rendered()[entity]["fields"]
        if f["destructive"] and get_path(data, f["platform_path"]) is wanted[f["destructive"]]
    ]


class RealtimePush:
    def __init__(self, connector: Connector, policy: MasteringPolicy) -> None:
        self.connector = connector
        self.policy = policy
        self.refs = connector.store.references

    def push(
        self,
        entity: str,
        payload: Any,
        may_act_for: Any = lambda _tenant: True,
        received_at: datetime | None = None,
    ) -> Answer:
        """Push one platform record; `received_at` (default: now) stands in for an absent `updatedAt`."""
        received_at = received_at or datetime.now(UTC)
        try:
            dto = MODELS[entity].model_validate(payload)
        except ValidationError as exc:
            return Answer(422, contract_error(entity, exc))
        if dto.updated_at is None:
            dto = dto.model_copy(update={"updated_at": received_at})
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
        if linked:
            owners = self.refs.platform_records(realm_id, entity, linked[0])
            conflict = qbo_id_conflict(entity, tenant, dto.id, linked[0], owners)
            if conflict is not None:
                return Answer(409, conflict)
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
        status = getattr(dto, "status", None)
        if operation == "create" and status in NOT_CREATED:
            raise Refused(
                409, "NOT_PUSHABLE", NOT_CREATED[status].format(id=dto.id), "status", "not_pushable"
            )
        linked_id, token = linked or (None, None)
        # a create sends every field, as the batch push's creates do (macros/outbound.sql): what QBO
        # masters starts from the platform's value; an update sends what the platform masters
        fields = names if operation == "create" else mastered
        row, lines = outbound_row(
            entity, dto, realm_id, operation, fields, self.refs, qbo_id=linked_id, sync_token=token
        )
        if linked and self._sent_already(entity, dto, realm_id, names, row):
            return Answer(200, self._done(entity, dto, operation, linked[0], linked[1], None, unchanged=True))
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
            return Answer(503, error_dto(code, f"QBO did not take the push: {exc}"))
        outcome = sink.results[(entity, tenant, dto.id)]
        if outcome["outcome"] == "desynced":  # QBO no longer has the linked record (§7.1): forget the link
            self.refs.forget(realm_id, entity, tenant, dto.id)
        if outcome["outcome"] != "ok":
            status = 422 if outcome["outcome"] == "invalid" else 409
            return Answer(status, outcome["error"] or error_dto("FAILED", "QBO gave no answer"))
        doc = outcome["doc"]
        self.refs.moved(realm_id, entity, tenant, dto.id, doc)
        return Answer(
            201 if operation == "create" else 200,
            self._done(entity, dto, operation, doc["Id"], doc.get("SyncToken"), doc.get("MetaData")),
        )

    @staticmethod
    def _done(
        entity: str,
        dto: PlatformRecord,
        operation: str,
        qbo_id: str,
        token: str | None,
        meta: Any,
        unchanged: bool = False,
    ) -> dict[str, Any]:
        return {
            "entity": entity,
            "platformId": dto.id,
            "operation": "unchanged" if unchanged else operation,
            "qboId": qbo_id,
            "syncToken": token,
            "lastUpdatedTime": (meta or {}).get("LastUpdatedTime"),
            # the platform's change time pushed: its updatedAt, or when the record was received
            "updatedAt": dto.updated_at.isoformat() if dto.updated_at else None,
            # what the record asks for that is not done here: `qbo approve`, then `qbo push`
            "awaitingApproval": _destructive(entity, dto),
        }

    def _sent_already(
        self, entity: str, dto: PlatformRecord, realm_id: str, fields: list[str], row: dict[str, Any]
    ) -> bool:
        """This very record was pushed already, as this update or as the create that linked it (with
        every field, `fields`): nothing to send. The hashes are the outbound models' payload_hash, made
        by mapping/outbound.py."""
        pushed = self.connector.store.push_log.pushed()
        if pushed.get((entity, dto.tenant_id, dto.id, row["payload_hash"])) == "ok":
            return True
        try:
            created, _ = outbound_row(entity, dto, realm_id, "create", fields, self.refs)
        except Refused:  # a field the update leaves out does not resolve: not what was created
            return False
        return pushed.get((entity, dto.tenant_id, dto.id, created["payload_hash"])) == "ok"
