"""The demo platform: integration DTOs that overlap a sandbox company, and the record of what differs.

The sandbox's company (same profile, seed and day) is read back and mirrored through the mapping
spec, QBO -> platform, so a mirrored record compares equal. Then differences are planted, each one
written down in `planted.json`: linked records; unlinked ones a person should match (cosmetic
differences only); platform-only records to create in QBO; QBO-only records; drift on each side
(who changed is told by the SyncToken and times the platform remembers of the last sync); true
conflicts (both sides changed); pending destructive operations; records the contract refuses; and
edge cases (unicode, names over 100 characters, no e-mail, tax-exempt, partial payments, voids).
Tests compare the dbt models with that record.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipelines.mapping import LINES_FIELD, rendered
from pipelines.mapping.policy import MasteringPolicy
from pipelines.mapping.values import get_path, is_voided, money, qbo_value
from sandbox.generator import populate
from sandbox.store import Realm, Store
from sources.platform.dto import MODELS
from sources.quickbooks.extract import parse_time

ENTITIES = ("Customer", "Vendor", "Item", "Invoice", "Bill", "Payment")  # references point backwards
PREFIX = {
    "Customer": "cus",
    "Vendor": "ven",
    "Item": "itm",
    "Invoice": "inv",
    "Bill": "bil",
    "Payment": "pay",
}
# what each entity's planted drift changes: fields whose new value differs under every comparison rule
DRIFT_FIELDS: dict[str, tuple[str, ...]] = {
    "Customer": ("email", "phone", "billing_city", "notes", "payment_terms", "tax_exempt"),
    "Vendor": ("email", "phone", "account_number", "address_city", "payment_terms"),
    "Item": ("description", "unit_price", "sku"),
    "Invoice": ("due_date", "memo", LINES_FIELD),
    "Bill": ("memo", "due_date", "doc_number"),
    "Payment": ("reference_number", "txn_date"),
}
SHARES = {"qbo_only": 0.04, "candidate": 0.05, "drift_platform": 0.06, "drift_qbo": 0.06, "conflict": 0.03}
LONG_NAME = (
    "Consolidated Northern California Municipal Water, Irrigation, Landscape Maintenance "
    "& Environmental Restoration Services Cooperative"
)


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


def qbo_company(company: str, seed: int, realm_id: str, tz: str, anchor: date | None = None) -> Store:
    """The sandbox company as `qbo sandbox` builds it (the same documents, ids and times)."""
    store = Store()
    realm = Realm(realm_id, company, seed, tz)
    store.add_realm(realm, time.time())
    populate(store, realm, company, seed, anchor=anchor)
    return store


def _docs(store: Store, realm_id: str, entity: str) -> Iterator[dict[str, Any]]:
    cursor = store.execute(
        "SELECT doc FROM entities WHERE realm_id = ? AND entity = ? AND deleted = 0 ORDER BY id",
        (realm_id, entity),
    )
    for (doc,) in cursor:
        yield json.loads(doc)


def set_path(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = record
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


class Mirror:
    """QBO documents as platform records, field by field through the rendered spec."""

    def __init__(self, store: Store, realm_id: str, as_of: date) -> None:
        self.spec = rendered()
        self.as_of = as_of
        self.platform_id: dict[tuple[str, str], str] = {}  # (entity, qbo id) -> platform id
        self.linked: set[tuple[str, str]] = set()  # (entity, platform id) of records linked to QBO
        self.lookups: dict[str, dict[str, str]] = {}
        for table, entity in (("term", "Term"), ("payment_method", "PaymentMethod")):
            self.lookups[table] = {d["Id"]: d["Name"] for d in _docs(store, realm_id, entity)}

    def references_unlinked(self, entity: str, record: dict[str, Any]) -> bool:
        """A record pointing at an unlinked one cannot have been synced: it is unlinked too."""
        spec = self.spec[entity]
        refs = [(f["link"], get_path(record, f["platform_path"])) for f in spec["fields"] if f["link"]]
        lines = spec["lines"]
        if lines is not None:
            for line in record.get(_line_array(entity), []):
                if lines["key"]["link"]:
                    refs.append((lines["key"]["link"], line.get(_key_wire(entity))))
                refs += [
                    (f["link"], get_path(line, f["platform_path"])) for f in lines["fields"] if f["link"]
                ]
        return any(value is not None and (link, value) not in self.linked for link, value in refs)

    def lookup(self, table: str, qbo_id: str) -> str | None:
        return self.lookups[table].get(qbo_id)

    def value(self, f: dict[str, Any], doc: dict[str, Any]) -> tuple[Any, bool]:
        """The platform's value of a field, and whether it could be had (links may point nowhere)."""
        value = qbo_value(f, doc, self.lookup, self.as_of)
        if f["link"] and value is not None:
            linked = self.platform_id.get((f["link"], str(value)))
            return linked, linked is not None
        if f["rule"] == "bool":
            value = bool(value)
        elif f["rule"] == "money" and value is not None:
            value = money(value)
        elif f["rule"] == "number" and value is not None:
            value = Decimal(str(value))
        elif f["rule"] == "name" and isinstance(value, str):
            value = value.removesuffix(" (deleted)")
        return value, True

    def record(self, entity: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        """The mirrored DTO (wire names), or None when a reference it needs is not on the platform."""
        spec = self.spec[entity]
        record: dict[str, Any] = {}
        for f in spec["fields"]:
            value, ok = self.value(f, doc)
            if not ok:
                return None
            if value is not None:
                set_path(record, f["platform_path"], value)
        if spec["lines"] is not None:
            lines = self.lines(entity, spec["lines"], doc)
            if lines is None:
                return None
            record[_line_array(entity)] = lines
        return _complete(entity, record, doc)

    def lines(self, entity: str, lines: dict[str, Any], doc: dict[str, Any]) -> list[dict] | None:
        out = []
        key = lines["key"]
        for line in doc.get("Line", []):
            if any(get_path(line, path) != value for path, value in lines["qbo_where_paths"].items()):
                continue
            item: dict[str, Any] = {}
            key_value = get_path(line, key["qbo_path"])
            if key["link"]:
                key_value = self.platform_id.get((key["link"], str(key_value)))
                if key_value is None:
                    return None
            item[_key_wire(entity)] = key_value
            for f in lines["fields"]:
                value, ok = self.value(f, line)
                if not ok:
                    return None
                if value is not None:
                    set_path(item, f["platform_path"], value)
            out.append(item)
        if entity == "Invoice" and is_voided(doc):  # QBO drops quantities and prices of a voided invoice
            for item in out:
                item.update(quantity=Decimal(1), unitPrice=Decimal(0), amount=Decimal(0))
        return out


def _line_array(entity: str) -> str:
    return {"Invoice": "lines", "Bill": "lines", "Payment": "appliedTo"}[entity]


def _key_wire(entity: str) -> str:
    return {"Invoice": "lineNumber", "Bill": "lineNumber", "Payment": "invoiceId"}[entity]


def _complete(entity: str, record: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The DTO fields the spec does not compare: totals the platform keeps itself."""
    if entity == "Invoice":
        record["totalAmount"] = money(doc.get("TotalAmt"))
    elif entity == "Bill":
        record["totalAmount"] = sum((line["amount"] for line in record.get("lines", [])), Decimal(0))
    return record


# ------------------------------------------------------------------------------------------------
class Sink:
    """Where records go as they are made: a JSONL file of DTOs per entity, so a company of a million
    invoices never sits in memory; it keeps only what the later plantings pick from."""

    KEEP = 200  # open invoices kept as candidates for the planted partial payments

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.paths = {entity: out / f"{entity.lower()}s.jsonl" for entity in ENTITIES}
        self.files = {entity: path.open("w", encoding="utf-8") for entity, path in self.paths.items()}
        self.counts = dict.fromkeys(ENTITIES, 0)
        self.first: dict[str, dict[str, Any]] = {}
        self.linked: dict[str, list[dict[str, Any]]] = {"Customer": [], "Item": [], "Vendor": []}
        self.open_invoices: list[dict[str, Any]] = []

    def add(self, entity: str, record: dict[str, Any]) -> None:
        self.files[entity].write(json.dumps(record, default=_json, ensure_ascii=False) + "\n")
        self.counts[entity] += 1
        self.first.setdefault(entity, record)
        linked = bool(record.get("qboId"))
        if entity in self.linked and linked and record.get("active", True):
            self.linked[entity].append(record)
        if (
            entity == "Invoice"
            and linked
            and not record.get("voided")
            and record.get("balance", 0) > 10
            and len(self.open_invoices) < self.KEEP
        ):
            self.open_invoices.append(record)

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


@dataclass
class Generated:
    planted: Planted
    paths: dict[str, Path]  # per entity, and "planted"


def generate(
    store: Store,
    realm_id: str,
    out: Path,
    tenant_id: str = "demo-tenant",
    seed: int = 1,
    as_of: date | None = None,
    policy: MasteringPolicy | None = None,
) -> Generated:
    """Platform records for the company in `store`, written to `out` as JSONL files of the DTOs, with
    planted differences and their record (planted.json)."""
    today = as_of or datetime.now(UTC).date()
    policy = policy or MasteringPolicy()
    mirror = Mirror(store, realm_id, today)
    planted = Planted(tenant_id, realm_id, today.isoformat())
    plant = _Planter(planted, policy, tenant_id, realm_id, seed, today)
    sink = Sink(out)
    try:
        for entity in ENTITIES:
            plant.entity(entity, _docs(store, realm_id, entity), mirror, sink)
        plant.extras(sink)
    finally:
        sink.close()
    planted.counts = dict(sink.counts)
    paths = {**sink.paths, "planted": out / "planted.json"}
    paths["planted"].write_text(json.dumps(planted.__dict__, indent=1, ensure_ascii=False), encoding="utf-8")
    return Generated(planted, paths)


class _Planter:
    def __init__(
        self, planted: Planted, policy: MasteringPolicy, tenant: str, realm: str, seed: int, today: date
    ) -> None:
        self.planted, self.policy, self.tenant, self.realm = planted, policy, tenant, realm
        self.seed, self.today = seed, today
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
            and not record.get("voided")
            and money(doc.get("Balance")) > 0
        ):
            self.done.add("void")
            record.update(
                voided=True,
                status="void",
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
        if entity == "Invoice" and "qbo_void" not in self.done and record.get("voided") and token >= 1:
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
        if kind == "in_sync" or record.get("voided"):  # a voided invoice compares its void state only
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
        candidates = [f for f in DRIFT_FIELDS[entity] if _can_change(entity, f, record)]
        changed = rng.sample(candidates, min(2 if kind == "conflict" else 1, len(candidates)))
        for field_name in changed:
            _perturb(entity, field_name, record, rng)
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
        item = record["lines"][0]["itemId"] if record.get("lines") else None
        amount = Decimal("100.00")
        record.update(
            voided=False,
            status="open",
            balance=amount,
            totalAmount=amount,
            discountAmount=Decimal(0),
            taxAmount=Decimal(0),
        )
        record["lines"] = [
            {"lineNumber": 1, "itemId": item, "quantity": Decimal(1), "unitPrice": amount, "amount": amount}
        ]

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

    def extras(self, sink: Sink) -> None:
        """Platform-only records (to create in QBO) and the records the contract refuses."""
        now = self.now - timedelta(hours=1)
        linked_customers, linked_items = sink.linked["Customer"], sink.linked["Item"]
        linked_vendors = sink.linked["Vendor"]
        drifting = {d["platform_id"] for d in self.planted.drift if d["entity"] == "Invoice"}
        open_invoices = [r for r in sink.open_invoices if r["id"] not in drifting]
        new_customers = [
            ("Zoë Ångström-Nguyễn Design Studio", "zoe@angstrom-design.example", {"case": "unicode"}),
            (LONG_NAME, "office@consolidated-water.example", {"case": "name_over_100_characters"}),
            ("Harbor Lights Community Theater", None, {"case": "missing_email"}),
            ("Saint Brigid Parish School", "office@stbrigid.example", {"case": "tax_exempt"}),
            ("Quarry Lane Apartments", "leasing@quarrylane.example", {}),
        ]
        for n, (name, email, edge) in enumerate(new_customers):
            record = {
                **self.base("Customer", self.next_id("Customer"), now),
                "displayName": name,
                "companyName": name[:100],
                "phone": f"(555) 010-{2000 + n:04d}",
                "billingAddress": {
                    "line1": f"{100 + n} Platform Way",
                    "city": "Oakland",
                    "region": "CA",
                    "postalCode": "94607",
                },
                "taxExempt": edge.get("case") == "tax_exempt",
                "paymentTerms": "Net 30",
                "updatedAt": now,
            }
            if email:
                record["email"] = email
            sink.add("Customer", record)
            self._only("Customer", record, edge)
        new_customer = record  # one platform-only invoice bills it: it must wait for the customer
        for n in range(2):
            record = {
                **self.base("Item", self.next_id("Item"), now),
                "name": f"Platform Service Plan {n + 1}",
                "sku": f"PSP-{n + 1:03d}",
                "type": "Service",
                "unitPrice": Decimal("149.00"),
                "description": "Seasonal service plan",
                "updatedAt": now,
            }
            sink.add("Item", record)
            self._only("Item", record, {})
        for n in range(2):
            record = {
                **self.base("Vendor", self.next_id("Vendor"), now),
                "displayName": f"Bayside Platform Supply {n + 1}",
                "email": f"ap{n + 1}@bayside-supply.example",
                "updatedAt": now,
            }
            sink.add("Vendor", record)
            self._only("Vendor", record, {})
        rng = random.Random(f"{self.seed}/extras")
        customers_for_invoices = [*rng.sample(linked_customers, min(3, len(linked_customers))), new_customer]
        for n, customer in enumerate(customers_for_invoices):
            item = linked_items[(n * 7) % len(linked_items)] if linked_items else None
            if item is None:
                break
            price = money(item.get("unitPrice") or 50) or Decimal("50.00")
            lines = [
                {
                    "lineNumber": 1,
                    "itemId": item["id"],
                    "description": "Platform order",
                    "quantity": Decimal(2),
                    "unitPrice": price,
                    "amount": money(price * 2),
                }
            ]
            total = lines[0]["amount"]
            txn = self.today - timedelta(days=3)
            record = {
                **self.base("Invoice", self.next_id("Invoice"), now),
                "docNumber": f"P-{9001 + n}",
                "customerId": customer["id"],
                "txnDate": txn,
                "dueDate": txn + timedelta(days=30),
                "lines": lines,
                "totalAmount": total,
                "balance": total,
                "status": "open",
                "updatedAt": now,
            }
            sink.add("Invoice", record)
            self._only(
                "Invoice", record, {} if customer.get("qboId") else {"case": "references_unlinked_customer"}
            )
        for n, vendor in enumerate(linked_vendors[:2]):
            txn = self.today - timedelta(days=5)
            lines = [
                {
                    "lineNumber": 1,
                    "description": "Platform purchase",
                    "amount": Decimal("420.00"),
                    "accountQboId": _expense_account(sink),
                }
            ]
            record = {
                **self.base("Bill", self.next_id("Bill"), now),
                "vendorId": vendor["id"],
                "docNumber": f"PB-{501 + n}",
                "txnDate": txn,
                "dueDate": txn + timedelta(days=30),
                "lines": lines,
                "totalAmount": Decimal("420.00"),
                "balance": Decimal("420.00"),
                "updatedAt": now,
            }
            sink.add("Bill", record)
            self._only("Bill", record, {})
        for invoice in open_invoices[:2]:
            amount = money(Decimal(invoice["balance"]) / 2)
            record = {
                **self.base("Payment", self.next_id("Payment"), now),
                "customerId": invoice["customerId"],
                "txnDate": self.today - timedelta(days=1),
                "totalAmount": amount,
                "paymentMethod": "Check",
                "referenceNumber": f"PP-{invoice['id'][-4:]}",
                "appliedTo": [{"invoiceId": invoice["id"], "amount": amount}],
                "updatedAt": now,
            }
            sink.add("Payment", record)
            self._only("Payment", record, {"case": "partial_payment"})
        self._refused(sink, now)

    def _only(self, entity: str, record: dict[str, Any], edge: dict[str, str]) -> None:
        self.planted.platform_only.append([entity, record["id"]])
        if edge:
            self.planted.edge_cases.append({**edge, "entity": entity, "platform_id": record["id"]})

    def _refused(self, sink: Sink, now: datetime) -> None:
        bad_email = {
            **self.base("Customer", "cus_bad_email", now),
            "displayName": "Broken Email Ltd",
            "email": "billing at broken",
            "updatedAt": now,
        }
        bad_total = {
            **self.base("Invoice", "inv_bad_total", now),
            "customerId": sink.first["Customer"]["id"],
            "txnDate": self.today,
            "lines": [
                {
                    "lineNumber": 1,
                    "itemId": sink.first["Item"]["id"],
                    "quantity": 1,
                    "unitPrice": 10,
                    "amount": 10,
                }
            ],
            "totalAmount": 99,
            "updatedAt": now,
        }
        sink.add("Customer", bad_email)
        sink.add("Invoice", bad_total)
        self.planted.rejected += [
            {"entity": "Customer", "record_id": "cus_bad_email", "fields": ["email"]},
            {"entity": "Invoice", "record_id": "inv_bad_total", "fields": ["totalAmount"]},
        ]

    def _edge_cases(self, entity: str, r: dict[str, Any]) -> None:
        """Linked records that exercise a rule: unicode, no e-mail, tax-exempt, voids, partial payments."""
        cases = []
        if entity == "Customer":
            if any(ord(c) > 127 for c in r.get("displayName", "") + r.get("contactName", "")):
                cases.append("unicode")
            if r.get("taxExempt"):
                cases.append("tax_exempt")
            if not r.get("email"):
                cases.append("missing_email")
        elif entity == "Invoice" and r.get("voided"):
            cases.append("voided_invoice")
        elif entity == "Invoice" and 0 < r.get("balance", 0) < r.get("totalAmount", 0):
            cases.append("partial_payment")
        self.planted.edge_cases += [{"case": c, "entity": entity, "platform_id": r["id"]} for c in cases]


def _expense_account(sink: Sink) -> str:
    lines = sink.first.get("Bill", {}).get("lines") or [{"accountQboId": "1"}]
    return lines[0]["accountQboId"]


def _unrepresentable(entity: str, doc: dict[str, Any]) -> str | None:
    """QBO records the platform's contract has no shape for: they stay QBO-only."""
    if entity == "Item" and doc.get("Type") not in ("Service", "NonInventory", "Inventory"):
        return f"item type {doc.get('Type')} is not sold on the platform"
    if entity == "Bill" and any(
        line.get("DetailType") == "ItemBasedExpenseLineDetail" for line in doc.get("Line", [])
    ):
        return "bill with item lines: the platform books bills to accounts only"
    if entity == "Payment" and any(
        t.get("TxnType") != "Invoice" for line in doc.get("Line", []) for t in line.get("LinkedTxn", [])
    ):
        return "payment applied to something other than invoices"
    return None


def _can_change(entity: str, field_name: str, record: dict[str, Any]) -> bool:
    if entity == "Invoice" and field_name == LINES_FIELD:
        return bool(record.get("lines"))
    if field_name == "payment_terms":
        return record.get("paymentTerms") is not None
    return True


TERMS = ("Due on receipt", "Net 15", "Net 30", "Net 60")
CITIES = ("Sacramento", "Fresno", "Eureka", "Monterey", "Redding")


def _perturb(entity: str, field_name: str, record: dict[str, Any], rng: random.Random) -> None:
    """Give the platform a value that differs from QBO's under the field's comparison rule."""
    tag = f"{rng.randint(1000, 9999)}"
    changes: dict[str, Callable[[], None]] = {
        "email": lambda: record.__setitem__("email", f"accounts{tag}@changed.example"),
        "phone": lambda: record.__setitem__("phone", f"(916) 555-{tag}"),
        "billing_city": lambda: record.setdefault("billingAddress", {}).__setitem__(
            "city", _other(CITIES, record.get("billingAddress", {}).get("city"))
        ),
        "address_city": lambda: record.setdefault("address", {}).__setitem__(
            "city", _other(CITIES, record.get("address", {}).get("city"))
        ),
        "notes": lambda: record.__setitem__("notes", f"Gate code {tag}"),
        "payment_terms": lambda: record.__setitem__(
            "paymentTerms", _other(TERMS, record.get("paymentTerms"))
        ),
        "tax_exempt": lambda: record.__setitem__("taxExempt", not record.get("taxExempt", False)),
        "account_number": lambda: record.__setitem__("accountNumber", f"AC-{tag}"),
        "description": lambda: record.__setitem__(
            "description", f"{record.get('description') or ''} (revised {tag})".strip()
        ),
        "unit_price": lambda: record.__setitem__(
            "unitPrice", Decimal(str(record.get("unitPrice") or 0)) + Decimal("7.50")
        ),
        "sku": lambda: record.__setitem__("sku", f"SKU-{tag}"),
        "due_date": lambda: record.__setitem__(
            "dueDate", _as_date(record.get("dueDate") or record["txnDate"]) + timedelta(days=14)
        ),
        "memo": lambda: record.__setitem__("memo", f"Please quote reference {tag}"),
        "doc_number": lambda: record.__setitem__("docNumber", f"R{tag}"),
        "reference_number": lambda: record.__setitem__("referenceNumber", f"CHK{tag}"),
        "txn_date": lambda: record.__setitem__("txnDate", _as_date(record["txnDate"]) - timedelta(days=1)),
        LINES_FIELD: lambda: _more_of_first_line(record),
    }
    changes[field_name]()


def _more_of_first_line(record: dict[str, Any]) -> None:
    line = record["lines"][0]
    line["quantity"] = Decimal(str(line["quantity"])) + 1
    new_amount = money(line["quantity"] * Decimal(str(line["unitPrice"])))
    record["totalAmount"] = money(record["totalAmount"]) + new_amount - money(line["amount"])
    line["amount"] = new_amount


def _other(choices: tuple[str, ...], current: str | None) -> str:
    return next(c for c in choices if c != current)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# ------------------------------------------------------------------------------------------------
def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def check(generated: Generated) -> list[str]:
    """Every record written but the planted refusals passes its DTO: the demo must not refuse by accident."""
    refused = {(r["entity"], r["record_id"]) for r in generated.planted.rejected}
    problems = []
    for entity in ENTITIES:
        with generated.paths[entity].open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                if (entity, row["id"]) in refused:
                    continue
                try:
                    MODELS[entity].model_validate(row)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    problems.append(f"{entity} {row['id']}: {first['msg']} at {first['loc']}")
    return problems
