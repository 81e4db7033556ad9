"""Counts, totals, averages and rankings (`aggregate`, `groupBy`, `orderBy`, `top`), answered the same
from the warehouse and from QBO.

The warehouse groups in SQL; QBO's query language has no GROUP BY or SUM, so its rows (every page, a
bounded number of them) are grouped here in Python, ordered the same way (the measure, then the name
byte by byte, then months in order) and cut to the same top N. Averages are the total over the count
in cents, computed here for both, so an engine's decimal or float division never shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pipelines.ask.intent import MAX_TOP, QboIntent
from pipelines.mapping.values import get_path
from pipelines.runtime.warehouse_sql import Dialect, bytewise

CENTS = Decimal("0.01")
MAX_GROUPS = MAX_TOP  # groups shown when no top is asked: a ranking is read, not scrolled
MONTH_SQL = "CAST(date_trunc('month', t.txn_date) AS DATE)"
QBO_KEYS = {"customer": "CustomerRef.name", "vendor": "VendorRef.name", "month": "TxnDate"}


def order_of(intent: QboIntent) -> tuple[str, str]:
    """What groups are ranked by, and which way: the aggregate asked, most first; months in order."""
    default = {"sum": "total", "count": "count", "avg": "average"}[intent.aggregate or "sum"]
    order_by = intent.order_by or ("group" if intent.group_by == "month" else default)
    direction = intent.order_direction or ("asc" if order_by == "group" else "desc")
    return order_by, direction


def limit_of(intent: QboIntent) -> int:
    return intent.top or MAX_GROUPS


def group_sql(intent: QboIntent, source: str, measure: str, dialect: Dialect) -> str:
    """One row per group: its key, count and total; one more group than shown, to tell there are more."""
    if intent.group_by == "month":
        key, group, key_order = MONTH_SQL, MONTH_SQL, MONTH_SQL
    else:
        key = "p.display_name"
        group = f"t.{intent.group_by}, p.display_name"
        key_order = bytewise("p.display_name", dialect)
    total = f"coalesce(sum({measure}), 0)"
    order_by, direction = order_of(intent)
    by = {"total": total, "count": "count(*)", "average": f"{total} / count(*)", "group": key_order}[order_by]
    order = f"{by} {direction.upper()}" + ("" if order_by == "group" else f", {key_order} ASC")
    return (
        f"SELECT {key} AS {intent.group_by}, count(*) AS count, {total} AS total {source} "
        f"GROUP BY {group} ORDER BY {order} LIMIT {limit_of(intent) + 1}"
    )


def cents(value: Any) -> Any:
    return value.quantize(CENTS, rounding=ROUND_HALF_UP) if isinstance(value, Decimal) else value


def finish(intent: QboIntent, columns: list[str], rows: list[list[Any]], notes: list[str]) -> list[list[Any]]:
    """Rows as shown, from either source: totals in cents, averages added, months as YYYY-MM, groups cut
    to the top N (with a note when there were more). `columns` gains "average" in place."""
    if not intent.aggregate or "total" not in columns:
        return rows
    at_count, at_total = columns.index("count"), columns.index("total")
    for row in rows:
        row[at_total] = cents(Decimal(str(row[at_total] or 0)))
    if intent.group_by:
        limit = limit_of(intent)
        if len(rows) > limit:
            rows = rows[:limit]
            notes.append(
                f"more than {limit} groups: showing the first {limit} (ask for a top N up to {MAX_TOP})"
            )
        if intent.group_by == "month":
            for row in rows:
                if isinstance(row[0], date):
                    row[0] = row[0].strftime("%Y-%m")
    if intent.aggregate == "avg" or intent.group_by:
        columns.append("average")
        for row in rows:
            count = row[at_count]
            row.append(cents(row[at_total] / count) if count else None)
    return rows


def from_docs(
    intent: QboIntent, docs: Iterable[Mapping[str, Any]], measure: str
) -> tuple[list[str], list[list[Any]]]:
    """QBO's rows added up as the warehouse's SQL would: the count and total, per group when asked."""

    def amount(doc: Mapping[str, Any]) -> Decimal:
        return Decimal(str(doc.get(measure) or 0))

    if not intent.group_by:
        docs = list(docs)
        if intent.aggregate == "count":
            return ["count"], [[len(docs)]]
        return ["count", "total"], [[len(docs), sum((amount(d) for d in docs), Decimal(0))]]
    groups: dict[Any, list[Any]] = {}
    for doc in docs:
        key = get_path(doc, QBO_KEYS[intent.group_by])
        if intent.group_by == "month" and key:
            key = date.fromisoformat(str(key)[:7] + "-01")
        count_total = groups.setdefault(key, [0, Decimal(0)])
        count_total[0] += 1
        count_total[1] += amount(doc)
    rows = [[key, count, total] for key, (count, total) in groups.items()]
    order_by, direction = order_of(intent)

    def by_key(row: list[Any]) -> tuple[bool, Any]:  # nulls last, as both warehouses order them
        return (row[0] is None, row[0] if row[0] is not None else "")

    rows.sort(key=by_key)  # the tie-break: the name (code points: UTF-8's byte order) or the month
    if order_by != "group":
        measure_of = {"total": lambda r: r[2], "count": lambda r: r[1], "average": lambda r: r[2] / r[1]}
        rows.sort(key=measure_of[order_by], reverse=direction == "desc")  # stable: ties keep the name order
    elif direction == "desc":
        rows.reverse()
    return [intent.group_by, "count", "total"], rows[: limit_of(intent) + 1]
