"""Review: what the last transform left for a person to decide, and what people decided.

The transform publishes the review queues (conflicts, drift, candidate matches, approvals, sync issues)
and both sides of each record in them (`publish`), read from the `review_queue` and `review_records`
marts; the console and `qbo review` read them here, never the warehouse. A decision names the entry
it was made on by its key (tenant, entity, platform id, QBO Id, field) and the `version` the person
saw (the values of both sides and QBO's SyncToken, hashed by the marts): when the entry changed since,
the decision is refused with what changed. Decisions are never deleted: a newer one on the same entry
supersedes the older, `revoke` withdraws one, and once a push sent it (`mark_pushed`) it stands. The
transform lands the standing decisions in the warehouse (`standing`), where the marts apply them.
Only the retention job (`prune`) removes final ones (pushed or withdrawn) once they are old.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, and_, delete, false, func, insert, or_, select, update

from pipelines.mapping.rendering import rendered
from pipelines.store.pruning import BATCH, prune_rows
from pipelines.store.schema import (
    review_items,
    review_records,
    review_snapshots,
    sync_decisions,
)
from sources.platform.bounds import MONEY, QUANTITY

QUEUES = ("conflict", "drift", "candidate", "approval", "issue")
# the decisions each queue takes, and the choices a resolution may make
KINDS = {
    "conflict": ("resolve",),
    "drift": ("resolve",),
    "candidate": ("confirm", "reject_match"),
    "approval": ("approve", "reject"),
    "issue": ("acknowledge",),
}
CHOICES = ("platform", "qbo", "value")
MAX_VALUE = 4000  # an entered value, in characters (QBO's longest text field)
TREND_RUNS = 10  # publishes the overview's trend goes back
SORTS = {"changed": review_items.c.changed_at, "amount": review_items.c.amount, "label": review_items.c.label}
MAX_PAGE = 200


class DecisionError(ValueError):
    """A decision that cannot be taken as asked (unknown kind, no reviewer, already pushed, ...)."""


class StaleDecision(DecisionError):
    """The entry changed since the person saw it; `changes` says how, in words."""

    def __init__(self, changes: list[str]) -> None:
        super().__init__("the record changed since you saw it: " + "; ".join(changes))
        self.changes = changes


@dataclass(frozen=True)
class Target:
    """The entry a decision is about: its key in the review queues."""

    queue: str
    tenant_id: str
    entity: str
    platform_id: str | None
    qbo_id: str | None
    field: str | None

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Target:
        """The key of a published entry (a row of `entries`)."""
        keys = ("queue", "tenant_id", "entity", "platform_id", "qbo_id", "field")
        return cls(*(entry[k] for k in keys))

    def where(self) -> Any:
        c = review_items.c
        return and_(
            c.queue == self.queue,
            c.tenant_id == self.tenant_id,
            c.entity == self.entity,
            _eq(c.platform_id, self.platform_id),
            _eq(c.qbo_id, self.qbo_id),
            _eq(c.field, self.field),
        )


def _eq(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


class Review:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- the queues, as the transform publishes them ---------------------------------------------
    def publish(self, items: Iterable[dict[str, Any]], records: Iterable[dict[str, Any]]) -> int:
        """Replace the queues and the records' pages with the last transform's, and note their sizes
        for the trend; returns the entries."""
        now = datetime.now(UTC)
        items = [{**row, "published_at": now} for row in items]
        records = [{**row, "published_at": now} for row in records]
        sizes: dict[tuple[str, str], int] = {}
        for row in items:
            sizes[(row["tenant_id"], row["queue"])] = sizes.get((row["tenant_id"], row["queue"]), 0) + 1
        with self.engine.begin() as conn:
            conn.execute(delete(review_items))
            conn.execute(delete(review_records))
            for start in range(0, len(items), 1000):
                conn.execute(insert(review_items), items[start : start + 1000])
            for start in range(0, len(records), 1000):
                conn.execute(insert(review_records), records[start : start + 1000])
            if sizes:
                conn.execute(
                    insert(review_snapshots),
                    [
                        {"published_at": now, "tenant_id": t, "queue": q, "entries": n}
                        for (t, q), n in sizes.items()
                    ],
                )
        return len(items)

    def trend(self, tenants: Collection[str] | None, runs: int = TREND_RUNS) -> list[dict[str, Any]]:
        """Entries per queue at each of the last `runs` publishes, oldest first: is review keeping up?"""
        s = review_snapshots.c
        with self.engine.connect() as conn:
            times = sorted(
                conn.scalars(select(s.published_at).distinct().order_by(s.published_at.desc()).limit(runs))
            )
            if not times:
                return []
            query = select(s.published_at, s.tenant_id, s.queue, s.entries).where(s.published_at >= times[0])
            if tenants is not None:
                query = query.where(s.tenant_id.in_(list(tenants)))
            return [dict(r) for r in conn.execute(query.order_by(s.published_at, s.queue)).mappings()]

    def entries(
        self,
        tenants: Collection[str] | None,
        queue: str | None = None,
        *,
        entity: str | None = None,
        realm_id: str | None = None,
        action: str | None = None,
        search: str | None = None,
        min_amount: Decimal | None = None,
        older_than_days: int | None = None,
        sort: str = "changed",
        descending: bool = True,
        page: int = 1,
        page_size: int = 50,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of a queue (or of all of them), filtered and sorted, and how many match in all.
        `tenants` None: every tenant (the CLI); otherwise only theirs."""
        c = review_items.c
        where = []
        if tenants is not None:
            where.append(c.tenant_id.in_(list(tenants)))
        for column, value in (
            (c.queue, queue),
            (c.entity, entity),
            (c.realm_id, realm_id),
            (c.action, action),
        ):
            if value:
                where.append(column == value)
        if search:
            like = f"%{search.strip().lower()}%"
            where.append(
                or_(
                    func.lower(c.label).like(like),
                    func.lower(c.party).like(like),
                    func.lower(c.platform_id).like(like),
                    c.qbo_id == search.strip(),
                )
            )
        if min_amount is not None:
            where.append(c.amount >= min_amount)
        if older_than_days is not None:
            where.append(c.changed_at <= datetime.now(UTC) - timedelta(days=older_than_days))
        order = SORTS.get(sort, c.changed_at)
        page_size = max(1, min(int(page_size), MAX_PAGE))
        query = (
            select(review_items)
            .where(*where)
            .order_by(order.desc() if descending else order.asc(), c.id)
            .limit(page_size)
            .offset((max(1, int(page)) - 1) * page_size)
        )
        with self.engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(review_items).where(*where)) or 0
            rows = [dict(r) for r in conn.execute(query).mappings()]
        return rows, int(total)

    def counts(self, tenants: Collection[str] | None) -> list[dict[str, Any]]:
        """Entries per tenant, realm, queue, entity and action: the overview's figures."""
        c = review_items.c
        query = select(
            c.tenant_id, c.realm_id, c.queue, c.entity, c.action, func.count().label("entries"),
            func.sum(c.amount).label("amount"),
        ).group_by(c.tenant_id, c.realm_id, c.queue, c.entity, c.action)  # fmt: skip
        if tenants is not None:
            query = query.where(c.tenant_id.in_(list(tenants)))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def by_id(self, entry_id: int, tenants: Collection[str] | None = None) -> dict[str, Any] | None:
        """One entry by its number (valid until the next transform publishes the queues again)."""
        query = select(review_items).where(review_items.c.id == entry_id)
        if tenants is not None:
            query = query.where(review_items.c.tenant_id.in_(list(tenants)))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def at_stake(self, tenants: Collection[str] | None) -> list[dict[str, Any]]:
        """Records and money per tenant, realm and queue, each record counted once: an invoice with
        three drifted fields is one amount at stake, not three (the console's overview)."""
        c = review_items.c
        keys = (c.tenant_id, c.realm_id, c.queue, c.entity, c.platform_id, c.qbo_id)
        per_record = select(*keys, func.max(c.amount).label("amount")).group_by(*keys)
        if tenants is not None:
            per_record = per_record.where(c.tenant_id.in_(list(tenants)))
        r = per_record.subquery().c
        query = select(
            r.tenant_id,
            r.realm_id,
            r.queue,
            func.count().label("records"),
            func.sum(r.amount).label("amount"),
        ).group_by(r.tenant_id, r.realm_id, r.queue)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def entry(self, target: Target) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(review_items).where(target.where())).mappings().first()
        return dict(row) if row else None

    def record(self, tenant_id: str, entity: str, platform_id: str, qbo_id: str) -> dict[str, Any] | None:
        """Both sides of one record (its page): fields and lines, as the last transform saw them."""
        c = review_records.c
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(review_records).where(
                        c.tenant_id == tenant_id,
                        c.entity == entity,
                        c.platform_id == platform_id,
                        c.qbo_id == qbo_id,
                    )
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    # -- decisions ---------------------------------------------------------------------------------
    def decide(
        self,
        target: Target,
        kind: str,
        reviewer: str,
        *,
        seen_version: str,
        seen: dict[str, Any] | None = None,
        choice: str | None = None,
        value: str | None = None,
        reason: str | None = None,
    ) -> int:
        """Record a decision on an entry the person saw at `seen_version`; its id. Refused when the
        entry is gone or changed since (StaleDecision, saying what changed), or when it is not one
        this queue takes. It supersedes the entry's earlier standing decision, unless that was pushed.
        A resolution with `choice` value sets the field to `value` in both systems: QBO first (the
        next push), then the platform (the changes feed), for fields that take a typed value."""
        reviewer = (reviewer or "").strip()
        if not reviewer:
            raise DecisionError("a decision needs the reviewer's name")
        if kind not in KINDS.get(target.queue, ()):
            raise DecisionError(f"{target.queue} entries take {' or '.join(KINDS.get(target.queue, ()))}")
        if kind == "resolve" and choice not in CHOICES:
            raise DecisionError(
                "a resolution keeps the platform's value or QBO's, or enters one: "
                "choice platform, qbo or value"
            )
        value = _entered(target, value) if choice == "value" else None
        current = self.entry(target)
        if current is None:
            raise StaleDecision(
                [f"{target.entity} {target.platform_id or target.qbo_id} is no longer in review"]
            )
        if current["version"] != seen_version:
            raise StaleDecision(_what_changed(seen or {}, current))
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            earlier = conn.execute(
                select(sync_decisions.c.id, sync_decisions.c.pushed_at).where(self._standing_on(target))
            )
            pushed = [row.id for row in earlier if row.pushed_at is not None]
            if pushed:
                raise DecisionError(f"decision #{pushed[0]} on this entry was pushed already: it stands")
            result = conn.execute(
                insert(sync_decisions).values(
                    tenant_id=target.tenant_id,
                    realm_id=current["realm_id"],
                    entity=target.entity,
                    platform_id=target.platform_id or "",
                    qbo_id=target.qbo_id,
                    kind=kind,
                    field=target.field,
                    choice=choice,
                    value=value,
                    platform_value=current["platform_value"],
                    qbo_value=current["qbo_value"],
                    version=current["version"],
                    reviewer=reviewer[:128],
                    reason=(reason or "").strip()[:2000] or None,
                    decided_at=now,
                )
            )
            new_id = int(result.inserted_primary_key[0])
            conn.execute(
                update(sync_decisions)
                .where(self._standing_on(target), sync_decisions.c.id != new_id)
                .values(revoked_at=now, revoked_by=f"superseded by #{new_id}")
            )
        return new_id

    @staticmethod
    def _standing_on(target: Target) -> Any:
        d = sync_decisions.c
        return and_(
            d.tenant_id == target.tenant_id,
            d.entity == target.entity,
            d.platform_id == (target.platform_id or ""),
            _eq(d.qbo_id, target.qbo_id),
            _eq(d.field, target.field),
            d.kind.in_(KINDS[target.queue]),
            d.revoked_at.is_(None),
        )

    def revoke(self, decision_id: int, reviewer: str, tenants: Collection[str] | None = None) -> None:
        """Withdraw a standing decision (before a push sent it); the row stays, marked."""
        reviewer = (reviewer or "").strip()
        if not reviewer:
            raise DecisionError("withdrawing a decision needs the reviewer's name")
        d = sync_decisions.c
        with self.engine.begin() as conn:
            row = conn.execute(select(sync_decisions).where(d.id == decision_id)).mappings().first()
            if row is None or (tenants is not None and row["tenant_id"] not in tenants):
                raise DecisionError(f"no decision #{decision_id}")
            if row["pushed_at"] is not None:
                raise DecisionError(
                    f"decision #{decision_id} was pushed to QBO: it can no longer be withdrawn"
                )
            if row["revoked_at"] is not None:
                raise DecisionError(f"decision #{decision_id} was withdrawn already ({row['revoked_by']})")
            conn.execute(
                update(sync_decisions)
                .where(d.id == decision_id)
                .values(revoked_at=datetime.now(UTC), revoked_by=reviewer[:128])
            )

    def decisions(
        self,
        tenants: Collection[str] | None = None,
        *,
        entity: str | None = None,
        platform_id: str | None = None,
        standing_only: bool = False,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Decisions, newest first: a record's history, or everything standing."""
        d = sync_decisions.c
        where = []
        if tenants is not None:
            where.append(d.tenant_id.in_(list(tenants)))
        if entity:
            where.append(d.entity == entity)
        if platform_id:
            where.append(d.platform_id == platform_id)
        if standing_only:
            where.append(d.revoked_at.is_(None))
        query = select(sync_decisions).where(*where).order_by(d.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def standing(self) -> list[dict[str, Any]]:
        """Every decision not withdrawn, oldest first: what the transform lands in the warehouse."""
        d = sync_decisions.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(sync_decisions).where(d.revoked_at.is_(None)).order_by(d.id))
            return [dict(r) for r in rows.mappings()]

    def approved(self) -> set[tuple[str, str, str, str]]:
        """(entity, tenant, platform id, operation) of destructive operations a reviewer approved."""
        d = sync_decisions.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(d.entity, d.tenant_id, d.platform_id, d.field).where(
                    d.kind == "approve", d.revoked_at.is_(None)
                )
            ).all()
        return {(e, t, p, str(f)) for e, t, p, f in rows}

    def mark_pushed(self, keys: Iterable[tuple[str, str, str]]) -> int:
        """(entity, tenant, platform id) a push sent: their standing decisions are final now."""
        d = sync_decisions.c
        marked = 0
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for entity, tenant_id, platform_id in set(keys):
                result = conn.execute(
                    update(sync_decisions)
                    .where(
                        d.entity == entity,
                        d.tenant_id == tenant_id,
                        d.platform_id == platform_id,
                        d.revoked_at.is_(None),
                        d.pushed_at.is_(None),
                        d.kind.in_(("resolve", "approve")),
                    )
                    .values(pushed_at=now)
                )
                marked += result.rowcount or 0
        return marked

    def prune(self, before: datetime, *, batch: int = BATCH, dry_run: bool = False) -> dict[str, int]:
        """Forget decisions final before `before` (pushed to QBO, or withdrawn or superseded then), and
        the queues' sizes published before it, but never those of the trend's last publishes. A decision
        not final stands however old: the marts apply it (a rejected match is never proposed again)."""
        d, s = sync_decisions.c, review_snapshots.c
        final = or_(d.pushed_at < before, d.revoked_at < before)
        with self.engine.connect() as conn:
            recent = list(
                conn.scalars(
                    select(s.published_at).distinct().order_by(s.published_at.desc()).limit(TREND_RUNS)
                )
            )
        # fewer publishes than the trend shows: every one stays
        cutoff = min(before, *recent) if len(recent) == TREND_RUNS else None
        stale = s.published_at < cutoff if cutoff is not None else false()
        options: dict[str, Any] = {"batch": batch, "dry_run": dry_run}
        return {
            sync_decisions.name: prune_rows(self.engine, sync_decisions, final, **options),
            review_snapshots.name: prune_rows(self.engine, review_snapshots, stale, **options),
        }


def _entered(target: Target, value: str | None) -> str:
    """An entered value, checked the way its field compares (a date is a date, money has cents)."""
    text = (value or "").strip()
    if not text:
        raise DecisionError("enter the value both systems should hold")
    if len(text) > MAX_VALUE:
        raise DecisionError(f"an entered value holds at most {MAX_VALUE} characters")
    rule = enterable(target.entity, target.field)
    if rule is None:
        raise DecisionError(
            f"{target.field} takes no entered value (a reference, a code list or a flag): keep one side's"
        )
    try:
        if rule == "date":
            text = date.fromisoformat(text).isoformat()
        elif rule in ("money", "number"):
            text = _bounded_number(target.field, rule, text)
        elif any((ord(c) < 32 and c not in "\t\n") or 127 <= ord(c) < 160 for c in text):
            raise DecisionError(f"{target.field}: the value holds a control character; type it again")
    except DecisionError:
        raise
    except (ValueError, ArithmeticError):
        raise DecisionError(
            f"{target.field} takes a {rule}: {text!r} is not one (a date is YYYY-MM-DD)"
        ) from None
    return text


def _bounded_number(field: str | None, rule: str, text: str) -> str:
    """The bounds of the platform's own records (sources/platform/dto.py): what QBO and the warehouse hold."""
    number = Decimal(text.replace(",", ""))
    if not number.is_finite():
        raise ValueError(text)
    problem = (MONEY if rule == "money" else QUANTITY).problem(number)
    if problem is not None:
        raise DecisionError(f"{field} {problem[1]}; {text!r} is not one")
    return str(number.quantize(Decimal(1).scaleb(-2)) if rule == "money" else number)


def enterable(entity: str, field: str | None) -> str | None:
    """The comparison rule of a field a person may type a value for; None for links, lookups, codes
    lists, flags and values QBO derives (keep one side's value for those)."""
    spec = rendered().get(entity)
    f = next((f for f in (spec or {}).get("fields", []) if f["name"] == field), None)
    if f is None or not f["pushable"] or f["link"] or f["lookup_table"] or f["enum"] or f["qbo_derived"]:
        return None
    if len(f["qbo_columns"]) != 1 or f["rule"] == "bool" or f["qbo_paths"][0].endswith("Ref.value"):
        return None  # a composite, a flag, or the Id of a QBO list record (terms, accounts)
    return str(f["rule"])


def _what_changed(seen: dict[str, Any], current: dict[str, Any]) -> list[str]:
    changes = [
        f"{side}'s value is now {current[key]!r} (you saw {seen.get(key)!r})"
        for side, key in (("the platform", "platform_value"), ("QBO", "qbo_value"))
        if key in seen and seen.get(key) != current[key]
    ]
    return changes or ["the record was synced again since you saw it (QBO's SyncToken moved)"]
