"""Money owed, defined once for the QBO query and the warehouse SQL, as the finance marts define it.

Open and unpaid are one thing: something is still owed, `Balance > 0`, whatever the total. Overdue is
money owed past its due date: `Balance > 0` and DueDate before today. Days past due are what
`finance_open_invoices` counts, today minus DueDate (TxnDate when there is none), at least 0, and
the aging buckets are `finance_ar_aging`'s (current, 1-30, 31-60, 61-90, over 90): a bucket or a
bound on days is a bound on the due date, computed here in Python and passed as a parameter, so the
SQL is the same on DuckDB and PostgreSQL. Bills (what we owe) read the same way as invoices.

"Today" is the realm's day: a company in Honolulu is not a day late at 10 pm its time because UTC
has moved on. When the realm's timezone is not known, the caller's day is used.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.ask.intent import Filters
from sources.quickbooks.query_text import quote


class Refused(ValueError):
    """The intent cannot be answered as asked; the message says what to change."""


OWED = ("open", "unpaid", "overdue")
# a DueDate QBO leaves empty is the TxnDate, as finance_open_invoices counts it
DUE_SQL = "coalesce(t.due_date, t.txn_date)"


def realm_today(timezone: str | None, fallback: date | None = None) -> date:
    """Today in the realm's timezone (an IANA name, e.g. America/Los_Angeles) when it is known and
    valid, else `fallback`, else today in UTC."""
    if timezone:
        try:
            return datetime.now(ZoneInfo(timezone)).date()
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback or datetime.now(UTC).date()


def is_owed(filters: Filters) -> bool:
    """The question is about money still owed: the status says so, or days past due are asked."""
    return filters.status in OWED or filters.past_due_days != (None, None)


def due_bounds(filters: Filters, today: date) -> tuple[date | None, date | None]:
    """The earliest and latest DueDate the filters allow: days past due and overdue are due dates seen
    from today (N days past due: due on or before today - N)."""
    least, most = filters.past_due_days
    if filters.status == "overdue":
        least = max(least or 1, 1)
    earliest = filters.due_from
    latest = filters.due_to
    if least:
        bound = today - timedelta(days=least)
        latest = bound if latest is None else min(latest, bound)
    if most is not None:
        bound = today - timedelta(days=most)
        earliest = bound if earliest is None else max(earliest, bound)
    return earliest, latest


def money_owed(filters: Filters, today: date) -> tuple[list[str], list[str], list[Any]]:
    """QBO conditions, SQL conditions and their parameters for the owed part of the filters: Balance,
    and the due date from dueFrom/dueTo, overdue, days past due or an aging bucket."""
    qbo: list[str] = []
    sql: list[str] = []
    params: list[Any] = []
    if is_owed(filters):
        qbo.append("Balance > '0'")
        sql.append("t.balance > 0")
    earliest, latest = due_bounds(filters, today)
    if earliest and latest and earliest > latest:
        raise Refused(
            f"no due date is both on or after {earliest} and on or before {latest} (as of {today}): "
            "check the due dates and days past due asked"
        )
    if earliest:
        qbo.append(f"DueDate >= {quote(earliest.isoformat())}")
        sql.append(f"{DUE_SQL} >= ?")
        params.append(earliest)
    if latest:
        qbo.append(f"DueDate <= {quote(latest.isoformat())}")
        sql.append(f"{DUE_SQL} <= ?")
        params.append(latest)
    return qbo, sql, params


def has_due_filter(filters: Filters) -> bool:
    return bool(filters.due_from or filters.due_to) or filters.past_due_days != (None, None)
