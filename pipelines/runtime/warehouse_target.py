"""Which warehouse: a DuckDB file or a PostgreSQL URL, named without its password; a PostgreSQL server
that cannot be reached, told apart from every other failure. Apart from warehouse.py (dlt, pandas) so
that the readers of the warehouse (warehouse_sql.py: `qbo ask`, the report) load none of that.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.runtime.settings import POSTGRES_SCHEMES, redact_url
from sources.platform.errors import detail, error_dto

Warehouse = Path | str  # a DuckDB file, or a PostgreSQL URL (Settings.warehouse_target)


def is_postgres(warehouse: Warehouse) -> bool:
    """A PostgreSQL URL (anything else is a DuckDB file)."""
    return isinstance(warehouse, str) and warehouse.split("://", 1)[0].lower() in POSTGRES_SCHEMES


def warehouse_label(warehouse: Warehouse) -> str:
    """The warehouse as a message names it: never a password."""
    return redact_url(warehouse) if is_postgres(warehouse) else str(warehouse)


class WarehouseUnreachable(RuntimeError):
    """The PostgreSQL warehouse refused the connection (down, a wrong host, database or password):
    named by host and database, never by password. Nothing was loaded: the packages wait."""

    code = "WAREHOUSE_UNREACHABLE"

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(
            f"cannot connect to the PostgreSQL warehouse {where}: {reason}. Check that the server is up "
            "and that the database and user exist (--warehouse, [warehouse] url or env WAREHOUSE__URL); "
            "what was extracted waits and loads on the next run"
        )
        self.where, self.reason = where, reason

    def to_dto(self) -> dict[str, Any]:
        return error_dto(self.code, str(self), [detail("warehouse", "unreachable", self.reason)])


_PG_SERVER = re.compile(r'connection to server at "(?P<host>[^"]+)"(?: \([^)]*\))?, port (?P<port>\d+)')
_PG_PASSWORD = re.compile(r"(password\s*=\s*)\S+|(://[^/:@\s]*):[^@/\s]*@", re.IGNORECASE)


def warehouse_unreachable(exc: BaseException, url: str | None = None) -> WarehouseUnreachable | None:
    """A PostgreSQL connection failure (psycopg's OperationalError while connecting), if that is what
    `exc` comes down to, with the host and database of `url` (else those the error names)."""
    for inner in chain(exc):
        if isinstance(inner, WarehouseUnreachable):
            return inner
        if type(inner).__name__ != "OperationalError" or "psycopg" not in type(inner).__module__:
            continue
        text = str(inner).strip()
        server = _PG_SERVER.search(text)
        if server is None and "connect" not in text.lower():
            continue  # a failure of a statement on an open connection, not of the connection
        database = re.search(r'database "(?P<db>[^"]+)"', text)
        where = f"{server['host']}:{server['port']}" if server else "(the server)"
        where += f", database {database['db']}" if database else ""
        if url is not None:
            parts = urlsplit(url)
            where = f"{parts.hostname}:{parts.port or 5432}, database {parts.path.strip('/')}"
        reason = text.split("failed:", 1)[-1].strip().splitlines()[0] if text else type(inner).__name__
        reason = _PG_PASSWORD.sub(lambda m: f"{m[1]}***" if m[1] else f"{m[2]}:***@", reason)
        return WarehouseUnreachable(where, reason.removeprefix("FATAL:").strip())
    return None


def chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps: dlt's `exception` / `inner_exc`, then `__cause__` / `__context__`."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = (
            getattr(current, "exception", None)
            or getattr(current, "inner_exc", None)
            or current.__cause__
            or current.__context__
        )
    return [e for e in seen if isinstance(e, BaseException)]


QBO_RAW_SCHEMA = "raw_qbo"  # where a sync lands QBO's records (warehouse.QBO_DATASET)


def qbo_pipeline_name(realm_id: str) -> str:
    """The realm's dlt pipeline (its directory under the pipelines directory, its state)."""
    return f"qbo_{realm_id}"


class WarehouseNotSynced(LookupError):
    """A warehouse a reading command was pointed at holds no QBO data: a typo'd path or URL, or a
    warehouse never synced. Refused before anything opens it for writing, so no file is created."""

    def __init__(self, warehouse: Warehouse, reason: str) -> None:
        super().__init__(
            f"{reason} at {warehouse_label(warehouse)}: check --warehouse (or [warehouse] url, "
            "[sources.quickbooks] warehouse), or run `qbo sync` first"
        )
        self.warehouse = warehouse


def require_synced(warehouse: Warehouse) -> None:
    """Refuse (WarehouseNotSynced) a warehouse with no QBO data (no `raw_qbo` tables, no QBO staging
    models): a DuckDB file that does not exist (never created here), or one or a PostgreSQL database no
    sync has loaded. A PostgreSQL server that cannot be reached is `WarehouseUnreachable`."""
    if not is_postgres(warehouse):
        path = Path(warehouse)
        if not path.is_file():
            raise WarehouseNotSynced(warehouse, "no warehouse file")
    from pipelines.runtime.warehouse_sql import open_warehouse  # noqa: PLC0415 - duckdb, psycopg

    try:
        with open_warehouse(warehouse) as db:
            synced = bool(db.tables(QBO_RAW_SCHEMA)) or any(
                t.startswith("stg_qbo__") for t in db.tables("staging")
            )
    except Exception as exc:
        if is_postgres(warehouse):
            raise warehouse_unreachable(exc, str(warehouse)) or exc from None
        if "not a valid DuckDB database file" not in str(exc):
            raise  # busy (another process holds it) and the rest: the caller's own handling
        raise WarehouseNotSynced(warehouse, "not a DuckDB warehouse") from None
    if not synced:
        raise WarehouseNotSynced(warehouse, "no QBO data (never synced)")
