"""Amounts in a question: "over $1,000", "between 5k and 10k", "under 20 bucks", "for $500".

A number is an amount when a word says so ("over", "between") or it looks like money (a currency sign,
"dollars", "k"): a bare number is left for the rule parser to refuse, not guessed at. A new invoice's
amount is the one exception: "invoice Acme Corp 500" can only mean 500.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pipelines.ask.folded_text import MaskedText
from pipelines.ask.parse_error import ParseError


def _num(tag: str) -> str:
    return (
        rf"(?P<{tag}_c>\$|usd\s*)?\s*(?P<{tag}>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
        rf"(?:\s*(?P<{tag}_x>k|mm|m|thousand|million|grand)(?![a-z]))?"
        rf"(?:\s*(?P<{tag}_d>dollars?|bucks|usd)(?![a-z]))?"
    )


_FILLER = (
    r"(?:(?:with\s+|having\s+)?(?:an?\s+|the\s+)?(?:total|amount|balance|value|totalamt)"
    r"(?:\s+(?:of|is|was|that\s+is))?\s+|(?:totall?ing|amounting\s+to|worth|valued\s+at)\s+)?"
)
_MIN = (
    r"over|more\s+than|above|greater\s+than|bigger\s+than|larger\s+than|higher\s+than|exceeding|"
    r"in\s+excess\s+of|at\s+least|no\s+less\s+than|not\s+less\s+than|minimum(?:\s+of)?|min|upwards\s+of|>=|>"
)
_MAX = (
    r"under|less\s+than|below|at\s+most|up\s+to|no\s+more\s+than|not\s+more\s+than|not\s+over|"
    r"maximum(?:\s+of)?|max|smaller\s+than|lower\s+than|cheaper\s+than|beneath|<=|<"
)
_AMOUNTS: list[tuple[str, re.Pattern[str]]] = [
    (
        "range",
        re.compile(rf"(?<!\w){_FILLER}(?:between|from)\s+{_num('a')}\s*(?:\band\b|\bto\b|-)\s*{_num('b')}"),
    ),
    ("money-range", re.compile(rf"(?<![\w.,]){_FILLER}{_num('a')}\s*(?:\bto\b|-)\s*{_num('b')}")),
    ("min", re.compile(rf"(?<!\w){_FILLER}(?:{_MIN})\s*{_num('a')}")),
    ("max", re.compile(rf"(?<!\w){_FILLER}(?:{_MAX})\s*{_num('a')}")),
    (
        "min",
        re.compile(rf"(?<![\w.,]){_num('a')}\s*(?:\+|or\s+(?:more|above|greater|higher)|and\s+(?:up|above))"),
    ),
    (
        "max",
        re.compile(rf"(?<![\w.,]){_num('a')}\s*(?:or\s+(?:less|under|below|lower)|and\s+(?:under|below))"),
    ),
    ("exact", re.compile(rf"(?<![\w.,]){_FILLER}(?:(?:of|for|exactly|for\s+exactly)\s+)?{_num('a')}")),
]
_MULT = {"k": 1000, "thousand": 1000, "grand": 1000, "m": 1_000_000, "mm": 1_000_000, "million": 1_000_000}


def _amount(m: re.Match[str], tag: str) -> Decimal:
    try:
        value = Decimal(m.group(tag).replace(",", ""))
    except InvalidOperation as exc:  # the pattern admits only digits: defensive
        raise ParseError(f"{m.group(tag)!r} is not an amount") from exc
    if m.group(f"{tag}_x"):
        value *= _MULT[m.group(f"{tag}_x")]
    return value.quantize(Decimal(1)) if value == value.to_integral() else value


def _is_money(m: re.Match[str], tag: str) -> bool:
    return bool(m.group(f"{tag}_c") or m.group(f"{tag}_x") or m.group(f"{tag}_d"))


def amount_text(value: Decimal) -> str:
    return format(value, "f")


def take_amounts(t: MaskedText) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """The least, the most and the exact amount asked for, masked; several bounds narrow each other."""
    amount_min = amount_max = exact = None
    for kind, pattern in _AMOUNTS:
        for found in pattern.finditer(t.m):
            if kind == "exact" and not _is_money(found, "a"):
                continue
            if kind == "money-range" and not (_is_money(found, "a") or _is_money(found, "b")):
                continue
            if kind in ("range", "money-range"):
                lo, hi = _amount(found, "a"), _amount(found, "b")
                if not found.group("b_x") and found.group("a_x") is None and lo > hi:
                    raise ParseError(f"{found.group(0)!r}: the lower amount comes first")
                amount_min = lo if amount_min is None else max(amount_min, lo)
                amount_max = hi if amount_max is None else min(amount_max, hi)
            elif kind == "min":
                value = _amount(found, "a")
                amount_min = value if amount_min is None else max(amount_min, value)
            elif kind == "max":
                value = _amount(found, "a")
                amount_max = value if amount_max is None else min(amount_max, value)
            elif exact is None:
                exact = _amount(found, "a")
            t.mask(*found.span())
    return amount_min, amount_max, exact


def take_bare_amount(t: MaskedText) -> Decimal | None:
    """A new record's amount without a currency sign: "for 500", or the only number there is."""
    bare = re.search(r"(?<![\w.,])(?:for|of)\s+(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\w.,])", t.m)
    numbers = list(re.finditer(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\w.,])", t.m))
    if not bare and len(numbers) != 1:  # "invoice Acme Corp 500": the one number there is
        return None
    found = bare or numbers[0]
    t.mask(*found.span())
    return Decimal(found.group(1).replace(",", ""))
