"""Planted drift: which fields of each entity may drift, and a new value for each that differs from
QBO's under the field's comparison rule (so the tests see a real difference, not a cosmetic one)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pipelines.mapping.spec import LINES_FIELD
from pipelines.mapping.values import money

# what each entity's planted drift changes: fields whose new value differs under every comparison rule
DRIFT_FIELDS: dict[str, tuple[str, ...]] = {
    "Customer": ("email", "phone", "billing_city", "notes", "payment_terms", "default_taxable"),
    "Vendor": ("email", "phone", "account_number", "address_city", "payment_terms"),
    "Item": ("description", "unit_price", "sku"),
    "Invoice": ("due_date", "memo", LINES_FIELD),
    "Bill": ("memo", "due_date", "doc_number"),
    "Payment": ("reference_number", "txn_date"),
}


def can_change(entity: str, field_name: str, record: dict[str, Any]) -> bool:
    if entity == "Invoice" and field_name == LINES_FIELD:
        return bool(record.get("lines"))
    if field_name == "payment_terms":
        return record.get("paymentTermsId") is not None
    return True


TERMS = ("1", "2", "3", "4")  # a sandbox company's Term Ids (Due on receipt, Net 15, Net 30, Net 60)
CITIES = ("Sacramento", "Fresno", "Eureka", "Monterey", "Redding")


def perturb(
    entity: str,
    field_name: str,
    record: dict[str, Any],
    rng: random.Random,
    terms: tuple[str, ...] = TERMS,
) -> None:
    """Give the platform a value that differs from QBO's under the field's comparison rule (`terms`:
    the realm's Term Ids, so a changed term is still one QBO has)."""
    tag = f"{rng.randint(1000, 9999)}"
    changes: dict[str, Callable[[], None]] = {
        "email": lambda: record.__setitem__("email", f"accounts{tag}@changed.example"),
        "phone": lambda: record.__setitem__("phone", f"(916) 555-{tag}"),
        "billing_city": lambda: record.setdefault("billingAddress", {}).__setitem__(
            "city", _other(CITIES, record.get("billingAddress", {}).get("city"))
        ),
        "address_city": lambda: record.setdefault("billingAddress", {}).__setitem__(
            "city", _other(CITIES, record.get("billingAddress", {}).get("city"))
        ),
        "notes": lambda: record.__setitem__("notes", f"Gate code {tag}"),
        "payment_terms": lambda: record.__setitem__(
            "paymentTermsId", _other(terms, record.get("paymentTermsId"))
        ),
        "default_taxable": lambda: record.__setitem__(
            "defaultTaxable", not record.get("defaultTaxable", True)
        ),
        "account_number": lambda: record.__setitem__("accountNumber", f"AC-{tag}"),
        "description": lambda: record.__setitem__(
            "description", f"{record.get('description') or ''} (revised {tag})".strip()
        ),
        "unit_price": lambda: record.__setitem__(
            "salesPrice", Decimal(str(record.get("salesPrice") or 0)) + Decimal("7.50")
        ),
        "sku": lambda: record.__setitem__("sku", f"SKU-{tag}"),
        "due_date": lambda: record.__setitem__(
            "dueDate", _as_date(record.get("dueDate") or record["issueDate"]) + timedelta(days=14)
        ),
        "memo": lambda: record.__setitem__("memo", f"Please quote reference {tag}"),
        "doc_number": lambda: record.__setitem__("referenceNumber", f"R{tag}"),  # a bill's number
        "reference_number": lambda: record.__setitem__("referenceNumber", f"CHK{tag}"),
        "txn_date": lambda: record.__setitem__("date", _as_date(record["date"]) - timedelta(days=1)),
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
