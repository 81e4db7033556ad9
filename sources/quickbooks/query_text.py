"""The literals of QBO's query language, apart from the HTTP client so that a reader that only writes
queries (the ask path) does not load it."""

from __future__ import annotations


def quote(value: str) -> str:
    """A QBO query string literal: backslash-escaped (`'Amy\\'s Bird Sanctuary'`)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
