"""Dates in a question, absolute or relative to `today`: "last month", "Q3 2025", "since March 3rd".

Each expression covers a first and a last day; a preposition before it ("since", "before", "until")
opens one end, two joined by "and"/"to" make a range, and several narrow each other. A month without a
year is the most recent one not after today, so "in March" asked in December is this year's March.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from pipelines.ask.folded_text import MaskedText
from pipelines.ask.parse_error import ParseError

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
    |(?:the\s+)?(?:next|coming)\s+(?P<next_n>\d{{1,4}}|{"|".join(_WORD_NUMBERS)})\s+(?P<next_u>days?|weeks?|months?)
    |(?P<day>today|yesterday|tomorrow)
    |(?:the\s+)?(?:start|beginning)\s+of\s+(?:the\s+)?(?:this\s+)?(?P<startof>week|month|quarter|year)
    |(?P<year_p>{_YEAR_PREP})\s+(?:the\s+year\s+)?(?P<year>{_YEAR})
    )(?![\w-])""",
    re.VERBOSE,
)
_DATE_PREP = re.compile(
    r"(?:^|\s)(?P<p>since|after|before|until|till|through|thru|up\s+to|up\s+until|prior\s+to|as\s+of|"
    r"starting(?:\s+(?:from|on|in))?|on\s+or\s+after|on\s+or\s+before|from|between|by|no\s+later\s+than)\s+$"
)
# "due" right before a date (and its preposition): the date is a DueDate
_DUE_CUE = re.compile(
    r"\b(?:due|payable)(?:\s+dates?)?(?:\s+(?:is|are|was|falls?|falling|in|on|during|within|of))*\s+$"
)
# "how much is due on invoices this month": a date with no preposition of its own, after these words
_DUE_VERB = re.compile(r"\b(?:is|are|was|were|falls?|falling|comes?|coming|becomes?)\s+due\b(?!\s+dates?)")
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
    if g["next_u"]:  # from today through the Nth day, week or month ahead
        count = int(g["next_n"]) if g["next_n"].isdigit() else _WORD_NUMBERS[g["next_n"]]
        unit = g["next_u"].rstrip("s")
        if unit == "month":
            return today, _add_months(today, count)
        return today, today + timedelta(days=count * (7 if unit == "week" else 1))
    if g["day"]:
        d = {"today": today, "yesterday": today - timedelta(days=1), "tomorrow": today + timedelta(days=1)}
        return d[g["day"]], d[g["day"]]
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


def take_dates(t: MaskedText, today: date) -> tuple[date | None, date | None]:
    """The transaction date range the question's dates and their prepositions ("since", "before")
    give, masked. Due dates are taken first (`take_due_dates`): what is left is TxnDate's."""
    return _take(t, today, due=False)


def take_due_dates(t: MaskedText, today: date) -> tuple[date | None, date | None]:
    """The due-date range: dates after "due" ("due next week", "due before 2026-12-31", "with a due
    date in March"), masked with the word "due", so the rest of the question does not read them."""
    return _take(t, today, due=True)


def _take(t: MaskedText, today: date, due: bool) -> tuple[date | None, date | None]:
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
        prep_m = _DATE_PREP.search(m[:start]) if not match.group("year") else None
        mask_from = prep_m.start("p") if prep_m else start if not match.group("year") else match.start()
        cue = _DUE_CUE.search(m[:mask_from])
        if due and not cue and (prep_m or not _DUE_VERB.search(m[:mask_from])):
            i += 1
            continue
        if cue:
            mask_from = cue.start()
        lo, hi = _period(match, today)
        end = match.end()
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
        t.mask(mask_from, end)
        i += 1
    if date_from and date_to and date_from > date_to:
        what = "due dates" if due else "dates"
        raise ParseError(f"the {what} do not overlap ({date_from} is after {date_to})")
    return date_from, date_to
