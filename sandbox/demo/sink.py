"""The demo's output: platform records streamed to disk as they are made, never held all at once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipelines.mapping.order import ORDER


class Sink:
    """Where records go as they are made: a JSONL file of DTOs per entity, so a company of a million
    invoices never sits in memory; it keeps only what the later plantings pick from."""

    KEEP = 200  # open invoices kept as candidates for the planted partial payments

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.paths = {entity: out / f"{entity.lower()}s.jsonl" for entity in ORDER}
        self.files = {entity: path.open("w", encoding="utf-8") for entity, path in self.paths.items()}
        self.counts = dict.fromkeys(ORDER, 0)
        self.first: dict[str, dict[str, Any]] = {}
        self.linked: dict[str, list[dict[str, Any]]] = {"Customer": [], "Item": [], "Vendor": []}
        self.open_invoices: list[dict[str, Any]] = []
        self.expense_account: str | None = None  # the first account a bill line is booked to

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
            and record.get("status") != "voided"
            and record.get("balance", 0) > 10
            and len(self.open_invoices) < self.KEEP
        ):
            self.open_invoices.append(record)
        if entity == "Bill" and self.expense_account is None:
            accounts = [
                line["expenseAccountId"] for line in record.get("lines", []) if line.get("expenseAccountId")
            ]
            self.expense_account = accounts[0] if accounts else None

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
