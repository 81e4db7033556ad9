"""Aging and rankings in a question: "more than 90 days past due", "top 5 customers by open balance",
"who owes us the most", "sales by month", "largest unpaid invoices".

Days past due are read before amounts and dates, so the 90 of "90 days past due" is neither an amount
nor a date, and masked. A grouping ("by customer", "per month", "top 5 vendors") is read before paging,
so its N is the ranking's `top`, not a page size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelines.ask.folded_text import MaskedText
from pipelines.ask.intent import MAX_DAYS_PAST_DUE, MAX_TOP
from pipelines.ask.parse_error import ParseError

_N = r"(?P<n>\d{1,6})"
_LATE = r"days?\s+(?:past[\s-]?due|overdue|late|in\s+arrears|outstanding|old)"
_AFTER = r"(?:past[\s-]?due|overdue|late|aged|outstanding)\s+(?:by\s+|for\s+)?"
_OPS = {
    "more than": 1, "over": 1, "above": 1, "greater than": 1, "older than": 1, "beyond": 1,
    "at least": 0, "no less than": 0, "minimum of": 0,
    "less than": -1, "under": -1, "fewer than": -1, "below": -1, "younger than": -1,
    "at most": -2, "up to": -2, "no more than": -2, "within": -2,
}  # fmt: skip  # 1: more than N; 0: N or more; -1: less than N; -2: N or less
_OP = "|".join(o.replace(" ", r"\s+") for o in sorted(_OPS, key=len, reverse=True))
_AGING = [
    re.compile(rf"\b(?:between\s+)?(?P<a>\d{{1,6}})\s*(?:-|to|and)\s*(?P<b>\d{{1,6}})\s+{_LATE}\b"),
    re.compile(rf"\b(?:{_AFTER})?(?P<op>{_OP})\s+{_N}\s+{_LATE}\b"),
    re.compile(rf"\b{_AFTER}(?P<op>{_OP})\s+{_N}\s+days?\b"),
    re.compile(rf"\b{_N}\s*(?:\+\s*|\s+or\s+more\s+|\s+)?{_LATE}\b"),
    re.compile(rf"\b{_AFTER}{_N}\s*\+?\s+days?(?:\s+or\s+more)?\b"),
    re.compile(r"\b(?:in\s+the\s+)?(?P<a>\d{1,6})\s*-\s*(?P<b>\d{1,6})\s+(?:days?\s+)?(?:aging\s+)?bucket\b"),
    re.compile(
        r"\b(?:in\s+the\s+)?(?:over|more\s+than)\s+(?P<n>\d{1,6})\s+(?:days?\s+)?(?:aging\s+)?bucket\b"
    ),
]
_NOT_YET_DUE = re.compile(
    r"\bnot\s+(?:yet\s+)?(?:past[\s-]?)?due(?:\s+yet)?\b|\b(?:in\s+the\s+)?current\s+(?:aging\s+)?bucket\b"
)


def take_aging(t: MaskedText) -> tuple[int | None, int | None]:
    """The least and most days past due asked for ("over 90 days past due": 91, none), masked."""
    least: int | None = None
    most: int | None = None
    for pattern in _AGING:
        for found in pattern.finditer(t.m):
            g = found.groupdict()
            if g.get("a"):
                lo, hi = _days(g["a"]), _days(g["b"])
                if lo > hi:
                    raise ParseError(
                        f"{found.group(0)!r}: the fewer days come first", '"31-60 days past due"'
                    )
            else:
                n = _days(g["n"])
                step = (
                    _OPS[re.sub(r"\s+", " ", g["op"])]
                    if g.get("op")
                    else 1
                    if "bucket" in found.group(0)
                    else 0
                )
                lo, hi = {1: (n + 1, None), 0: (n, None), -1: (1, n - 1), -2: (1, n)}[step]
            least = lo if least is None else max(least, lo)
            if hi is not None:
                most = hi if most is None else min(most, hi)
            t.mask(*found.span())
    found = _NOT_YET_DUE.search(t.m)
    if found:
        most = 0
        t.mask(*found.span())
    if least is not None and most is not None and least > most:
        raise ParseError(f"no invoice is at least {least} and at most {most} days past due")
    return least, most


def _days(text: str) -> int:
    days = int(text)
    if days > MAX_DAYS_PAST_DUE:
        raise ParseError(f"{days:,} days past due is past any record (at most {MAX_DAYS_PAST_DUE:,})")
    return days


@dataclass(frozen=True)
class Ranking:
    group_by: str | None = None  # customer | vendor | month
    top: int | None = None
    direction: str | None = None  # asc | desc, from "most"/"least"
    count: bool = False  # ranked by how many ("most invoices")
    row_order: str | None = None  # a row list's orderBy ("largest invoices": amount)


_PARTY = {
    "customer": "customer",
    "client": "customer",
    "vendor": "vendor",
    "supplier": "vendor",
    "month": "month",
}
_GROUPS = [
    re.compile(
        r"\b(?:grouped\s+|broken\s+down\s+|split\s+|totals?\s+)?(?:by|per|for\s+each|each|every)\s+"
        r"(?P<g>customer|client|vendor|supplier|month)s?\b"
    ),
    re.compile(r"\b(?P<g>month)\s+(?:by|over|on)\s+month\b|\b(?P<m>monthly)\b"),
    re.compile(
        r"\b(?P<sup>top|biggest|largest|best|highest|smallest|lowest|worst)\s+(?:(?P<n>\d{1,6})\s+)?"
        r"(?P<g>customer|client|vendor|supplier)s?\b"
    ),
    re.compile(
        r"\b(?:which|what)\s+(?P<g>customer|client|vendor|supplier)(?P<plural>s)?\b(?=.*\b(?:most|least|highest|lowest|biggest|largest)\b)"
    ),
    re.compile(r"\b(?P<g>customer|client|vendor|supplier)s\s+(?:ranked|sorted|ordered)\s+by\b"),
    re.compile(
        r"\b(?P<g>customer|client|vendor|supplier)s\s+(?=(?:with|by)\s+(?:the\s+)?(?:most|highest|largest|biggest|open|unpaid|outstanding|balance))"
    ),
]
_WHO_OWES_US = re.compile(r"\bwho\s+(?:still\s+)?owes?\s+(?:us\s+)?(?:the\s+)?(?:most|least)\b")
_WHO_WE_OWE = re.compile(r"\bwho\s+do\s+(?:we|i)\s+(?:still\s+)?owe\s+(?:the\s+)?(?:most|least)\b")
_MOST = re.compile(r"\b(?:the\s+)?(?:most|highest|biggest|largest)\b")
_LEAST = re.compile(r"\b(?:the\s+)?(?:least|lowest|smallest|fewest)\b")
_MOST_COUNT = re.compile(r"\b(?:most|fewest)\s+(?:invoices|bills|payments)\b")
_ROW_ORDER = [
    ("amount", "desc", re.compile(r"\b(?:largest|biggest|highest|priciest)\b")),
    ("amount", "asc", re.compile(r"\b(?:smallest|lowest|cheapest)\b")),
    ("dueDate", "asc", re.compile(r"\boldest\b")),
    ("txnDate", "desc", re.compile(r"\b(?:newest|latest|most\s+recent)\b")),
]


def take_ranking(t: MaskedText) -> Ranking:
    """A grouping and its top N and direction, masked; else a row list's order ("largest invoices")."""
    m = t.m
    group = top = None
    singular = ranked = False
    direction = None
    for pattern in _GROUPS:
        found = pattern.search(m)
        if found:
            g = found.groupdict()
            group = "month" if g.get("m") else _PARTY[g["g"]]
            if g.get("n"):
                top = int(g["n"])
            singular = "plural" in g and not g["plural"]
            ranked = bool(g.get("sup"))
            if g.get("sup") in ("smallest", "lowest", "worst"):
                direction = "asc"
            t.mask(*found.span())
            break
    m = t.m
    if group is None and _WHO_OWES_US.search(m):
        group = "customer"
    elif group is None and _WHO_WE_OWE.search(m):
        group = "vendor"
    if group is None:
        for order, direction, pattern in _ROW_ORDER:
            found = pattern.search(m)
            if found and re.search(r"\b(?:invoices|bills|payments)\b", m[found.end() :]):
                t.mask(*found.span())
                return Ranking(row_order=order, direction=direction)
        return Ranking()
    count = bool(_MOST_COUNT.search(m))
    for word, pattern in (("desc", _MOST), ("asc", _LEAST)):
        found = pattern.search(t.m)
        if found:
            direction = direction or word
            t.mask(*found.span())
            break
    if top is None and group != "month" and (direction or ranked):
        top = 1 if singular else 10
    if top is not None and not 1 <= top <= MAX_TOP:
        raise ParseError(
            f"a ranking shows 1 to {MAX_TOP} groups, not {top}", '"top 5 customers by open balance"'
        )
    return Ranking(group, top, direction, count)
