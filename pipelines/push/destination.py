"""The dlt destination that writes to QBO: batches of at most 30 operations per /batch request.

dlt hands the sink the items of a load package 30 at a time and remembers, inside the package, which
batches are done; a push killed mid-way resends only the unfinished batch when it is run again
(STACK_NOTES §1.10: at least once). The batch's `requestid` is a hash of what it carries, so the
resent batch gets QBO's first answer instead of a second execution: nothing is created twice.

Per item, QBO's answer decides (seed §7.1): the record as it now is (ok); a validation fault
(invalid: error DTO naming the field in the platform's terms, QBO's element beside it; the others go
on); 610 / 2030 (the linked record is gone: desynced); a stale SyncToken, 5010: the record is read
again and compared with the last synced version: if QBO changed only fields QBO masters the update is
rebased onto the new SyncToken and sent again, otherwise it is a conflict and QBO keeps its values.
Whole-request failures (429, 5xx, transport) are retried with back-off by the client; when they keep
coming the realm's circuit opens and the push stops there.

A record can be answered more than once in a run (a batch dlt sends again replays QBO's first answer;
a rebased update is sent twice): the counts are of records, each by its last answer, never of answers.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from dlt.common.destination.exceptions import DestinationTerminalException

from pipelines.mapping.payloads import platform_field
from pipelines.mapping.rendering import rendered
from pipelines.mapping.values import comparable
from pipelines.store.integration_store import IntegrationStore
from sources.platform.errors import detail, error_dto
from sources.quickbooks import errors
from sources.quickbooks.client import QboClient

log = logging.getLogger("qbo.push")

MAX_BATCH = 30
DESYNCED = frozenset({"610", "2030"})  # not found; about a reference (element CustomerRef, ...) it is invalid
STALE = "5010"


def request_id(items: list[dict[str, Any]], attempt: str = "") -> str:
    """Deterministic: the same operations (same payloads) make the same requestid (36 characters)."""
    digest = hashlib.sha256(attempt.encode())
    for item in items:
        digest.update(f"{item['entity']}|{item['platform_id']}|{item['operation']}|{item['body']}".encode())
    return digest.hexdigest()[:36]


def record_key(item: dict[str, Any]) -> tuple[str, str, str]:
    """(entity, tenant, platform id): the record an item writes, as `Operation.key` names it."""
    return item["entity"], item["tenant_id"], item["platform_id"]


def batch_item(item: dict[str, Any], bid: str) -> dict[str, Any]:
    body = json.loads(item["body"])
    entity, operation = item["entity"], item["operation"]
    if operation == "void":
        return {"bId": bid, "operation": "update", "optionsData": "void", entity: body}
    return {"bId": bid, "operation": "create" if operation == "create" else "update", entity: body}


class CircuitOpen(DestinationTerminalException):
    """QBO kept failing for this realm: stop pushing to it until the next run."""


@dataclass
class Sink:
    """The destination callable's state for one realm's push."""

    client: QboClient
    store: IntegrationStore
    lookup: Callable[[str, str], str | None]  # (list table, QBO Id) -> its name (terms, payment methods)
    as_of: date
    breaker: int = 3  # whole-request failures in a row that open the circuit
    failures: int = 0
    sent: int = 0  # /batch requests
    # (entity, tenant, platform id) -> its last outcome, doc, error and the payload it answered
    results: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    answered: Callable[[int], None] = lambda _records: None  # after each batch: the records first answered
    pending: list[dict[str, Any]] = field(default_factory=list)  # push log rows of the batch in hand

    @property
    def outcomes(self) -> dict[str, int]:
        """Records per final outcome: each record once, however many answers it got."""
        return dict(Counter(result["outcome"] for result in self.results.values()))

    def __call__(self, items: list[dict[str, Any]], table: dict[str, Any]) -> None:
        for start in range(0, len(items), MAX_BATCH):
            self.send(items[start : start + MAX_BATCH])

    def send(self, items: list[dict[str, Any]], attempt: str = "") -> None:
        """One /batch call and its answers, on record in the push log (one transaction) before it returns:
        dlt counts the batch done only after that, so a killed push resends it with the same requestid."""
        before = len(self.results)
        try:
            self._send(items, attempt)
        finally:
            rows, self.pending = self.pending, []
            self.store.push_log.record_many(rows)
        self.answered(len(self.results) - before)  # records, not answers: a rebased update counts once

    def _send(self, items: list[dict[str, Any]], attempt: str = "") -> None:
        rid = request_id(items, attempt)
        try:
            answers = {
                a.get("bId"): a
                for a in self.client.batch(
                    [batch_item(item, str(n)) for n, item in enumerate(items)], request_id=rid
                )
            }
        except errors.QboError as exc:
            if not exc.retryable:
                raise DestinationTerminalException(str(exc)) from None
            self.failures += 1
            if self.failures >= self.breaker:
                raise CircuitOpen(
                    f"realm {self.client.realm_id}: QBO failed {self.failures} pushes in a row ({exc}); "
                    "stopped pushing to this realm, `qbo push` resumes where it stopped"
                ) from None
            raise
        self.failures = 0
        self.sent += 1
        stale: list[tuple[dict[str, Any], str, dict[str, Any]]] = []
        for n, item in enumerate(items):
            answer = answers.get(str(n)) or {}
            fault = errors.parse_fault(answer)
            named = partial(platform_field, item["entity"])  # QBO's element in the platform's terms
            if fault is None and item["entity"] in answer:
                doc = answer[item["entity"]]
                self.record(item, rid, str(n), "ok", doc=doc)
            elif fault is not None and fault.code == STALE:
                stale.append((item, str(n), self.client.read(item["entity"], json.loads(item["body"])["Id"])))
            elif fault is not None and fault.code in DESYNCED and fault.element in (None, "", "Id"):
                self.record(item, rid, str(n), "desynced", error=fault.to_dto(named))  # the record is gone
            else:
                dto = fault.to_dto(named) if fault else error_dto("NO_ANSWER", "QBO gave no answer")
                self.record(item, rid, str(n), "invalid", error=dto)
        self.rebase(stale, rid)

    def rebase(self, stale: list[tuple[dict[str, Any], str, dict[str, Any]]], rid: str) -> None:
        """Updates QBO changed under us: send again at the new SyncToken if QBO touched only its own
        fields; otherwise a conflict, and QBO keeps what the accountant did."""
        again = []
        for item, bid, current in stale:
            changed = self.changed_by_qbo(item, current)
            if changed:
                details = [
                    detail(
                        platform_field(item["entity"], f),
                        "changed_in_qbo",
                        "changed in QBO since the last sync",
                    )
                    for f in changed
                ]
                dto = error_dto(
                    "QBO_CONFLICT",
                    f"{item['entity']} {item['platform_id']}: QBO changed {', '.join(changed)} "
                    "since the last sync; left as QBO has it, for a person to resolve",
                    details,
                )
                self.record(item, rid, bid, "conflict", error=dto, doc=current)
                continue
            body = json.loads(item["body"])
            body["SyncToken"] = current["SyncToken"]
            again.append({**item, "body": json.dumps(body, sort_keys=True)})
        if again:
            self._send(again, attempt=f"rebase:{rid}")

    def changed_by_qbo(self, item: dict[str, Any], current: dict[str, Any]) -> list[str]:
        """The platform-mastered fields whose QBO value moved since the last sync."""
        synced = json.loads(item.get("synced") or "{}")
        if not synced:
            return ["(no last synced version known)"]
        spec = rendered()[item["entity"]]
        now = comparable(spec, current, sorted(synced), self.lookup, self.as_of)
        return [name for name in sorted(synced) if now.get(name) != synced[name]]

    def record(
        self,
        item: dict[str, Any],
        rid: str,
        bid: str,
        outcome: str,
        *,
        doc: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        self.results[record_key(item)] = {
            "outcome": outcome,
            "operation": item["operation"],
            "qbo_id": (doc or {}).get("Id") or item.get("qbo_id"),
            "doc": doc,
            "error": error,
            "payload_hash": item["payload_hash"],
        }
        self.pending.append(
            {
                "pushed_at": datetime.now(UTC),
                "tenant_id": item["tenant_id"],
                "realm_id": self.client.realm_id,
                "entity": item["entity"],
                "platform_id": item["platform_id"],
                "qbo_id": (doc or {}).get("Id") or item.get("qbo_id"),
                "sync_token": (doc or {}).get("SyncToken"),
                "operation": item["operation"],
                "request_id": rid,
                "bid": bid,
                "payload_hash": item["payload_hash"],
                "outcome": outcome,
                "error": error,
                "doc": doc if outcome == "ok" else None,
            }
        )
