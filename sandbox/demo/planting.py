"""The planter: platform records made from the mirrored QBO ones, with differences planted on purpose.

Each QBO record becomes linked, an unlinked candidate a person should match, or QBO-only; a linked
one is then kept in sync, drifted on one side, or changed on both (a conflict), with times and
SyncTokens that tell who changed. Every planting is written down in `Planted`, the answer key the
tests compare the dbt models with. Draws are seeded per record, so a company plants the same way
every time.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pipelines.mapping.policy import MasteringPolicy
from pipelines.mapping.values import money
from sandbox.demo.mirror import Mirror
from sandbox.demo.perturbation import DRIFT_FIELDS, TERMS, can_change, perturb
from sandbox.demo.sink import Sink
from sources.quickbooks.extract import parse_time

PREFIX = {
    "Customer": "cus",
    "Vendor": "ven",
    "Item": "itm",
    "Invoice": "inv",
    "Bill": "bil",
    "Payment": "pay",
}
SHARES = {"qbo_only": 0.04, "candidate": 0.05, "drift_platform": 0.06, "drift_qbo": 0.06, "conflict": 0.03}


@dataclass
class Planted:
    """What the generator made different, in the shape the tests compare the models with."""

    tenant_id: str
    realm_id: str
    as_of: str
    links: list[list[str]] = field(default_factory=list)  # [entity, platform_id, qbo_id]
    candidates: list[list[str]] = field(default_factory=list)  # [entity, platform_id, qbo_id]
    platform_only: list[list[str]] = field(default_factory=list)  # [entity, platform_id]
    qbo_only: list[list[str]] = field(default_factory=list)  # [entity, qbo_id, why]
    drift: list[dict[str, str]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    pending_approval: list[dict[str, str]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    edge_cases: list[dict[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class Planter:
    """Plants differences record by record and writes each into `planted`."""

    def __init__(
        self,
        planted: Planted,
        policy: MasteringPolicy,
        tenant: str,
        realm: str,
        seed: int,
        today: date,
        terms: dict[str, str] | None = None,
    ) -> None:
        self.planted, self.policy, self.tenant, self.realm = planted, policy, tenant, realm
        self.seed, self.today = seed, today
        self.terms = terms or {}  # the realm's payment terms: name -> QBO Term Id
        self.now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=12)
        self.serial: dict[str, int] = {}
        self.done: set[str] = set()  # the special plantings made so far

    def next_id(self, entity: str) -> str:
        self.serial[entity] = self.serial.get(entity, 0) + 1
        return f"{PREFIX[entity]}_{self.serial[entity]:06d}"

    def rng(self, entity: str, qbo_id: str) -> random.Random:
        return random.Random(f"{self.seed}/{entity}/{qbo_id}")

    def base(self, entity: str, platform_id: str, created: datetime) -> dict[str, Any]:
        return {"id": platform_id, "tenantId": self.tenant, "realmId": self.realm, "createdAt": created}

    def entity(self, entity: str, docs: Iterator[dict[str, Any]], mirror: Mirror, sink: Sink) -> None:
        for doc in docs:
            qbo_id = doc["Id"]
            rng = self.rng(entity, qbo_id)
            why = _unrepresentable(entity, doc)
            if (
                why is None
                and entity in ("Customer", "Vendor", "Invoice")
                and rng.random() < SHARES["qbo_only"]
            ):
                why = "left out of the platform (QBO-only)"
            record = None if why else mirror.record(entity, doc)
            if record is None:
                self.planted.qbo_only.append(
                    [entity, qbo_id, why or "references a record the platform lacks"]
                )
                continue
            platform_id = self.next_id(entity)
            mirror.platform_id[(entity, qbo_id)] = platform_id
            updated = parse_time(doc["MetaData"]["LastUpdatedTime"])
            record = {**self.base(entity, platform_id, parse_time(doc["MetaData"]["CreateTime"])), **record}
            share = (
                SHARES["candidate"] if entity in ("Customer", "Vendor", "Item") else SHARES["candidate"] / 2
            )
            if rng.random() < share or mirror.references_unlinked(entity, record):
                sink.add(entity, self.candidate(entity, record, qbo_id, updated))
                continue
            token = int(doc.get("SyncToken") or 0)
            record.update(qboId=qbo_id, qboSyncToken=str(token))
            mirror.linked.add((entity, platform_id))
            self.planted.links.append([entity, platform_id, qbo_id])
            if not self.special(entity, record, doc, updated, token):
                self.change(entity, self.kind(rng, updated, token), record, rng, updated, token)
            self._edge_cases(entity, record)
            sink.add(entity, record)

    def kind(self, rng: random.Random, updated: datetime, token: int) -> str:
        draw = rng.random()
        for name in ("drift_platform", "drift_qbo", "conflict"):
            if draw < SHARES[name]:
                if updated > self.now - timedelta(days=2) or (token == 0 and name != "drift_platform"):
                    return "in_sync"  # needs room in time, and an edit in QBO's history, to tell who changed
                return name
            draw -= SHARES[name]
        return "in_sync"

    def candidate(
        self, entity: str, record: dict[str, Any], qbo_id: str, updated: datetime
    ) -> dict[str, Any]:
        """Unlinked, but the same record under cosmetic differences a person would wave through."""
        for key in ("displayName", "name"):
            if isinstance(record.get(key), str):
                record[key] = "  " + record[key].upper().replace(" ", "  ") + " "
        if isinstance(record.get("email"), str):
            record["email"] = record["email"].upper()
        if isinstance(record.get("phone"), str):
            digits = "".join(c for c in record["phone"] if c.isdigit())
            record["phone"] = f"+1 {digits[-10:-7]}.{digits[-7:-4]}.{digits[-4:]}"
        record["updatedAt"] = updated
        self.planted.candidates.append([entity, record["id"], qbo_id])
        return record

    def special(
        self, entity: str, record: dict[str, Any], doc: dict[str, Any], updated: datetime, token: int
    ) -> bool:
        """Once each: a platform void and a platform deactivation (both wait for approval), and an
        invoice the accountant voided in QBO that the platform still has open."""
        synced = updated + timedelta(minutes=5)
        if (
            entity == "Invoice"
            and "void" not in self.done
            and not _voided(record)
            and money(doc.get("Balance")) > 0
        ):
            self.done.add("void")
            record.update(
                status="voided",  # how the platform voids an invoice (`voided` is read-only)
                balance=Decimal(0),
                lastSyncedAt=synced,
                updatedAt=synced + timedelta(hours=2),
            )
            self._pending(entity, record, "voided", "void")
            return True
        if (
            entity == "Customer"
            and "deactivate" not in self.done
            and record.get("active")
            and money(doc.get("Balance")) == 0
            and not doc.get("Job")
        ):
            self.done.add("deactivate")
            record.update(active=False, lastSyncedAt=synced, updatedAt=synced + timedelta(hours=2))
            self._pending(entity, record, "active", "deactivate")
            return True
        if entity == "Invoice" and "qbo_void" not in self.done and _voided(record) and token >= 1:
            self.done.add("qbo_void")
            synced = updated - timedelta(hours=1)
            record.update(
                qboSyncToken=str(token - 1), lastSyncedAt=synced, updatedAt=synced - timedelta(minutes=1)
            )
            self._unvoid(record)
            self.planted.drift.append(self._drift(entity, record, "voided", "qbo", "pull"))
            return True
        return False

    def _pending(self, entity: str, record: dict[str, Any], field_name: str, operation: str) -> None:
        self.planted.pending_approval.append(
            {"entity": entity, "platform_id": record["id"], "qbo_id": record["qboId"], "operation": operation}
        )
        self.planted.drift.append(self._drift(entity, record, field_name, "platform", "push"))

    def change(
        self,
        entity: str,
        kind: str,
        record: dict[str, Any],
        rng: random.Random,
        updated: datetime,
        token: int,
    ) -> None:
        if kind == "in_sync" or _voided(record):  # a voided invoice compares its void state only
            record.update(lastSyncedAt=updated + timedelta(minutes=5), updatedAt=updated)
            return
        if kind == "drift_platform":  # the platform changed after the last sync; QBO did not
            synced = updated + timedelta(minutes=5)
            record.update(lastSyncedAt=synced, updatedAt=synced + timedelta(hours=rng.randint(1, 30)))
        else:  # QBO changed since the sync the platform remembers (its SyncToken moved on)
            synced = updated - timedelta(hours=1)
            later = timedelta(minutes=30) if kind == "conflict" else timedelta(minutes=-1)
            record.update(qboSyncToken=str(token - 1), lastSyncedAt=synced, updatedAt=synced + later)
        record["createdAt"] = min(record["createdAt"], record["updatedAt"])
        candidates = [f for f in DRIFT_FIELDS[entity] if can_change(entity, f, record)]
        changed = rng.sample(candidates, min(2 if kind == "conflict" else 1, len(candidates)))
        terms = tuple(self.terms.values()) or TERMS
        for field_name in changed:
            perturb(entity, field_name, record, rng, terms)
        side = {"drift_platform": "platform", "drift_qbo": "qbo", "conflict": "both"}[kind]
        for field_name in changed:
            action = "review" if kind == "conflict" else self._action(entity, field_name)
            self.planted.drift.append(self._drift(entity, record, field_name, side, action))
        if kind == "conflict":
            self.planted.conflicts.append(
                {
                    "entity": entity,
                    "platform_id": record["id"],
                    "qbo_id": record["qboId"],
                    "fields": sorted(changed),
                }
            )

    def _unvoid(self, record: dict[str, Any]) -> None:
        """The invoice as the platform had it before QBO voided it: open, one line still owed."""
        first = record["lines"][0] if record.get("lines") else {}
        amount = Decimal("100.00")
        record.update(
            status="open",
            balance=amount,
            totalAmount=amount,
            discountAmount=Decimal(0),
            taxAmount=Decimal(0),
        )
        line = {
            "id": first.get("id") or f"{record['id']}-1",
            "lineNumber": 1,
            "itemId": first.get("itemId"),
            "description": first.get("description") or "",
            "quantity": Decimal(1),
            "unitPrice": amount,
            "amount": amount,
        }
        record["lines"] = [{k: v for k, v in line.items() if v is not None}]

    def _action(self, entity: str, field_name: str) -> str:
        return "push" if self.policy.master(self.tenant, entity, field_name) == "platform" else "pull"

    def _drift(
        self, entity: str, record: dict[str, Any], field_name: str, side: str, action: str
    ) -> dict[str, str]:
        return {
            "entity": entity,
            "platform_id": record["id"],
            "qbo_id": record["qboId"],
            "field": field_name,
            "changed": side,
            "action": action,
        }

    def _edge_cases(self, entity: str, r: dict[str, Any]) -> None:
        """Linked records that exercise a rule: unicode, no e-mail, not taxable (tax-exempt), voids,
        partial payments."""
        cases = []
        if entity == "Customer":
            if any(ord(c) > 127 for c in r.get("displayName", "") + (r.get("primaryContact") or "")):
                cases.append("unicode")
            if r.get("defaultTaxable") is False:
                cases.append("not_taxable")
            if not r.get("email"):
                cases.append("missing_email")
        elif entity == "Invoice" and _voided(r):
            cases.append("voided_invoice")
        elif entity == "Invoice" and 0 < r.get("balance", 0) < r.get("totalAmount", 0):
            cases.append("partial_payment")
        self.planted.edge_cases += [{"case": c, "entity": entity, "platform_id": r["id"]} for c in cases]


def _voided(record: dict[str, Any]) -> bool:
    return record.get("status") == "voided"


def _unrepresentable(entity: str, doc: dict[str, Any]) -> str | None:
    """QBO records the platform's contract has no shape for: they stay QBO-only."""
    if entity == "Item" and doc.get("Type") not in ("Service", "NonInventory", "Inventory"):
        return f"item type {doc.get('Type')} is not sold on the platform"
    if entity == "Payment" and any(
        t.get("TxnType") != "Invoice" for line in doc.get("Line", []) for t in line.get("LinkedTxn", [])
    ):
        return "payment applied to something other than invoices"
    return None
