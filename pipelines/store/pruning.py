"""Deleting old operational rows in bounded batches: the one mechanism every family's `prune` uses.

Each batch is its own short transaction (select up to `batch` ids, delete them with the condition
checked again), so neither SQLite's single writer nor PostgreSQL's row locks are held for long, and a
row another process changed meanwhile (an event replayed, a decision revoked) is judged as it now is.
The newest row of a table is never deleted: SQLite hands out max(id) + 1 to the next row, and an id
used twice would move the outbox cursor, or a decision's `#N`, back onto another row.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Table, and_, delete, exists, func, select

BATCH = 5000  # rows per statement: a few milliseconds of lock, and well under any engine's bound parameters
IN_CHUNK = 500  # ids per IN (...) list


def newer_exists(table: Table, *keys: str, where: Callable[[Any], ColumnElement[bool]] | None = None) -> Any:
    """True for a row when a later row (a higher id) of the same keys exists: the row is not the latest.
    `where` narrows the later rows; it is given their columns."""
    newer = table.alias(f"newer_{table.name}")
    conditions = [newer.c[key] == table.c[key] for key in keys]
    if where is not None:
        conditions.append(where(newer.c))
    return exists(select(newer.c.id).where(newer.c.id > table.c.id, *conditions))


def prune_rows(
    engine: Engine,
    table: Table,
    condition: ColumnElement[bool],
    *,
    batch: int = BATCH,
    dry_run: bool = False,
    guard: AbstractContextManager[Any] | None = None,
) -> int:
    """Delete the rows matching `condition` (never the newest row), `batch` per transaction; how many
    went. With `dry_run`, how many would go, deleting nothing."""
    batch = max(1, int(batch))
    if dry_run:
        with engine.connect() as conn:
            where = and_(condition, table.c.id < _newest(conn, table))
            return int(conn.scalar(select(func.count()).select_from(table).where(where)) or 0)
    removed = 0
    while True:
        with guard or nullcontext(), engine.begin() as conn:
            where = and_(condition, table.c.id < _newest(conn, table))
            ids = list(conn.scalars(select(table.c.id).where(where).order_by(table.c.id).limit(batch)))
            for start in range(0, len(ids), IN_CHUNK):
                result = conn.execute(
                    delete(table).where(table.c.id.in_(ids[start : start + IN_CHUNK]), where)
                )
                removed += result.rowcount or 0
        if len(ids) < batch:
            return removed


def _newest(conn: Connection, table: Table) -> int:
    return int(conn.scalar(select(func.max(table.c.id))) or 0)
