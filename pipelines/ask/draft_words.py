"""A drafted line as people say it: "3 hours of consulting at 150", "2 units of Mulch at $40 each".

Read as quantity x unit price, so the line is 3 x 150 = 450, never an invoice of $3. What comes between
the quantity and the price ("of consulting", "Patio Chairs") is the item asked for, found later among
the warehouse's items by name (drafts.py); the record carries the line as flat values (`quantity`,
`unitPrice`, `amount`, `itemName`, `description`), since a `QboIntent.record` holds no lists.

The numbers are read exactly as typed and bounded as the platform's DTO bounds them (a quantity above
0 and below 10^12, a price with at most 2 decimals here, an amount QBO holds), or refused naming them.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pipelines.ask.amounts import amount_text, bounded
from pipelines.ask.folded_text import MaskedText
from pipelines.ask.parse_error import ParseError

CENT = Decimal("0.01")
MAX_QUANTITY = Decimal("1e12")  # the DTO's Quantity: below 10^12
LINE_EXAMPLE = '"create an invoice for Acme Corp for 3 hours of consulting at 150"'
_UNIT = (
    r"(?:hours?|hrs?|h|units?|pcs?|pieces?|items?|days?|weeks?|months?|sessions?|visits?|bags?|boxes?"
    r"|loads?|yards?|feet|ft|metres?|meters?|reams?|cases?|packs?|packets?|packages?|pallets?|cartons?"
    r"|crates?|rolls?|sheets?|bottles?|cans?|dozens?|gallons?|gal|litres?|liters?|pounds?|lbs?|kg|tons?"
    r"|tonnes?|sets?|pairs?|licen[cs]es?|seats?|users?|each|x)"
)
_QTY = r"(?P<qty>\d{1,12}(?:\.\d{1,6})?)"
_PRICE = (
    r"(?:\$|usd\s*)?\s*(?P<price>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:\s*(?:dollars?|usd|bucks))?"
)
_PER = (
    r"(?:\s*(?:each|apiece|ea\.?|a\s+piece|/\s*[a-z]+|per\s+[a-z]+|an?\s+(?:hour|unit|day|piece|item|session))"
    r"(?![a-z]))?"
)
_WHAT = r"(?P<what>[^\d\x01@$]{1,200}?)"  # the item's words, up to "at"/"@": no number, nothing read yet
# "3 x 150", "3 × $150", "3 @ 150"
_TIMES = re.compile(rf"(?<![\w.,]){_QTY}\s*(?:x|×|\*|@)\s*{_PRICE}{_PER}(?![\w.,])")
# "3 hours of consulting at 150", "2 units of Mulch at $40 each", "5 Patio Chairs at 80 each"
_OF_AT = re.compile(
    rf"(?<![\w.,]){_QTY}(?:\s+(?P<unit>{_UNIT}))?(?:\s+of)?\s+{_WHAT}\s+(?:at|@)\s+{_PRICE}{_PER}(?![\w.,])"
)
# "3 hours at 150", "3 hours at $150/hour for consulting" (the description is read after it)
_AT = re.compile(rf"(?<![\w.,]){_QTY}\s+(?P<unit>{_UNIT})\s+(?:at|@)\s+{_PRICE}{_PER}(?![\w.,])")


def take_line(t: MaskedText) -> dict[str, Any] | None:
    """The line a draft asks for as quantity x price, masked: `quantity`, `unitPrice`, `amount` (the
    product, in cents) and, when named, `itemName` and `description`; None when there is none."""
    for pattern in (_TIMES, _AT, _OF_AT):  # "3 hours at 150" is no item called "hours"
        found = pattern.search(t.m)
        if found:
            break
    else:
        return None
    quantity = _quantity(t.orig(*found.span("qty")))
    price = bounded(t.orig(*found.span("price")), Decimal(found.group("price").replace(",", "")))
    # the DTO's rule: a line's amount is quantity x unitPrice to the cent (1.5 x 10.33 = 15.50)
    amount = bounded(f"{quantity} x {price}", (quantity * price).quantize(CENT, ROUND_HALF_UP))
    if amount <= 0:
        shown = t.orig(*found.span())
        raise ParseError(f"{shown!r} comes to nothing: the amount must be more than zero", LINE_EXAMPLE)
    line: dict[str, Any] = {
        "quantity": amount_text(quantity),
        "unitPrice": amount_text(price),
        "amount": amount_text(amount),
    }
    what = found.groupdict().get("what")
    if what:
        words = re.sub(r"^(?:of|for)\s+", "", t.orig(*found.span("what")).strip(" ,.;:")).strip()
        if words and re.search(r"[^\W\d_]", words):
            line |= {"itemName": words[:100], "description": words[:4000]}
    t.mask(*found.span())
    return line


def _quantity(typed: str) -> Decimal:
    """The quantity as typed: above 0 and below 10^12, at most 6 decimals (the DTO's bounds)."""
    try:
        value = Decimal(typed)
    except InvalidOperation:  # the pattern admits only digits: defensive
        raise ParseError(f"{typed!r} is not a quantity", LINE_EXAMPLE) from None
    if not 0 < value < MAX_QUANTITY:
        raise ParseError(f"quantity {typed!r} is out of range: above 0 and below 10^12", LINE_EXAMPLE)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value
