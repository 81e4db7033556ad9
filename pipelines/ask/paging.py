"""Paging in a question: "top 10", "show me 25 invoices", "page 2": how many rows, and which page."""

from __future__ import annotations

import re

from pipelines.ask.folded_text import MaskedText

_PAGE_SIZE = re.compile(
    r"\b(?:top|first|limit(?:\s+to)?|only)\s+(?P<n>\d{1,5})\b"
    r"|^(?:show|list|get|give|find)\s+(?:me\s+|us\s+)?(?:the\s+)?(?P<m>\d{1,5})\s+(?=(?:invoices|bills|payments|customers)\b)"
)
_PAGE = re.compile(r"\bpage\s+(?P<n>\d{1,5})\b")


def take_page(t: MaskedText) -> tuple[int | None, int | None]:
    """The page size and the page number (from 1) asked for, masked."""
    size = page = None
    found = _PAGE_SIZE.search(t.m)
    if found:
        group = "n" if found.group("n") else "m"
        size = int(found.group(group))
        t.mask(found.start() if group == "n" else found.start(group), found.end(group))
    found = _PAGE.search(t.m)
    if found:
        page = int(found.group("n"))
        t.mask(*found.span())
    return size, page
