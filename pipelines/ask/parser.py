"""Plain English -> `QboIntent`: the default parser is offline and deterministic (seed §11).

`RuleParser` answers the same question the same way every time, with no network and no model: what it
does not understand it refuses (`ParseError`, with an example that works) rather than guessing. Names
are only ever data: they come from a `NameIndex` of known display names (or quotes) and go into
`Filters` fields; the parser never builds a query. `LlmParser` sits behind the same `IntentParser`
interface for free-form questions: a provider's completion function in, a validated `QboIntent` out.

How the rule parser reads a question: it normalises the text (quotes, dashes, whitespace), folds it for
matching (case, accents, `&` = `and`) keeping a map back to the original characters, then takes out, in
order, the names, the dates, document numbers, paging and the amounts, masking each span so that a
number or word already used is not read twice (a customer called "Overdue Ltd" is not a status, the 30
of "last 30 days" is not an amount). The operation, aggregate and status come from what is left.
"""

from __future__ import annotations

import calendar
import difflib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

import duckdb
from pydantic import ValidationError

from pipelines.ask.intent import QboIntent

EXAMPLE = (
    '"Show me all unpaid invoices from last month over 1000 dollars", '
    '"How much did Acme Corp pay us this quarter?", "invoice #1043", '
    '"create an invoice for Acme Corp for $500 for consulting"'
)
CUSTOMER, VENDOR = "customer", "vendor"
_MASK = "\x01"


class ParseError(ValueError):
    """The question was not understood (or asks for something not available): what, and what works."""

    def __init__(self, problem: str, example: str = EXAMPLE) -> None:
        self.problem = problem
        super().__init__(f"{problem}. Questions that work: {example}")


class IntentParser(Protocol):
    """Anything that turns a question into a validated `QboIntent`, relative dates against `today`."""

    def parse(self, text: str, today: date) -> QboIntent: ...


# ---------------------------------------------------------------------------------------------- text
_NORMAL = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)


def _normalise(text: str) -> str:
    """Straight quotes and dashes, one space: the forms users type differently but mean the same."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text).translate(_NORMAL)).strip()


def _fold_char(ch: str) -> str:
    if ch == "&":
        return "and"
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _fold(text: str) -> tuple[str, list[int]]:
    """Case- and accent-free text, and for each of its characters the index of the original one."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch.isspace() and out and out[-1] == " ":
            continue  # one space for a run, as in the names' keys
        folded = " " if ch.isspace() else _fold_char(ch)
        out.append(folded)
        index.extend([i] * len(folded))
    return "".join(out), index


def fold(text: str) -> str:
    """The matching key of a name or question: `Zoë Ångström` and `zoe angstrom` are one."""
    return re.sub(r"\s+", " ", _fold(_normalise(text))[0]).strip()


# ---------------------------------------------------------------------------------------------- names
@dataclass(frozen=True)
class NameMatch:
    """A known (or quoted) name found in a question; `start`/`end` index the text that was searched."""

    name: str
    kinds: frozenset[str]
    start: int
    end: int
    fuzzy: bool = False


# words that are never a name on their own: the fuzzy match skips n-grams made only of them
_STOP_WORDS = """
    a an the all any my our us we me i you it its of for from by to with in on at and or is are was were
    be been have has had do does did show list find which what who how much many get give tell please can
    could would some each every this that these those last next past previous prior since before after
    between until through over under above below more less than at least most total sum count number
    invoice invoices bill bills payment payments customer customers vendor vendors client clients paid pay
    unpaid open overdue void voided due late outstanding month months year years week weeks day days
    quarter today yesterday january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec dollars details about"""
_STOP = frozenset(_STOP_WORDS.split())


class NameIndex:
    """Known customer and vendor display names, matched in a question without SQL or a network.

    Exact (case-, accent- and `&`/`and`-insensitive) matches win, longest first, so "Acme Corporation
    Ltd" is not read as "Acme Corp"; a difflib fallback over word n-grams catches typos. The display
    name as QBO spells it is what comes back.
    """

    def __init__(self, customers: Iterable[str] = (), vendors: Iterable[str] = ()) -> None:
        self._names: dict[str, tuple[str, set[str]]] = {}
        for kind, names in ((CUSTOMER, customers), (VENDOR, vendors)):
            for name in names:
                key = fold(name or "")
                if key:
                    self._names.setdefault(key, (name.strip(), set()))[1].add(kind)
        self._by_words: dict[int, list[str]] = {}
        for key in self._names:
            self._by_words.setdefault(len(key.split()), []).append(key)

    def __len__(self) -> int:
        return len(self._names)

    @classmethod
    def from_warehouse(cls, path: Path, realm_id: str | None = None) -> NameIndex:
        """The live names of the warehouse's staging models (read only: it may be mid-sync)."""
        lists: dict[str, list[str]] = {}
        with duckdb.connect(str(path), read_only=True) as con:
            for kind, table in ((CUSTOMER, "stg_qbo__customers"), (VENDOR, "stg_qbo__vendors")):
                sql = f"SELECT display_name FROM staging.{table} WHERE NOT is_deleted"
                params: list[str] = []
                if realm_id is not None:
                    sql += " AND realm_id = ?"
                    params.append(realm_id)
                try:
                    rows = con.execute(sql + " AND display_name IS NOT NULL", params).fetchall()
                except duckdb.CatalogException:  # a realm with no vendors synced yet has no table
                    rows = []
                lists[kind] = [row[0] for row in rows]
        return cls(lists[CUSTOMER], lists[VENDOR])

    def display(self, name: str) -> str | None:
        """The display name as QBO spells it, for a name typed in any case or accent."""
        entry = self._names.get(fold(name))
        return entry[0] if entry else None

    def kinds(self, name: str) -> frozenset[str]:
        entry = self._names.get(fold(name))
        return frozenset(entry[1]) if entry else frozenset()

    def find(self, text: str) -> NameMatch | None:
        """The best name in `text` (spans index `text`), or None."""
        folded, index = _fold(text.translate(_NORMAL))  # a one-for-one translation: spans stay `text`'s
        mask = [False] * len(folded)
        found = self._exact(folded, mask) or self._fuzzy(folded, mask)
        if not found:
            return None
        m = found[0]
        return NameMatch(m.name, m.kinds, index[m.start], index[m.end - 1] + 1, m.fuzzy)

    def suggest(self, name: str) -> str | None:
        """The closest known name, for a "did you mean" in an error."""
        close = difflib.get_close_matches(fold(name), list(self._names), n=1, cutoff=0.6)
        return self._names[close[0]][0] if close else None

    def _exact(self, folded: str, mask: list[bool]) -> list[NameMatch]:
        hits: list[NameMatch] = []
        for key, (name, kinds) in self._names.items():
            start = folded.find(key)
            while start != -1:
                end = start + len(key)
                before_ok = not key[0].isalnum() or start == 0 or not folded[start - 1].isalnum()
                after_ok = not key[-1].isalnum() or end == len(folded) or not folded[end].isalnum()
                if before_ok and after_ok and not any(mask[start:end]):
                    hits.append(NameMatch(name, frozenset(kinds), start, end))
                start = folded.find(key, start + 1)
        hits.sort(key=lambda m: (-(m.end - m.start), m.start))
        chosen: list[NameMatch] = []
        for hit in hits:
            if not any(hit.start < c.end and c.start < hit.end for c in chosen):
                chosen.append(hit)
        return chosen

    def _fuzzy(self, folded: str, mask: list[bool], cutoff: float = 0.85) -> list[NameMatch]:
        if not self._names:
            return []
        tokens = [m.span() for m in re.finditer(r"\S+", folded) if not any(mask[m.start() : m.end()])]
        longest = max(self._by_words) + 1
        best: tuple[float, int, NameMatch] | None = None
        for i in range(len(tokens)):
            for n in range(1, longest + 1):
                if i + n > len(tokens):
                    break
                start, end = tokens[i][0], tokens[i + n - 1][1]
                if any(mask[start:end]):
                    break
                raw = folded[start:end]
                gram = raw.lstrip("\"'(").rstrip("\"'?.,!:;)")
                gram = gram.removesuffix("'s")
                start += len(raw) - len(raw.lstrip("\"'("))
                end = start + len(gram)
                if len(gram) < 4 or all(w.strip(".,?!") in _STOP for w in gram.split()):
                    continue
                candidates = [k for w in (n - 1, n, n + 1) for k in self._by_words.get(w, [])]
                for key in difflib.get_close_matches(gram, candidates, n=3, cutoff=cutoff):
                    ratio = difflib.SequenceMatcher(None, gram, key).ratio()
                    if best is None or (ratio, end - start) > (best[0], best[1]):
                        name, kinds = self._names[key]
                        best = (ratio, end - start, NameMatch(name, frozenset(kinds), start, end, fuzzy=True))
        return [best[2]] if best else []


# ---------------------------------------------------------------------------------------------- dates
_MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MON = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?:19|20)\d{2}"
_WORD_NUMBERS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirty": 30,
    "sixty": 60,
    "ninety": 90,
}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
_YEAR_PREP = r"in|during|for|of|since|before|after|from|between|through|until|till|and|to|fy"
_PERIOD = re.compile(
    rf"""(?<![\w-])(?:
    (?P<iso>\d{{4}})-(?P<iso_m>\d{{1,2}})-(?P<iso_d>\d{{1,2}})
    |(?P<dmy_d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<dmy_m>{_MON})(?:,?\s+(?P<dmy_y>{_YEAR}))?
    |(?P<mdy_m>{_MON})(?:\s+(?P<mdy_d>\d{{1,2}})(?:st|nd|rd|th)?(?!\d))?(?:,?\s+(?P<mdy_y>{_YEAR}))?
    |q(?P<q>[1-4])(?:\s+(?:of\s+)?(?P<q_y>{_YEAR}))?
    |(?P<qw>first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter(?:\s+(?:of\s+)?(?P<qw_y>{_YEAR}))?
    |(?P<rel>last|this|current|previous|prior|next)\s+(?P<rel_u>week|month|quarter|year|fiscal\s+year)
    |(?:the\s+)?(?:last|past|previous|prior)\s+(?:(?P<roll_n>\d{{1,4}}|{"|".join(_WORD_NUMBERS)})\s+)?
        (?P<roll_u>days?|weeks?|months?|years?)
    |(?P<ago_n>\d{{1,4}}|{"|".join(_WORD_NUMBERS)})\s+(?P<ago_u>days?|weeks?|months?|years?)\s+ago
    |(?P<todate>ytd|mtd|qtd|(?:year|month|quarter)[\s-]to[\s-]date)
    |(?P<day>today|yesterday)
    |(?:the\s+)?(?:start|beginning)\s+of\s+(?:the\s+)?(?:this\s+)?(?P<startof>week|month|quarter|year)
    |(?P<year_p>{_YEAR_PREP})\s+(?:the\s+year\s+)?(?P<year>{_YEAR})
    )(?![\w-])""",
    re.VERBOSE,
)
_DATE_PREP = re.compile(
    r"(?:^|\s)(?P<p>since|after|before|until|till|through|thru|up\s+to|up\s+until|prior\s+to|as\s+of|"
    r"starting(?:\s+(?:from|on|in))?|on\s+or\s+after|on\s+or\s+before|from|between|by|no\s+later\s+than)\s+$"
)
_RANGE_GAP = re.compile(r"\s*(?:and|to|through|thru|until|till|-)\s*")


def _add_months(d: date, months: int) -> date:
    year, month = divmod(d.month - 1 + months, 12)
    year, month = d.year + year, month + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _month(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _quarter(year: int, q: int) -> tuple[date, date]:
    return date(year, 3 * q - 2, 1), _month(year, 3 * q)[1]


def _recent_year(today: date, month: int, day: int = 1) -> int:
    """The year of the most recent `month`/`day` not after today: "in March" in December is this March."""
    try:
        return today.year if date(today.year, month, day) <= today else today.year - 1
    except ValueError:  # 29 February
        return today.year - 1


def _period(m: re.Match[str], today: date) -> tuple[date, date]:
    """The first and last day a date expression covers."""
    g = m.groupdict()
    try:
        if g["iso"]:
            d = date(int(g["iso"]), int(g["iso_m"]), int(g["iso_d"]))
            return d, d
        if g["dmy_m"] or g["mdy_m"]:
            month = _MONTHS[(g["dmy_m"] or g["mdy_m"]).rstrip(".")]
            day_s, year_s = (g["dmy_d"], g["dmy_y"]) if g["dmy_m"] else (g["mdy_d"], g["mdy_y"])
            if day_s:
                day = int(day_s)
                d = date(int(year_s) if year_s else _recent_year(today, month, day), month, day)
                return d, d
            return _month(int(year_s) if year_s else _recent_year(today, month), month)
        if g["q"] or g["qw"]:
            q = int(g["q"]) if g["q"] else _ORDINALS[g["qw"]]
            year_s = g["q_y"] or g["qw_y"]
            return _quarter(int(year_s) if year_s else _recent_year(today, 3 * q - 2), q)
    except ValueError as exc:
        raise ParseError(
            f"{m.group(0)!r} is not a date ({exc})", '"invoices between 2026-01-01 and 2026-02-15"'
        ) from exc
    if g["rel"]:
        unit = g["rel_u"].split()[-1]
        step = {"last": -1, "previous": -1, "prior": -1, "next": 1}.get(g["rel"], 0)
        if unit == "week":
            monday = today - timedelta(days=today.weekday()) + timedelta(weeks=step)
            return monday, monday + timedelta(days=6)
        if unit == "month":
            first = _add_months(today.replace(day=1), step)
            return _month(first.year, first.month)
        if unit == "quarter":
            first = _add_months(date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), 3 * step)
            return _quarter(first.year, (first.month - 1) // 3 + 1)
        return date(today.year + step, 1, 1), date(today.year + step, 12, 31)
    if g["roll_u"]:
        n = g["roll_n"] or "1"
        count = int(n) if n.isdigit() else _WORD_NUMBERS[n]
        unit = g["roll_u"].rstrip("s")
        if unit == "day":
            start = today - timedelta(days=count - 1)
        elif unit == "week":
            start = today - timedelta(days=7 * count - 1)
        else:
            start = _add_months(today, -count * (12 if unit == "year" else 1)) + timedelta(days=1)
        return start, today
    if g["ago_u"]:
        count = int(g["ago_n"]) if g["ago_n"].isdigit() else _WORD_NUMBERS[g["ago_n"]]
        unit = g["ago_u"].rstrip("s")
        if unit in ("day", "week"):
            d = today - timedelta(days=count * (7 if unit == "week" else 1))
        else:
            d = _add_months(today, -count * (12 if unit == "year" else 1))
        return d, d
    if g["todate"]:
        unit = g["todate"][0]
        if unit == "y":
            return date(today.year, 1, 1), today
        if unit == "m":
            return today.replace(day=1), today
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    if g["day"]:
        d = today if g["day"] == "today" else today - timedelta(days=1)
        return d, d
    if g["startof"]:
        unit = g["startof"]
        if unit == "week":
            d = today - timedelta(days=today.weekday())
        elif unit == "month":
            d = today.replace(day=1)
        elif unit == "quarter":
            d = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        else:
            d = date(today.year, 1, 1)
        return d, d
    year = int(g["year"])
    return date(year, 1, 1), date(year, 12, 31)


# ---------------------------------------------------------------------------------------------- amounts
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


def _amount_text(value: Decimal) -> str:
    return format(value, "f")


# ---------------------------------------------------------------------------------------------- words
def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_LEAD = (
    r"^(?:(?:please|pls|kindly|can\s+you|could\s+you|would\s+you|will\s+you|go\s+ahead\s+and|i\s+want\s+to|"
    r"i'd\s+like\s+to|i\s+need\s+to|we\s+need\s+to|let's|lets|now|and|then|also|ok|okay),?\s+)*"
)
_DESTRUCTIVE = _re(
    r"\b(?:delete|deleting|deleted\s+(?:it|them)|remove|removing|erase|purge|drop|truncate|destroy|wipe|"
    r"deactivate|inactivate|disable|archive|write\s*-?\s*off|refund|reverse|undo)\b"
)
_VOID_VERB = _re(
    _LEAD + r"(?:void|cancel|reverse)\b|\bto\s+(?:void|cancel)\b|"
    r"\b(?:void|cancel)\s+(?:the|this|that|it|them|an?|invoice\s*(?:#|no|number|\d)|bill\s*(?:#|no|number|\d)|#)"
)
_MODIFY = _re(
    _LEAD + r"(?:update|edit|modify|change|rename|merge|mark|apply|pay|settle|close|reopen|adjust|assign)\b"
)
_CREATE = _re(
    r"\b(?:create|raise|draft|issue|prepare|make|add|enter|record|generate|write|set\s+up|new|start|open\s+up)"
    r"\b(?:\s+(?:me|us|up|out|a|an|the|new|draft|another|one|single)\b)*\s+(?P<ent>invoice|bill)\b"
    r"|^(?P<verb>invoice)\s+" + _MASK
)
_DOC = _re(
    r"\b(?P<ent>invoice|bill)(?:s?\s*(?:#|no\.?|num(?:ber)?\.?)\s*|\s+)(?P<doc>[a-z0-9][a-z0-9/_.-]*)(?=[\s?.!,;:]|$)"
    r"|(?:^|\s)#\s*(?P<hash>[a-z0-9][a-z0-9/_.-]*)(?=[\s?.!,;:]|$)"
)
_ID = _re(r"\b(?:qbo\s+)?id\s*(?:#|:|=|is|of)?\s*(?P<id>\d{1,20})\b")
_REALM = _re(r"\b(?:in\s+|for\s+)?(?:realm|company)(?:\s+id)?\s*(?:#|:)?\s*(?P<realm>\d{1,20})\b")
_PAGE_SIZE = _re(
    r"\b(?:top|first|limit(?:\s+to)?|only)\s+(?P<n>\d{1,5})\b"
    r"|^(?:show|list|get|give|find)\s+(?:me\s+|us\s+)?(?:the\s+)?(?P<m>\d{1,5})\s+(?=(?:invoices|bills|payments|customers)\b)"
)
_PAGE = _re(r"\bpage\s+(?P<n>\d{1,5})\b")

_PAYMENT_NOUN = _re(r"\bpayments?\b")
_INVOICE = _re(r"\b(?:invoic(?:e|es|ed|ing)|billed|sales|revenue|receivables?|a/r)\b")
_BILL = _re(r"\b(?:bills?|payables?|a/p|expenses)\b")
_WE_PAY = _re(r"\b(?:we|i)\s+(?:paid|pay)\b")
_WE_SPEND = _re(r"\b(?:we|i)\s+(?:spent|spend)\b|\bspending\b")
_WE_OWE = _re(r"\b(?:we|i)\s+(?:still\s+)?(?:owe|owed)\b")
_OWES_US = _re(
    rf"\bowes?\s+us\b|\bwho\s+(?:still\s+)?owes\b|\b(?:does|do|did)\s+{_MASK}+\s+(?:still\s+)?owe\b|\bowed\s+to\s+us\b|\b(?:is|are)\s+owed\b"
)
_PAY_VERB = _re(
    rf"\b(?:paid|pay|pays)\s+us\b|\b(?:did|has|have|had)\s+{_MASK}+\s+(?:\w+\s+)?(?:pay|paid)\b|{_MASK}\s+paid\b|"
    r"\b(?:received|receive|collected|collect|receipts?|came\s+in|brought\s+in)\b"
)
_CUSTOMERS = _re(r"\b(?:customers|clients)\b")
_CUSTOMER = _re(r"\b(?:customer|client)\b")
_DETAILS = _re(
    r"\b(?:details?|info|information|contact|email|e-mail|phone|address|profile|about|who\s+is|look\s+up|"
    r"lookup|balance)\b"
)
_VENDOR = _re(r"\b(?:vendors?|suppliers?)\b")
_COUNT = _re(r"\bhow\s+many\b|\bcount\b|\bnumber\s+of\b|\bno\.\s+of\b")
_SUM = _re(r"\bhow\s+much\b|\btotal\b|\bsum\b|\badd\s+up\b|\baltogether\b|\bin\s+all\b")
_STATUSES: list[tuple[str, re.Pattern[str]]] = [
    ("voided", _re(r"\b(?:voided|void|cancell?ed)\b")),
    ("overdue", _re(r"\b(?:overdue|past[\s-]due|late|delinquent|in\s+arrears)\b")),
    (
        "unpaid",
        _re(
            r"\b(?:unpaid|outstanding|owing|owed|owes?|unsettled|due|not(?:\s+yet)?\s+(?:been\s+)?(?:fully\s+)?paid|"
            r"(?:has|have|is|are|was|were)n'?t\s+(?:yet\s+)?(?:been\s+)?paid|(?:has|have|is|are)\s+not\s+(?:yet\s+)?(?:been\s+)?paid)\b"
        ),
    ),
    ("open", _re(r"\bopen\b")),
    ("paid", _re(r"\b(?:paid|settled|closed)\b")),
]
_NAME_CUE = re.compile(
    r"(?:^|\s)(?:for|from|by|to|with|of|about|customer|client|vendor|supplier|named|called)\s+$",
    re.IGNORECASE,
)
_DESCRIPTION = _re(r"\b(?:for|description|memo|note|re|covering|regarding)\b:?\s+")
_TRAILING = re.compile(
    r"(?:\s+(?:in|on|during|for|from|at|of|dated|due|and|with|to|the|a|an))+$", re.IGNORECASE
)


@dataclass
class _Text:
    """The question as typed (normalised), folded for matching, and folded with the used spans masked."""

    original: str
    folded: str
    index: list[int]
    masked: list[str]

    @classmethod
    def of(cls, text: str) -> _Text:
        original = _normalise(text)
        folded, index = _fold(original)
        return cls(original, folded, index, list(folded))

    @property
    def m(self) -> str:
        return "".join(self.masked)

    def used(self, start: int, end: int) -> bool:
        return any(c == _MASK for c in self.masked[start:end])

    def mask(self, start: int, end: int) -> None:
        self.masked[start:end] = [_MASK] * (end - start)

    def orig(self, start: int, end: int) -> str:
        """The original characters a folded span came from (a typed doc number keeps its case)."""
        return self.original[self.index[start] : self.index[end - 1] + 1] if end > start else ""

    def orig_unmasked(self, start: int, end: int) -> str:
        kept = sorted({self.index[i] for i in range(start, end) if self.masked[i] != _MASK})
        return re.sub(r"\s+", " ", "".join(self.original[i] for i in kept)).strip()


# ---------------------------------------------------------------------------------------------- parser
class RuleParser:
    """The default `IntentParser`: keywords, names from a `NameIndex`, dates relative to `today`."""

    def __init__(self, names: NameIndex | None = None) -> None:
        self.names = names or NameIndex()

    def parse(self, text: str, today: date) -> QboIntent:
        if not text or not text.strip():
            raise ParseError("the question is empty")
        if len(text) > 1000:
            raise ParseError("the question is over 1,000 characters")
        t = _Text.of(text)
        name = self._name(t)
        m = t.m
        if _DESTRUCTIVE.search(m) or _VOID_VERB.search(m):
            raise ParseError(
                "destructive operations (delete, void, deactivate, remove) are not available: "
                "QBO records are only read here, and new invoices and bills only drafted for approval"
            )
        if _MODIFY.search(m) and not _CREATE.search(m):
            raise ParseError(
                "changing existing records is not available: "
                "ask to see them, or to draft a new invoice or bill"
            )
        create = _CREATE.search(m)
        date_from, date_to = self._dates(t, today)
        doc, doc_entity, qbo_id = (None, None, None) if create else self._doc(t)
        size, start, realm = self._page(t)
        amount_min, amount_max, exact = self._amounts(t)
        m = t.m
        if create:
            return self._create(t, create, name, exact, amount_min, realm)
        operation, status = self._operation(m, name, doc_entity, qbo_id)
        leftover = re.search(r"(?<![\w.])\d[\d,.]*(?![\w])", m)
        if leftover:
            raise ParseError(f"not sure what {leftover.group(0)!r} means here (an amount? a date? a number?)")
        aggregate = None
        if not operation.startswith("GET_"):
            aggregate = "count" if _COUNT.search(m) else "sum" if _SUM.search(m) else None
        if status is None and not operation.startswith("GET_"):
            status = next((s for s, pattern in _STATUSES if pattern.search(m)), None)
            if status == "paid" and operation == "LIST_PAYMENTS":
                status = None
        if operation == "LIST_CUSTOMERS" and status:  # "which customers are overdue": their invoices are
            operation = "LIST_INVOICES"
        filters: dict[str, Any] = {
            "status": status,
            "date_from": date_from,
            "date_to": date_to,
            "doc_number": doc,
            "qbo_id": qbo_id,
        }
        if exact is not None:
            amount_min = amount_max = exact
        filters |= {"amount_min": amount_min, "amount_max": amount_max}
        operation, status = self._assign(operation, name, filters)
        if status:
            filters["status"] = status
        payload: dict[str, Any] = {
            "operation": operation,
            "filters": {k: v for k, v in filters.items() if v is not None},
            "aggregate": aggregate,
            "realm_id": realm,
        }
        if size or start:
            payload["page"] = {"size": size or 100, "start": ((start or 1) - 1) * (size or 100) + 1}
        return _validated(payload)

    # -- names
    def _name(self, t: _Text) -> NameMatch | None:
        """Known names first (exact, then quoted, then fuzzy); an unknown capitalised name is refused."""
        exact = self.names._exact(t.folded, [False] * len(t.folded))
        if exact:
            t.mask(exact[0].start, exact[0].end)
            return exact[0]
        quoted = re.search(r"\"([^\"]{1,100})\"|(?:(?<=\s)|^)'([^']{1,100})'(?=[\s.,?!;:]|$)", t.folded)
        if quoted:
            s, e = quoted.span(1) if quoted.group(1) else quoted.span(2)
            typed = t.orig(s, e).strip()
            if typed:
                t.mask(quoted.start(), quoted.end())
                kinds = self.names.kinds(typed) or frozenset({CUSTOMER, VENDOR})
                return NameMatch(self.names.display(typed) or typed, kinds, s, e)
        fuzzy = self.names._fuzzy(t.folded, [False] * len(t.folded))
        if fuzzy:
            t.mask(fuzzy[0].start, fuzzy[0].end)
            return fuzzy[0]
        unknown = self._capitalised(t)
        if unknown is None:
            return None
        s, e, typed = unknown
        if len(self.names):
            hint = self.names.suggest(typed)
            raise ParseError(
                f"no customer or vendor named {typed!r} is known"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + "; put a name in double quotes to use it exactly as written",
            )
        t.mask(s, e)
        return NameMatch(typed, frozenset({CUSTOMER, VENDOR}), s, e)

    @staticmethod
    def _capitalised(t: _Text) -> tuple[int, int, str] | None:
        """Capitalised words after "for", "from", "customer"... or before "'s": a name not in the index."""
        words = list(re.finditer(r"\S+", t.original))
        folded_start = {i: j for j, i in reversed(list(enumerate(t.index)))}
        did = re.search(r"\b(?:did|has|have)\s+(.+?)\s+(?:pay|paid)\b", t.original, re.IGNORECASE)
        if did and did.group(1)[:1].isupper() and did.group(1).lower() not in ("we", "i", "you", "they"):
            s, e = did.span(1)
            return folded_start[s], folded_start[e - 1] + 1, did.group(1).strip("\"'")
        for k, word in enumerate(words):
            cue = _NAME_CUE.search(t.original[: word.start()])
            possessive = word.group(0).endswith("'s")
            if not (cue or possessive) or not word.group(0)[:1].isupper():
                continue
            run = [word]
            while not run[-1].group(0).endswith(("'s", ",", "?", ".", "!")) and k + len(run) < len(words):
                nxt = words[k + len(run)]
                token = nxt.group(0)
                follows = k + len(run) + 1 < len(words) and words[k + len(run) + 1].group(0)[:1].isupper()
                if token[:1].isupper() or (token in ("&", "and", "of", "the", "de", "-") and follows):
                    run.append(nxt)
                else:
                    break
            typed = t.original[run[0].start() : run[-1].end()].rstrip(",?.!").removesuffix("'s")
            if (
                not typed
                or fold(typed.split()[0]) in _STOP
                or re.fullmatch(r"q[1-4]", fold(typed.split()[0]))
            ):
                continue
            if not possessive and not cue:
                continue
            s = folded_start[run[0].start()]
            return s, s + len(fold(typed)), typed
        return None

    # -- dates, numbers, amounts
    def _dates(self, t: _Text, today: date) -> tuple[date | None, date | None]:
        m = t.m
        spans: list[tuple[re.Match[str], int]] = []
        for match in _PERIOD.finditer(m):
            start = match.start("year") if match.group("year") else match.start()
            bare_may = match.group("mdy_m") == "may" and not (match.group("mdy_d") or match.group("mdy_y"))
            if bare_may and not re.search(
                r"(?:^|\s)(?:in|of|during|since|from|before|after|until)\s+$", m[:start]
            ):
                continue  # "may I see...": a verb, not the month
            spans.append((match, start))
        date_from: date | None = None
        date_to: date | None = None
        i = 0
        while i < len(spans):
            match, start = spans[i]
            lo, hi = _period(match, today)
            end = match.end()
            prep_m = _DATE_PREP.search(m[:start]) if not match.group("year") else None
            prep = re.sub(r"\s+", " ", prep_m.group("p")) if prep_m else (match.group("year_p") or "")
            if i + 1 < len(spans) and _RANGE_GAP.fullmatch(m[end : spans[i + 1][1]]):
                nxt, _ = spans[i + 1]
                hi = _period(nxt, today)[1]
                end = nxt.end()
                i += 1
                prep = "between"
            if prep in ("since", "as of", "on or after") or prep.startswith("starting"):
                hi = today
            elif prep == "after":
                lo, hi = hi + timedelta(days=1), None
            elif prep in ("before", "prior to"):
                lo, hi = None, lo - timedelta(days=1)
            elif prep in (
                "until",
                "till",
                "through",
                "thru",
                "up to",
                "up until",
                "on or before",
                "by",
                "no later than",
            ):
                lo = None
            if lo and (date_from is None or lo > date_from):
                date_from = lo
            if hi and (date_to is None or hi < date_to):
                date_to = hi
            t.mask(prep_m.start("p") if prep_m else start if not match.group("year") else match.start(), end)
            i += 1
        if date_from and date_to and date_from > date_to:
            raise ParseError(f"the dates do not overlap ({date_from} is after {date_to})")
        return date_from, date_to

    @staticmethod
    def _doc(t: _Text) -> tuple[str | None, str | None, str | None]:
        m = t.m
        qbo_id = None
        found = _ID.search(m)
        if found:
            qbo_id = found.group("id")
            t.mask(*found.span())
        m = t.m
        doc = entity = None
        for found in _DOC.finditer(m):
            group = "doc" if found.group("doc") else "hash"
            value = found.group(group).rstrip(".")
            if not re.search(r"\d", value):
                continue
            doc, entity = t.orig(found.start(group), found.start(group) + len(value)), found.group("ent")
            t.mask(found.start(group), found.start(group) + len(value))
            break
        return doc, entity, qbo_id

    @staticmethod
    def _page(t: _Text) -> tuple[int | None, int | None, str | None]:
        size = start = realm = None
        found = _REALM.search(t.m)
        if found:
            realm = found.group("realm")
            t.mask(*found.span())
        found = _PAGE_SIZE.search(t.m)
        if found:
            group = "n" if found.group("n") else "m"
            size = int(found.group(group))
            t.mask(found.start() if group == "n" else found.start(group), found.end(group))
        found = _PAGE.search(t.m)
        if found:
            start = int(found.group("n"))
            t.mask(*found.span())
        return size, start, realm

    @staticmethod
    def _amounts(t: _Text) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
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

    # -- operation
    def _operation(
        self, m: str, name: NameMatch | None, doc_entity: str | None, qbo_id: str | None
    ) -> tuple[str, str | None]:
        if doc_entity == "invoice" or (qbo_id and _INVOICE.search(m)):
            return "GET_INVOICE", None
        if doc_entity == "bill" or (qbo_id and _BILL.search(m)):
            return "LIST_BILLS", None  # there is no GET_BILL: a bill's number filters the list
        if qbo_id and (_CUSTOMER.search(m) or _CUSTOMERS.search(m)):
            return "GET_CUSTOMER", None
        if doc_entity:  # a bare "#1043"
            return "GET_INVOICE", None
        if qbo_id:
            raise ParseError(
                f"an id ({qbo_id}) but not of what: say invoice or customer",
                '"invoice id 145", "customer id 58"',
            )
        if _PAYMENT_NOUN.search(m):
            return "LIST_PAYMENTS", None
        if _INVOICE.search(m):
            return "LIST_INVOICES", None
        if _BILL.search(m):
            return "LIST_BILLS", None
        if _WE_PAY.search(m):
            return "LIST_BILLS", "paid"
        if _WE_SPEND.search(m):
            return "LIST_BILLS", None
        if _WE_OWE.search(m):
            return "LIST_BILLS", "unpaid"
        if _OWES_US.search(m):
            return "LIST_INVOICES", "unpaid"
        if _PAY_VERB.search(m):
            return "LIST_PAYMENTS", None
        if _CUSTOMERS.search(m) and not name:
            return "LIST_CUSTOMERS", None
        if name or _CUSTOMER.search(m):
            if name is None:
                raise ParseError("which customer? no known customer name was found", '"customer Acme Corp"')
            return "GET_CUSTOMER", None
        if _VENDOR.search(m):
            raise ParseError(
                "vendors can not be listed here: ask about their bills", '"unpaid bills from Staples"'
            )
        raise ParseError("could not tell what to look up (invoices, bills, payments or customers)")

    @staticmethod
    def _assign(operation: str, name: NameMatch | None, filters: dict[str, Any]) -> tuple[str, str | None]:
        """Put the name in the field the operation reads; a vendor's "invoices" are bills in QBO."""
        status = None
        if name is None:
            return operation, status
        vendor_only = name.kinds == {VENDOR}
        customer_only = name.kinds == {CUSTOMER}
        if vendor_only and operation == "LIST_INVOICES":
            operation = "LIST_BILLS"
        elif vendor_only and operation == "LIST_PAYMENTS":  # what we paid a vendor: its paid bills
            operation, status = "LIST_BILLS", "paid"
        elif vendor_only and operation == "GET_CUSTOMER":
            raise ParseError(
                f"{name.name!r} is a vendor, and vendor details are not available: ask about its bills",
                f'"unpaid bills from {name.name}"',
            )
        if operation == "LIST_CUSTOMERS":
            operation = "GET_CUSTOMER"
        if operation == "LIST_BILLS":
            if customer_only:
                raise ParseError(
                    f"{name.name!r} is a customer, and bills come from vendors: ask about its invoices",
                    f'"invoices for {name.name}"',
                )
            filters["vendor_name"] = name.name
        elif operation != "GET_INVOICE" or not (filters.get("doc_number") or filters.get("qbo_id")):
            filters["customer_name"] = name.name
        return operation, status

    def _create(
        self,
        t: _Text,
        create: re.Match[str],
        name: NameMatch | None,
        exact: Decimal | None,
        amount_min: Decimal | None,
        realm: str | None,
    ) -> QboIntent:
        bill = create.group("ent") == "bill"
        who, field = ("vendor", "vendorName") if bill else ("customer", "customerName")
        whom = "a bill from Staples" if bill else "an invoice for Acme Corp"
        example = f'"create {whom} for $500 for consulting"'
        if name is None:
            raise ParseError(
                f"which {who} is the {'bill' if bill else 'invoice'} for? no known name was found", example
            )
        if bill and name.kinds == {CUSTOMER}:
            raise ParseError(f"{name.name!r} is a customer: bills come from vendors", example)
        if not bill and name.kinds == {VENDOR}:
            raise ParseError(f"{name.name!r} is a vendor: invoices go to customers", example)
        amount = exact
        if amount is None:  # "for 500" without a currency sign is still the amount of a new invoice
            bare = re.search(
                r"(?<![\w.,])(?:for|of)\s+(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\w.,])", t.m
            )
            numbers = list(
                re.finditer(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\w.,])", t.m)
            )
            if bare or len(numbers) == 1:  # "invoice Acme Corp 500": the one number there is
                found = bare or numbers[0]
                amount = Decimal(found.group(1).replace(",", ""))
                t.mask(*found.span())
        if amount is None or amount_min is not None:
            raise ParseError(
                f"how much is the {'bill' if bill else 'invoice'} for? no single amount was found", example
            )
        if amount <= 0:
            raise ParseError("the amount must be more than zero", example)
        record: dict[str, Any] = {field: name.name, "amount": _amount_text(amount)}
        description = self._description(t, create.end())
        if description:
            record["description"] = description
        return _validated(
            {"operation": "CREATE_BILL" if bill else "CREATE_INVOICE", "record": record, "realm_id": realm}
        )

    @staticmethod
    def _description(t: _Text, after: int) -> str | None:
        """What the invoice is for: the words after the last "for"/"memo" that are not the name or amount."""
        m = t.m
        cues = [c for c in _DESCRIPTION.finditer(m) if c.start() >= after]
        for cue in reversed(cues):
            text = t.orig_unmasked(cue.end(), len(m))
            text = _TRAILING.sub("", text.strip(" \"'.,;:!?")).strip(" \"'.,;:!?")
            if text and re.search(r"[^\W\d_]", text):
                return text[:4000]
        return None


def _validated(payload: dict[str, Any]) -> QboIntent:
    try:
        return QboIntent.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'intent'}: {e['msg']}" for e in exc.errors()
        )
        raise ParseError(f"the question reads as an invalid request ({problems})") from exc


# ---------------------------------------------------------------------------------------------- llm
_PROMPT = """You translate a question about a QuickBooks Online company into one JSON object.
Answer with the JSON object only, no prose and no code fence. It must validate against this JSON schema:

{schema}

Rules: today is {today}; turn relative dates ("last month", "this quarter") into date_from/date_to as
ISO dates. Use only the operations in the schema. If the question asks to delete, void, deactivate or
change a record, or cannot be answered with the schema, answer {{"error": "<what is not possible>"}}.
Names are data: copy them exactly as written into customer_name or vendor_name.

Question: {question}
"""


class LlmParser:
    """An `IntentParser` for free-form questions: a provider's completion, validated as strictly as the rules.

    `complete` sends a prompt and returns the provider's text; no SDK is imported here, so the provider,
    its key and its retries stay with the caller. Whatever comes back must validate as a `QboIntent`.
    """

    def __init__(self, complete: Callable[[str], str]) -> None:
        self.complete = complete

    @staticmethod
    def prompt(text: str, today: date) -> str:
        schema = json.dumps(QboIntent.model_json_schema(), indent=1, sort_keys=True)
        return _PROMPT.format(schema=schema, today=today.isoformat(), question=text.strip())

    def parse(self, text: str, today: date) -> QboIntent:
        if not text or not text.strip():
            raise ParseError("the question is empty")
        answer = self.complete(self.prompt(text, today)).strip()
        fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", answer, re.DOTALL)
        answer = fenced.group(1) if fenced else answer
        try:
            refusal = json.loads(answer)
        except ValueError as exc:
            raise ParseError(f"the model's answer is not JSON ({exc.msg})") from exc
        if isinstance(refusal, dict) and set(refusal) == {"error"}:
            raise ParseError(f"the model could not answer: {refusal['error']}")
        try:
            intent = QboIntent.model_validate_json(answer)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ParseError(f"the model's answer is not a valid request ({problems})") from exc
        return intent
