"""A queue as a page: the filters a reviewer set, the rows they see, and the bulk actions on them.

Filters travel in the query string (a page can be bookmarked and shared) and are parsed leniently: a
bad number is ignored with a note rather than answered with an error page.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from pipelines.store.review import KINDS, MAX_PAGE, SORTS
from service.review import format as fmt
from service.review.auth import Session

PAGE_SIZE = 50
BULK_MAX = 500
NOUNS = {"void": "void", "deactivate": "deactivation", "push": "push", "pull": "pull", "review": "conflict"}
QUEUE_NOUNS = {
    "conflict": "field",
    "drift": "field",
    "candidate": "match",
    "approval": "entry",
    "issue": "issue",
}
# (kind, choice) -> how a bulk button says it, for `count` entries of `noun`
BULK_VERBS = {
    ("resolve", "platform"): "Keep the platform's value for all {count} {noun} shown",
    ("resolve", "qbo"): "Keep QuickBooks' value for all {count} {noun} shown",
    ("confirm", None): "Confirm all {count} {noun} shown",
    ("reject_match", None): "Reject all {count} {noun} shown",
    ("approve", None): "Approve all {count} {noun} shown",
    ("reject", None): "Reject all {count} {noun} shown",
    ("acknowledge", None): "Acknowledge all {count} {noun} shown",
}
KIND_WORDS = {
    ("resolve", "platform"): "keep the platform's value",
    ("resolve", "qbo"): "keep QuickBooks' value",
    ("resolve", "value"): "enter the value",
    ("resolve", None): "resolve",
    ("confirm", None): "confirm the match",
    ("reject_match", None): "reject the match",
    ("approve", None): "approve",
    ("reject", None): "reject",
    ("acknowledge", None): "acknowledge",
}

_FIELD_COLUMNS = [
    ("record", "Record", "w18"),
    ("party", "Customer or vendor", "w12"),
    ("field", "Field", "w10"),
    ("platform", "Platform", "w14"),
    ("qbo", "QuickBooks", "w14"),
    ("action", "Action", "w8"),
    ("amount", "Amount", "w9"),
    ("changed", "Changed", "w8"),
    ("decided", "Decided", "w7"),
]
# each queue's table: (cell, heading, width class); widths add up to 100% so nothing scrolls sideways
COLUMNS = {
    "conflict": _FIELD_COLUMNS,
    "drift": _FIELD_COLUMNS,
    "candidate": [
        ("record", "Record", "w18"),
        ("party", "Customer or vendor", "w12"),
        ("platform", "Platform record", "w14"),
        ("qbo", "QuickBooks record", "w14"),
        ("score", "Score", "w6"),
        ("matched", "Matched on", "w13"),
        ("amount", "Amount", "w9"),
        ("changed", "Changed", "w7"),
        ("decided", "Decided", "w7"),
    ],
    "approval": [
        ("record", "Record", "w24"),
        ("party", "Customer or vendor", "w18"),
        ("operation", "Operation", "w10"),
        ("amount", "Amount", "w12"),
        ("changed", "Changed", "w10"),
        ("realm", "Company", "w10"),
        ("decided", "Decided", "w16"),
    ],
    "issue": [
        ("record", "Record", "w20"),
        ("issue", "Issue", "w18"),
        ("detail", "Detail", "w32"),
        ("changed", "Changed", "w10"),
        ("realm", "Company", "w8"),
        ("decided", "Decided", "w12"),
    ],
}
SORTABLE = {"record": "label", "amount": "amount", "changed": "changed"}


def kind_words(kind: str | None, choice: str | None = None) -> str:
    return KIND_WORDS.get((kind or "", choice)) or KIND_WORDS.get((kind or "", None)) or (kind or "")


@dataclass
class Filters:
    tenant: str = ""
    entity: str = ""
    realm: str = ""
    action: str = ""
    q: str = ""
    older: int | None = None
    min: Decimal | None = None
    sort: str = "changed"
    dir: str = "desc"
    page: int = 1
    notes: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        f = cls(**{k: params.get(k, "").strip()[:200] for k in ("tenant", "entity", "realm", "action", "q")})
        if params.get("sort") in SORTS:
            f.sort = params["sort"]
        if params.get("dir") in ("asc", "desc"):
            f.dir = params["dir"]
        older, minimum, page = params.get("older", ""), params.get("min", ""), params.get("page", "")
        if older.strip():
            if older.strip().isdigit() and int(older) <= 36500:
                f.older = int(older)
            else:
                f.notes.append(f"'older than' takes a number of days; {older!r} was ignored")
        if minimum.strip():
            amount = fmt.decimal_of(minimum.replace(",", "").replace("$", "").strip())
            if amount is None:
                f.notes.append(f"'minimum amount' takes a number; {minimum!r} was ignored")
            f.min = amount
        if page.isdigit() and 0 < int(page) < 100_000:
            f.page = int(page)
        return f

    def params(self, **overrides: Any) -> dict[str, str]:
        """The filters as query parameters (defaults left out), with some changed."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "notes"} | overrides
        defaults = {"sort": "changed", "dir": "desc", "page": 1}
        return {k: str(v) for k, v in values.items() if v not in (None, "") and defaults.get(k) != v}

    def url(self, base: str, **overrides: Any) -> str:
        query = urlencode(self.params(**overrides))
        return f"{base}?{query}" if query else base

    def sort_url(self, base: str, column: str) -> str:
        """Sorting by a column: descending first, then flipping."""
        flip = "asc" if self.sort == column and self.dir == "desc" else "desc"
        return self.url(base, sort=column, dir=flip, page=1)

    def tenants(self, session: Session) -> Collection[str] | None:
        if self.tenant:
            return [self.tenant] if session.may(self.tenant) else []
        return session.scope

    def store_kwargs(self) -> dict[str, Any]:
        return {
            "entity": self.entity or None,
            "realm_id": self.realm or None,
            "action": self.action or None,
            "search": self.q or None,
            "min_amount": self.min,
            "older_than_days": self.older,
            "sort": self.sort,
            "descending": self.dir == "desc",
        }

    @property
    def active(self) -> bool:
        return any((self.tenant, self.entity, self.realm, self.action, self.q, self.older, self.min))


def page_of(review: Any, session: Session, queue: str, filters: Filters) -> tuple[list[dict[str, Any]], int]:
    return review.entries(  # type: ignore[no-any-return]
        filters.tenants(session), queue, **filters.store_kwargs(), page=filters.page, page_size=PAGE_SIZE
    )


def everything(
    review: Any, session: Session, queue: str, filters: Filters, limit: int = BULK_MAX
) -> list[Any]:
    """Every entry the filters match (up to `limit`): what a bulk action acts on, not only this page."""
    rows: list[dict[str, Any]] = []
    page = 1
    while len(rows) < limit:
        batch, total = review.entries(
            filters.tenants(session), queue, **filters.store_kwargs(), page=page, page_size=MAX_PAGE
        )
        rows += batch
        if not batch or len(rows) >= total:
            break
        page += 1
    return rows[:limit]


def options(counts: list[dict[str, Any]], queue: str) -> dict[str, list[str]]:
    """What the filters can choose from in this queue: the tenants, realms, entities and actions in it."""
    mine = [row for row in counts if row["queue"] == queue]
    return {
        key: sorted({str(row[column]) for row in mine if row[column]})
        for key, column in (
            ("tenants", "tenant_id"),
            ("realms", "realm_id"),
            ("entities", "entity"),
            ("actions", "action"),
        )
    }


def bulk_actions(queue: str, filters: Filters, total: int) -> list[dict[str, str]]:
    """The buttons of a bulk action on the filtered queue, each leading to its confirmation."""
    noun = fmt.plural(NOUNS.get(filters.action, QUEUE_NOUNS.get(queue, "entry")), total)
    out = []
    for kind in KINDS.get(queue, ()):
        for choice in ("platform", "qbo") if kind == "resolve" else (None,):
            label = BULK_VERBS[(kind, choice)].format(count=f"{total:,}", noun=noun)
            url = filters.url(f"/review/queue/{queue}/bulk", kind=kind, choice=choice or "", page=1)
            out.append({"label": label, "url": url, "kind": kind})
    return out


def standing_index(decisions: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Standing decisions by the key of the entry they are on (the newest wins)."""
    index: dict[tuple[Any, ...], dict[str, Any]] = {}
    for d in sorted(decisions, key=lambda d: d["id"]):
        if d.get("revoked_at") is None:
            key = (d["tenant_id"], d["entity"], d["platform_id"] or "", d["qbo_id"], d["field"], d["kind"])
            index[key] = d
    return index


def standing_on(index: dict[tuple[Any, ...], dict[str, Any]], entry: dict[str, Any]) -> dict[str, Any] | None:
    base = (entry["tenant_id"], entry["entity"], entry.get("platform_id") or "", entry.get("qbo_id"))
    found = [index.get((*base, entry.get("field"), kind)) for kind in KINDS.get(entry["queue"], ())]
    found = [d for d in found if d is not None]
    return max(found, key=lambda d: d["id"]) if found else None
