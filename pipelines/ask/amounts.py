"""Amounts in a question: "over $1,000", "between 5k and 10k", "under 20 bucks", "for $500".

A number is an amount when a word says so ("over", "between") or it looks like money (a currency sign,
"dollars", "k"): a bare number is left for the rule parser to refuse, not guessed at. A new invoice's
amount is the one exception: "invoice Acme Corp 500" can only mean 500.

An amount is read exactly as typed or refused, never changed: a sign ("$-5"), an exponent ("1e308"),
NaN or infinity, more than 2 decimals or a value QBO cannot hold is a `ParseError` naming the amount and
the bound, so no filter or drafted write ever carries a number other than the one the user wrote.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation, localcontext

from pipelines.ask.folded_text import MaskedText
from pipelines.ask.intent import MAX_AMOUNT
from pipelines.ask.parse_error import ParseError

CENT = Decimal("0.01")
BOUND = f"QBO amounts are from 0 to below {MAX_AMOUNT:,.0f}, with at most 2 decimals (cents)"
AMOUNT_EXAMPLE = '"invoices over $1,000.50", "create an invoice for Acme Corp for $500"'
_AMOUNT_WORD = (
    r"(?:over|under|above|below|than|least|most|exactly|for|of|between|and|to|from|min|max|minimum|maximum)"
)
# forms no amount takes: they are refused whole, never read in part ("$1e308" is not $1, "$-5" not $5)
_ABSURD: list[tuple[str, re.Pattern[str]]] = [
    (
        "is written with an exponent (write amounts in digits)",
        re.compile(r"(?<![\w.,])(?:\$\s*|usd\s*)?[-+]?(?:\d+(?:\.\d*)?|\.\d+)e[-+]?\d+(?![\w.])"),
    ),
    (
        "is not a number",
        re.compile(
            rf"(?<![\w])(?:(?:\$|usd)\s*[-+]?\s*(?:nan|inf(?:inity)?)|(?:nan|inf(?:inity)?)\s*(?:dollars?|bucks|usd)"
            rf"|{_AMOUNT_WORD}\s+[-+]?(?:nan|infinity))(?![\w])"
        ),
    ),
    (
        "is negative",
        re.compile(
            rf"(?:\$|usd)\s*-\s*\.?\d[\d,.]*|(?<![\w.,])-\s*(?:\$|usd)\s*\.?\d[\d,.]*"
            rf"|(?<![\w]){_AMOUNT_WORD}\s+-\s*\.?\d[\d,.]*"
        ),
    ),
]


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


def bounded(shown: str, value: Decimal) -> Decimal:
    """The amount itself when QBO can hold it; otherwise a refusal naming it and the bound."""
    if not value.is_finite():
        problem = "is not a number"
    elif value < 0:
        problem = "is negative"
    elif value >= MAX_AMOUNT:
        problem = "is too large"
    elif value != value.quantize(CENT):
        problem = "has more than 2 decimals"
    else:
        return value
    raise ParseError(f"{shown.strip()!r} {problem}: {BOUND}", AMOUNT_EXAMPLE)


def _amount(m: re.Match[str], tag: str) -> Decimal:
    digits = m.group(tag).replace(",", "")
    multiplier = m.group(f"{tag}_x")
    shown = (m.group(f"{tag}_c") or "") + m.group(tag) + (f" {multiplier}" if multiplier else "")
    try:
        value = Decimal(digits)  # exact, whatever its length
    except InvalidOperation as exc:  # the pattern admits only digits: defensive
        raise ParseError(f"{shown!r} is not an amount: {BOUND}", AMOUNT_EXAMPLE) from exc
    if multiplier:
        with localcontext() as exact:  # enough digits that "1.000000001k" is not rounded to 1000
            exact.prec = len(digits) + 10
            value *= _MULT[multiplier]
    value = bounded(shown, value)
    return value.quantize(Decimal(1)) if value == value.to_integral() else value


def _is_money(m: re.Match[str], tag: str) -> bool:
    return bool(m.group(f"{tag}_c") or m.group(f"{tag}_x") or m.group(f"{tag}_d"))


def amount_text(value: Decimal) -> str:
    return format(value, "f")


def refuse_absurd(t: MaskedText) -> None:
    """Refuse what only looks like an amount in part (a sign, an exponent, NaN) before anything reads it."""
    for problem, pattern in _ABSURD:
        found = pattern.search(t.m)
        if found:
            shown = re.sub(rf"^{_AMOUNT_WORD}\s+", "", t.orig(*found.span()).strip(), flags=re.IGNORECASE)
            raise ParseError(f"{shown!r} {problem}: {BOUND}", AMOUNT_EXAMPLE)


def take_amounts(t: MaskedText) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """The least, the most and the exact amount asked for, masked; several bounds narrow each other."""
    refuse_absurd(t)
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
    number = r"(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\w.,])"
    bare = re.search(rf"(?<![\w.,])(?:for|of)\s+{number}", t.m)
    numbers = list(re.finditer(rf"(?<![\w.,])(?P<sign>-?){number}", t.m))
    if not bare and len(numbers) != 1:  # "invoice Acme Corp 500": the one number there is
        return None
    found = bare or numbers[0]
    if not bare and found.group("sign"):  # "invoice Acme Corp -5" is not 5
        raise ParseError(f"{t.orig(*found.span())!r} is negative: {BOUND}", AMOUNT_EXAMPLE)
    t.mask(*found.span())
    return bounded(t.orig(*found.span("n")), Decimal(found.group("n").replace(",", "")))
