"""Identifiers in a question: a document number ("invoice #1043"), a QBO id ("id 145"), a realm.

A document number is kept as typed (QBO's DocNumber is case-sensitive) and must hold a digit, so
"invoice for Acme" is not invoice number "for"; which entity it numbers ("invoice", "bill", a bare "#")
tells the rule parser what to get.
"""

from __future__ import annotations

import re

from pipelines.ask.folded_text import MaskedText

_DOC = re.compile(
    r"\b(?P<ent>invoice|bill)(?:s?\s*(?:#|no\.?|num(?:ber)?\.?)\s*|\s+)(?P<doc>[a-z0-9][a-z0-9/_.-]*)(?=[\s?.!,;:]|$)"
    r"|(?:^|\s)#\s*(?P<hash>[a-z0-9][a-z0-9/_.-]*)(?=[\s?.!,;:]|$)"
)
_ID = re.compile(r"\b(?:qbo\s+)?id\s*(?:#|:|=|is|of)?\s*(?P<id>\d{1,20})\b")
_REALM = re.compile(r"\b(?:in\s+|for\s+)?(?:realm|company)(?:\s+id)?\s*(?:#|:)?\s*(?P<realm>\d{1,20})\b")


def take_document(t: MaskedText) -> tuple[str | None, str | None, str | None]:
    """The document number as typed, the entity it numbers, and a QBO id, masked."""
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


def take_realm(t: MaskedText) -> str | None:
    """The realm (QBO company) id asked about, "in realm 9130..." or "company 9130...", masked."""
    found = _REALM.search(t.m)
    if not found:
        return None
    t.mask(*found.span())
    return found.group("realm")
