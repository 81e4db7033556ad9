"""Company time: QBO stamps MetaData in the company's local offset, which moves with daylight saving."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TZ = "America/Los_Angeles"  # Intuit's sandbox companies are US Pacific


def format_meta(ts: float, tz: str = DEFAULT_TZ) -> str:
    """`2015-10-01T16:54:59-07:00`: seconds precision, company offset (as MetaData on the wire)."""
    return datetime.fromtimestamp(int(ts), ZoneInfo(tz)).isoformat()


def format_server_time(tz: str = DEFAULT_TZ) -> str:
    """`2020-09-29T06:03:53.438-07:00`: the `time` member of every envelope, with milliseconds."""
    return datetime.now(ZoneInfo(tz)).isoformat(timespec="milliseconds")


def company_today(tz: str = DEFAULT_TZ) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def parse_instant(text: str, tz: str = DEFAULT_TZ) -> float:
    """An ISO date or datetime as epoch seconds; naive values are company-local, as QBO reads them.

    Raises ValueError for anything else, so callers can turn it into the right fault.
    """
    value = text.strip()
    if len(value) == 10:
        day = date.fromisoformat(value)
        return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).timestamp()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":" and value[-4:].isdigit():
        value = value[:-2] + ":" + value[-2:]  # -0700 (older webhook style) -> -07:00
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed.timestamp()


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)
