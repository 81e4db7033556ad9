"""How the report writes values for people: money in the realm's currency, dates, yes and no, field
names in words, and spreadsheet cells that cannot run as formulas.

Kept apart from the reading so the page, the CSV and the XLSX say a value the same way.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

SYMBOLS = {
    "USD": "$",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "GBP": "£",
    "EUR": "€",
    "INR": "₹",
    "JPY": "¥",
    "ZAR": "R",
}
DASH = "—"  # an empty value on the page
# what a spreadsheet may read as the start of a formula (OWASP, CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

FIELD_LABELS = {
    "display_name": "Name",
    "company_name": "Company",
    "contact_name": "Contact",
    "email": "E-mail",
    "doc_number": "Number",
    "txn_date": "Date",
    "due_date": "Due date",
    "memo": "Memo",
    "lines": "Lines",
    "voided": "Voided",
    "active": "Active",
    "sku": "SKU",
    "payment_terms": "Payment terms",
    "default_taxable": "Taxable by default",
    "is_1099": "1099 vendor",
    "ap_account": "A/P account",
    "total_amount": "Total",
    "reference_number": "Reference",
    "line_key": "Line",
    "quantity": "Qty",
    "track_qty": "Tracks quantity",
}
ENTITY_PLURALS = {
    "Customer": "customers",
    "Vendor": "vendors",
    "Item": "items",
    "Invoice": "invoices",
    "Bill": "bills",
    "Payment": "payments",
}


def label(field: str) -> str:
    """A spec field name in words: `due_date` -> "Due date"."""
    return FIELD_LABELS.get(field) or field.replace("_", " ").capitalize()


def decimal(value: Any) -> Decimal | None:
    """A number from a warehouse value (often text in the drift mart), or None if it is not one."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def money(value: Any, currency: str | None = None) -> str:
    """`$1,234.50`, `-£12.00`, `CHF 8.00`; at least two decimals, more only when they matter."""
    amount = decimal(value)
    if amount is None:
        return DASH if value in (None, "") else str(value)
    digits = _grouped(abs(amount), places=2)
    sign = "-" if amount < 0 else ""
    if not currency:
        return f"{sign}{digits}"
    symbol = SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{currency.upper()} {digits}"


def number(value: Any) -> str:
    """A quantity as people write it: `2.000000` -> "2", `1.500000` -> "1.5", grouped by thousands."""
    amount = decimal(value)
    if amount is None:
        return DASH if value in (None, "") else str(value)
    return ("-" if amount < 0 else "") + _grouped(abs(amount), places=0)


def _grouped(amount: Decimal, places: int) -> str:
    text = f"{amount:,.6f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(places, '0')}" if fraction or places else whole


def as_date(value: Any) -> date | None:
    """A date from a date, a timestamp or ISO text; None otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def day(value: Any) -> str:
    """`9 Feb 2024`: no month-day ambiguity, whatever the reader's locale."""
    found = as_date(value)
    if found is None:
        return DASH if value in (None, "") else str(value)
    return f"{found.day} {found:%b %Y}"


def moment(value: Any) -> str:
    """`9 Feb 2024 21:29` (UTC, as the warehouse keeps it)."""
    if isinstance(value, datetime):
        return f"{value.day} {value:%b %Y %H:%M}"
    return day(value)


def yes_no(value: Any) -> str | None:
    """`true`/`false` (the drift mart's text) or a bool as Yes/No; None if it is neither."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return "Yes" if value.lower() == "true" else "No"
    return None


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe; numbers, dates and
    other values pass as they are (OWASP's CSV injection guidance, for the CSV and XLSX files)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
